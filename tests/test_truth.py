"""The hidden truth: scores in [0, 1] that follow the documented preferences; the expert rule is good
but clearly below the oracle's per-family optimum."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.expert import expert_params
from brightpath.oracle import oracle_search
from brightpath.schedule import N_PARAMS, summarize_params, unit_to_params
from brightpath.simulator import Families, ideal_block_minutes, sample_families, true_components, true_scores


@pytest.fixture(scope="module")
def families() -> Families:
    return sample_families(400, np.random.default_rng(7))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 30))
def test_true_scores_stay_in_unit_interval(seed, n):
    rng = np.random.default_rng(seed)
    fam = sample_families(n, rng)
    params = unit_to_params(rng.uniform(-1, 1, (n, N_PARAMS)))
    summaries = summarize_params(params, fam.grade_band)
    for name, score in true_scores(fam, summaries).items():
        assert score.shape == (n,) and np.all((score >= 0) & (score <= 1)), name
    for name, comp in true_components(fam, summaries).items():
        assert np.all((comp > 0) & (comp <= 1)), name


def _with(fam, vector):
    return true_scores(fam, summarize_params(np.tile(vector, (len(fam), 1)), fam.grade_band))["satisfaction"]


def test_block_length_near_attention_span_is_preferred(families):
    one = families.take(np.arange(60))
    base = expert_params(one.answers, one.child_age)
    ideal, way_too_long = base.copy(), base.copy()
    ideal[:, 1] = np.round(ideal_block_minutes(one) / 5) * 5
    way_too_long[:, 1] = 60
    s_ideal = true_scores(one, summarize_params(ideal, one.grade_band))["satisfaction"]
    s_long = true_scores(one, summarize_params(way_too_long, one.grade_band))["satisfaction"]
    assert np.mean(s_ideal > s_long) > 0.9


def test_structured_families_prefer_structured_weeks(families):
    flexible = families.take(np.flatnonzero(families.preferences[:, 0] > 0.8))
    rigid = families.take(np.flatnonzero(families.preferences[:, 0] < 0.2))
    week = np.array([1.0, 30, 3, 8, 200, 0.5, 10])
    loose = week.copy()
    loose[0] = 0.0
    assert _with(rigid, week).mean() > _with(rigid, loose).mean()
    assert _with(flexible, loose).mean() > _with(flexible, week).mean()


def test_expert_is_good_but_clearly_not_optimal(families):
    """The bar of the foundation issue: expert ≤ 90 % of the per-family optimum (full size in the data card)."""
    fam = families.take(np.arange(150))
    rng = np.random.default_rng(0)
    expert = true_scores(fam, summarize_params(expert_params(fam.answers, fam.child_age), fam.grade_band))
    random = true_scores(fam, summarize_params(unit_to_params(rng.uniform(-1, 1, (150, N_PARAMS))), fam.grade_band))
    oracle = oracle_search(fam, rng, n_random=256, n_rounds=2, n_local=16)
    assert np.all(oracle.satisfaction >= expert["satisfaction"] - 1e-12)  # the oracle never loses to the rule
    assert random["satisfaction"].mean() < expert["satisfaction"].mean()
    assert expert["satisfaction"].mean() <= 0.9 * oracle.satisfaction.mean()
    np.testing.assert_allclose(
        true_scores(fam, summarize_params(oracle.params, fam.grade_band))["satisfaction"], oracle.satisfaction
    )
