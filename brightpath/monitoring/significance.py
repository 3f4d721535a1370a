"""One-sided "is it lower?" tests for monitoring and the promotion gate.

Degradation (recent window vs reference window), under-served segments (a segment vs
the other families) and the gate (challenger vs champion) all ask the same question:
is the candidate's mean observed satisfaction lower than the baseline's, beyond
noise, and by how much? ``drop_test`` answers it with the A/B framework's t-tests
(``brightpath.abtest.ab_test``, on ``brightpath.stats``: Welch's for independent samples, the paired test for
the same families), turning its two-sided p-value into the one-sided p-value of
H1: mean(candidate) < mean(baseline), and keeping its effect size and bootstrap CI.
``holm_adjust`` applies Holm's step-down adjustment to the p-values that were tested
(NaN marks a comparison that was not, e.g. too few rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brightpath.abtest import ab_test
from brightpath.monitoring.alerts import json_record
from brightpath.stats import holm

N_BOOTSTRAP = 1000
"""Bootstrap resamples for the difference's CI in monitoring (the A/B report uses 2,000)."""


@dataclass(frozen=True)
class DropTest:
    """Candidate vs baseline, higher is better.

    Attributes:
        test: ``"Welch's t-test"`` or ``"paired t-test"``.
        n_baseline, n_candidate: values compared.
        mean_baseline, mean_candidate: their means (units of the scores, e.g. 0–1).
        difference: mean(candidate) − mean(baseline); negative is a drop.
        ci_low, ci_high, ci_level: percentile-bootstrap CI of the difference.
        effect_size, effect_size_name: Cohen's ``d`` (Welch) or ``d_z`` (paired) of the difference.
        p_value: one-sided p-value of H1: mean(candidate) < mean(baseline), 0–1.
    """

    test: str
    n_baseline: int
    n_candidate: int
    mean_baseline: float
    mean_candidate: float
    difference: float
    ci_low: float
    ci_high: float
    ci_level: float
    effect_size: float
    effect_size_name: str
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return json_record(self)


def drop_test(
    candidate: Any, baseline: Any, *, paired: bool = False, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0
) -> DropTest:
    """One-sided test that ``candidate`` scores lower than ``baseline``.

    Args:
        candidate, baseline: finite scores (at least 2 each; the same families in the same order
            when ``paired``).
        paired: the paired t-test on per-family differences; else Welch's t-test.
        n_bootstrap: resamples for the CI (≥ 100).
        seed: the bootstrap's seed.

    Raises:
        ValueError: from ``ab_test``, naming ``a`` (candidate) or ``b`` (baseline).
    """
    result = ab_test(
        candidate, baseline, paired=paired, names=("candidate", "baseline"), n_bootstrap=n_bootstrap, seed=seed
    )
    # The t distribution is symmetric: the lower tail is half the two-sided p when t < 0.
    one_sided = result.p_value / 2.0 if result.t_stat < 0 else 1.0 - result.p_value / 2.0
    return DropTest(
        test=result.test,
        n_baseline=result.n_b,
        n_candidate=result.n_a,
        mean_baseline=result.mean_b,
        mean_candidate=result.mean_a,
        difference=result.mean_difference,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        ci_level=result.ci_level,
        effect_size=result.effect_size,
        effect_size_name=result.effect_size_name,
        p_value=float(min(max(one_sided, 0.0), 1.0)),
    )


def holm_adjust(p_values: Any) -> np.ndarray:
    """Holm-adjusted p-values over the finite entries; NaN (not tested) stays NaN."""
    p = np.asarray(p_values, dtype=np.float64).reshape(-1)
    out = np.full(p.shape, np.nan)
    tested = np.isfinite(p)
    if tested.any():
        out[tested] = holm(p[tested])
    return out


__all__ = ["N_BOOTSTRAP", "DropTest", "drop_test", "holm_adjust"]
