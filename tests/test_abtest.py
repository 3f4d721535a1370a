"""The A/B test: a ~5 % false-positive rate when the arms are equal in expectation, power when
they are not, the degenerate zero-variance cases, reports, and the segment view."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from brightpath.abtest import ab_test, format_report, format_segments, paired_test, segment_view, welch_test
from brightpath.expert import expert_params
from brightpath.schedule import summarize_params
from brightpath.segments import family_segments
from brightpath.simulator import true_scores
from tests.samples import expert_population, stochastic_policy_draws

REPETITIONS = 1000
ALPHA = 0.05
# Rejections among REPETITIONS tests of a true null are Binomial(1000, 0.05): mean 50, sd 6.9.
# ±3.5 sd: a correct test fails this check with probability < 0.05 % (and the seeds are fixed).
LOW, HIGH = 26, 74


def test_paired_false_positive_rate_is_near_alpha_for_a_stochastic_policy_against_itself():
    """Arms A and B are the same stochastic policy sampled with different seeds on the same families."""
    draws = stochastic_policy_draws()
    rng = np.random.default_rng(2024)
    n = 30
    rejections = 0
    for _ in range(REPETITIONS):
        families = rng.choice(len(draws), size=n, replace=False)
        a = draws[families, rng.integers(0, draws.shape[1], n)]
        b = draws[families, rng.integers(0, draws.shape[1], n)]
        rejections += paired_test(a, b, alpha=ALPHA, n_bootstrap=100).significant
    assert LOW <= rejections <= HIGH, f"{rejections} of {REPETITIONS} equal-arm tests rejected at p < {ALPHA}"


def test_welch_false_positive_rate_is_near_alpha_for_one_generator_on_two_independent_samples():
    _, truth = expert_population()
    rng = np.random.default_rng(7)
    rejections = 0
    for _ in range(REPETITIONS):
        a = truth[rng.choice(len(truth), size=40, replace=False)]
        b = truth[rng.choice(len(truth), size=25, replace=False)]
        rejections += welch_test(a, b, alpha=ALPHA, n_bootstrap=100).significant
    assert LOW <= rejections <= HIGH, f"{rejections} of {REPETITIONS} equal-arm tests rejected at p < {ALPHA}"


def test_a_real_difference_is_detected_and_the_better_generator_wins():
    families, expert_truth = expert_population()
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


def test_pairing_detects_a_small_shift_that_welch_misses():
    """The same families under both arms cancel the family effect: the reason paired is primary."""
    _, truth = expert_population()
    a = truth[:200]
    b = a - 0.01 + np.random.default_rng(0).normal(0.0, 0.01, 200)
    assert paired_test(a, b).significant
    assert not welch_test(a, b).significant


@pytest.mark.parametrize("paired", [True, False])
def test_identical_arms_give_p_one_no_winner_and_no_warnings(paired):
    _, truth = expert_population()
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


def test_a_constant_nonzero_difference_is_a_certain_win_without_nan():
    _, truth = expert_population()
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


def test_report_prints_like_the_seed_and_serialises():
    _, truth = expert_population()
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


def test_segment_view_exposes_a_generator_that_fails_one_kind_of_family():
    families, truth = expert_population()
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
    assert {r.segment for r in rows} == {
        "age_band",
        "flexibility",
        "rotation",
        "time_management",
        "long_term",
        "prioritization",
    }
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
