"""Schedule parameters, week layout, Schedule JSON, validator, summary features and tokens."""

import copy
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brightpath.errors import ValidationError
from brightpath.schedule import (
    DAY_END_MINUTE,
    MAX_TOKENS,
    N_PARAMS,
    PARAM_SPECS,
    SUMMARY_FEATURES,
    ScheduleParams,
    build_layout,
    build_schedule,
    clip_params,
    encode_layout,
    encode_schedule,
    json_to_layout,
    params_to_unit,
    summarize,
    summarize_many,
    unit_to_params,
    validate_schedule,
)

unit_vectors = arrays(np.float64, N_PARAMS, elements=st.floats(-1.5, 1.5, allow_nan=False))
bands = st.integers(0, 3)
F = {name: i for i, name in enumerate(SUMMARY_FEATURES)}


def schedule_of(vector, band=1, **meta):
    return build_schedule(ScheduleParams.from_unit(vector), band, source="test", model_version="0", **meta)


@settings(max_examples=150, deadline=None)
@given(unit=unit_vectors, band=bands)
def test_any_action_yields_a_valid_week(unit, band):
    params = ScheduleParams.from_unit(unit)
    for value, spec in zip(params.to_vector(), PARAM_SPECS):
        assert spec.low <= value <= spec.high
    schedule = build_schedule(params, band, source="ppo", model_version="t")
    layout = json_to_layout(json.loads(json.dumps(schedule)))  # plain JSON, validator accepts it
    np.testing.assert_array_equal(layout, build_layout(params, band))
    assert [d["day_name"] for d in schedule["days"]] == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    ends = layout[:, 3] + layout[:, 4]
    assert ends.max() <= DAY_END_MINUTE
    for day in range(5):
        rows = layout[layout[:, 0] == day]
        assert (rows[1:, 3] >= rows[:-1, 3] + rows[:-1, 4]).all(), "blocks overlap"
        assert rows[0, 1] == 1 and rows[-1, 1] == 1, "days start and end with a subject block"


@settings(max_examples=100, deadline=None)
@given(unit=unit_vectors)
def test_unit_round_trip_is_stable(unit):
    params = unit_to_params(unit)
    np.testing.assert_allclose(unit_to_params(params_to_unit(params)), params)
    np.testing.assert_allclose(clip_params(params), params)


def test_params_snap_to_steps_and_ranges():
    params = ScheduleParams.from_vector([1.7, 33, 9, 6.2, 1000, -3, 12])
    assert params == ScheduleParams(1.0, 35, 5, 7, 300, 0.0, 10)


def test_layout_follows_the_parameters():
    params = ScheduleParams(1.0, 30, 2, 8, 240, 1.0, 10)
    s = summarize(build_layout(params, 1), 1)
    assert s[F["block_minutes"]] == 30
    assert s[F["learning_minutes_per_day"]] == 240
    assert s[F["start_hour_mean"]] == 8.0 and s[F["start_hour_std"]] == 0.0
    assert s[F["switch_rate"]] > 0.8  # full rotation switches subject almost every block
    grouped = summarize(build_layout(ScheduleParams(1.0, 30, 2, 8, 240, 0.0, 10), 1), 1)
    assert grouped[F["switch_rate"]] < s[F["switch_rate"]]


def test_more_structure_gives_more_regular_weeks():
    regularity = [
        summarize(build_layout(ScheduleParams(level, 30, 3, 8, 240, 0.5, 10), 2), 2)[F["regularity"]]
        for level in (0.0, 0.3, 0.5, 0.8, 1.0)
    ]
    assert regularity == sorted(regularity) and regularity[-1] > regularity[0] + 0.5
    spread = [
        summarize(build_layout(ScheduleParams(level, 30, 3, 8, 240, 0.5, 10), 2), 2)[F["start_hour_std"]]
        for level in (0.0, 0.5, 1.0)
    ]
    assert spread == sorted(spread, reverse=True) and spread[-1] == 0.0


def test_enough_minutes_cover_the_grade_requirements():
    full = summarize(build_layout(ScheduleParams(1.0, 30, 3, 8, 300, 0.5, 10), 3), 3)
    light = summarize(build_layout(ScheduleParams(1.0, 30, 3, 8, 60, 0.5, 10), 3), 3)
    assert full[F["coverage"]] > 0.95 > light[F["coverage"]]


