"""The A/B test: agreement with SciPy, a ~5 % false-positive rate when the arms are equal in
expectation, power when they are not, the degenerate zero-variance cases, and the segment view."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brightpath.abtest import (
    ab_test,
    bootstrap_ci,
    family_segments,
    format_report,
    format_segments,
    holm,
    paired_t,
    paired_test,
    segment_view,
    welch_t,
    welch_test,
)
from brightpath.expert import expert_params
from brightpath.schedule import params_to_unit, summarize_params, unit_to_params
from brightpath.simulator import sample_families, true_scores

REPETITIONS = 1000
ALPHA = 0.05
# Rejections among REPETITIONS tests of a true null are Binomial(1000, 0.05): mean 50, sd 6.9.
# ±3.5 sd: a correct test fails this check with probability < 0.05 % (and the seeds are fixed).
LOW, HIGH = 26, 74


@pytest.fixture(scope="module")
def population():
    """2,000 simulated families and their expert rule's true satisfaction."""
    families = sample_families(2000, np.random.default_rng(11))
    params = expert_params(families.answers, families.child_age)
    truth = true_scores(families, summarize_params(params, families.grade_band))["satisfaction"]
    return families, truth


@pytest.fixture(scope="module")
def stochastic_policy_draws():
    """A stochastic generator's schedules: the expert's parameters plus unit-scale noise (sd 0.3).

    For each of 150 families, the true satisfaction of 40 independent draws: sampling one draw
    per family is running the stochastic policy once with some seed.
    """
    families = sample_families(150, np.random.default_rng(12))
    draws = 40
    unit = params_to_unit(expert_params(families.answers, families.child_age).astype(np.float64))
    noisy = unit[:, None, :] + np.random.default_rng(13).normal(0.0, 0.3, (len(families), draws, unit.shape[1]))
    rep = np.repeat(np.arange(len(families)), draws)
    params = unit_to_params(noisy.reshape(-1, unit.shape[1]))
    truth = true_scores(families.take(rep), summarize_params(params, families.grade_band[rep]))["satisfaction"]
    return truth.reshape(len(families), draws)


def test_paired_false_positive_rate_is_near_alpha_for_a_stochastic_policy_against_itself(stochastic_policy_draws):
    """Arms A and B are the same stochastic policy sampled with different seeds on the same families."""
    draws = stochastic_policy_draws
    rng = np.random.default_rng(2024)
    n = 30
    rejections = 0
    for _ in range(REPETITIONS):
        families = rng.choice(len(draws), size=n, replace=False)
        a = draws[families, rng.integers(0, draws.shape[1], n)]
        b = draws[families, rng.integers(0, draws.shape[1], n)]
        rejections += paired_test(a, b, alpha=ALPHA, n_bootstrap=100).significant
    assert LOW <= rejections <= HIGH, f"{rejections} of {REPETITIONS} equal-arm tests rejected at p < {ALPHA}"


def test_welch_false_positive_rate_is_near_alpha_for_one_generator_on_two_independent_samples(population):
    _, truth = population
    rng = np.random.default_rng(7)
    rejections = 0
    for _ in range(REPETITIONS):
        a = truth[rng.choice(len(truth), size=40, replace=False)]
        b = truth[rng.choice(len(truth), size=25, replace=False)]
        rejections += welch_test(a, b, alpha=ALPHA, n_bootstrap=100).significant
    assert LOW <= rejections <= HIGH, f"{rejections} of {REPETITIONS} equal-arm tests rejected at p < {ALPHA}"


def test_vectorised_paired_t_rejects_about_alpha_over_many_null_repetitions(stochastic_policy_draws):
    """The batched form (what a sweep of seeds would use) agrees: 5,000 repetitions at once."""
    draws = stochastic_policy_draws
    rng = np.random.default_rng(5)
    reps, n = 5000, 25
    families = np.argsort(rng.random((reps, len(draws))), axis=1)[:, :n]
    a = draws[families, rng.integers(0, draws.shape[1], (reps, n))]
    b = draws[families, rng.integers(0, draws.shape[1], (reps, n))]
    _, _, p = paired_t(a, b)
    rate = float((p < ALPHA).mean())
    assert abs(rate - ALPHA) < 3.5 * np.sqrt(ALPHA * (1 - ALPHA) / reps), rate


def test_bootstrap_ci_of_the_difference_covers_zero_about_95_percent_under_the_null(stochastic_policy_draws):
    draws = stochastic_policy_draws
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


def test_a_real_difference_is_detected_and_the_better_generator_wins(population):
    families, expert_truth = population
    sub = families.take(np.arange(120))
    worse = expert_params(sub.answers, sub.child_age).astype(np.float64)
    worse[:, 1] += 20.0  # blocks 20 minutes longer than the rule's: past most children's attention span
    worse_truth = true_scores(sub, summarize_params(worse, sub.grade_band))["satisfaction"]
    result = paired_test(expert_truth[:120], worse_truth, names=("expert", "long blocks"))
    assert result.winner == "A" and result.winner_name == "expert"
    assert result.p_value < 1e-6 and result.ci_low > 0 and result.effect_size > 0.5
    swapped = paired_test(worse_truth, expert_truth[:120], names=("long blocks", "expert"))
    assert swapped.winner == "B" and swapped.winner_name == "expert"
    assert "Winner: Model B (expert) (statistically significant)" in format_report(swapped)


