"""The one generator interface: every implementation maps profiles to valid parameters and
Schedule JSON in batches, the oracle cheats only on its own families, and ``load_generator``
names what is missing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brightpath.errors import ModelLoadError, ValidationError
from brightpath.expert import expert_params
from brightpath.generators import ExpertGenerator, Generator, OracleGenerator, load_generator, schedules
from brightpath.schedule import N_PARAMS, PARAM_NAMES, clip_params, json_to_layout, summarize_params
from brightpath.simulator import sample_families, true_scores
from tests.samples import generator_families, rf_imitator

SMALL_ORACLE = {"n_random": 48, "n_rounds": 2, "n_local": 8}


answers_strategy = arrays(
    np.float32, st.tuples(st.integers(1, 6), st.just(25)), elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
)


@settings(max_examples=25, deadline=None)
@given(answers_strategy, st.data())
def test_every_generator_writes_valid_parameters_and_schedule_json(answers, data):
    rf_generator = rf_imitator()
    ages = np.array(
        data.draw(st.lists(st.integers(5, 18), min_size=len(answers), max_size=len(answers))), dtype=np.float32
    )
    for generator in (ExpertGenerator(), rf_generator):
        assert isinstance(generator, Generator)
        params = generator.params(answers, ages)
        assert params.shape == (len(answers), N_PARAMS)
        np.testing.assert_array_equal(clip_params(params), params)  # in range and on each step
        written = generator.schedules(answers, ages)
        assert len(written) == len(answers)
        for schedule, row, age in zip(written, answers, ages):
            json_to_layout(json.loads(json.dumps(schedule)))
            assert schedule["meta"]["source"] == generator.source
            assert schedule["meta"]["family"]["answers"] == [int(a) for a in row]
            assert schedule["meta"]["family"]["child_age"] == int(age)


def test_the_expert_generator_is_the_rule():
    families = generator_families()
    generator = ExpertGenerator()
    np.testing.assert_array_equal(
        generator.params(families.answers, families.child_age), expert_params(families.answers, families.child_age)
    )
    written = schedules(generator, families.answers[:3], families.child_age[:3])
    meta = written[0]["meta"]
    assert meta["source"] == "expert" and meta["model_version"] == generator.model_version
    assert {name: meta[name] for name in PARAM_NAMES}


def test_batch_shapes_are_checked_and_named():
    generator = ExpertGenerator()
    with pytest.raises(ValidationError, match="answers"):
        generator.params(np.ones((2, 24)), np.array([8, 9]))
    with pytest.raises(ValidationError, match="child_age"):
        generator.params(np.ones((2, 25)), np.array([8]))


def test_the_oracle_beats_or_matches_the_rule_for_every_family_and_cheats_only_on_its_families():
    families = generator_families()
    oracle = OracleGenerator(families, seed=1, **SMALL_ORACLE)
    params = oracle.params(families.answers, families.child_age)
    oracle_truth = true_scores(families, summarize_params(params, families.grade_band))["satisfaction"]
    expert = expert_params(families.answers, families.child_age)
    expert_truth = true_scores(families, summarize_params(expert, families.grade_band))["satisfaction"]
    assert np.all(oracle_truth >= expert_truth - 1e-12) and oracle_truth.mean() > expert_truth.mean() + 0.05
    np.testing.assert_array_equal(params, oracle.params(families.answers, families.child_age))  # seeded
    subset = np.array([5, 2, 9])
    sub_params = oracle.params(families.answers[subset], families.child_age[subset])
    sub_truth = true_scores(families.take(subset), summarize_params(sub_params, families.grade_band[subset]))
    assert np.all(sub_truth["satisfaction"] >= expert_truth[subset] - 1e-12)
    stranger = sample_families(1, np.random.default_rng(99))
    with pytest.raises(ValidationError, match=r"answers\[0\]"):
        oracle.params(stranger.answers, stranger.child_age)


def test_load_generator_resolves_names_and_names_what_is_missing(tmp_path):
    families = generator_families()
    assert isinstance(load_generator("expert"), ExpertGenerator)
    assert isinstance(load_generator("oracle", families=families), OracleGenerator)
    with pytest.raises(ValueError, match="needs the families"):
        load_generator("oracle")
    with pytest.raises(ModelLoadError, match=str(tmp_path / "baselines" / "gbr")):
        load_generator("gbr", model_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="generator"):
        load_generator("ppo", model_dir=tmp_path)
    with pytest.raises(ValueError, match="experiments.evaluate"):
        load_generator("runs:/0123abcd")
    (tmp_path / "junk").mkdir()
    with pytest.raises(ModelLoadError, match="neither a generator SavedModel"):
        load_generator(tmp_path / "junk")
