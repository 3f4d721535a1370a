"""Saving what BrightPath wrote: the ``Schedule`` and one ``ScheduleItem`` per block, in one transaction."""

import datetime

from django.db import transaction

from schedules.ml import GeneratedSchedule
from schedules.models import Child, Schedule, ScheduleItem


def create_schedule_items(schedule: Schedule, schedule_data: dict) -> list[ScheduleItem]:
    """One ``ScheduleItem`` per block of the Schedule JSON's days."""
    items = [
        ScheduleItem(
            schedule=schedule,
            day=day["day"],
            start_time=datetime.time.fromisoformat(block["start_time"]),
            duration_minutes=block["duration_minutes"],
            item_type=block["type"],
            subject=block.get("subject", ""),
        )
        for day in schedule_data["days"]
        for block in day["blocks"]
    ]
    return ScheduleItem.objects.bulk_create(items)


def save_schedule(
    user, child: Child, generated: GeneratedSchedule, start_date: datetime.date | None = None
) -> Schedule:
    """Store a generated schedule for ``child`` (and its items)."""
    with transaction.atomic():
        schedule = Schedule.objects.create(
            user=user,
            child=child,
            title=f"{child.first_name}'s Schedule",
            schedule_data=generated.schedule_data,
            start_date=start_date or datetime.date.today(),
            source=generated.source,
            model_version=generated.model_version,
            ml_schedule_id=generated.ml_schedule_id,
        )
        create_schedule_items(schedule, generated.schedule_data)
    return schedule
