"""Training jobs: which experiments the API may start, with which overrides, and how the worker runs one.

A job is one ``python -m experiments.train +exp=<task> <overrides>`` run in a subprocess of the
worker (``serving`` never imports ``experiments``). Its state lives in the store
(``training_jobs``); the queue only carries the job id. ``run_job``:

1. claims the job (``Store.claim_job``): a job already finished, or running under a live worker,
   is left alone, so a duplicated or redelivered message is harmless; a job whose worker died
   (its process gone from this host, or its heartbeat older than ``job_stale_after_s``) is taken
   over, up to ``job_max_attempts`` runs, then failed with the reason;
2. starts the run with ``BRIGHTPATH_JOB_ID`` and ``BRIGHTPATH_DATABASE_URL`` in its environment
   and the MLflow tag ``brightpath.job_id`` on its run (``MLFLOW_RUN_CONTEXT``, applied by
   ``mlflow.start_run``); the run dies with the worker process (``serving.child``);
3. every ``job_heartbeat_s`` records a heartbeat and the progress the run reports
   (``brightpath.store.jobs.report_progress`` lines on its output); a worker that lost the job
   to another (after being silent too long) stops its run;
4. ends the job ``succeeded`` with the run's final metrics (``final/*``) and MLflow run id read
   back by that tag, or ``failed`` with the exit status and the last lines of output (the whole
   output is in ``<BRIGHTPATH_HOME>/logs/jobs/<job_id>.log``).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brightpath.errors import ValidationError
from brightpath.store import DATABASE_URL_ENV, JOB_ID_ENV, Store, parse_progress

log = logging.getLogger(__name__)

MLFLOW_JOB_TAG = "brightpath.job_id"
"""MLflow tag that ties a training run to the job that started it."""
OUTPUT_TAIL_LINES = 30
"""Lines of a failed run's output kept in the job's ``error``."""


@dataclasses.dataclass(frozen=True)
class Override:
    """One Hydra key the API may set: an integer range, or one of a few names."""

    kind: str  # "int" | "choice" | "name"
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()
    doc: str = ""

    def render(self, key: str, value: Any) -> str:
        """``key=value`` for the command line; ``ValidationError`` naming ``overrides.<key>`` if not allowed."""
        field = f"overrides.{key}"
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
                raise ValidationError(field, value, f"an integer {self.low}–{self.high} ({self.doc})")
            return f"{key}={value}"
        if self.kind == "choice":
            if value not in self.choices:
                raise ValidationError(field, value, f"one of {', '.join(self.choices)} ({self.doc})")
            return f"{key}={value}"
        if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
            raise ValidationError(field, value, f"a name of letters, digits, '_', '-' or '.', up to 32 ({self.doc})")
        return f"{key}={value}"


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_SEED = Override("int", 0, 2**32 - 1, doc="the one seed of every RNG")
_DATA = {
    "data.version": Override("name", doc="dataset version tag"),
    "data.n_families": Override("int", 3, 100_000, doc="simulated families"),
    "data.schedules_per_family": Override("int", 1, 50, doc="rated schedules per family"),
}
TASKS: dict[str, dict[str, Override]] = {
    "data": {"seed": _SEED, **_DATA},
    "reward": {
        "seed": _SEED,
        **_DATA,
        "reward_model": Override("choice", choices=("attention", "gbr", "mlp"), doc="reward model kind"),
        "reward_model.max_epochs": Override("int", 1, 500, doc="training epochs at most"),
    },
    "baseline": {
        "seed": _SEED,
        **_DATA,
        "imitation": Override(
            "choice", choices=("rf", "gbr", "mlp"), doc="imitation regressor (the seed's Phase 1 generator)"
        ),
    },
    "ppo": {
        "seed": _SEED,
        **_DATA,
        "model": Override("choice", choices=("mlp", "transformer"), doc="policy network"),
        "agent.num_iterations": Override("int", 1, 10_000, doc="PPO iterations"),
        "env.num_envs": Override("int", 1, 4096, doc="parallel one-step episodes per iteration"),
        "eval.n_families": Override("int", 10, 100_000, doc="held-out families evaluated"),
    },
    "loop": {
        "seed": _SEED,
        "run_name": Override("name", doc="the loop run to continue (default loop-s<seed>)"),
        "resume": Override("choice", choices=("true", "false"), doc="continue the run's rounds"),
        "loop.more_rounds": Override("int", 1, 20, doc="rounds to run after those already done"),
        "loop.rounds": Override("int", 0, 100, doc="rounds after the bootstrap, in all"),
    },
}
"""The allowlist: experiments (``configs/exp/<task>.yaml``) the API may start, and per experiment the
Hydra keys a request may override, with their allowed values. Anything else is refused with 422."""


def render_overrides(task: str, overrides: Mapping[str, Any]) -> list[str]:
    """The command-line overrides for a request, each checked against ``TASKS[task]``.

    Raises:
        ValidationError: an unknown task (field ``task``), a key not allowed for it or a value out of
            its range (field ``overrides.<key>``).
    """
    if task not in TASKS:
        raise ValidationError("task", task, f"one of {', '.join(TASKS)}")
    allowed = TASKS[task]
    rendered = []
    for key, value in overrides.items():
        if key not in allowed:
            raise ValidationError(f"overrides.{key}", value, f"a key allowed for task {task!r}: {', '.join(allowed)}")
        rendered.append(allowed[key].render(key, value))
    return rendered


def worker_id() -> str:
    """``host:pid`` of this process: who owns a running job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(worker: str | None) -> bool:
    """Whether ``worker`` (``host:pid``) is a process of this host that no longer exists.

    False whenever it cannot be known (another host, a pid now reused): the caller then waits for
    the heartbeat to go stale instead.
    """
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def run_job(job_id: str, store: Store, settings, *, python: str = sys.executable) -> dict[str, Any]:
    """Run one training job to its end (module docstring); returns ``{"job_id", "outcome", "state"}``.

    ``settings`` is a ``serving.settings.Settings``. Never raises for a failed run: the failure is
    recorded on the job. It raises only when the store itself cannot be reached, so that the
    message stays on the queue and the job is not lost.
    """
    me = worker_id()
    deadline = time.monotonic() + settings.job_stale_after_s + 2 * settings.job_heartbeat_s
    dead = None
    while True:
        claim = store.claim_job(
            job_id,
            me,
            stale_after_s=settings.job_stale_after_s,
            max_attempts=settings.job_max_attempts,
            dead_worker=dead,
        )
        if claim.outcome != "busy" or time.monotonic() > deadline:
            break
        if dead is None and _gone(claim.job["worker"]):
            dead = claim.job["worker"]  # a process of this host that died with the job: take it over now
            continue
        time.sleep(settings.job_heartbeat_s)  # a redelivered message: wait until the dead run's heartbeat is stale
    if claim.outcome != "claimed":
        log.info("job %s: %s, nothing to run", job_id, claim.outcome)
        return {"job_id": job_id, "outcome": claim.outcome, "state": claim.job["state"] if claim.job else None}
    job = claim.job
    log.info("job %s: running %s (attempt %d)", job_id, job["task"], job["attempts"])
    try:
        command = [
            python,
            "-m",
            "experiments.train",
            f"+exp={job['task']}",
            *render_overrides(job["task"], job["overrides"]),
            f"logger.tracking_uri='{settings.tracking_uri}'",
        ]
    except ValidationError as exc:  # the allowlist changed since the job was queued
        store.finish_job(job_id, me, succeeded=False, message="refused", error=str(exc))
        return {"job_id": job_id, "outcome": "failed", "state": "failed"}
    run = _Run(command, job_id, settings)
    outcome = run.supervise(store, me)
    return {"job_id": job_id, "outcome": outcome, "state": (store.get_job(job_id) or {}).get("state")}


