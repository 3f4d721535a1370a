"""The store on both databases it supports (an embedded SQLite file, a real PostgreSQL cluster):
migrations that match the models, idempotent writes the continuous loop relies on, feedback
recorded once, a family's history by week, and training-job claims that survive a dead worker."""

from __future__ import annotations

import concurrent.futures
import datetime
import math
import multiprocessing
import uuid

import pytest
import sqlalchemy.exc
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath import ScheduleGeneratorModel
from brightpath.errors import ValidationError
from brightpath.feedback import FEEDBACK_COLUMNS
from brightpath.questionnaire import ITEM_KEYS
from brightpath.schedule import PARAM_NAMES
from brightpath.store import (
    FeedbackConflictError,
    Store,
    UnknownScheduleError,
    head_revision,
    input_hash,
    schedule_record,
    stable_id,
)
from brightpath.store.models import Base, Feedback

UTC = datetime.UTC


def _fresh_postgres_database(postgres_url: str) -> tuple[str, str]:
    """A new empty database in the test cluster: ``(url, name)``."""
    import sqlalchemy

    name = f"bp_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}", name


def _drop_postgres_database(postgres_url: str, name: str) -> None:
    import sqlalchemy

    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A URL of an empty database: a SQLite file, or a new database in the PostgreSQL test cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    postgres_url = request.getfixturevalue("postgres_url")
    url, name = _fresh_postgres_database(postgres_url)
    yield url
    _drop_postgres_database(postgres_url, name)


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    yield store
    store.close()


def served(n: int, *, family_key: str = "child-1", cohort: str | None = None, weeks: list | None = None) -> list:
    """``n`` served-schedule rows for a real expert schedule, ids deterministic."""
    schedule = ScheduleGeneratorModel().predict({"q1": 4, "q7": 2, "child_age": 9})
    rows = []
    for i in range(n):
        week = weeks[i] if weeks else None
        rows.append(
            schedule_record(
                schedule,
                schedule_id=stable_id("test", family_key, cohort, i),
                family_key=family_key,
                week_start=week,
                cohort=cohort,
                arm="champion",
            )
        )
    return rows


def test_migrations_build_exactly_the_schema_the_models_declare(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from brightpath.store.engine import current_revision

    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as connection:
        assert (
            compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata) == []
        )


def test_the_feedback_table_holds_every_feedback_field():
    columns = {column.name for column in Feedback.__table__.columns}
    assert set(FEEDBACK_COLUMNS) <= columns
    assert columns - set(FEEDBACK_COLUMNS) == {"id", "schedule_id", "received_at"}


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_a_served_schedule_and_its_audit_row_are_written_together(store):
    row = served(1)[0] | {"request_id": "req-1", "generator_version": 3}
    audit = {
        "request_id": "req-1",
        "endpoint": "generate-schedule",
        "model_version": row["model_version"],
        "source": row["source"],
        "latency_ms": 4.2,
        "status_code": 201,
        "input_hash": input_hash({"a": 1}),
    }
    store.add_served_schedule(row, audit)
    back = store.get_served_schedule(row["id"])
    assert back["schedule_json"] == row["schedule_json"]
    assert back["answers"][0] == 4 and back["answers"][6] == 2 and back["answers"][1] == 0
    assert back["params"] == {name: row["schedule_json"]["meta"][name] for name in PARAM_NAMES}
    assert back["created_at"].tzinfo is not None
    assert abs((back["created_at"] - row["created_at"]).total_seconds()) < 1e-3
    assert (back["generator_version"], back["arm"], back["source"]) == (3, "champion", "expert")
    frame = store.audit_frame(endpoint="generate-schedule")
    assert frame["request_id"].tolist() == ["req-1"] and frame["status_code"].tolist() == [201]

    with pytest.raises(sqlalchemy.exc.IntegrityError):  # the same id again: no second audit row either
        store.add_served_schedule(row, audit)
    assert store.count("audit_log") == 1 and store.count("served_schedules") == 1
    assert store.get_served_schedule("no-such-id") is None


def test_input_hash_is_canonical_and_hides_the_input():
    a = input_hash({"answers": [1, 2], "child_age": 8})
    assert a == input_hash({"child_age": 8, "answers": [1, 2]})
    assert a != input_hash({"answers": [1, 2], "child_age": 9})
    assert len(a) == 64 and "8" not in a[:0]


