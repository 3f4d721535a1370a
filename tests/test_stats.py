"""General statistics: agreement with SciPy, a ~5 % false-positive rate of the vectorised paired
t-test under the null, bootstrap coverage and repeatability, and Holm's adjustment."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brightpath.stats import bootstrap_ci, holm, paired_t, welch_t
from tests.samples import expert_population, stochastic_policy_draws

ALPHA = 0.05


def test_vectorised_paired_t_rejects_about_alpha_over_many_null_repetitions():
    """The batched form (what a sweep of seeds would use) agrees: 5,000 repetitions at once."""
    draws = stochastic_policy_draws()
    rng = np.random.default_rng(5)
    reps, n = 5000, 25
    families = np.argsort(rng.random((reps, len(draws))), axis=1)[:, :n]
    a = draws[families, rng.integers(0, draws.shape[1], (reps, n))]
    b = draws[families, rng.integers(0, draws.shape[1], (reps, n))]
    _, _, p = paired_t(a, b)
    rate = float((p < ALPHA).mean())
    assert abs(rate - ALPHA) < 3.5 * np.sqrt(ALPHA * (1 - ALPHA) / reps), rate


def test_bootstrap_ci_of_the_difference_covers_zero_about_95_percent_under_the_null():
    draws = stochastic_policy_draws()
    rng = np.random.default_rng(3)
    covered = 0
    reps, n = 300, 60
    for seed in range(reps):
        families = rng.choice(len(draws), size=n, replace=False)
        a = draws[families, rng.integers(0, draws.shape[1], n)]
        b = draws[families, rng.integers(0, draws.shape[1], n)]
        low, high = bootstrap_ci(a, b, paired=True, seed=seed, n_bootstrap=400)
        covered += low <= 0.0 <= high
    # Percentile bootstrap at n = 60 slightly under-covers; 300 repetitions give sd ~1.3 %.
    assert 0.89 <= covered / reps <= 0.99, covered / reps


finite = st.floats(0.0, 1.0, allow_nan=False, width=64)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(3, 40), elements=finite), st.data())
def test_p_values_match_scipy_where_the_variance_is_positive(a, data):
    b = data.draw(arrays(np.float64, a.shape, elements=finite))
    d = a - b
    if np.ptp(d) > 1e-6:
        t, df, p = paired_t(a, b)
        ref = scipy.stats.ttest_rel(a, b)
        assert t == pytest.approx(ref.statistic, rel=1e-6) and p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)
        assert df == len(a) - 1
    c = data.draw(arrays(np.float64, st.integers(3, 30), elements=finite))
    if np.ptp(a) > 1e-6 and np.ptp(c) > 1e-6:
        t, df, p = welch_t(a, c)
        ref = scipy.stats.ttest_ind(a, c, equal_var=False)
        assert t == pytest.approx(ref.statistic, rel=1e-6) and p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)


def test_bootstrap_ci_repeats_for_a_seed_and_brackets_the_mean():
    _, truth = expert_population()
    first = bootstrap_ci(truth[:300], seed=4)
    assert first == bootstrap_ci(truth[:300], seed=4)
    assert first != bootstrap_ci(truth[:300], seed=5)
    assert first[0] < truth[:300].mean() < first[1]


def test_holm_adjustment_is_monotone_and_never_below_raw():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    adjusted = holm(p)
    np.testing.assert_allclose(adjusted, [0.04, 0.09, 0.09, 0.5])
    assert np.all(adjusted >= p)
