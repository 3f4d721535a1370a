"""The weekly generator in the backend: ``generate_schedule(user_data, history=...)`` (no history: exactly as
today), a family's lived weeks read and checked (``parse_history``), dates that are not school weeks, and the
service's generate endpoint planning from the family's own served weeks and feedback in its store."""

from __future__ import annotations

import datetime
import json
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

tf = pytest.importorskip("tensorflow")

from brightpath import registry  # noqa: E402
from brightpath.errors import ValidationError  # noqa: E402
from brightpath.feedback import ADJUSTMENT_KINDS  # noqa: E402
from brightpath.inference import (  # noqa: E402
    WeeklyGeneratorModel,
    WeeklyHistory,
    generate_schedule,
    parse_history,
    school_week_features,
)
from brightpath.schedule import PARAM_NAMES  # noqa: E402
from brightpath.temporal import week_context, week_features  # noqa: E402

WEEKS = 4
USER_DATA = {**{f"q{i}": (i * 3) % 5 + 1 for i in range(1, 26)}, "child_age": 10}
PARAMS = {
    "structure_level": 0.6,
    "block_duration_minutes": 35,
    "breaks_frequency": 3,
    "start_hour": 8.5,
    "daily_learning_minutes": 200,
    "subject_rotation": 0.4,
    "break_duration_minutes": 10,
}
HISTORY = [
    {
        "week_start": "2025-09-08",
        "params": PARAMS,
        "feedback": {
            "stars": 4,
            "likert_engagement": 3,
            "comment": "We loved the short morning blocks!",
            "completion_rate": 0.9,
            "adherence": 0.8,
            "n_adjustments": 2,
            "adjustment_kind": "shorten_blocks",
        },
    },
    {"week_start": "2025-09-03", "params": {**PARAMS, "start_hour": 9.0}, "feedback": None},  # a Wednesday
]


@pytest.fixture(scope="module")
def model_root(tmp_path_factory):
    """A registry with a one-shot generator and a weekly generator (an untrained weeks_mlp: plumbing, not skill)."""
    import envs
    from agents.adapter import schedule_tf_environment
    from agents.export import export_weekly_generator
    from agents.networks import NetworkConfig
    from agents.ppo import PPOConfig
    from agents.training import build_learner
    from tests.serving.helpers import tiny_generator

    root = tmp_path_factory.mktemp("weeks") / "models"
    registry.publish(root, "generator", tiny_generator(-0.5, "gen-v1"))
    tf_env = schedule_tf_environment(8, seed=0, env_id=envs.WEEKS_ENV_ID, weeks=WEEKS, reward_source="oracle")
    learner = build_learner(
        tf_env,
        NetworkConfig(name="weeks_mlp", init_means_output_factor=1.0),
        PPOConfig(minibatch_size=8, normalize_observations=False),
        seed=0,
    )
    registry.publish(
        root,
        "weekly_generator",
        lambda path: export_weekly_generator(
            learner.agent.policy, path, weeks=WEEKS, action_mode="absolute", model_version="weekly-v1"
        ),
    )
    return root


def test_without_history_nothing_changes(model_root):
    today = generate_schedule(USER_DATA, model_dir=model_root)
    assert today["meta"]["source"] == "ppo" and today["meta"]["model_version"] == "gen-v1"
    assert generate_schedule(USER_DATA, model_dir=model_root, history=None) == today
    assert generate_schedule(USER_DATA, model_dir=model_root, history=[]) == today
    assert "history_weeks" not in today["meta"]


def test_the_weekly_generator_plans_from_the_lived_weeks(model_root):
    schedule = generate_schedule(USER_DATA, model_dir=model_root, history=HISTORY)
    meta = schedule["meta"]
    assert (meta["source"], meta["model_version"], meta["history_weeks"]) == ("ppo", "weekly-v1", 2)
    json.dumps(schedule)
    # What it read: the weeks in date order, feedback in natural units, the kind's index, school-week dates.
    lived = parse_history(HISTORY)
    assert [w.monday for w in lived] == [datetime.date(2025, 9, 1), datetime.date(2025, 9, 8)]
    assert lived[0].adjustment_kind == -1 and np.isnan(lived[0].feedback).all()
    assert lived[1].adjustment_kind == ADJUSTMENT_KINDS.index("shorten_blocks")
    np.testing.assert_array_equal(lived[1].feedback[[0, 1, 2, 3, 5, 6, 7]], [4, np.nan, 3, np.nan, 0.9, 0.8, 2])
    assert 0.5 < lived[1].feedback[4] <= 1.0  # a happy comment, as VADER reads it
    model = WeeklyGeneratorModel(model_root / "weekly_generator")
    history = WeeklyHistory.empty(1, WEEKS)
    for slot, week in enumerate(lived):
        history.record(
            slot, week.params, week.feedback, week.adjustment_kind, week_features(week_context([str(week.monday)]))[0]
        )
    expected = model.predict_params(
        np.array([[USER_DATA[f"q{i}"] for i in range(1, 26)]], np.float32),
        np.array([10.0]),
        history,
        week_features(week_context(["2025-09-15"])),
    )[0]
    np.testing.assert_allclose([meta[name] for name in PARAM_NAMES], expected, rtol=1e-6)
    other = generate_schedule(USER_DATA, model_dir=model_root, history=[{**HISTORY[0], "feedback": {"stars": 1}}])
    assert [other["meta"][n] for n in PARAM_NAMES] != [meta[n] for n in PARAM_NAMES]  # it reads the feedback


