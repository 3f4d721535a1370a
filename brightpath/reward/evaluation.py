"""How good a reward model is: errors and rank correlations, plots, and the off-distribution set.

``regression_metrics`` compares predicted scores with

* the *observed* targets (``targets.feedback_targets``; rows with no feedback on a
  target are left out of that target) — what a product team could measure, and
* the simulator's *hidden true* scores — what the generator will really be judged by.

Names: ``{mse,r2,spearman,pearson}_{observed,true}_<target>`` plus ``mse_observed`` and
``r2_observed`` (means over the three targets). Experiments prefix a set name
(``test/spearman_true_satisfaction``).

``simulated_set`` builds fresh schedules for known families with their hidden truth
and simulated feedback; by default the off-distribution set: schedules far from the
expert rule (uniform and large perturbations,
``datasets.sample_schedule_params(mix="off_distribution")``), the kind a policy explores.

Figures are ``matplotlib.figure.Figure`` objects built without pyplot (no global
state, no window); the caller saves or logs them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from brightpath.reward.inputs import RewardData, build_inputs
from brightpath.reward.targets import DEFAULT_CALIBRATION, TARGET_NAMES, FeedbackCalibration, Targets, feedback_targets

OFFDIST_PER_FAMILY = 4
"""Off-distribution schedules per test family (600 test families → 2,400 schedules by default)."""
CALIBRATION_BINS = 10


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def _scores(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    error = predicted - actual
    variance = actual.var()
    return {
        "mse": float(np.mean(error**2)) if len(actual) else float("nan"),
        "r2": float(1.0 - np.mean(error**2) / variance) if len(actual) and variance > 0 else float("nan"),
        "spearman": _pearson(_ranks(predicted), _ranks(actual)),
        "pearson": _pearson(predicted, actual),
    }


def regression_metrics(
    predictions: np.ndarray, *, observed: Targets | None = None, truth: Mapping[str, np.ndarray] | None = None
) -> dict[str, float]:
    """Metrics of predicted scores ``[n, 3]`` (``TARGET_NAMES`` order) against observed and/or true scores.

    Args:
        observed: the observed targets of the same rows.
        truth: hidden true scores, ``{"satisfaction": [n], ...}`` (any subset of the targets).
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    metrics: dict[str, float] = {}
    if observed is not None:
        for j, target in enumerate(TARGET_NAMES):
            present = observed.weights[:, j] > 0
            for name, value in _scores(predictions[present, j], observed.values[present, j].astype(np.float64)).items():
                metrics[f"{name}_observed_{target}"] = value
        for name in ("mse", "r2"):
            metrics[f"{name}_observed"] = float(np.mean([metrics[f"{name}_observed_{t}"] for t in TARGET_NAMES]))
    for j, target in enumerate(TARGET_NAMES):
        if truth is not None and target in truth:
            for name, value in _scores(predictions[:, j], np.asarray(truth[target], dtype=np.float64)).items():
                metrics[f"{name}_true_{target}"] = value
    return metrics


def simulated_set(
    families,
    rng: np.random.Generator,
    calibration: FeedbackCalibration = DEFAULT_CALIBRATION,
    *,
    per_family: int = OFFDIST_PER_FAMILY,
    mix: str = "off_distribution",
) -> RewardData:
    """Fresh schedules for ``families`` (``simulator.Families`` with hidden traits), with feedback and truth.

    Args:
        rng: every draw (schedules, feedback) comes from it.
        calibration: reads the simulated feedback into targets.
        per_family: schedules per family.
        mix: ``"off_distribution"`` (default: far from the expert rule, what a policy explores)
            or ``"logged"`` (as in the datasets); see ``datasets.sample_schedule_params``.

    Truth comes from ``simulator.true_scores``, feedback from ``simulator.generate_feedback``.
    """
    from brightpath.datasets import sample_schedule_params
    from brightpath.schedule import layouts_for
    from brightpath.simulator import generate_feedback, true_scores

    family_index, _, params = sample_schedule_params(families, per_family, rng, mix=mix)
    chosen = families.take(family_index)
    inputs = build_inputs(layouts_for(params, chosen.grade_band), chosen.answers, chosen.child_age, chosen.grade_band)
    summaries = inputs.summary.astype(np.float64)
    feedback = generate_feedback(chosen, summaries, rng)
    return RewardData(inputs, feedback_targets(feedback, calibration), true_scores(chosen, summaries))


def calibration_figure(predictions: np.ndarray, data: RewardData, title: str):
    """Reliability diagram per target: mean observed and mean true score per decile of prediction."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4), constrained_layout=True)
    axes = fig.subplots(1, len(TARGET_NAMES))
    for j, (ax, target) in enumerate(zip(axes, TARGET_NAMES)):
        for label, actual, present, style in (
            ("hidden truth", data.truth[target], np.ones(len(predictions), bool), "o-"),
            ("observed", data.targets.values[:, j], data.targets.weights[:, j] > 0, "s--"),
        ):
            x, y = _binned(predictions[present, j], np.asarray(actual)[present])
            ax.plot(x, y, style, label=label, markersize=4)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfect")
        ax.set(title=target, xlabel="predicted (decile mean)", ylabel="actual (mean)", xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    return fig


def residual_figure(predictions: np.ndarray, data: RewardData, title: str):
    """Residuals (hidden truth − prediction) against the prediction, per target."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4), constrained_layout=True)
    axes = fig.subplots(1, len(TARGET_NAMES))
    for j, (ax, target) in enumerate(zip(axes, TARGET_NAMES)):
        residual = np.asarray(data.truth[target]) - predictions[:, j]
        ax.scatter(predictions[:, j], residual, s=3, alpha=0.3)
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set(title=f"{target} (sd {residual.std():.3f})", xlabel="predicted", ylabel="true − predicted", xlim=(0, 1))
    fig.suptitle(title)
    return fig


def _binned(predicted: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(predicted) == 0:
        return np.zeros(0), np.zeros(0)
    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, CALIBRATION_BINS + 1)))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, max(len(edges) - 2, 0))
    used = np.unique(which)
    return (np.array([predicted[which == b].mean() for b in used]), np.array([actual[which == b].mean() for b in used]))


__all__ = ["OFFDIST_PER_FAMILY", "calibration_figure", "regression_metrics", "residual_figure", "simulated_set"]
