"""Where the reward model's pessimism comes from, and the calibration that removes it: regression lines
from noisy feedback signals onto the Likert item shrink good weeks towards the logged mean; the latent
(one-factor measurement model) calibration reads them as unbiased estimates of the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.reward.targets import TARGET_NAMES, feedback_targets, fit_calibration
from brightpath.schedule import params_to_unit, summarize_params, unit_to_params
from brightpath.simulator import generate_feedback, sample_families, true_scores


def _logged(n: int, rng: np.random.Generator) -> tuple:
    """Feedback on the expert's weeks and perturbations of them (a product log), and its families."""
    families = sample_families(n, rng)
    unit = params_to_unit(expert_params(families.answers, families.child_age).astype(np.float64))
    unit = unit + rng.normal(0.0, rng.choice([0.2, 0.5], size=(n, 1)), unit.shape)
    summaries = summarize_params(unit_to_params(unit), families.grade_band)
    return pd.DataFrame(generate_feedback(families, summaries, rng)), families


def _good_weeks(families, rng: np.random.Generator):
    """Feedback and true scores of weeks far better than the logged ones: the best of 24 random tries."""
    unit = params_to_unit(expert_params(families.answers, families.child_age).astype(np.float64))
    best, best_true = None, np.full(len(families), -np.inf)
    for _ in range(24):
        candidate = unit + rng.normal(0.0, 0.3, unit.shape)
        true = true_scores(families, summarize_params(unit_to_params(candidate), families.grade_band))["satisfaction"]
        better = true > best_true
        best = candidate if best is None else np.where(better[:, None], candidate, best)
        best_true = np.maximum(best_true, true)
    summaries = summarize_params(unit_to_params(best), families.grade_band)
    return pd.DataFrame(generate_feedback(families, summaries, rng)), true_scores(families, summaries)


@pytest.fixture(scope="module")
def measured():
    rng = np.random.default_rng(0)
    logged, _ = _logged(6000, rng)
    families = sample_families(3000, rng)
    feedback, truth = _good_weeks(families, rng)
    return logged, feedback, truth


def _target_means(feedback, calibration) -> dict[str, float]:
    targets = feedback_targets(feedback, calibration)
    return {name: float(np.nanmean(targets.values[:, j])) for j, name in enumerate(TARGET_NAMES)}


def test_regression_lines_read_good_weeks_as_worse_than_they_are_and_the_latent_calibration_does_not(measured):
    """Satisfaction (the rewarded head) is read without bias. Engagement and effectiveness also take signals
    of satisfaction (stars, the comment, adherence), which load on them only through the targets'
    correlation: weeks chosen for their satisfaction read a little high there, never as low as regression."""
    logged, feedback, truth = measured
    regression = _target_means(feedback, fit_calibration(logged, "regression"))
    latent = _target_means(feedback, fit_calibration(logged, "latent"))
    for name in TARGET_NAMES:
        true_mean = float(truth[name].mean())
        assert regression[name] < true_mean - 0.02, name  # pessimism: shrunk towards the logged mean
        assert abs(latent[name] - true_mean) < abs(regression[name] - true_mean), name
    assert latent["satisfaction"] == pytest.approx(float(truth["satisfaction"].mean()), abs=0.01)


def test_the_latent_lines_recover_each_signals_loading_on_its_target(measured):
    """Adherence is 0.25 + 0.7 · satisfaction + noise in the simulator: the latent line inverts it (slope ≈ 1/0.7);
    the regression line's slope is attenuated by the signal's noise."""
    logged, _, _ = measured
    latent = fit_calibration(logged, "latent").lines["satisfaction"]["adherence"]
    regression = fit_calibration(logged, "regression").lines["satisfaction"]["adherence"]
    assert latent.slope == pytest.approx(1 / 0.7, rel=0.1)
    assert regression.slope < 0.85 * latent.slope
    assert 0 < latent.weight <= 1


def test_a_target_without_two_other_signals_keeps_the_regression_lines():
    rng = np.random.default_rng(1)
    rating = rng.integers(1, 6, 200).astype(float)
    feedback = {"likert_satisfaction": rating, "stars": np.clip(rating + rng.normal(0, 0.5, 200), 1, 5)}
    assert fit_calibration(feedback, "latent") == fit_calibration(feedback, "regression")


def test_an_unknown_calibration_method_is_refused_by_name():
    with pytest.raises(ValidationError) as err:
        fit_calibration({"likert_satisfaction": [3.0] * 40}, "ols")
    assert err.value.field == "method"
