"""Initial schema: served_schedules, feedback, training_jobs, audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written against plain SQLAlchemy types (not ``brightpath.store.models``), so this revision keeps
meaning what it meant when the models change; timestamps are naive UTC (``models.UTCDateTime``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "served_schedules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("family_key", sa.String(128), nullable=True),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("child_age", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=True),
        sa.Column("params", JSON, nullable=False),
        sa.Column("schedule_json", JSON, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("generator_version", sa.Integer(), nullable=True),
        sa.Column("arm", sa.String(32), nullable=True),
        sa.Column("cohort", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_served_schedules"),
    )
    op.create_index("ix_served_schedules_created_at", "served_schedules", ["created_at"])
    op.create_index("ix_served_schedules_family_key", "served_schedules", ["family_key"])
    op.create_index("ix_served_schedules_cohort", "served_schedules", ["cohort"])
    op.create_index("ix_served_schedules_family_week", "served_schedules", ["family_key", "week_start"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("schedule_id", sa.String(36), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("stars", sa.Float(), nullable=True),
        sa.Column("likert_satisfaction", sa.Float(), nullable=True),
        sa.Column("likert_engagement", sa.Float(), nullable=True),
        sa.Column("likert_effectiveness", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("completion_rate", sa.Float(), nullable=True),
        sa.Column("adherence", sa.Float(), nullable=True),
        sa.Column("n_adjustments", sa.Integer(), nullable=True),
        sa.Column("adjustment_kind", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["served_schedules.id"],
            ondelete="CASCADE",
            name="fk_feedback_schedule_id_served_schedules",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("schedule_id", name="uq_feedback_schedule_id"),
    )
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])

    op.create_table(
        "training_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("overrides", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed')", name="ck_training_jobs_state"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="ck_training_jobs_progress"),
        sa.PrimaryKeyConstraint("id", name="pk_training_jobs"),
    )
    op.create_index("ix_training_jobs_state", "training_jobs", ["state"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=True),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"])
    op.create_index("ix_audit_log_time", "audit_log", ["time"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("training_jobs")
    op.drop_table("feedback")
    op.drop_table("served_schedules")
