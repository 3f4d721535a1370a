"""The BrightPath store: one database of served schedules, feedback, training jobs and the audit log.

SQLAlchemy 2 models (``models``), migrations by Alembic (``migrations/``, applied by
``Store(url)`` or ``python -m brightpath.store upgrade``), and a small repository API
(``repository.Store``). An embedded SQLite file by default (WAL), PostgreSQL when
``BRIGHTPATH_DATABASE_URL`` says so (``engine``). The model service writes it, the
continuous-improvement loop reads its feedback, the multi-week environment a family's history.

    from brightpath.store import Store, schedule_record, stable_id
    store = Store()                                # $BRIGHTPATH_DATABASE_URL or ./brightpath.db
    store.record_round(schedules, feedback)        # idempotent: ids from stable_id(...)
    frame = store.feedback_frame()                 # pandas, one row per feedback
"""

from __future__ import annotations

from brightpath.store.engine import DATABASE_URL_ENV, create_engine, database_url, head_revision, upgrade
from brightpath.store.jobs import JOB_ID_ENV, parse_progress, report_progress
from brightpath.store.models import FINAL_JOB_STATES, JOB_STATES
from brightpath.store.repository import (
    Claim,
    FeedbackConflictError,
    Store,
    UnknownScheduleError,
    feedback_values,
    input_hash,
    schedule_record,
    stable_id,
)

__all__ = [
    "DATABASE_URL_ENV",
    "FINAL_JOB_STATES",
    "JOB_ID_ENV",
    "JOB_STATES",
    "Claim",
    "FeedbackConflictError",
    "Store",
    "UnknownScheduleError",
    "create_engine",
    "database_url",
    "feedback_values",
    "head_revision",
    "input_hash",
    "parse_progress",
    "report_progress",
    "schedule_record",
    "stable_id",
    "upgrade",
]
