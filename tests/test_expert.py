"""The seed's expert rule and the profile features it reads: the seed formula, missing answers, and
identical results in NumPy and inside a TensorFlow graph."""

import numpy as np
import pytest

from brightpath.expert import expert_params
from brightpath.features import PROFILE_FEATURES, profile_features
from brightpath.schedule import ScheduleParams, params_to_unit


def test_profile_features_handle_missing_answers():
    answers = np.zeros((2, 25), np.float32)
    answers[1, :5] = 5
    feats = profile_features(answers, np.array([5.0, 18.0]))
    assert feats.shape == (2, len(PROFILE_FEATURES))
    np.testing.assert_allclose(feats[0, :5], 0.5)  # documented default: the neutral answer
    np.testing.assert_allclose(feats[0, 5:10], 1.0)  # fully missing
    assert feats[1, 0] == 1.0 and feats[1, 5] == 0.0
    np.testing.assert_allclose(feats[:, 10], [0.0, 1.0])


def test_expert_rule_matches_the_seed_formula():
    answers = np.full((1, 25), 3.0, np.float32)  # every category 0.5
    params = ScheduleParams.from_vector(expert_params(answers, np.array([9.0]))[0])
    # block = 20 + (9-5)*2 - 0.5*15 = 20.5 -> 20; breaks = 2 + int(1.5) = 3; start = 8 + int(1.0) = 9
    assert (params.structure_level, params.block_duration_minutes, params.breaks_frequency, params.start_hour) == (
        0.5,
        20,
        3,
        9,
    )
    assert np.all(np.abs(params_to_unit(params.to_vector())) <= 1)


def test_expert_rule_is_identical_in_tensorflow():
    tf = pytest.importorskip("tensorflow")
    from brightpath.tf_namespace import tf_namespace

    rng = np.random.default_rng(0)
    answers = rng.integers(0, 6, (128, 25)).astype(np.float32)
    age = rng.integers(5, 19, 128).astype(np.float32)
    xp = tf_namespace()
    np.testing.assert_allclose(
        expert_params(tf.constant(answers), tf.constant(age), xp).numpy(), expert_params(answers, age), atol=1e-5
    )
    np.testing.assert_allclose(
        profile_features(tf.constant(answers), tf.constant(age), xp).numpy(), profile_features(answers, age), atol=1e-6
    )
