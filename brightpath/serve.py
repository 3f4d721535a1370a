"""Serving one week: the steps the model service's generate endpoint and the continuous loop share.

``POST /api/ml/generate-schedule/`` (``serving.routes.schedules``) and each round of the
continuous-improvement loop (``experiments.loop``) serve a family the same way::

    week = serve_week(generator, user_data, generator_version=3, request_id=...)
    store.add_served_schedule(week.record, week.audit(latency_ms=...))

1. the served generator writes the Schedule JSON (``ScheduleGeneratorModel.predict``, CONTRACTS §1 → §2);
2. the store's ``served_schedules`` row is read off it (``brightpath.store.schedule_record``);
3. the audit row carries the model version, the source, the latency and a hash of the family's input
   (its answers, age and grade; never a name or an id).

The caller stores both in one transaction (``Store.add_served_schedule``) and decides the latency it
reports (the service: the whole request; the loop: the call of this function).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any, Protocol

from brightpath.store import input_hash, schedule_record

GENERATE_ENDPOINT = "generate-schedule"
"""The audit log's ``endpoint`` of a served week."""


class WeekGenerator(Protocol):
    """What writes a week: ``brightpath.ScheduleGeneratorModel`` (its ``predict``)."""

    def predict(self, user_data: Mapping[str, Any], *, reference_date: datetime.date | None = None) -> dict: ...


def family_hash(answers: list[int], child_age: int, grade: int) -> str:
    """The audit log's hash of a family input: the answers and the child's age and grade (no names, no ids)."""
    return input_hash({"answers": answers, "child_age": child_age, "grade": grade})


@dataclasses.dataclass(frozen=True)
class ServedWeek:
    """A week written for a family, ready to be stored.

    Attributes:
        schedule: the Schedule JSON (CONTRACTS §2).
        record: its ``served_schedules`` row (``schedule_record``).
        input_hash: ``family_hash`` of the family it was written for.
    """

    schedule: dict[str, Any]
    record: dict[str, Any]
    input_hash: str

    @property
    def source(self) -> str:
        return str(self.schedule["meta"]["source"])

    @property
    def model_version(self) -> str:
        return str(self.schedule["meta"]["model_version"])

    def audit(
        self, *, latency_ms: float, status_code: int = 201, time: datetime.datetime | None = None
    ) -> dict[str, Any]:
        """The audit row of serving it (``endpoint`` ``GENERATE_ENDPOINT``; ``time`` defaults to now)."""
        row = {
            "request_id": self.record["request_id"],
            "endpoint": GENERATE_ENDPOINT,
            "model_version": self.model_version,
            "source": self.source,
            "status_code": int(status_code),
            "input_hash": self.input_hash,
            "latency_ms": float(latency_ms),
        }
        if time is not None:
            row["time"] = time
        return row


def serve_week(
    generator: WeekGenerator,
    user_data: Mapping[str, Any],
    *,
    generator_version: int | None,
    request_id: str,
    reference_date: datetime.date | None = None,
    family_key: str | None = None,
    week_start: datetime.date | None = None,
    schedule_id: str | None = None,
    arm: str | None = None,
    cohort: str | None = None,
    created_at: datetime.datetime | None = None,
) -> ServedWeek:
    """Write the week for ``user_data`` with ``generator`` and build its store row (module docstring).

    Args:
        generator: the served generator (a fallback one still writes a week, ``source`` ``"fallback"``).
        user_data: the family (CONTRACTS §1).
        generator_version: the registry version being served (None: unversioned).
        request_id: ties the row to its audit row and the request's log lines.
        reference_date: for an age computed from ``birth_date``.
        family_key, week_start, schedule_id, arm, cohort, created_at: as ``schedule_record``'s
            (``schedule_id`` None: a new uuid; a loop passes a deterministic one).

    Raises:
        ValidationError: invalid ``user_data``, naming the field.
    """
    schedule = generator.predict(user_data, reference_date=reference_date)
    record = schedule_record(
        schedule,
        schedule_id=schedule_id,
        family_key=family_key,
        week_start=week_start,
        generator_version=generator_version,
        arm=arm,
        cohort=cohort,
        request_id=request_id,
        created_at=created_at,
    )
    return ServedWeek(schedule, record, family_hash(record["answers"], record["child_age"], record["grade"]))


__all__ = ["GENERATE_ENDPOINT", "ServedWeek", "WeekGenerator", "family_hash", "serve_week"]
