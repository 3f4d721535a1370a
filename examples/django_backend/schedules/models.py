"""The seed plan's models: a family's ``Child``, the ``Schedule`` BrightPath wrote, and its ``ScheduleItem`` rows."""

import datetime

from django.conf import settings
from django.db import models


class Child(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="children")
    first_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    grade = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 = kindergarten; blank: usual for age")

    def __str__(self) -> str:
        return self.first_name

    @property
    def age(self) -> int:
        """Age in whole years today."""
        today = datetime.date.today()
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class Schedule(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedules")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="schedules")
    title = models.CharField(max_length=200)
    schedule_data = models.JSONField(help_text="BrightPath Schedule JSON")
    start_date = models.DateField()
    source = models.CharField(max_length=32, blank=True, help_text="which generator wrote it (meta.source)")
    model_version = models.CharField(max_length=128, blank=True)
    ml_schedule_id = models.CharField(max_length=64, blank=True, help_text="the model service's id, for feedback")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class ScheduleItem(models.Model):
    """One block of a schedule (a subject lesson, a break, lunch)."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="items")
    day = models.PositiveSmallIntegerField(help_text="0 = Monday … 4 = Friday")
    start_time = models.TimeField()
    duration_minutes = models.PositiveSmallIntegerField()
    item_type = models.CharField(max_length=16, help_text="subject, break or lunch")
    subject = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["schedule", "day", "start_time"]
