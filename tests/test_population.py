"""The simulated population: realistic ages and answers, preferences the answers reflect, seeded."""

import numpy as np
import pytest

from brightpath.features import category_scores
from brightpath.simulator import Families, sample_families


@pytest.fixture(scope="module")
def families() -> Families:
    return sample_families(400, np.random.default_rng(7))


def test_population_is_realistic(families):
    assert families.age.min() >= 5 and families.age.max() <= 18
    assert np.mean(families.age <= 11) > 0.5  # home-schooled children skew young
    missing = families.answers == 0
    assert 0.02 < missing.mean() < 0.2
    answered = families.answers[~missing]
    assert set(np.unique(answered)) <= {1, 2, 3, 4, 5}
    corr = np.corrcoef(families.preferences.T)
    assert corr[0, 3] < -0.15  # flexible families plan less long-term
    scores, _ = category_scores(families.answers)
    for k in range(5):  # answers reflect the hidden preferences
        assert np.corrcoef(scores[:, k], families.preferences[:, k])[0, 1] > 0.8


def test_sampling_is_deterministic_for_a_seed():
    a = sample_families(50, np.random.default_rng(3))
    b = sample_families(50, np.random.default_rng(3))
    np.testing.assert_array_equal(a.answers, b.answers)
    np.testing.assert_array_equal(a.preferences, b.preferences)
