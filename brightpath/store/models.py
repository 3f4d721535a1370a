"""The tables of the BrightPath store (SQLAlchemy 2 declarative models).

=====================  ========================================================================
table                  one row is
=====================  ========================================================================
``served_schedules``   a schedule the service (or a loop round) gave a family: its input, its
                       parameters, the Schedule JSON, which model wrote it and for which week
``feedback``           the family's feedback on one served schedule (at most one per schedule)
``training_jobs``      a training job started through the API: state, progress, result
``audit_log``          one prediction or evaluation request: id, time, endpoint, model version,
                       source, latency, status and a hash of the family's input (never a name)
=====================  ========================================================================

The continuous-improvement loop reads ``feedback`` joined with ``served_schedules`` as its training
data, and a family's history (by ``family_key``, ordered by ``week_start``) feeds the multi-week
environment. Timestamps are UTC, stored naive and returned timezone-aware on every database.
"""

from __future__ import annotations

import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JOB_STATES: tuple[str, ...] = ("queued", "running", "succeeded", "failed")
"""A training job's life: queued → running → succeeded | failed (running → queued again when re-queued)."""
FINAL_JOB_STATES: tuple[str, ...] = ("succeeded", "failed")

Json = JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names the migrations can refer to on every database."""


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC ``datetime``: stored naive in UTC, returned with ``tzinfo=UTC``."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime.datetime | None, dialect) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware (UTC) datetime")
        return value.astimezone(datetime.UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime.datetime | None, dialect) -> datetime.datetime | None:
        return None if value is None else value.replace(tzinfo=datetime.UTC)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ServedSchedule(Base):
    """A schedule given to a family (by the service, the Django backend or a loop round)."""

    __tablename__ = "served_schedules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, doc="uuid; loop rounds supply deterministic ids")
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime(), default=utc_now, index=True)
    family_key: Mapped[str | None] = mapped_column(
        String(128), index=True, doc="opaque id from the caller (the backend's child_id); finds a family's history"
    )
    answers: Mapped[list] = mapped_column(Json, doc="q1–q25 Likert answers 1–5, 0 = missing")
    child_age: Mapped[int] = mapped_column(Integer, doc="years, 5–18")
    grade: Mapped[int] = mapped_column(Integer, doc="0 (kindergarten) – 12")
    week_start: Mapped[datetime.date | None] = mapped_column(Date, doc="Monday of the week it is for")
    params: Mapped[dict] = mapped_column(Json, doc="the 7 schedule parameters (schedule.PARAM_NAMES)")
    schedule_json: Mapped[dict] = mapped_column(Json, doc="the Schedule JSON served (CONTRACTS §2)")
    source: Mapped[str] = mapped_column(String(32), doc="meta.source: ppo, expert, fallback, …")
    model_version: Mapped[str] = mapped_column(String(128), doc="meta.model_version (the training run)")
    generator_version: Mapped[int | None] = mapped_column(Integer, doc="registry version of the generator")
    arm: Mapped[str | None] = mapped_column(String(32), doc="A/B arm: champion or challenger")
    cohort: Mapped[str | None] = mapped_column(String(64), index=True, doc="e.g. a loop round id")
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_served_schedules_family_week", "family_key", "week_start"),)


class Feedback(Base):
    """A family's feedback on one served schedule; NULL in a column = the family did not answer it.

    ``schedule_id`` is unique: a schedule has at most one feedback row. The repository treats
    posting the same values again as a no-op returning the first row, and different values for a
    schedule that already has feedback as a conflict (``store.FeedbackConflict``).
    """

    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("served_schedules.id", ondelete="CASCADE"), unique=True
    )
    received_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime(), default=utc_now, index=True)
    stars: Mapped[float | None] = mapped_column(Float, doc="1–5")
    likert_satisfaction: Mapped[float | None] = mapped_column(Float, doc="1–5")
    likert_engagement: Mapped[float | None] = mapped_column(Float, doc="1–5")
    likert_effectiveness: Mapped[float | None] = mapped_column(Float, doc="1–5")
    comment: Mapped[str | None] = mapped_column(Text)
    completion_rate: Mapped[float | None] = mapped_column(Float, doc="0–1")
    adherence: Mapped[float | None] = mapped_column(Float, doc="0–1")
    n_adjustments: Mapped[int | None] = mapped_column(Integer, doc="≥ 0")
    adjustment_kind: Mapped[str | None] = mapped_column(String(32), doc="one of feedback.ADJUSTMENT_KINDS")


class TrainingJob(Base):
    """A training job (``python -m experiments.train +exp=<task>``) run by the worker."""

    __tablename__ = "training_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task: Mapped[str] = mapped_column(String(32))
    overrides: Mapped[dict] = mapped_column(Json, default=dict, doc="allowlisted Hydra overrides, key → value")
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0, doc="0–1")
    message: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict | None] = mapped_column(Json, doc="the run's final metrics")
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, doc="times a worker started it")
    worker: Mapped[str | None] = mapped_column(String(255), doc="host:pid of the worker running it")
    heartbeat_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    started_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(state) for state in JOB_STATES)})", name="state"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )


class AuditLog(Base):
    """One prediction or evaluation request (the seed plan's audit logging)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[datetime.datetime] = mapped_column(UTCDateTime(), default=utc_now, index=True)
    endpoint: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[float] = mapped_column(Float)
    status_code: Mapped[int] = mapped_column(Integer)
    input_hash: Mapped[str | None] = mapped_column(String(64), doc="sha256 of the family input, hex")


__all__ = [
    "FINAL_JOB_STATES",
    "JOB_STATES",
    "AuditLog",
    "Base",
    "Feedback",
    "ServedSchedule",
    "TrainingJob",
    "UTCDateTime",
    "utc_now",
]