def test_only_the_latest_weeks_an_episode_can_hold_are_read(model_root):
    many = [
        {"week_start": str(datetime.date(2025, 9, 1) + datetime.timedelta(weeks=k)), "params": PARAMS} for k in range(6)
    ]
    assert generate_schedule(USER_DATA, model_dir=model_root, history=many)["meta"]["history_weeks"] == WEEKS - 1


@pytest.mark.parametrize(
    ("day", "school_week"),
    [
        ("2025-09-10", "2025-09-08"),  # a Wednesday: its week
        ("2025-11-24", "2025-12-01"),  # Thanksgiving week: the next school week
        ("2025-12-29", "2026-01-05"),  # winter break
        ("2026-07-06", "2026-08-31"),  # the summer: the next school year's first week
        ("2025-08-18", "2025-08-25"),  # before the year starts
    ],
)
def test_a_week_that_is_not_a_school_week_reads_as_the_next_one(day, school_week):
    from brightpath.inference import _monday

    np.testing.assert_array_equal(
        school_week_features([_monday(day, "day")]), week_features(week_context([school_week]))
    )


@pytest.mark.parametrize(
    ("history", "field"),
    [
        ("2025-09-01", "history"),
        ([42], "history[0]"),
        ([{"params": PARAMS}], "history[0].week_start"),
        ([{"week_start": "someday", "params": PARAMS}], "history[0].week_start"),
        ([{"week_start": "2025-09-01"}], "history[0]"),
        ([{"week_start": "2025-09-01", "params": PARAMS, "schedule": {}}], "history[0]"),
        ([{"week_start": "2025-09-01", "params": {**PARAMS, "start_hour": "early"}}], "history[0].params.start_hour"),
        ([{"week_start": "2025-09-01", "schedule": {"meta": {}}}], "history[0].schedule.meta.structure_level"),
        ([{"week_start": "2025-09-01", "params": PARAMS, "mood": "fine"}], "history[0].mood"),
        ([{"week_start": "2025-09-01", "params": PARAMS, "feedback": {"stars": 9}}], "history[0].feedback.stars"),
        (
            [{"week_start": "2025-09-01", "params": PARAMS, "feedback": {"adjustment_kind": "nap"}}],
            "history[0].feedback.adjustment_kind",
        ),
    ],
)
def test_a_bad_history_is_refused_naming_the_field(model_root, history, field):
    with pytest.raises(ValidationError) as error:
        generate_schedule(USER_DATA, model_dir=model_root, history=history)
    assert error.value.field == field


@settings(max_examples=150, deadline=None)
@given(
    week=st.dictionaries(
        st.sampled_from(["week_start", "params", "schedule", "feedback", "x"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=5),
            st.floats(),
            st.dictionaries(
                st.sampled_from([*PARAM_NAMES, "stars", "comment"]),
                st.one_of(st.none(), st.floats(), st.text(max_size=3)),
            ),
        ),
    )
)
def test_any_malformed_week_gives_a_validation_error_naming_it(week):
    try:
        parse_history([week])
    except ValidationError as error:
        assert error.field.startswith("history")


def test_a_one_shot_model_dir_or_a_broken_weekly_generator_plans_as_today(model_root, tmp_path, caplog):
    generator_dir = registry.resolve(model_root, "generator")[1]
    assert generate_schedule(USER_DATA, model_dir=generator_dir, history=HISTORY) == generate_schedule(
        USER_DATA, model_dir=generator_dir
    )
    broken = tmp_path / "models"
    registry.publish(
        broken, "generator", lambda path: __import__("shutil").copytree(generator_dir, path, dirs_exist_ok=True)
    )
    (broken / "weekly_generator").mkdir()
    (broken / "weekly_generator" / "brightpath_model.json").write_text('{"kind": "weekly_generator"}')
    with caplog.at_level(logging.WARNING, logger="brightpath.inference"):
        schedule = generate_schedule(USER_DATA, model_dir=broken, history=HISTORY)
    assert schedule == generate_schedule(USER_DATA, model_dir=broken)
    assert "weekly generator unusable" in caplog.text


def test_the_service_plans_a_family_s_next_week_from_its_stored_weeks(model_root, tmp_path):
    from tests.serving.helpers import SEED_FAMILY, client_for, make_settings

    with client_for(make_settings(tmp_path, model_root)) as client:
        first = client.post(
            "/api/ml/generate-schedule/", json={**SEED_FAMILY, "child_id": "weeks-1", "week_start": "2025-09-08"}
        )
        assert first.status_code == 201, first.text
        assert first.json()["generator_version"] == 1 and "history_weeks" not in first.json()["schedule_data"]["meta"]
        feedback = {
            "schedule_id": first.json()["id"],
            "stars": 2,
            "adjustment_kind": "shorten_blocks",
            "n_adjustments": 1,
            "completion_rate": 0.5,
        }
        assert client.post("/api/ml/feedback/", json=feedback).status_code == 201
        second = client.post(
            "/api/ml/generate-schedule/", json={**SEED_FAMILY, "child_id": "weeks-1", "week_start": "2025-09-15"}
        )
        assert second.status_code == 201, second.text
        body = second.json()
        assert body["schedule_data"]["meta"]["history_weeks"] == 1 and body["model_version"] == "weekly-v1"
        assert body["generator_version"] == registry.resolve(model_root, "weekly_generator")[0]
        again = client.post(
            "/api/ml/generate-schedule/",  # the same week asked for again: earlier weeks only
            json={**SEED_FAMILY, "child_id": "weeks-1", "week_start": "2025-09-15"},
        )
        assert again.json()["schedule_data"]["meta"]["history_weeks"] == 1
        stranger = client.post("/api/ml/generate-schedule/", json={**SEED_FAMILY, "child_id": "weeks-2"})
        assert stranger.json()["model_version"] == "gen-v1"  # no history: the one-shot generator, as today
