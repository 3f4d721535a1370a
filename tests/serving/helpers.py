"""Helpers shared by the service tests: the seed's answers and registry ``write_fn``s for tiny real models.

``tiny_generator(bias, version)`` writes a generator SavedModel with the CONTRACTS §6 signature
whose every parameter sits at ``bias`` of its range (-1 low … 1 high), so two versions are
told apart by their schedules as well as their ``model_version``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from kombu.exceptions import OperationalError

from serving.app import create_app
from serving.dependencies import get_queue
from serving.schemas import SEED_PREFERENCES
from serving.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_FAMILY = {"preferences": SEED_PREFERENCES, "child_age": 8}
"""The seed plan's answers with the age of its unit test."""
TOKEN = "test-token"
"""The training API's token in the in-process tests."""
__all__ = [
    "REPO_ROOT",
    "SEED_FAMILY",
    "SEED_PREFERENCES",
    "TOKEN",
    "RecordingQueue",
    "client_for",
    "copy_of",
    "make_settings",
    "tiny_generator",
]


def tiny_generator(bias: float, version: str):
    """A registry ``write_fn`` exporting a constant-policy generator SavedModel (``source: "ppo"``)."""

    def write(directory: Path) -> None:
        import tensorflow as tf

        from brightpath.export import export_generator
        from brightpath.schedule import N_PARAMS

        offset = tf.Variable(tf.fill([N_PARAMS], float(bias)))

        def unit_action_fn(answers, child_age):
            return tf.zeros_like(answers[:, :1]) + offset[None, :]

        export_generator(unit_action_fn, {"offset": offset}, directory, source="ppo", model_version=version)

    return write


def copy_of(source: Path):
    """A registry ``write_fn`` that copies an exported model directory."""

    def write(directory: Path) -> None:
        shutil.copytree(source, directory, dirs_exist_ok=True)

    return write


class RecordingQueue:
    """Stands in for the Celery queue: remembers the job ids it was given."""

    def __init__(self, fail: bool = False):
        self.submitted: list[str] = []
        self.fail = fail

    def submit(self, job_id: str) -> None:
        if self.fail:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.submitted.append(job_id)

    def close(self) -> None:
        pass


def make_settings(tmp_path: Path, model_root: Path, **changes) -> Settings:
    values = {
        "model_dir": model_root,
        "database_url": f"sqlite:///{tmp_path / 'service.db'}",
        "work_dir": tmp_path,
        "api_token": TOKEN,
        "model_poll_s": 0.1,
        "reaper_interval_s": 3600.0,
        "broker_url": "redis://127.0.0.1:1/0",
    }
    return Settings(**{**values, **changes})


def client_for(settings: Settings, queue: RecordingQueue | None = None) -> TestClient:
    app = create_app(settings)
    app.dependency_overrides[get_queue] = lambda: queue or RecordingQueue()
    return TestClient(app)
