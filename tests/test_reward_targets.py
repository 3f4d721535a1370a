"""Reward-model targets: family feedback → satisfaction, engagement, effectiveness in [0, 1] with weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.reward.targets import (
    DEFAULT_CALIBRATION,
    DEFAULT_IMPLICIT_WEIGHT,
    TARGET_NAMES,
    FeedbackCalibration,
    feedback_signals,
    feedback_targets,
    fit_calibration,
    sentiment_scores,
)

SAT, ENG, EFF = (TARGET_NAMES.index(t) for t in ("satisfaction", "engagement", "effectiveness"))


def one_row(**values) -> dict[str, list]:
    return {key: [value] for key, value in values.items()}


def test_stars_and_likert_map_linearly_onto_0_1():
    targets = feedback_targets({"stars": [1, 3, 5], "likert_satisfaction": [1, 3, 5]})
    np.testing.assert_allclose(targets.values[:, SAT], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(targets.weights[:, SAT], [2.0, 2.0, 2.0])


def test_missing_parts_are_reweighted_among_the_signals_present():
    both = feedback_targets(one_row(stars=5, likert_satisfaction=1))
    stars_only = feedback_targets(one_row(stars=5, likert_satisfaction=None))
    assert both.values[0, SAT] == pytest.approx(0.5)
    assert stars_only.values[0, SAT] == pytest.approx(1.0)
    assert stars_only.weights[0, SAT] == pytest.approx(1.0)
    assert both.weights[0, SAT] == pytest.approx(2.0)


def test_rows_without_explicit_feedback_use_implicit_signals():
    targets = feedback_targets(one_row(stars=None, completion_rate=0.9, adherence=0.8, n_adjustments=0))
    # Default calibration: identity lines; adherence and "no adjustments" (exp(0) = 1) feed satisfaction.
    assert targets.values[0, SAT] == pytest.approx((0.8 + 1.0) / 2)
    assert targets.values[0, ENG] == pytest.approx(0.9)
    assert targets.values[0, EFF] == pytest.approx((0.9 + 0.8) / 2)
    assert targets.weights[0, SAT] == pytest.approx(2 * DEFAULT_IMPLICIT_WEIGHT)


def test_a_target_with_no_signal_has_weight_zero_and_no_value():
    targets = feedback_targets(one_row(likert_engagement=4))
    assert targets.weights[0, ENG] == 1.0 and targets.values[0, ENG] == pytest.approx(0.75)
    assert targets.weights[0, SAT] == 0.0 and math.isnan(targets.values[0, SAT])
    assert targets.weights[0, EFF] == 0.0 and math.isnan(targets.values[0, EFF])


def test_more_adjustments_mean_lower_satisfaction():
    targets = feedback_targets({"n_adjustments": [0, 1, 3, 10]})
    assert np.all(np.diff(targets.values[:, SAT]) < 0)


def test_sentiment_of_comments_is_vader_compound_mapped_to_0_1():
    scores = sentiment_scores(
        ["Love it! The block lengths are just right.", None, float("nan"), "", "Terrible week. This schedule is awful."]
    )
    assert scores[0] > 0.6 and scores[4] < 0.25
    assert np.isnan(scores[1:4]).all()
    assert ((scores[[0, 4]] >= 0) & (scores[[0, 4]] <= 1)).all()


def test_a_happy_comment_raises_satisfaction_over_an_unhappy_one():
    targets = feedback_targets(
        {"comment": ["Fantastic week, we love it.", "Frustrating schedule, we hated it."], "stars": [3, 3]}
    )
    assert targets.values[0, SAT] > targets.values[1, SAT]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("stars", 6),
        ("likert_engagement", 0),
        ("adherence", 1.5),
        ("completion_rate", -0.1),
        ("n_adjustments", -1),
        ("stars", "four"),
    ],
)
def test_out_of_range_or_non_numeric_feedback_is_rejected_naming_the_column(column, value):
    with pytest.raises(ValidationError) as err:
        feedback_targets(one_row(**{column: value}))
    assert err.value.field == column


def test_columns_of_unequal_length_are_rejected():
    with pytest.raises(ValidationError, match="feedback"):
        feedback_targets({"stars": [1, 2], "adherence": [0.5]})


likert = st.one_of(st.none(), st.integers(1, 5))
share = st.one_of(st.none(), st.floats(0.0, 1.0))


@settings(max_examples=60, deadline=None)
@given(
    stars=likert,
    sat=likert,
    eng=likert,
    eff=likert,
    completion=share,
    adherence=share,
    adjustments=st.one_of(st.none(), st.integers(0, 20)),
    comment=st.sampled_from([None, "Love it!", "Not working for us.", "It's okay."]),
)
def test_targets_are_in_0_1_with_nonnegative_weights_and_nan_exactly_when_unweighted(
    stars, sat, eng, eff, completion, adherence, adjustments, comment
):
    row = one_row(
        stars=stars,
        likert_satisfaction=sat,
        likert_engagement=eng,
        likert_effectiveness=eff,
        completion_rate=completion,
        adherence=adherence,
        n_adjustments=adjustments,
        comment=comment,
    )
    targets = feedback_targets(pd.DataFrame(row))
    values, weights = targets.values[0], targets.weights[0]
    assert (weights >= 0).all()
    assert np.array_equal(np.isnan(values), weights == 0)
    assert ((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1)).all()


@settings(max_examples=40, deadline=None)
@given(low=st.integers(1, 4), bump=st.integers(1, 4), adherence=share)
def test_better_explicit_ratings_never_lower_a_target(low, bump, adherence):
    high = min(low + bump, 5)
    worse = feedback_targets(one_row(stars=low, likert_satisfaction=low, adherence=adherence))
    better = feedback_targets(one_row(stars=high, likert_satisfaction=high, adherence=adherence))
    assert better.values[0, SAT] >= worse.values[0, SAT]


def test_fit_calibration_recovers_the_line_from_an_implicit_signal_to_the_rating():
    rng = np.random.default_rng(0)
    rating = rng.integers(1, 6, 500).astype(float)
    adherence = 0.2 + 0.6 * (rating - 1) / 4  # a perfectly linear, noiseless implicit signal
    calibration = fit_calibration({"likert_satisfaction": rating, "adherence": adherence})
    line = calibration.lines["satisfaction"]["adherence"]
    assert line.slope == pytest.approx(1 / 0.6) and line.intercept == pytest.approx(-0.2 / 0.6)
    assert line.weight == pytest.approx(1.0)  # capped at the weight of the Likert answer itself
    targets = feedback_targets({"adherence": adherence[:5]}, calibration)
    np.testing.assert_allclose(targets.values[:, SAT], (rating[:5] - 1) / 4, atol=1e-6)


def test_noisier_signals_get_smaller_weights():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 1, 2000)
    rating = np.clip(np.round(1 + 4 * (truth + rng.normal(0, 0.05, 2000))), 1, 5)
    calibration = fit_calibration(
        {
            "likert_satisfaction": rating,
            "adherence": np.clip(truth + rng.normal(0, 0.1, 2000), 0, 1),
            "n_adjustments": rng.poisson(5 * (1 - truth) + 3),
        }
    )
    lines = calibration.lines["satisfaction"]
    assert 0 < lines["adjustments"].weight < lines["adherence"].weight <= 1.0
    # Signals with too few rows next to the rating keep their default line.
    assert lines["stars"] == DEFAULT_CALIBRATION.lines["satisfaction"]["stars"]


def test_calibration_round_trips_through_json_and_rejects_malformed_entries():
    calibration = fit_calibration({"likert_satisfaction": [1, 2, 3, 4, 5] * 10, "stars": [1, 3, 3, 5, 5] * 10})
    assert FeedbackCalibration.from_dict(calibration.to_dict()) == calibration
    broken = calibration.to_dict()
    broken["engagement"]["stars"]["weight"] = 3.0
    with pytest.raises(ValidationError) as err:
        FeedbackCalibration.from_dict(broken)
    assert err.value.field == "target_calibration.engagement.stars"


def test_signals_of_the_simulated_feedback_are_read_from_a_dataframe():
    from brightpath.datasets import sample_schedule_params
    from brightpath.schedule import summarize_params
    from brightpath.simulator import generate_feedback, sample_families

    rng = np.random.default_rng(2)
    families = sample_families(30, rng)
    family_index, _, params = sample_schedule_params(families, 2, rng)
    chosen = families.take(family_index)
    feedback = pd.DataFrame(generate_feedback(chosen, summarize_params(params, chosen.grade_band), rng))
    signals = feedback_signals(feedback)
    assert set(signals) >= {"stars", "sentiment", "completion_rate", "adherence", "adjustments"}
    assert all(len(v) == 60 for v in signals.values())
    targets = feedback_targets(feedback, fit_calibration(feedback))
    assert (targets.weights[:, SAT] > 0).all()  # every simulated row reports its adjustments
