"""URLs: the seed plan's schedule-generation endpoint."""

from django.urls import path
from schedules.views import GenerateScheduleView

urlpatterns = [path("api/ml/generate-schedule/", GenerateScheduleView.as_view(), name="generate-schedule")]
