"""The FastAPI app: ``create_app(settings)``; ``python -m serving`` runs it under uvicorn.

The lifespan creates what handlers need, once: the store (migrated), the model manager (models
loaded, the registry poller started), the job queue, the metrics, and the reaper thread that
re-queues (or fails) training jobs whose worker stopped heartbeating. Nothing is created at import.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from fastapi import FastAPI

from brightpath.store import Store
from serving.errors import RequestContextMiddleware, install_error_handlers
from serving.metrics import Metrics
from serving.model_manager import ModelManager
from serving.queue import JobQueue, make_celery
from serving.routes import dashboard, health, jobs, schedules
from serving.settings import Settings

log = logging.getLogger("serving")

SQLITE_CHECKPOINT_S = 1.0
"""With the embedded SQLite store, the WAL is copied into the database file this often, off the request path."""

try:  # /docs and /redoc from assets shipped in the package, so they render without internet access
    from fastapi_offline import FastAPIOffline as _App
except ImportError:  # without it FastAPI's pages load Swagger UI and ReDoc from a CDN
    _App = FastAPI

DESCRIPTION = """The BrightPath model service (CONTRACTS §8): weekly homeschool schedules from the served generator,
their evaluation by the reward model with improvement suggestions, the families' feedback, and training jobs
run by a Celery worker. Every schedule served and every evaluation is recorded (the audit log)."""


class Reaper:
    """Every ``reaper_interval_s``: training jobs whose worker stopped heartbeating are re-queued, or failed
    after ``job_max_attempts`` runs (``Store.reap_stale_jobs``)."""

    def __init__(self, store: Store, queue: JobQueue, settings: Settings, metrics: Metrics):
        self.store, self.queue, self.settings, self.metrics = store, queue, settings, metrics
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def reap_once(self) -> tuple[list[str], list[str]]:
        requeued, failed = self.store.reap_stale_jobs(
            stale_after_s=self.settings.job_stale_after_s,
            max_attempts=self.settings.job_max_attempts,
            send=self.queue.submit,
        )
        for job_id in requeued:
            self.metrics.jobs_requeued.inc()
            log.warning("job %s: its worker stopped heartbeating; re-queued", job_id)
        for job_id in failed:
            self.metrics.jobs_failed_stale.inc()
            log.error("job %s: its worker stopped heartbeating and it has no attempts left; failed", job_id)
        return requeued, failed

    def _run(self) -> None:
        while not self._stop.wait(self.settings.reaper_interval_s):
            try:
                self.reap_once()
            except Exception:  # the database or broker may be down for a moment; the next round retries
                log.exception("job reaper: this round failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings`` (default: ``Settings.from_env()``)."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        metrics = Metrics()
        store = Store(settings.database_url, checkpoint_interval_s=SQLITE_CHECKPOINT_S)
        models = ModelManager(settings.model_dir, settings.pinned, on_load=metrics.model_loaded)
        models.load_all()
        models.start(settings.model_poll_s)
        queue = JobQueue(make_celery(settings))
        reaper = Reaper(store, queue, settings, metrics)
        reaper.start()
        app.state.metrics, app.state.store, app.state.models, app.state.queue = metrics, store, models, queue
        for problem in models.problems():
            log.warning("degraded: %s", problem)
        log.info("BrightPath service ready: models from %s, store %s", settings.model_dir, store.url)
        try:
            yield
        finally:
            reaper.stop()
            models.stop()
            queue.close()
            store.close()

    app = _App(title="BrightPath model service", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(schedules.router)
    app.include_router(jobs.router)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    return app