def test_feedback_is_recorded_once_and_reposting_it_is_a_no_op(store):
    row = served(1)[0]
    store.add_served_schedule(row)
    first, created = store.add_feedback(row["id"], {"stars": 4, "comment": "good week", "n_adjustments": 1})
    assert created and first["stars"] == 4.0 and first["likert_engagement"] is None
    again, created_again = store.add_feedback(row["id"], {"stars": 4.0, "comment": "good week", "n_adjustments": 1})
    assert not created_again and again["id"] == first["id"]
    with pytest.raises(FeedbackConflictError, match="already has different feedback"):
        store.add_feedback(row["id"], {"stars": 2})
    with pytest.raises(UnknownScheduleError, match="no served schedule"):
        store.add_feedback("missing", {"stars": 4})
    assert store.count("feedback") == 1


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(
        [
            ("stars", 0),
            ("stars", 6),
            ("likert_engagement", 5.5),
            ("completion_rate", 1.2),
            ("adherence", -0.1),
            ("n_adjustments", -1),
            ("n_adjustments", 1.5),
            ("adjustment_kind", "paint_the_walls"),
            ("comment", 3),
            ("stars", True),
            ("mood", 3),
            ("stars", float("nan")),
        ]
    )
)
def test_malformed_feedback_is_rejected_naming_the_field(tmp_path_factory, case):
    from brightpath.store import feedback_values

    field, value = case
    with pytest.raises(ValidationError) as info:
        feedback_values({field: value})
    assert info.value.field == f"feedback.{field}"


def test_a_loop_round_is_written_once_however_often_it_is_replayed(store):
    schedules = served(4, cohort="round-1")
    feedback = [
        {
            "id": stable_id("fb", row["id"]),
            "schedule_id": row["id"],
            "stars": 3 + i % 3,
            "likert_satisfaction": float("nan") if i == 0 else 4,
            "comment": None,
        }
        for i, row in enumerate(schedules[:3])
    ]
    assert store.record_round(schedules, feedback) == (4, 3)
    assert store.record_round(schedules, feedback) == (0, 0)  # the crashed round re-run
    more = served(6, cohort="round-1")
    assert store.record_round(more, []) == (2, 0)  # only the new rows
    assert (store.count("served_schedules"), store.count("feedback")) == (6, 3)


def test_feedback_frame_is_the_loops_training_table(store):
    schedules = served(3, cohort="round-1") + served(1, family_key="child-2", cohort="round-2")
    feedback = [
        {"id": stable_id("fb", row["id"]), "schedule_id": row["id"], "stars": 5, "adherence": 0.5} for row in schedules
    ]
    feedback[0]["stars"] = None
    store.record_round(schedules, feedback)
    frame = store.feedback_frame()
    assert len(frame) == 4
    assert list(frame.columns[:3]) == ["feedback_id", "schedule_id", "received_at"]
    assert set(FEEDBACK_COLUMNS) | set(ITEM_KEYS) | set(PARAM_NAMES) <= set(frame.columns)
    assert frame["stars"].isna().sum() == 1 and frame["likert_engagement"].isna().all()
    assert frame["q1"].tolist() == [4] * 4 and frame["q2"].tolist() == [0] * 4
    assert len(store.feedback_frame(cohort="round-2")) == 1
    assert "schedule_json" in store.feedback_frame(include_schedule=True).columns
    assert "schedule_json" not in frame.columns


def test_family_history_is_ordered_by_week_with_unrated_weeks_included(store):
    weeks = [datetime.date(2026, 3, 16), None, datetime.date(2026, 3, 2), datetime.date(2026, 3, 9)]
    schedules = served(4, weeks=weeks) + served(2, family_key="other")
    store.record_round(schedules, [{"id": "fb-1", "schedule_id": schedules[2]["id"], "stars": 2}])
    history = store.family_history("child-1")
    assert history["week_start"].tolist() == [
        datetime.date(2026, 3, 2),
        datetime.date(2026, 3, 9),
        datetime.date(2026, 3, 16),
        None,
    ]
    assert history["stars"].tolist()[0] == 2 and math.isnan(history["stars"].tolist()[1])
    assert history["feedback_id"].tolist()[0] == "fb-1" and history["feedback_id"].isna().tolist()[1:] == [True] * 3
    assert store.family_history("nobody").empty


def test_a_job_is_claimed_once_heartbeats_and_finishes(store):
    job = store.create_job("data", {"data.n_families": 30})
    assert (job["state"], job["attempts"], job["progress"]) == ("queued", 0, 0.0)
    claim = store.claim_job(job["id"], "host:1", stale_after_s=60, max_attempts=2)
    assert claim.outcome == "claimed" and claim.job["attempts"] == 1 and claim.job["worker"] == "host:1"
    assert store.claim_job(job["id"], "host:2", stale_after_s=60, max_attempts=2).outcome == "busy"
    assert store.heartbeat(job["id"], "host:1", progress=0.5, message="half way")
    assert not store.heartbeat(job["id"], "host:2")
    assert not store.finish_job(job["id"], "host:2", succeeded=True, message="not mine")
    assert store.finish_job(
        job["id"], "host:1", succeeded=True, message="done", metrics={"loss": 0.1}, mlflow_run_id="run-1"
    )
    done = store.get_job(job["id"])
    assert (done["state"], done["progress"], done["metrics"], done["mlflow_run_id"]) == (
        "succeeded",
        1.0,
        {"loss": 0.1},
        "run-1",
    )
    assert done["finished_at"] >= done["started_at"] >= done["created_at"]
    assert store.claim_job(job["id"], "host:2", stale_after_s=60, max_attempts=2).outcome == "finished"
    assert store.claim_job("missing", "host:2", stale_after_s=60, max_attempts=2).outcome == "missing"


