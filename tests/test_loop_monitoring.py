"""Monitoring a store as the loop, ``python -m experiments.monitor`` and the service's ``/dashboard`` do
(``brightpath.monitoring.store_report``), with the loop's world serving the weeks: a population shift
is detected and starts a retraining round; an unchanged population raises a drift or degradation
alert in at most 5 % of repetitions (measured here, as the A/B test's false-positive rate is)."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from brightpath.datasets import generate_datasets
from brightpath.expert import expert_params
from brightpath.monitoring.retraining import TriggerConfig, retraining_trigger
from brightpath.monitoring.store_report import monitor_store, week_of
from brightpath.schedule import ScheduleParams, schedule_for
from brightpath.store import Store, schedule_record, stable_id
from experiments.loop.cohorts import import_logged, user_data, week_of_round
from experiments.loop.config import WorldConfig
from experiments.loop.world import World

COHORT = 320
"""New families per simulated week: above the 300 a drift test needs on each side."""
FALSE_ALARM_REPS = 40
"""Repetitions of the false-alarm measurement here; 300 repetitions of the same procedure raised 2 alarms (0.7 %:
0 drift, 2 degradation)."""


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop-monitoring-data")
    generate_datasets(
        root, n_families=500, schedules_per_family=1, val_fraction=0.15, test_fraction=0.15, seed=0, version="v1"
    )
    return root


def _world(data_root, *, seed=0, shift="none"):
    return World(
        WorldConfig(shift=shift, shift_round=1),
        seed=seed,
        namespace=f"test{seed}",
        data_root=data_root,
        data_version="v1",
        new_families=COHORT,
        returning_families=0,
        ab_families=4,
    )


def _record_week(store, world, round_, *, week):
    """The world's new families of ``round_`` served the expert's week (as the service would) in ``week``,
    with their feedback; bulk inserts, so many weeks stay fast."""
    from brightpath.questionnaire import parse_user_data

    keys, families = world.new(round_)
    params = expert_params(families.answers, families.child_age).astype(np.float64)
    answers = world.respond(families, params, round_, "serve")
    schedules, feedback = [], []
    created = datetime.datetime.combine(week, datetime.time(6, tzinfo=datetime.UTC))
    for i, key in enumerate(keys):
        family = parse_user_data(user_data(families.answers[i], int(families.age[i])))
        schedule = schedule_for(family, ScheduleParams.from_vector(params[i]), source="expert", model_version="expert")
        schedule_id = stable_id(world.namespace, round_, key)
        schedules.append(
            schedule_record(
                schedule,
                schedule_id=schedule_id,
                family_key=key,
                week_start=week,
                generator_version=1,
                cohort=f"w{round_}",
                created_at=created,
            )
        )
        feedback.append(
            {
                "id": stable_id("fb", schedule_id),
                "schedule_id": schedule_id,
                "received_at": created + datetime.timedelta(days=5),
                **{name: column[i] for name, column in answers.items()},
            }
        )
    store.record_round(schedules, feedback)


def _store_with_history(tmp_path, data_root, world):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    import_logged(store, world, data_root, "v1")
    return store


def test_week_of_a_served_schedule_is_its_week_start_else_the_monday_it_was_served(tmp_path, data_root):
    store = _store_with_history(tmp_path, data_root, _world(data_root))
    served = store.served_frame()
    assert set(week_of(served)) == {week_of_round(0)}
    served.loc[0, "week_start"] = None
    served.loc[0, "created_at"] = datetime.datetime(2026, 11, 26, 15, tzinfo=datetime.UTC)  # a Thursday
    assert week_of(served).iloc[0] == datetime.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("shift", "column"), [("older_children", "child_age"), ("strict_time_managers", "score_time_management")]
)
def test_a_population_shift_is_detected_and_starts_a_retraining_round(tmp_path, data_root, shift, column):
    world = _world(data_root, shift=shift)
    store = _store_with_history(tmp_path, data_root, world)
    _record_week(store, world, 1, week=week_of_round(1))

    found = monitor_store(store, window=week_of_round(1))

    assert found.n_current_families == COHORT and found.n_reference_families >= 300
    drifted = {a.labels.get("column") for a in found.report.alerts() if a.kind == "feature_drift"}
    assert column in drifted
    trigger = retraining_trigger(found.report.alerts(), found.new_feedback, TriggerConfig(min_new_feedback=None))
    assert trigger.fired and any(reason.startswith("drift") for reason in trigger.reasons)
    assert trigger.alert().kind == "retraining_triggered"


def test_an_unchanged_population_raises_drift_or_degradation_alerts_in_at_most_5_percent_of_weeks(tmp_path, data_root):
    """A store holding the logged weeks and week 1 (the same generator version), then, per repetition, a
    week 2 of families drawn afresh from the unchanged population: a false alarm is any drift (week 2's
    families vs those before) or degradation (week 2's satisfaction vs week 1's) alert."""
    import shutil

    world = _world(data_root, seed=7)
    base = _store_with_history(tmp_path, data_root, world)
    _record_week(base, world, 1, week=week_of_round(1))
    base.close()
    alarms = 0
    for rep in range(FALSE_ALARM_REPS):
        path = tmp_path / f"rep{rep}.db"
        shutil.copy(tmp_path / "store.db", path)
        store = Store(f"sqlite:///{path}", migrate=False)
        _record_week(store, world, 2 + rep, week=week_of_round(2))
        alerts = monitor_store(store, window=week_of_round(2)).report.alerts()
        alarms += any(a.kind in ("dataset_drift", "feature_drift", "satisfaction_degradation") for a in alerts)
        store.close()
    assert alarms / FALSE_ALARM_REPS <= 0.05


def test_no_trigger_without_drift_degradation_or_enough_new_feedback(tmp_path, data_root):
    world = _world(data_root, seed=3)
    store = _store_with_history(tmp_path, data_root, world)
    _record_week(store, world, 1, week=week_of_round(1))
    since = datetime.datetime.combine(week_of_round(1), datetime.time(0, tzinfo=datetime.UTC))
    found = monitor_store(store, window=week_of_round(1), feedback_since=since)
    assert found.new_feedback == COHORT

    assert not retraining_trigger(
        found.report.alerts(), found.new_feedback, TriggerConfig(min_new_feedback=COHORT + 1)
    ).fired
    counted = retraining_trigger(found.report.alerts(), found.new_feedback, TriggerConfig(min_new_feedback=COHORT))
    assert counted.fired and counted.reasons == (f"{COHORT} new feedback rows (≥ {COHORT})",)


def test_a_store_without_enough_families_says_why_drift_was_not_tested(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    empty = monitor_store(store)
    assert empty.window is None and empty.notes == ("the store holds no served schedule",)
