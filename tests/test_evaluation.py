"""Evaluation of a generator: scores by the hidden truth (and a proxy), counts invalid schedules,
repeats for the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

from brightpath.evaluation import evaluate_generator
from brightpath.expert import expert_params
from brightpath.generators import ExpertGenerator
from brightpath.schedule import PARAM_NAMES, SUMMARY_FEATURES, summarize_many, summarize_params
from brightpath.simulator import true_scores
from tests.samples import generator_families, rf_imitator


class _Broken:
    """A generator that returns NaN for every third family and gives teenagers one hour-long block a day."""

    name = source = "broken"
    model_version = "test"

    def params(self, answers, child_age):
        params = expert_params(answers, child_age).astype(np.float64)
        params[::3] = np.nan
        teen = np.asarray(child_age) >= 13
        params[teen, PARAM_NAMES.index("daily_learning_minutes")] = 60.0
        params[teen, PARAM_NAMES.index("block_duration_minutes")] = 60.0
        return params


class _CoverageScorer:
    """A stand-in reward model: scores a week by its requirement coverage, records what it saw."""

    def __init__(self):
        self.calls = []

    def score_layouts(self, layouts, answers, child_age, grade_band):
        self.calls.append((len(layouts), np.asarray(answers).shape, np.asarray(child_age).shape))
        coverage = summarize_many(layouts, grade_band)[:, SUMMARY_FEATURES.index("coverage")]
        return {"satisfaction": coverage, "engagement": coverage, "effectiveness": coverage}


def test_evaluation_counts_invalid_schedules_and_scores_them_zero():
    families = generator_families()
    scorer = _CoverageScorer()
    evaluation = evaluate_generator(_Broken(), families, scorer=scorer)
    reasons = evaluation.invalid_reason
    nan_rows = np.arange(len(families)) % 3 == 0
    assert all(r == "non_finite_params" for r in reasons[nan_rows])
    teen = (families.age >= 13) & ~nan_rows
    # Five blocks a week cannot hold six subjects.
    assert teen.any() and all(r == "missing_subject" for r in reasons[teen])
    assert all(r is None for r in reasons[~nan_rows & ~teen])
    assert evaluation.invalid_rate == pytest.approx((nan_rows | teen).mean())
    assert np.all(evaluation.true_satisfaction[nan_rows] == 0.0)
    assert np.all(evaluation.true_satisfaction[~nan_rows] > 0.0)
    assert scorer.calls[-1] == ((~nan_rows).sum(), ((~nan_rows).sum(), 25), ((~nan_rows).sum(),))
    assert np.all(evaluation.proxy_satisfaction[nan_rows] == 0.0)
    assert evaluation.seconds >= 0.0 and evaluation.ms_per_family >= 0.0
    strict = evaluate_generator(ExpertGenerator(), families, min_coverage=0.999)
    assert set(strict.invalid_reason) == {"low_coverage"} and strict.invalid_rate == 1.0
    assert np.all(strict.true_satisfaction > 0.0)  # a thin week is still a week: scored, but counted invalid


def test_evaluation_matches_the_simulator_and_repeats():
    families = generator_families()
    rf_generator = rf_imitator()
    first = evaluate_generator(rf_generator, families)
    again = evaluate_generator(rf_generator, families)
    np.testing.assert_array_equal(first.true_satisfaction, again.true_satisfaction)
    direct = true_scores(families, summarize_params(first.params, families.grade_band))["satisfaction"]
    np.testing.assert_allclose(first.true_satisfaction, direct)
    assert first.proxy_satisfaction is None and first.invalid_rate == 0.0
    np.testing.assert_array_equal(first.family_id, families.family_id)
    with pytest.raises(ValueError, match="min_coverage"):
        evaluate_generator(rf_generator, families, min_coverage=1.5)
