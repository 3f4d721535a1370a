"""``Store``: the small repository API over the BrightPath database (``brightpath.store.models``).

What each caller uses:

* the model service: ``add_served_schedule`` (the schedule and its audit row in one transaction),
  ``get_served_schedule``, ``add_feedback``, ``add_audit``, the job functions;
* the worker: ``claim_job``, ``heartbeat``, ``finish_job``; the service's reaper ``reap_stale_jobs``;
* the continuous-improvement loop: ``record_round`` (served schedules and feedback of a round in
  one idempotent transaction, ids from ``stable_id``), ``feedback_frame``, ``served_frame``;
* the multi-week environment: ``family_history``.

Rows come back as plain dicts (column → value), timestamps timezone-aware UTC.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from brightpath.errors import ValidationError
from brightpath.feedback import FEEDBACK_COLUMNS, parse_feedback
from brightpath.schedule import PARAM_NAMES
from brightpath.store.engine import READ_ONLY_OPTION, checkpoint, create_engine, database_url, upgrade
from brightpath.store.models import FINAL_JOB_STATES, AuditLog, Feedback, ServedSchedule, TrainingJob, utc_now

log = logging.getLogger(__name__)

ID_NAMESPACE = uuid.UUID("5b0c8d6e-6a57-4b4f-9c55-0f4f7e1a2d10")
"""Namespace of ``stable_id``'s uuid5 ids."""


class UnknownScheduleError(LookupError):
    """No served schedule has this id."""

    def __init__(self, schedule_id: str):
        self.schedule_id = schedule_id
        super().__init__(f"schedule_id: no served schedule with id {schedule_id!r}")


class FeedbackConflictError(ValueError):
    """The schedule already has feedback with different values (feedback is written once)."""

    def __init__(self, schedule_id: str, feedback_id: str):
        self.schedule_id = schedule_id
        self.feedback_id = feedback_id
        super().__init__(
            f"schedule {schedule_id!r} already has different feedback ({feedback_id!r}); "
            "feedback on a schedule is recorded once"
        )


@dataclass(frozen=True)
class Claim:
    """What ``claim_job`` decided.

    Attributes:
        outcome: ``"claimed"`` (run it now), ``"finished"`` (already succeeded or failed: nothing to
            do), ``"busy"`` (another worker's heartbeat is fresh), ``"exhausted"`` (too many attempts:
            now failed), ``"missing"`` (no such job).
        job: the job row after the decision (None when missing).
    """

    outcome: str
    job: dict[str, Any] | None


def stable_id(*parts: object) -> str:
    """A deterministic uuid (uuid5) for ``parts``, e.g. ``stable_id("round-3", family, week)``.

    Re-running a crashed loop round with the same parts gives the same ids, so its inserts are no-ops.
    """
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(part) for part in parts)))


def input_hash(payload: Mapping[str, Any]) -> str:
    """sha256 (hex) of a family's input as canonical JSON; pass the answers and child fields, never a name."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def schedule_record(
    schedule: Mapping[str, Any],
    *,
    schedule_id: str | None = None,
    family_key: str | None = None,
    week_start: datetime.date | None = None,
    generator_version: int | None = None,
    arm: str | None = None,
    cohort: str | None = None,
    request_id: str | None = None,
    created_at: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A ``served_schedules`` row for Schedule JSON written by ``brightpath.schedule.schedule_for``.

    The family (``meta.family``: answers, child_age, grade), the parameters, ``source`` and
    ``model_version`` are read from ``schedule["meta"]``; ``schedule_id`` defaults to a new uuid4.

    Raises:
        ValidationError: ``meta`` lacks a parameter or the family (naming the field).
    """
    meta = schedule.get("meta") if isinstance(schedule, Mapping) else None
    if not isinstance(meta, Mapping):
        raise ValidationError("meta", meta, "the Schedule JSON meta section")
    family = meta.get("family")
    if not isinstance(family, Mapping) or not {"answers", "child_age", "grade"} <= set(family):
        raise ValidationError("meta.family", family, "{'answers', 'child_age', 'grade'} as schedule_for writes it")
    missing = [name for name in PARAM_NAMES if name not in meta]
    if missing:
        raise ValidationError(f"meta.{missing[0]}", None, "every schedule parameter in meta")
    return {
        "id": schedule_id or str(uuid.uuid4()),
        "created_at": created_at or utc_now(),
        "family_key": None if family_key is None else str(family_key),
        "answers": [int(answer) for answer in family["answers"]],
        "child_age": int(family["child_age"]),
        "grade": int(family["grade"]),
        "week_start": week_start,
        "params": {name: meta[name] for name in PARAM_NAMES},
        "schedule_json": dict(schedule),
        "source": str(meta.get("source", "unknown")),
        "model_version": str(meta.get("model_version", "unknown")),
        "generator_version": generator_version,
        "arm": arm,
        "cohort": cohort,
        "request_id": request_id,
    }


