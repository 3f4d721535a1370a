"""Improvement suggestions: concrete one-parameter changes the reward model predicts raise
satisfaction, with the predicted gain, never one that makes the week invalid."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.questionnaire import parse_user_data
from brightpath.schedule import (
    PARAM_SPECS,
    SUMMARY_FEATURES,
    ScheduleParams,
    build_layout,
    layout_to_json,
    schedule_for,
    summarize_many,
    validate_schedule,
)
from brightpath.suggestions import candidate_values, schedule_params, suggest_improvements

FAMILY = parse_user_data({"q1": 4, "q11": 2, "child_age": 9})
SPECS = {spec.name: spec for spec in PARAM_SPECS}


class PrefersShortBlocksAndNine:
    """A stand-in reward model: satisfaction peaks at 30-minute blocks and a 09:00 start."""

    def __init__(self):
        self.calls = 0

    def score_layouts(self, layouts, answers, child_age, grade_band):
        self.calls += 1
        summary = summarize_many(layouts, np.asarray(grade_band))
        block = summary[:, SUMMARY_FEATURES.index("block_minutes")]
        start = summary[:, SUMMARY_FEATURES.index("start_hour_mean")]
        satisfaction = 0.9 - 0.01 * np.abs(block - 30) - 0.05 * np.abs(start - 9)
        return {"satisfaction": satisfaction, "engagement": satisfaction, "effectiveness": satisfaction}


class Indifferent:
    def score_layouts(self, layouts, answers, child_age, grade_band):
        return {name: np.full(len(layouts), 0.5) for name in ("satisfaction", "engagement", "effectiveness")}


def schedule_with(**changes) -> dict:
    params = dataclasses.replace(ScheduleParams(1.0, 45, 3, 7, 180, 0.5, 10), **changes)
    return schedule_for(FAMILY, params, source="ppo", model_version="test")


def test_the_changes_the_model_prefers_are_suggested_with_their_gains():
    scorer = PrefersShortBlocksAndNine()
    suggestions = suggest_improvements(schedule_with(), FAMILY, scorer, max_suggestions=5)
    assert scorer.calls == 1  # the unchanged week and every candidate in one batch
    by_name = {s.parameter: s for s in suggestions}
    assert (by_name["block_duration_minutes"].current, by_name["block_duration_minutes"].suggested) == (45, 35)
    assert (by_name["start_hour"].current, by_name["start_hour"].suggested) == (7, 9)
    assert by_name["start_hour"].predicted_gain == pytest.approx(0.1, abs=1e-6)
    assert by_name["block_duration_minutes"].predicted_gain == pytest.approx(0.1, abs=1e-6)
    gains = [s.predicted_gain for s in suggestions]
    assert gains == sorted(gains, reverse=True) and min(gains) >= 0.005
    assert "length of one subject block, minutes" in by_name["block_duration_minutes"].description
    assert by_name["start_hour"].as_dict()["suggested"] == 9


def test_nothing_is_suggested_when_no_change_is_predicted_to_help():
    assert suggest_improvements(schedule_with(), FAMILY, Indifferent()) == []


def test_max_suggestions_and_min_gain_bound_the_list():
    assert len(suggest_improvements(schedule_with(), FAMILY, PrefersShortBlocksAndNine(), max_suggestions=1)) == 1
    assert suggest_improvements(schedule_with(), FAMILY, PrefersShortBlocksAndNine(), min_gain=0.5) == []


def test_a_schedule_without_its_parameters_gets_a_clear_error():
    schedule = schedule_with()
    del schedule["meta"]["start_hour"]
    with pytest.raises(ValidationError) as info:
        suggest_improvements(schedule, FAMILY, Indifferent())
    assert info.value.field == "meta.start_hour"
    schedule["meta"]["start_hour"] = 7.5
    with pytest.raises(ValidationError, match="multiple of 1"):
        schedule_params(schedule)


def test_candidates_stay_in_range_and_on_the_step():
    assert candidate_values(SPECS["block_duration_minutes"], 15) == [20.0, 25.0]
    assert candidate_values(SPECS["structure_level"], 0.95) == [0.85, 1.0, 0.7]
    assert candidate_values(SPECS["start_hour"], 8) == [7.0, 9.0, 10.0]


class Scrambled:
    """A reward model that likes arbitrary things (a fixed random linear function of the summary)."""

    def __init__(self, seed: int):
        self.weights = np.random.default_rng(seed).normal(size=len(SUMMARY_FEATURES))

    def score_layouts(self, layouts, answers, child_age, grade_band):
        summary = summarize_many(layouts, np.asarray(grade_band))
        satisfaction = 1 / (1 + np.exp(-(summary / (1 + np.abs(summary))) @ self.weights))
        return {"satisfaction": satisfaction}


@settings(max_examples=40, deadline=None)
@given(
    unit=st.lists(st.floats(-1, 1), min_size=len(PARAM_SPECS), max_size=len(PARAM_SPECS)),
    age=st.integers(5, 18),
    seed=st.integers(0, 1000),
)
def test_every_suggestion_is_a_valid_week_inside_the_ranges(unit, age, seed):
    family = parse_user_data({"child_age": age})
    params = ScheduleParams.from_unit(unit)
    schedule = schedule_for(family, params, source="ppo", model_version="test")
    scorer = Scrambled(seed)
    suggestions = suggest_improvements(schedule, family, scorer, max_suggestions=len(PARAM_SPECS))
    assert len({s.parameter for s in suggestions}) == len(suggestions)
    for suggestion in suggestions:
        spec = SPECS[suggestion.parameter]
        assert spec.low <= suggestion.suggested <= spec.high and suggestion.suggested != suggestion.current
        if spec.step:
            assert (suggestion.suggested - spec.low) % spec.step == 0
        changed = dataclasses.replace(params, **{suggestion.parameter: suggestion.suggested})
        layout = build_layout(changed, family.child.grade_band_index)
        validate_schedule(layout_to_json(layout, {}))
        before = scorer.score_layouts(
            [build_layout(params, family.child.grade_band_index)], None, None, [family.child.grade_band_index]
        )["satisfaction"][0]
        after = scorer.score_layouts([layout], None, None, [family.child.grade_band_index])["satisfaction"][0]
        assert suggestion.predicted_gain == pytest.approx(after - before) and suggestion.predicted_gain >= 0.005
