"""The example backend's Django project: settings, URLs and the Celery app (loaded with Django)."""

from backend.celery import app as celery_app

__all__ = ["celery_app"]