def feedback_values(feedback: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one feedback mapping (any subset of ``FEEDBACK_COLUMNS``) into column values.

    Types by ``brightpath.feedback.parse_feedback``, ranges by the reward model's reading of
    feedback (``reward.targets.feedback_signals``: stars and Likert 1–5, rates 0–1,
    adjustments ≥ 0); ``n_adjustments`` must be a whole number. Absent keys become None.

    Raises:
        ValidationError: naming ``feedback.<column>``.
    """
    from brightpath.reward.targets import feedback_signals

    columns = parse_feedback(feedback)
    try:
        feedback_signals(columns)
    except ValidationError as exc:
        raise ValidationError(f"feedback.{exc.field}", exc.value, exc.expected) from None
    count = feedback.get("n_adjustments")
    if count is not None and not float(count).is_integer():
        raise ValidationError("feedback.n_adjustments", count, "a whole number of adjustments, ≥ 0")
    values = {name: columns[name][0] if name in columns else None for name in FEEDBACK_COLUMNS}
    for name, value in values.items():
        if value is not None and name not in ("comment", "adjustment_kind"):
            values[name] = int(value) if name == "n_adjustments" else float(value)
    return values


class Store:
    """The database of served schedules, feedback, training jobs and the audit log.

    Args:
        url: a SQLAlchemy URL; default ``engine.database_url()`` (SQLite file, or
            ``$BRIGHTPATH_DATABASE_URL``).
        migrate: bring the schema to the newest revision first (safe when several processes start).
        checkpoint_interval_s: SQLite only: copy the WAL into the database file from a background
            thread this often instead of during a commit (a long-running writer such as the service,
            whose requests then never wait for a checkpoint's fsync); None: SQLite's own checkpoints.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True, checkpoint_interval_s: float | None = None):
        background = (
            checkpoint_interval_s is not None and make_url(url or database_url()).get_backend_name() == "sqlite"
        )
        self.engine: Engine = create_engine(url, autocheckpoint=not background)
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        if migrate:
            upgrade(self.engine)
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if background:
            self._checkpointer = threading.Thread(
                target=self._checkpoint_every, args=(checkpoint_interval_s,), name="sqlite-checkpoint", daemon=True
            )
            self._checkpointer.start()

    def _checkpoint_every(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                checkpoint(self.engine)
            except SQLAlchemyError:  # busy or closing: the next round copies what this one did not
                log.warning("SQLite checkpoint failed; retrying in %.1f s", interval_s, exc_info=True)

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=30)
            checkpoint(self.engine)
        self.engine.dispose()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (committed at the end of the block, rolled back on an exception).

        On SQLite the threads of one process take turns through a lock first: SQLite admits one
        writer at a time anyway, and a thread waiting on the lock wakes as soon as it is free,
        where one waiting inside SQLite polls with sleeps of up to 100 ms.
        """
        with self._write_lock, self.engine.begin() as connection:
            yield connection

    def reading(self):
        """A connection for reads only (on SQLite: no write lock, never waits for a writer)."""
        return self.engine.connect().execution_options(**{READ_ONLY_OPTION: True})

    def list_jobs(self, state: str | None = None) -> list[dict[str, Any]]:
        """Training jobs, newest first; only those in ``state`` when given."""
        query = select(TrainingJob).order_by(TrainingJob.created_at.desc())
        if state is not None:
            query = query.where(TrainingJob.state == state)
        with self.reading() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.reading() as connection:
            connection.exec_driver_sql("SELECT 1")

    # --- served schedules ----------------------------------------------------------------------

    def add_served_schedule(self, record: Mapping[str, Any], audit: Mapping[str, Any] | None = None) -> None:
        """Insert one ``served_schedules`` row (``schedule_record``) and, in the same transaction, its audit row."""
        with self.writing() as connection:
            connection.execute(insert(ServedSchedule), [dict(record)])
            if audit is not None:
                connection.execute(insert(AuditLog), [_audit_row(audit)])

    def get_served_schedule(self, schedule_id: str) -> dict[str, Any] | None:
        with self.reading() as connection:
            row = connection.execute(select(ServedSchedule).where(ServedSchedule.id == schedule_id)).mappings().first()
        return None if row is None else dict(row)

    def count(self, table: str) -> int:
        """Rows in ``table`` (``served_schedules``, ``feedback``, ``training_jobs``, ``audit_log``)."""
        model = {m.__tablename__: m for m in (ServedSchedule, Feedback, TrainingJob, AuditLog)}[table]
        with self.reading() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())

    # --- feedback --------------------------------------------------------------------------------

    def add_feedback(
        self,
        schedule_id: str,
        feedback: Mapping[str, Any],
        *,
        feedback_id: str | None = None,
        received_at: datetime.datetime | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Record a family's feedback on a served schedule, once.

        Returns:
            ``(row, created)``: the new row and True; or, when the schedule already has feedback
            with the same values, that row and False (re-posting is a no-op).

        Raises:
            ValidationError: a malformed value (``feedback_values``).
            UnknownScheduleError: no served schedule with that id.
            FeedbackConflictError: the schedule already has feedback with different values.
        """
        values = feedback_values(feedback)
        with self.writing() as connection:
            if connection.execute(select(ServedSchedule.id).where(ServedSchedule.id == schedule_id)).first() is None:
                raise UnknownScheduleError(schedule_id)
            existing = (
                connection.execute(select(Feedback).where(Feedback.schedule_id == schedule_id).with_for_update())
                .mappings()
                .first()
            )
            if existing is not None:
                if any(not _same(existing[name], value) for name, value in values.items()):
                    raise FeedbackConflictError(schedule_id, existing["id"])
                return dict(existing), False
            row = {
                "id": feedback_id or str(uuid.uuid4()),
                "schedule_id": schedule_id,
                "received_at": received_at or utc_now(),
                **values,
            }
            connection.execute(insert(Feedback), [row])
        return row, True

    def record_round(
        self, schedules: Iterable[Mapping[str, Any]], feedback: Iterable[Mapping[str, Any]] = ()
    ) -> tuple[int, int]:
        """Insert many served schedules and feedback rows in one transaction, skipping rows already there.

        Args:
            schedules: ``schedule_record`` rows, each with a caller-chosen ``id`` (``stable_id``).
            feedback: rows with ``id``, ``schedule_id``, optional ``received_at`` and any of
                ``FEEDBACK_COLUMNS`` (validated as ``feedback_values``); NaN counts as not answered.

        Returns:
            ``(schedules inserted, feedback rows inserted)``: a re-run of the same round inserts 0, 0.
        """
        schedule_rows = [dict(row) for row in schedules]
        feedback_rows = []
        for row in feedback:
            values = {
                k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in row.items()
                if k in FEEDBACK_COLUMNS
            }
            feedback_rows.append(
                {
                    "id": row["id"],
                    "schedule_id": row["schedule_id"],
                    "received_at": row.get("received_at") or utc_now(),
                    **feedback_values(values),
                }
            )
        with self.writing() as connection:
            inserted_schedules = self._insert_ignoring_duplicates(connection, ServedSchedule, schedule_rows)
            inserted_feedback = self._insert_ignoring_duplicates(connection, Feedback, feedback_rows)
        return inserted_schedules, inserted_feedback

    def feedback_frame(
        self, *, cohort: str | None = None, since: datetime.datetime | None = None, include_schedule: bool = False
    ) -> pd.DataFrame:
        """Every feedback row joined with its served schedule, oldest first: the loop's training data.

        Columns: ``feedback_id``, ``schedule_id``, ``received_at``, the ``FEEDBACK_COLUMNS`` (NaN /
        None = not answered), ``family_key``, ``created_at``, ``week_start``, ``child_age``,
        ``grade``, ``q1``…``q25`` (0 = missing), the ``PARAM_NAMES``, ``source``,
        ``model_version``, ``generator_version``, ``arm``, ``cohort``; with ``include_schedule``
        also ``schedule_json``.

        Args:
            cohort: only schedules of this cohort (e.g. a loop round).
            since: only feedback received at or after this time.
        """
        query = select(Feedback, *_schedule_columns(include_schedule)).join(
            ServedSchedule, Feedback.schedule_id == ServedSchedule.id
        )
        if cohort is not None:
            query = query.where(ServedSchedule.cohort == cohort)
        if since is not None:
            query = query.where(Feedback.received_at >= since)
        query = query.order_by(Feedback.received_at, Feedback.id)
        with self.reading() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        for row in rows:
            row["feedback_id"] = row.pop("id")
        return _flatten(rows, ["feedback_id", "schedule_id", "received_at", *FEEDBACK_COLUMNS], include_schedule)

    def served_frame(self, *, cohort: str | None = None, include_schedule: bool = False) -> pd.DataFrame:
        """Every served schedule, rated or not, oldest first (the loop's cohorts, the monitors' populations).

        Columns: ``schedule_id`` and the schedule columns of ``feedback_frame`` (``family_key``,
        ``created_at``, ``week_start``, ``child_age``, ``grade``, ``q1``…``q25``, the
        ``PARAM_NAMES``, ``source``, ``model_version``, ``generator_version``, ``arm``,
        ``cohort``; with ``include_schedule`` also ``schedule_json``).

        Args:
            cohort: only schedules of this cohort (e.g. a loop round's A/B test).
        """
        query = select(ServedSchedule.id.label("schedule_id"), *_schedule_columns(include_schedule))
        if cohort is not None:
            query = query.where(ServedSchedule.cohort == cohort)
        query = query.order_by(ServedSchedule.created_at, ServedSchedule.id)
        with self.reading() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        return _flatten(rows, ["schedule_id"], include_schedule)

    def family_history(self, family_key: str, *, include_schedule: bool = False) -> pd.DataFrame:
        """A family's served schedules with their feedback (NaN/None where none yet), ordered by week.

        Rows are ordered by ``week_start`` (schedules without one last), then ``created_at``. Columns
        as ``feedback_frame``'s, with ``schedule_id`` first; ``feedback_id`` is missing (NA) where unrated.
        """
        query = (
            select(
                ServedSchedule.id.label("schedule_id"),
                *_schedule_columns(include_schedule),
                Feedback.id.label("feedback_id"),
                Feedback.received_at,
                *(getattr(Feedback, name) for name in FEEDBACK_COLUMNS),
            )
            .outerjoin(Feedback, Feedback.schedule_id == ServedSchedule.id)
            .where(ServedSchedule.family_key == str(family_key))
            .order_by(
                ServedSchedule.week_start.is_(None),
                ServedSchedule.week_start,
                ServedSchedule.created_at,
                ServedSchedule.id,
            )
        )
        with self.reading() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        return _flatten(rows, ["schedule_id", "feedback_id", "received_at", *FEEDBACK_COLUMNS], include_schedule)

    # --- training jobs ---------------------------------------------------------------------------

    def create_job(self, task: str, overrides: Mapping[str, Any], *, job_id: str | None = None) -> dict[str, Any]:
        """A new ``queued`` job; returns its row."""
        row = {
            "id": job_id or str(uuid.uuid4()),
            "task": task,
            "overrides": dict(overrides),
            "state": "queued",
            "progress": 0.0,
            "attempts": 0,
            "created_at": utc_now(),
            "message": "queued",
        }
        with self.writing() as connection:
            connection.execute(insert(TrainingJob), [row])
        return self.get_job(row["id"])

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with self.reading() as connection:
            row = connection.execute(select(TrainingJob).where(TrainingJob.id == job_id)).mappings().first()
        return None if row is None else dict(row)

    def claim_job(
        self, job_id: str, worker: str, *, stale_after_s: float, max_attempts: int, dead_worker: str | None = None
    ) -> Claim:
        """Atomically take a job to run it (what makes the worker's task idempotent).

        A ``queued`` job, or a ``running`` one whose heartbeat is older than ``stale_after_s``
        (its worker died) or whose worker is ``dead_worker`` (the caller saw that process gone),
        becomes ``running`` under ``worker`` with one more attempt, unless that would exceed
        ``max_attempts``: then it is ``failed`` with the reason.
        """
        now = utc_now()
        with self.writing() as connection:
            job = (
                connection.execute(select(TrainingJob).where(TrainingJob.id == job_id).with_for_update())
                .mappings()
                .first()
            )
            if job is None:
                return Claim("missing", None)
            if job["state"] in FINAL_JOB_STATES:
                return Claim("finished", dict(job))
            if (
                job["state"] == "running"
                and not _stale(job["heartbeat_at"], now, stale_after_s)
                and (dead_worker is None or job["worker"] != dead_worker)
            ):
                return Claim("busy", dict(job))
            if job["attempts"] >= max_attempts:
                reason = (
                    f"gave up after {job['attempts']} attempt(s): the worker running it "
                    f"({job['worker']}) stopped before finishing"
                )
                connection.execute(
                    update(TrainingJob)
                    .where(TrainingJob.id == job_id)
                    .values(state="failed", error=reason, message=reason, finished_at=now)
                )
                outcome = "exhausted"
            else:
                message = (
                    "running"
                    if job["attempts"] == 0
                    else f"running again (attempt {job['attempts'] + 1}): the previous worker {job['worker']} stopped"
                )
                connection.execute(
                    update(TrainingJob)
                    .where(TrainingJob.id == job_id)
                    .values(
                        state="running",
                        worker=worker,
                        attempts=job["attempts"] + 1,
                        heartbeat_at=now,
                        started_at=now,
                        progress=0.0,
                        message=message,
                        error=None,
                    )
                )
                outcome = "claimed"
        return Claim(outcome, self.get_job(job_id))

    def heartbeat(self, job_id: str, worker: str, *, progress: float | None = None, message: str | None = None) -> bool:
        """Record that ``worker`` is still running the job; False if it no longer owns it (stop then)."""
        values: dict[str, Any] = {"heartbeat_at": utc_now()}
        if progress is not None:
            values["progress"] = min(1.0, max(0.0, float(progress)))
        if message is not None:
            values["message"] = message
        with self.writing() as connection:
            result = connection.execute(
                update(TrainingJob)
                .where(TrainingJob.id == job_id, TrainingJob.state == "running", TrainingJob.worker == worker)
                .values(**values)
            )
        return result.rowcount == 1

    def finish_job(
        self,
        job_id: str,
        worker: str,
        *,
        succeeded: bool,
        message: str,
        metrics: Mapping[str, float] | None = None,
        mlflow_run_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        """End the job ``worker`` owns as ``succeeded`` (progress 1) or ``failed``; False if it does not own it."""
        values: dict[str, Any] = {
            "state": "succeeded" if succeeded else "failed",
            "finished_at": utc_now(),
            "message": message,
            "metrics": None if metrics is None else dict(metrics),
            "mlflow_run_id": mlflow_run_id,
            "error": error,
            "heartbeat_at": utc_now(),
        }
        if succeeded:
            values["progress"] = 1.0
        with self.writing() as connection:
            result = connection.execute(
                update(TrainingJob)
                .where(TrainingJob.id == job_id, TrainingJob.state == "running", TrainingJob.worker == worker)
                .values(**values)
            )
        return result.rowcount == 1

    def fail_job(self, job_id: str, reason: str) -> bool:
        """Mark a job that has not finished as ``failed`` with ``reason`` (e.g. it could not be queued)."""
        now = utc_now()
        with self.writing() as connection:
            result = connection.execute(
                update(TrainingJob)
                .where(TrainingJob.id == job_id, TrainingJob.state.not_in(FINAL_JOB_STATES))
                .values(state="failed", error=reason, message=reason, finished_at=now)
            )
        return result.rowcount == 1

    def reap_stale_jobs(
        self, *, stale_after_s: float, max_attempts: int, send: Callable[[str], None]
    ) -> tuple[list[str], list[str]]:
        """Running jobs whose heartbeat stopped (the whole worker died): re-queue them, or fail them
        when they used ``max_attempts``.

        Args:
            send: puts a job id on the queue again. It is called *before* the job is marked
                ``queued``: if it raises (the broker is down), the job stays ``running`` with a stale
                heartbeat and the next call tries again, so a job is never left ``queued`` with no
                message; a message whose job is already being run again is a no-op (``claim_job``).

        Returns:
            ``(re-queued ids, failed ids)``.
        """
        now = utc_now()
        with self.reading() as connection:
            jobs = connection.execute(select(TrainingJob).where(TrainingJob.state == "running")).mappings().all()
        requeued, failed = [], []
        for job in jobs:
            if not _stale(job["heartbeat_at"], now, stale_after_s):
                continue
            last = job["heartbeat_at"].isoformat(timespec="seconds") if job["heartbeat_at"] else "never"
            if job["attempts"] >= max_attempts:
                reason = (
                    f"failed after {job['attempts']} attempt(s): worker {job['worker']} stopped heartbeating at {last}"
                )
                values = {"state": "failed", "error": reason, "message": reason, "finished_at": now}
            else:
                send(job["id"])
                values = {
                    "state": "queued",
                    "message": f"re-queued: worker {job['worker']} stopped heartbeating at {last}",
                }
            with self.writing() as connection:  # only if nothing touched it since it was read
                changed = connection.execute(
                    update(TrainingJob)
                    .where(
                        TrainingJob.id == job["id"],
                        TrainingJob.state == "running",
                        TrainingJob.heartbeat_at == job["heartbeat_at"],
                        TrainingJob.worker == job["worker"],
                    )
                    .values(**values)
                ).rowcount
            if changed:
                (failed if values["state"] == "failed" else requeued).append(job["id"])
        return requeued, failed

    # --- audit log -------------------------------------------------------------------------------

    def add_audit(self, audit: Mapping[str, Any]) -> None:
        """One audit row: ``request_id``, ``endpoint``, ``latency_ms``, ``status_code`` and optionally
        ``model_version``, ``source``, ``input_hash``, ``time`` (default now)."""
        with self.writing() as connection:
            connection.execute(insert(AuditLog), [_audit_row(audit)])

    def audit_frame(self, *, endpoint: str | None = None) -> pd.DataFrame:
        """The audit log (optionally one endpoint's rows), oldest first."""
        query = select(AuditLog).order_by(AuditLog.id)
        if endpoint is not None:
            query = query.where(AuditLog.endpoint == endpoint)
        with self.reading() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        return pd.DataFrame(rows, columns=[column.name for column in AuditLog.__table__.columns])

    # --- internals -------------------------------------------------------------------------------

    def _insert_ignoring_duplicates(self, connection, model, rows: Sequence[Mapping[str, Any]]) -> int:
        if not rows:
            return 0
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(model).on_conflict_do_nothing().returning(model.id)
        return len(connection.execute(statement, list(rows)).all())


def _audit_row(audit: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(audit)
    row.setdefault("time", utc_now())
    unknown = set(row) - {column.name for column in AuditLog.__table__.columns}
    if unknown:
        raise ValueError(f"audit: unknown field(s) {sorted(unknown)}")
    return row


def _stale(heartbeat_at: datetime.datetime | None, now: datetime.datetime, stale_after_s: float) -> bool:
    return heartbeat_at is None or (now - heartbeat_at).total_seconds() > stale_after_s


def _same(stored: Any, posted: Any) -> bool:
    if stored is None or posted is None:
        return stored is posted
    if isinstance(posted, float):
        return math.isclose(float(stored), posted, rel_tol=0.0, abs_tol=1e-9)
    return stored == posted


def _schedule_columns(include_schedule: bool) -> list:
    names = [
        "family_key",
        "created_at",
        "week_start",
        "child_age",
        "grade",
        "answers",
        "params",
        "source",
        "model_version",
        "generator_version",
        "arm",
        "cohort",
    ] + (["schedule_json"] if include_schedule else [])
    return [getattr(ServedSchedule, name) for name in names]


def _flatten(rows: list[dict[str, Any]], leading: list[str], include_schedule: bool) -> pd.DataFrame:
    """Rows with ``answers`` → ``q1``…``q25`` and ``params`` → one column per parameter."""
    from brightpath.questionnaire import ITEM_KEYS

    for row in rows:
        row.update(zip(ITEM_KEYS, row.pop("answers")))
        params = row.pop("params")
        row.update({name: params.get(name) for name in PARAM_NAMES})
    schedule = [
        "family_key",
        "created_at",
        "week_start",
        "child_age",
        "grade",
        *ITEM_KEYS,
        *PARAM_NAMES,
        "source",
        "model_version",
        "generator_version",
        "arm",
        "cohort",
    ]
    columns = leading + schedule + (["schedule_json"] if include_schedule else [])
    frame = pd.DataFrame(rows, columns=columns)
    for name in FEEDBACK_COLUMNS:
        if name not in ("comment", "adjustment_kind") and name in frame.columns:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


__all__ = [
    "ID_NAMESPACE",
    "Claim",
    "FeedbackConflictError",
    "Store",
    "UnknownScheduleError",
    "feedback_values",
    "input_hash",
    "schedule_record",
    "stable_id",
]
