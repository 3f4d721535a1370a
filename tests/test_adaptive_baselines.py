"""brightpath.adaptive: the harness every weekly policy is scored by, the per-week oracle, and the baselines
that use the same feedback (repeated generator, adjustment follower, per-family Bayesian optimiser)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.adaptive import (
    ADJUSTMENT_STEPS,
    AdjustmentFollower,
    FamilyBayesOpt,
    RepeatedGenerator,
    WeeklyPolicy,
    evaluate_weekly_policy,
    explicit_rating,
    run_weekly_policy,
    weekly_oracle,
)
from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.feedback import ADJUSTMENT_KINDS
from brightpath.generators import ExpertGenerator
from brightpath.oracle import OracleConfig
from brightpath.schedule import PARAM_NAMES, clip_params, summarize_params
from brightpath.simulator import WeekFeedback, sample_families, sample_survey_habits, true_scores
from brightpath.temporal import draw_start_weeks, following_school_weeks, week_context

WEEKS = 4


@pytest.fixture(scope="module")
def cohort():
    families = sample_families(120, np.random.default_rng(61))
    starts = draw_start_weeks(len(families), WEEKS, np.random.default_rng(62), 2025)
    return families, starts


def test_the_repeated_expert_scores_the_truth_of_each_dated_week(cohort):
    families, starts = cohort
    scores = evaluate_weekly_policy(RepeatedGenerator(ExpertGenerator()), families, starts, WEEKS, seed=0)
    assert scores.shape == (len(families), WEEKS) and np.all((scores >= 0) & (scores <= 1))
    params = expert_params(families.answers, families.child_age)
    dates = following_school_weeks(starts, WEEKS)
    for week in range(WEEKS):
        truth = true_scores(families, summarize_params(params, families.grade_band), week_context(dates[:, week]))
        np.testing.assert_array_equal(scores[:, week], truth["satisfaction"])


def test_same_seed_same_numbers_and_every_policy_meets_the_same_silent_families(cohort):
    families, starts = cohort
    a = run_weekly_policy(AdjustmentFollower(), families, starts, WEEKS, seed=3)
    b = run_weekly_policy(AdjustmentFollower(), families, starts, WEEKS, seed=3)
    np.testing.assert_array_equal(a.satisfaction, b.satisfaction)
    np.testing.assert_array_equal(a.params, b.params)
    other = run_weekly_policy(RepeatedGenerator(ExpertGenerator()), families, starts, WEEKS, seed=3)
    silent = sample_survey_habits(len(families), np.random.default_rng(np.random.SeedSequence(3).spawn(3)[0])).silent
    for run in (a, other):
        for feedback in run.feedback:
            assert np.all(np.isnan(feedback.stars[silent]))


def test_the_adjustment_follower_applies_each_adjustment_once_from_last_weeks_parameters(cohort):
    families, starts = cohort
    run = run_weekly_policy(AdjustmentFollower(), families, starts, WEEKS, seed=5)
    np.testing.assert_array_equal(
        run.params[:, 0], clip_params(expert_params(families.answers, families.child_age).astype(np.float64))
    )
    steps = np.zeros((len(ADJUSTMENT_KINDS), len(PARAM_NAMES)))
    for kind, change in ADJUSTMENT_STEPS.items():
        for name, delta in change.items():
            steps[ADJUSTMENT_KINDS.index(kind), PARAM_NAMES.index(name)] = delta
    for week in range(WEEKS - 1):
        kinds = run.feedback[week].adjustment_kind
        expected = clip_params(run.params[:, week] + np.where((kinds >= 0)[:, None], steps[np.maximum(kinds, 0)], 0))
        np.testing.assert_array_equal(run.params[:, week + 1], expected)
    moved = [ADJUSTMENT_KINDS[k] for k in run.feedback[0].adjustment_kind if k > 0]
    assert len(moved) > 20


def test_following_adjustments_beats_no_adaptation_by_the_last_week():
    families = sample_families(300, np.random.default_rng(71))
    starts = draw_start_weeks(300, 6, np.random.default_rng(72), 2025)
    expert = evaluate_weekly_policy(RepeatedGenerator(ExpertGenerator()), families, starts, 6, seed=0)
    follower = evaluate_weekly_policy(AdjustmentFollower(), families, starts, 6, seed=0)
    np.testing.assert_array_equal(follower[:, 0], expert[:, 0])  # week 1: the expert's week for both
    assert follower[:, -1].mean() > expert[:, -1].mean() + 0.03


def test_the_bayesian_optimiser_starts_at_the_expert_and_never_moves_a_family_that_never_rates(cohort):
    families, starts = cohort
    policy = FamilyBayesOpt()
    run = run_weekly_policy(policy, families, starts, WEEKS, seed=2)
    expert = clip_params(expert_params(families.answers, families.child_age).astype(np.float64))
    np.testing.assert_array_equal(run.params[:, 0], expert)  # UCB under the prior: the expert's proposal
    never_rated = np.all([np.isnan(explicit_rating(f)) for f in run.feedback], axis=0)
    assert never_rated.sum() > 5
    for week in range(WEEKS):
        np.testing.assert_array_equal(run.params[never_rated, week], expert[never_rated])
    assert not np.array_equal(run.params[~never_rated, -1], expert[~never_rated])  # the others explore


def test_a_rating_moves_the_posterior_toward_it():
    families = sample_families(2, np.random.default_rng(3))
    policy = FamilyBayesOpt(n_candidates=10)
    policy.start(families.answers, families.child_age, np.random.default_rng(0))
    prior_mean, prior_cov = policy.posterior()
    chosen = policy.act(0, week_context(["2025-09-08", "2025-09-08"]))
    assert chosen.shape == (2, len(PARAM_NAMES))
    nan = np.full(2, np.nan)
    feedback = WeekFeedback(
        stars=np.array([5.0, np.nan]),
        likert_satisfaction=np.array([5.0, np.nan]),
        likert_engagement=nan,
        likert_effectiveness=nan,
        comment_code=np.full(2, -1),
        child_phrase=np.zeros(2, dtype=np.int64),
        completion_rate=nan,
        adherence=nan,
        n_adjustments=nan,
        adjustment_kind=np.full(2, -1),
    )
    policy.observe(0, chosen, feedback)
    mean, cov = policy.posterior()
    played = policy._pending
    assert mean[0, played[0]] > prior_mean[0, played[0]] + 0.1  # rated 5 stars: 1.0 on the 0–1 scale
    assert cov[0, played[0], played[0]] < prior_cov[0, played[0], played[0]] / 2
    np.testing.assert_allclose(mean[1], prior_mean[1])  # no rating, no change


def test_thompson_sampling_plays_valid_candidates(cohort):
    families, starts = cohort
    scores = evaluate_weekly_policy(FamilyBayesOpt(strategy="thompson"), families, starts, WEEKS, seed=1)
    assert scores.shape == (len(families), WEEKS) and np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(ValidationError):
        FamilyBayesOpt(strategy="greedy")


def test_the_per_week_oracle_is_the_ceiling_of_every_week(cohort):
    families, starts = cohort
    oracle = weekly_oracle(families, starts, WEEKS, seed=0, config=OracleConfig(n_random=96, n_rounds=1, n_local=8))
    assert oracle.satisfaction.shape == (len(families), WEEKS) and oracle.params.shape == (len(families), WEEKS, 7)
    expert = evaluate_weekly_policy(RepeatedGenerator(ExpertGenerator()), families, starts, WEEKS, seed=0)
    assert np.all(oracle.satisfaction >= expert - 1e-12)
    dates = following_school_weeks(starts, WEEKS)
    week = 2
    truth = true_scores(
        families, summarize_params(oracle.params[:, week], families.grade_band), week_context(dates[:, week])
    )
    np.testing.assert_allclose(truth["satisfaction"], oracle.satisfaction[:, week])


class _BadPolicy:
    name = "bad"

    def start(self, answers, child_age, rng):
        self.n = len(answers)

    def act(self, week, context):
        return np.full((self.n, 3), np.nan)

    def observe(self, week, params, feedback):
        pass


def test_the_harness_names_what_is_wrong(cohort):
    families, starts = cohort
    assert isinstance(_BadPolicy(), WeeklyPolicy)
    with pytest.raises(ValidationError) as info:
        evaluate_weekly_policy(_BadPolicy(), families, starts, WEEKS)
    assert info.value.field == "bad.act(week=0)"
    with pytest.raises(ValidationError) as info:
        evaluate_weekly_policy(AdjustmentFollower(), families, starts[:3], WEEKS)
    assert info.value.field == "start_dates"
    with pytest.raises(ValidationError) as info:
        evaluate_weekly_policy(AdjustmentFollower(), families.take(np.arange(2)), ["2025-12-22", "2025-12-01"], 2)
    assert info.value.field == "start_dates"
    with pytest.raises(ValidationError):
        AdjustmentFollower(steps={"shorten_blocks": {"block_length": -5}})


@settings(max_examples=30, deadline=None)
@given(
    stars=st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=1, max_size=6),
    likert=st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=6, max_size=6),
)
def test_explicit_rating_is_the_mean_of_what_was_said_on_the_unit_scale(stars, likert):
    n = len(stars)

    def as_float(values):
        return np.array([np.nan if v is None else float(v) for v in values])

    nan = np.full(n, np.nan)
    feedback = WeekFeedback(
        stars=as_float(stars),
        likert_satisfaction=as_float(likert[:n]),
        likert_engagement=nan,
        likert_effectiveness=nan,
        comment_code=np.full(n, -1),
        child_phrase=np.zeros(n, np.int64),
        completion_rate=nan,
        adherence=nan,
        n_adjustments=nan,
        adjustment_kind=np.full(n, -1),
    )
    rating = explicit_rating(feedback)
    for i in range(n):
        said = [(v - 1) / 4 for v in (stars[i], likert[i]) if v is not None]
        assert (np.isnan(rating[i]) and not said) or rating[i] == pytest.approx(np.mean(said))
