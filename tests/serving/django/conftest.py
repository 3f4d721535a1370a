"""Django for the example backend's tests, without pytest-django: the project on ``sys.path``, its
settings, a test database created once per session, and every test inside a rolled-back transaction."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django
import pytest

PROJECT = Path(__file__).resolve().parents[3] / "examples" / "django_backend"

sys.path.insert(0, str(PROJECT))
_ENVIRONMENT = {"DJANGO_SETTINGS_MODULE": "backend.settings", "DJANGO_SECRET_KEY": "tests-only"}
os.environ.update(_ENVIRONMENT)
django.setup()
for _name in _ENVIRONMENT:  # read once by setup(); processes other tests start must not become Django apps
    del os.environ[_name]


@pytest.fixture(scope="session")
def django_database():
    """A fresh test database (SQLite in memory) with the project's migrations applied."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    yield
    connection.creation.destroy_test_db(name, verbosity=0)
    teardown_test_environment()


@pytest.fixture(autouse=True)
def rolled_back(django_database):
    """Each test sees an empty database: its writes are rolled back at the end."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def brightpath_models(monkeypatch, shared_model_root):
    """Embedded mode reads the tiny registry (generator gen-v1), not whatever ./models holds."""
    monkeypatch.setenv("BRIGHTPATH_MODEL_DIR", str(shared_model_root))
