"""The Celery app (Redis as broker and result backend) and the API's side of the queue: sending job ids.

Messages carry a job id and nothing else, serialised as JSON only (nothing is ever unpickled).
Tasks are acknowledged after they finish (``task_acks_late``) and given back to the queue when the
worker process running them dies (``task_reject_on_worker_lost``); the Redis visibility timeout
is longer than the longest run, so a slow run is not handed to a second worker.
"""

from __future__ import annotations

from celery import Celery

TRAIN_TASK = "brightpath.train_job"
"""The task name the API sends and the worker (``serving.worker``) runs."""


def make_celery(settings) -> Celery:
    """The Celery app for ``settings`` (a ``serving.settings.Settings``)."""
    app = Celery("brightpath", broker=settings.broker_url, backend=settings.broker_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker takes one job at a time off the queue
        broker_transport_options={"visibility_timeout": int(settings.job_timeout_s) + 3600},
        broker_connection_retry_on_startup=True,
        task_publish_retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        result_expires=7 * 24 * 3600,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class JobQueue:
    """Sends training jobs (by id) to the workers."""

    def __init__(self, celery: Celery):
        self.celery = celery

    def submit(self, job_id: str) -> None:
        """Queue the job; raises ``kombu.exceptions.OperationalError`` when the broker cannot be reached."""
        self.celery.send_task(TRAIN_TASK, args=[job_id])

    def close(self) -> None:
        self.celery.close()