class _Run:
    """The subprocess of one job attempt and its output."""

    def __init__(self, command: list[str], job_id: str, settings):
        self.job_id = job_id
        self.settings = settings
        settings.job_log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = settings.job_log_dir / f"{job_id}.log"
        env = {
            **os.environ,
            JOB_ID_ENV: job_id,
            DATABASE_URL_ENV: settings.database_url,
            "BRIGHTPATH_HOME": str(settings.work_dir),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "MLFLOW_RUN_CONTEXT": json.dumps({MLFLOW_JOB_TAG: job_id}),
            "PYTHONUNBUFFERED": "1",
        }
        self.tail: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL_LINES)
        self.progress: tuple[float, str | None] | None = None
        with open(self.log_path, "a") as log_file:
            log_file.write(f"$ {' '.join(command)}\n")
        # The run dies with this process; the launcher is started by path (standard library only), so it
        # needs no import path to this package whatever the working directory.
        launcher = [sys.executable, str(Path(__file__).with_name("child.py")), str(os.getpid())]
        self.process = subprocess.Popen(
            [*launcher, *command],
            cwd=settings.work_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, name=f"job-{job_id}-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with open(self.log_path, "a") as log_file:
            for line in self.process.stdout:
                log_file.write(line)
                log_file.flush()
                progress = parse_progress(line.rstrip("\n"))
                if progress is not None:
                    self.progress = progress
                else:
                    self.tail.append(line.rstrip("\n"))

    def supervise(self, store: Store, me: str) -> str:
        """Heartbeat until the run ends; record the outcome. Returns ``succeeded``/``failed``/``lost``."""
        started = time.monotonic()
        store.heartbeat(self.job_id, me, progress=0.0, message="training run started")
        while True:
            try:
                status = self.process.wait(timeout=self.settings.job_heartbeat_s)
                break
            except subprocess.TimeoutExpired:
                pass
            progress, message = self.progress if self.progress else (None, None)
            if not store.heartbeat(self.job_id, me, progress=progress, message=message):
                log.warning("job %s was taken over by another worker; stopping this run", self.job_id)
                self._kill()
                return "lost"
            if time.monotonic() - started > self.settings.job_timeout_s:
                self._kill()
                self._reader.join(timeout=10)
                store.finish_job(
                    self.job_id,
                    me,
                    succeeded=False,
                    message="timed out",
                    error=f"the run took longer than {self.settings.job_timeout_s:.0f} s and was "
                    f"stopped; output: {self.log_path}",
                )
                return "failed"
        self._reader.join(timeout=30)
        if status != 0:
            output = "\n".join(self.tail)
            store.finish_job(
                self.job_id,
                me,
                succeeded=False,
                message=f"the training run failed (exit status {status})",
                error=f"exit status {status}; last lines of output:\n{output}",
            )
            return "failed"
        run_id, metrics = find_mlflow_run(self.settings.tracking_uri, self.job_id)
        message = "succeeded" if run_id else "succeeded; no MLflow run carries this job's tag (logging off?)"
        store.finish_job(self.job_id, me, succeeded=True, message=message, metrics=metrics, mlflow_run_id=run_id)
        return "succeeded"

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def find_mlflow_run(tracking_uri: str, job_id: str) -> tuple[str | None, dict[str, float] | None]:
    """The MLflow run tagged with ``job_id`` and its ``final/*`` metrics (prefix removed); ``(None, None)`` if none."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=tracking_uri)
        experiments = [experiment.experiment_id for experiment in client.search_experiments()]
        runs = (
            client.search_runs(
                experiments,
                filter_string=f"tags.`{MLFLOW_JOB_TAG}` = '{job_id}'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
            if experiments
            else []
        )
    except MlflowException as exc:
        log.warning("job %s: cannot read MLflow at %s: %s", job_id, tracking_uri, exc)
        return None, None
    if not runs:
        return None, None
    metrics = {
        name.removeprefix("final/"): float(value)
        for name, value in runs[0].data.metrics.items()
        if name.startswith("final/")
    }
    return runs[0].info.run_id, metrics
