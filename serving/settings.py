"""Settings of the service and the worker, read once from the environment (``<home>`` is ``$BRIGHTPATH_HOME``).

==================================  ===================================================  ===========================
variable                            meaning                                              default
==================================  ===================================================  ===========================
``BRIGHTPATH_SERVICE_HOST``         interface ``python -m serving`` listens on           ``127.0.0.1``
``BRIGHTPATH_SERVICE_PORT``         its port                                             ``8001``
``BRIGHTPATH_MODEL_DIR``            the model registry root (``brightpath.registry``)    ``<home>/models``
``BRIGHTPATH_DATABASE_URL``         the store (``brightpath.store``)                     ``<home>/brightpath.db``
``BRIGHTPATH_BROKER_URL``           Celery broker and result backend (Redis)             ``redis://127.0.0.1:6379/0``
``BRIGHTPATH_API_TOKEN``            bearer token of the training API; unset: disabled    unset
``BRIGHTPATH_MODEL_POLL_S``         how often to look for a newly promoted model, s      ``2``
``BRIGHTPATH_PIN_GENERATOR``        serve this generator version, whatever is promoted   unset
``BRIGHTPATH_PIN_REWARD``           serve this reward-model version                      unset
``BRIGHTPATH_MAX_BODY_BYTES``       largest request body accepted                        ``65536``
``BRIGHTPATH_HOME``                 the training jobs' working directory                 the current directory
``MLFLOW_TRACKING_URI``             where training jobs log                              ``sqlite:///<home>/mlflow.db``
``BRIGHTPATH_JOB_HEARTBEAT_S``      how often a running job's worker reports, s          ``5``
``BRIGHTPATH_JOB_STALE_AFTER_S``    a job silent this long lost its worker, s            ``60``
``BRIGHTPATH_JOB_MAX_ATTEMPTS``     runs of a job before it fails (1 + re-runs)          ``2``
``BRIGHTPATH_JOB_TIMEOUT_S``        longest a training run may take, s                   ``21600``
``BRIGHTPATH_REAPER_INTERVAL_S``    how often the service looks for silent jobs, s       ``10``
``BRIGHTPATH_WORKER_CONCURRENCY``   training jobs one worker runs at once                ``1``
``BRIGHTPATH_LOG_LEVEL``            log level of the service and the worker              ``INFO``
==================================  ===================================================  ===========================
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from brightpath.export import default_model_dir
from brightpath.store import database_url


class SettingsError(ValueError):
    """An environment variable holds a value of the wrong kind; the message names it."""


def _number(name: str, default: float, *, integer: bool = False, minimum: float = 0.0) -> float | int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected {'an integer' if integer else 'a number'}") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: expected at least {minimum}")
    return value


def _pin(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return int(_number(name, 0, integer=True, minimum=1))


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the service and the worker are configured with (module docstring for the variables)."""

    host: str = "127.0.0.1"
    port: int = 8001
    model_dir: Path = dataclasses.field(default_factory=default_model_dir)
    database_url: str = dataclasses.field(default_factory=database_url)
    broker_url: str = "redis://127.0.0.1:6379/0"
    api_token: str | None = None
    model_poll_s: float = 2.0
    pinned: dict[str, int | None] = dataclasses.field(default_factory=lambda: {"generator": None, "reward": None})
    max_body_bytes: int = 65536
    work_dir: Path = dataclasses.field(default_factory=lambda: Path(os.environ.get("BRIGHTPATH_HOME", ".")).resolve())
    mlflow_tracking_uri: str | None = None
    job_heartbeat_s: float = 5.0
    job_stale_after_s: float = 60.0
    job_max_attempts: int = 2
    job_timeout_s: float = 21600.0
    reaper_interval_s: float = 10.0
    worker_concurrency: int = 1
    log_level: str = "INFO"

    @property
    def tracking_uri(self) -> str:
        """Where training jobs log: ``mlflow_tracking_uri``, else a SQLite store in ``work_dir``."""
        return self.mlflow_tracking_uri or f"sqlite:///{self.work_dir / 'mlflow.db'}"

    @property
    def job_log_dir(self) -> Path:
        """Each training job's output goes to ``<job_log_dir>/<job_id>.log``."""
        return self.work_dir / "logs" / "jobs"

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment.

        Raises:
            SettingsError: a variable with a value of the wrong kind, naming it.
        """
        return cls(
            host=os.environ.get("BRIGHTPATH_SERVICE_HOST", "127.0.0.1"),
            port=int(_number("BRIGHTPATH_SERVICE_PORT", 8001, integer=True, minimum=1)),
            model_dir=default_model_dir(),
            database_url=database_url(),
            broker_url=os.environ.get("BRIGHTPATH_BROKER_URL", "redis://127.0.0.1:6379/0"),
            api_token=os.environ.get("BRIGHTPATH_API_TOKEN") or None,
            model_poll_s=float(_number("BRIGHTPATH_MODEL_POLL_S", 2.0, minimum=0.05)),
            pinned={"generator": _pin("BRIGHTPATH_PIN_GENERATOR"), "reward": _pin("BRIGHTPATH_PIN_REWARD")},
            max_body_bytes=int(_number("BRIGHTPATH_MAX_BODY_BYTES", 65536, integer=True, minimum=1024)),
            work_dir=Path(os.environ.get("BRIGHTPATH_HOME", ".")).resolve(),
            mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
            job_heartbeat_s=float(_number("BRIGHTPATH_JOB_HEARTBEAT_S", 5.0, minimum=0.05)),
            job_stale_after_s=float(_number("BRIGHTPATH_JOB_STALE_AFTER_S", 60.0, minimum=0.1)),
            job_max_attempts=int(_number("BRIGHTPATH_JOB_MAX_ATTEMPTS", 2, integer=True, minimum=1)),
            job_timeout_s=float(_number("BRIGHTPATH_JOB_TIMEOUT_S", 21600.0, minimum=1.0)),
            reaper_interval_s=float(_number("BRIGHTPATH_REAPER_INTERVAL_S", 10.0, minimum=0.05)),
            worker_concurrency=int(_number("BRIGHTPATH_WORKER_CONCURRENCY", 1, integer=True, minimum=1)),
            log_level=os.environ.get("BRIGHTPATH_LOG_LEVEL", "INFO").upper(),
        )