def test_pairing_detects_a_small_shift_that_welch_misses(population):
    """The same families under both arms cancel the family effect: the reason paired is primary."""
    _, truth = population
    a = truth[:200]
    b = a - 0.01 + np.random.default_rng(0).normal(0.0, 0.01, 200)
    assert paired_test(a, b).significant
    assert not welch_test(a, b).significant


@pytest.mark.parametrize("paired", [True, False])
def test_identical_arms_give_p_one_no_winner_and_no_warnings(paired, population):
    _, truth = population
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ab_test(truth[:50], truth[:50].copy(), paired=paired)
        constant = ab_test(np.full(20, 0.7), np.full(20, 0.7), paired=paired)
    for r in (result, constant):
        assert r.p_value == 1.0 and r.winner is None and r.mean_difference == 0.0
        assert np.isfinite([r.t_stat, r.effect_size, r.ci_low, r.ci_high]).all()
        assert "No statistically significant difference" in format_report(r)
    assert constant.note and "identical" in constant.note
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_constant_nonzero_difference_is_a_certain_win_without_nan(population):
    _, truth = population
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paired = paired_test(truth[:40] + 0.1, truth[:40])
        welch = welch_test(np.full(10, 0.8), np.full(12, 0.6))
    for r in (paired, welch):
        assert r.p_value == 0.0 and r.winner == "A" and np.isinf(r.t_stat) and r.t_stat > 0
        assert r.note == "zero variance: every family shows the same difference"
        report = json.loads(json.dumps(r.to_dict(), allow_nan=False))
        assert report["t_stat"] == "inf" and report["winner_name"] == "A"
    assert paired.ci_low == pytest.approx(0.1) and paired.ci_high == pytest.approx(0.1)


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


def test_bootstrap_ci_repeats_for_a_seed_and_brackets_the_mean(population):
    _, truth = population
    first = bootstrap_ci(truth[:300], seed=4)
    assert first == bootstrap_ci(truth[:300], seed=4)
    assert first != bootstrap_ci(truth[:300], seed=5)
    assert first[0] < truth[:300].mean() < first[1]


def test_report_prints_like_the_seed_and_serialises(population):
    _, truth = population
    result = paired_test(truth[:100], truth[100:200], names=("expert", "rf"), metric="true_satisfaction")
    text = format_report(result)
    assert f"Model A (expert): {truth[:100].mean():.4f} ± {truth[:100].std(ddof=1):.4f}" in text
    assert f"T-statistic: {result.t_stat:.4f}, p-value: {result.p_value:.4f}" in text
    tiny = format_report(paired_test(truth[:100], truth[:100] - 0.05 + np.linspace(0, 0.01, 100)))
    assert "p-value: 0.0000" not in tiny and "e-" in tiny.split("p-value: ")[1]
    assert "95% bootstrap CI" in text and "Effect size (d_z)" in text
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["test"] == "paired t-test" and payload["n_a"] == 100 and payload["ci_level"] == 0.95


def test_bad_inputs_name_the_arguments():
    with pytest.raises(ValueError, match="a, b: paired"):
        paired_test(np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match="at least 2"):
        welch_test(np.ones(1), np.ones(4))
    with pytest.raises(ValueError, match="a: scores must be finite"):
        paired_test(np.array([0.1, np.nan, 0.3]), np.ones(3))
    with pytest.raises(ValueError, match="alpha"):
        paired_test(np.ones(3), np.ones(3), alpha=1.5)


def test_segment_view_exposes_a_generator_that_fails_one_kind_of_family(population):
    families, truth = population
    sub = families.take(np.arange(800))
    segments = family_segments(sub.answers, sub.child_age)
    a = truth[:800]
    noise = np.random.default_rng(1).normal(0.0, 0.02, 800)
    b = a + noise - 0.08 * (segments["age_band"] == "K-2")  # B fails the youngest children only
    overall = paired_test(a, b)
    rows = segment_view(a, b, segments)
    by_key = {(r.segment, r.level): r for r in rows}
    assert by_key[("age_band", "K-2")].winner == "A"
    assert all(by_key[("age_band", band)].winner is None for band in ("3-5", "6-8", "9-12"))
    assert [r.level for r in rows if r.segment == "age_band"] == ["K-2", "3-5", "6-8", "9-12"]
    assert {r.segment for r in rows} == {"age_band", "flexibility", "rotation", "time_management", "long_term",
                                          "prioritization"}
    assert all(r.p_holm >= r.p_value for r in rows if np.isfinite(r.p_value))
    assert sum(r.n for r in rows if r.segment == "rotation") == 800
    assert overall.mean_difference > 0
    assert "K-2" in format_segments(rows, ("good", "bad"))
    json.dumps([r.to_dict() for r in rows], allow_nan=False)


def test_small_segments_are_listed_not_tested():
    a = np.linspace(0.2, 0.8, 12)
    rows = segment_view(a, a - 0.01, {"group": np.array(["x"] * 9 + ["y"] * 3)}, min_size=5)
    small = [r for r in rows if r.level == "y"][0]
    assert small.n == 3 and np.isnan(small.p_value) and small.winner is None
    assert "too few families" in format_segments(rows)


def test_holm_adjustment_is_monotone_and_never_below_raw():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    adjusted = holm(p)
    np.testing.assert_allclose(adjusted, [0.04, 0.09, 0.09, 0.5])
    assert np.all(adjusted >= p)