def test_a_job_whose_worker_died_is_taken_over_then_given_up(store):
    job = store.create_job("reward", {})
    store.claim_job(job["id"], "host:1", stale_after_s=60, max_attempts=2)
    takeover = store.claim_job(job["id"], "host:2", stale_after_s=0, max_attempts=2)
    assert takeover.outcome == "claimed" and takeover.job["attempts"] == 2
    assert "previous worker host:1 stopped" in takeover.job["message"]
    assert not store.heartbeat(job["id"], "host:1")  # the old owner learns it lost the job
    exhausted = store.claim_job(job["id"], "host:3", stale_after_s=0, max_attempts=2)
    assert exhausted.outcome == "exhausted" and exhausted.job["state"] == "failed"
    assert "gave up after 2 attempt(s)" in exhausted.job["error"]


def test_the_reaper_requeues_a_silent_job_then_fails_it_with_the_reason(store):
    sent: list[str] = []
    job = store.create_job("ppo", {"seed": 1})
    store.claim_job(job["id"], "host:1", stale_after_s=60, max_attempts=2)
    assert store.reap_stale_jobs(stale_after_s=60, max_attempts=2, send=sent.append) == ([], [])  # still fresh
    assert store.reap_stale_jobs(stale_after_s=0, max_attempts=2, send=sent.append) == ([job["id"]], [])
    assert sent == [job["id"]]
    requeued = store.get_job(job["id"])
    assert requeued["state"] == "queued" and "stopped heartbeating" in requeued["message"]
    store.claim_job(job["id"], "host:2", stale_after_s=60, max_attempts=2)
    assert store.reap_stale_jobs(stale_after_s=0, max_attempts=2, send=sent.append) == ([], [job["id"]])
    failed = store.get_job(job["id"])
    assert failed["state"] == "failed" and "worker host:2 stopped heartbeating" in failed["error"]
    assert sent == [job["id"]]  # a failed job is not sent again


def test_a_job_the_broker_could_not_take_stays_for_the_next_round(store):
    job = store.create_job("reward", {})
    store.claim_job(job["id"], "host:1", stale_after_s=60, max_attempts=2)

    def broker_down(job_id: str) -> None:
        raise ConnectionError("redis is down")

    with pytest.raises(ConnectionError):
        store.reap_stale_jobs(stale_after_s=0, max_attempts=2, send=broker_down)
    assert store.get_job(job["id"])["state"] == "running"  # not queued without a message
    sent: list[str] = []
    assert store.reap_stale_jobs(stale_after_s=0, max_attempts=2, send=sent.append) == ([job["id"]], [])
    assert sent == [job["id"]]


def test_concurrent_claims_give_the_job_to_exactly_one_worker(store):
    job = store.create_job("data", {})

    def claim(i: int) -> str:
        return store.claim_job(job["id"], f"host:{i}", stale_after_s=60, max_attempts=2).outcome

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(claim, range(6)))
    assert sorted(outcomes) == ["busy"] * 5 + ["claimed"]


def _open_store(url: str) -> str:
    from brightpath.store.engine import current_revision

    store = Store(url)
    try:
        return current_revision(store.engine)
    finally:
        store.close()


def test_processes_starting_together_migrate_once(database_url):
    with multiprocessing.get_context("fork").Pool(3) as pool:  # fork: the test is about the race, not imports
        revisions = pool.map(_open_store, [database_url] * 3)
    assert revisions == [head_revision()] * 3


def test_timestamps_must_be_timezone_aware(store):
    row = served(1)[0] | {"created_at": datetime.datetime(2026, 1, 1, 12, 0)}
    with pytest.raises(sqlalchemy.exc.StatementError, match="naive datetime"):
        store.add_served_schedule(row)
    aware = served(1)[0] | {
        "created_at": datetime.datetime(2026, 1, 1, 13, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    }
    store.add_served_schedule(aware)
    assert store.get_served_schedule(aware["id"])["created_at"] == datetime.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_on_sqlite_a_reader_never_waits_for_a_writer(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'readers.db'}")
    job = store.create_job("data", {})
    with store.engine.begin() as writer:  # holds the write lock until the block ends
        writer.exec_driver_sql("UPDATE training_jobs SET message = 'uncommitted'")
        assert store.get_job(job["id"])["message"] == "queued"  # the last committed state, at once
    assert store.get_job(job["id"])["message"] == "uncommitted"
    store.close()


def test_a_background_checkpointer_copies_the_sqlite_wal_into_the_database(tmp_path):
    import time

    path = tmp_path / "checkpointed.db"
    store = Store(f"sqlite:///{path}", checkpoint_interval_s=0.05)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0  # commits never checkpoint
    empty = path.stat().st_size
    store.record_round(served(200), [])
    deadline = time.monotonic() + 10
    while path.stat().st_size <= empty and time.monotonic() < deadline:  # only the background thread copies pages
        time.sleep(0.05)
    assert path.stat().st_size > empty
    store.close()
    assert Store(f"sqlite:///{path}", migrate=False).count("served_schedules") == 200
