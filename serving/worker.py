"""The worker: ``python -m serving.worker`` (or ``celery -A serving.worker worker``) runs training jobs.

Each job is one Celery task (``serving.queue.TRAIN_TASK``) taking a job id; ``serving.training.run_job``
does the work and keeps the job's state in the store. At start the worker re-queues jobs whose
worker died (``Store.reap_stale_jobs``); the service does the same every ``reaper_interval_s``.
"""

from __future__ import annotations

import logging
import os
import sys

from celery.signals import worker_ready
from sqlalchemy.exc import SQLAlchemyError

from brightpath.console import quiet_third_party
from brightpath.store import Store
from serving.queue import TRAIN_TASK, make_celery
from serving.settings import Settings
from serving.training import run_job

log = logging.getLogger("serving.worker")

settings = Settings.from_env()
app = make_celery(settings)
_stores: dict[int, Store] = {}


def store() -> Store:
    """This process's store (one per process: pool children must not share a parent's connections)."""
    if os.getpid() not in _stores:
        _stores[os.getpid()] = Store(settings.database_url)
    return _stores[os.getpid()]


@app.task(
    name=TRAIN_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SQLAlchemyError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=20,
)
def train_job(job_id: str) -> dict:
    """Run training job ``job_id`` (idempotent: a finished or running job is left alone)."""
    return run_job(str(job_id), store(), settings)


@worker_ready.connect
def _requeue_orphans(**_) -> None:
    requeued, failed = store().reap_stale_jobs(
        stale_after_s=settings.job_stale_after_s, max_attempts=settings.job_max_attempts, send=train_job.delay
    )
    if requeued or failed:
        log.warning("at start: re-queued %d job(s) whose worker died, failed %d", len(requeued), len(failed))


def main(argv: list[str] | None = None) -> None:
    quiet_third_party()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.worker_main(
        [
            "worker",
            f"--loglevel={settings.log_level}",
            f"--concurrency={settings.worker_concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )


if __name__ == "__main__":
    main()
