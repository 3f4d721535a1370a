"""The backend's Celery app (the seed plan's "asynchronous processing"); tasks live in each app's ``tasks.py``.

Run a worker with ``celery -A backend worker`` from this folder. Settings come from Django's
``CELERY_*`` settings (``backend.settings``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("backend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
