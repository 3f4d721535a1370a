"""The seed plan's Celery task: generate a schedule asynchronously with the ML model and store it."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from schedules import ml
from schedules.models import Child
from schedules.services import save_schedule

log = logging.getLogger(__name__)


@shared_task
def generate_schedule_task(user_id, child_id, preferences):
    """Generate a schedule asynchronously using the ML model; returns the new ``Schedule``'s id."""
    try:
        user = get_user_model().objects.get(id=user_id)
        child = Child.objects.get(id=child_id, user=user)
        generated = ml.generate_schedule(child, preferences)
        return save_schedule(user, child, generated).id
    except Exception:
        log.exception("generating a schedule for child %s of user %s failed", child_id, user_id)
        raise
