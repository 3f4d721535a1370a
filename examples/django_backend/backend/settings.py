"""Settings of the example backend, as the backend team would write them (a minimal project).

Environment variables:
    DJANGO_SECRET_KEY: required unless DJANGO_DEBUG=1 (then a development key is used).
    DJANGO_DEBUG: 1 for development.
    DJANGO_DATABASE_PATH: the SQLite file (default ``db.sqlite3`` next to ``manage.py``).
    BRIGHTPATH_ML_MODE: ``embedded`` (default; the seed's "embedded models": BrightPath runs inside
        Django, ``brightpath.inference``) or ``service`` (the seed's "dedicated model service":
        ``BRIGHTPATH_SERVICE_URL``, ``python -m serving``).
    BRIGHTPATH_SERVICE_URL: the model service (default ``http://127.0.0.1:8001``).
    BRIGHTPATH_SERVICE_TIMEOUT_S: how long to wait for it (default 10).
    CELERY_BROKER_URL: Redis for ``generate_schedule_task`` (default ``redis://127.0.0.1:6379/1``).
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ("development-only-not-secret" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set (or set DJANGO_DEBUG=1 for development)")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "schedules"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "backend.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DATABASE_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

BRIGHTPATH_ML_MODE = os.environ.get("BRIGHTPATH_ML_MODE", "embedded")
if BRIGHTPATH_ML_MODE not in ("embedded", "service"):
    raise ImproperlyConfigured(f"BRIGHTPATH_ML_MODE={BRIGHTPATH_ML_MODE!r}: expected 'embedded' or 'service'")
BRIGHTPATH_SERVICE_URL = os.environ.get("BRIGHTPATH_SERVICE_URL", "http://127.0.0.1:8001")
BRIGHTPATH_SERVICE_TIMEOUT_S = float(os.environ.get("BRIGHTPATH_SERVICE_TIMEOUT_S", "10"))

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