@settings(max_examples=30, deadline=None)
@given(units=st.lists(unit_vectors, min_size=1, max_size=6), band=bands)
def test_batched_summary_equals_one_at_a_time(units, band):
    layouts = [build_layout(ScheduleParams.from_unit(u), band) for u in units]
    batched = summarize_many(layouts, np.full(len(layouts), band))
    for row, layout in zip(batched, layouts):
        np.testing.assert_allclose(row, summarize(layout, band))
    assert np.isfinite(batched).all()


def test_tokens_mirror_the_layout():
    layout = build_layout(ScheduleParams(0.5, 45, 3, 9, 180, 0.5, 15), 0)
    tokens, mask = encode_layout(layout)
    assert tokens.shape == (MAX_TOKENS, 5) and mask.sum() == len(layout)
    np.testing.assert_array_equal(tokens[: len(layout), 0], layout[:, 1])
    assert (tokens[len(layout) :] == 0).all()
    from_json, _ = encode_schedule(schedule_of(params_to_unit(np.array([0.5, 45, 3, 9, 180, 0.5, 15])), band=0))
    np.testing.assert_array_equal(from_json, tokens)


def _valid():
    return schedule_of(np.zeros(N_PARAMS))


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda s: s.pop("days"), "days"),
        (lambda s: s["days"].pop(), "days"),
        (lambda s: s["days"][1].pop("blocks"), "days[1].blocks"),
        (lambda s: s["days"][0]["blocks"][0].pop("start_time"), "days[0].blocks[0].start_time"),
        (lambda s: s["days"][0]["blocks"][0].update(type="nap"), "days[0].blocks[0].type"),
        (lambda s: s["days"][0]["blocks"][0].update(subject="alchemy"), "days[0].blocks[0].subject"),
        (lambda s: s["days"][0]["blocks"][0].update(duration_minutes="30"), "days[0].blocks[0].duration_minutes"),
        (lambda s: s["days"][0]["blocks"][0].update(start_time="8am"), "days[0].blocks[0].start_time"),
        (
            lambda s: s["days"][2]["blocks"][1].update(start_time=s["days"][2]["blocks"][0]["start_time"]),
            "days[2].blocks[1].start_time",
        ),
        (lambda s: s["days"][3]["blocks"][-1].update(start_time="17:50"), "days[3].blocks"),
        (lambda s: s["days"][4].update(day=0), "days[4].day"),
        (lambda s: s["days"][4].update(day_name="Sunday"), "days[4].day_name"),
        (lambda s: [d.update(blocks=[]) for d in s["days"]], "days"),
        # arrays compare elementwise: a check written with `in`/`!=` would raise instead of naming the field
        (lambda s: s["days"][1].update(day_name=np.array(["Tuesday", "x"])), "days[1].day_name"),
        (lambda s: s["days"][0]["blocks"][0].update(type=np.array([1, 2])), "days[0].blocks[0].type"),
        (lambda s: s["days"][0]["blocks"][0].update(subject=np.array(["math"])), "days[0].blocks[0].subject"),
    ],
)
def test_malformed_schedules_are_rejected_naming_the_field(mutate, field):
    schedule = copy.deepcopy(_valid())
    mutate(schedule)
    with pytest.raises(ValidationError) as err:
        json_to_layout(schedule)
    assert err.value.field.startswith(field)
    assert field.split(".")[0] in str(err.value)


@pytest.mark.parametrize("bad", [None, [], "schedule", 3, {"meta": {}, "days": "Monday"}])
def test_wrong_containers_are_rejected(bad):
    with pytest.raises(ValidationError):
        json_to_layout(bad)


def test_coverage_check_is_optional_and_names_its_reason():
    thin = schedule_of(params_to_unit(np.array([1.0, 15, 2, 8, 60, 0.5, 5])), band=3)
    validate_schedule(thin)
    with pytest.raises(ValidationError, match="coverage"):
        validate_schedule(thin, grade_band=3, min_coverage=0.9)


def test_clip_params_is_identical_in_tensorflow():
    tf = pytest.importorskip("tensorflow")
    from brightpath.tf_namespace import tf_namespace

    raw = np.random.default_rng(0).uniform(-20, 400, (256, N_PARAMS))
    np.testing.assert_allclose(clip_params(tf.constant(raw), tf_namespace()).numpy(), clip_params(raw))
