"""Seeded samples that several test modules share, each built once per session.

Callers must not modify what they get back (the functions are cached)."""

from __future__ import annotations

import functools

import numpy as np

from brightpath.expert import expert_params
from brightpath.generators import RegressorGenerator
from brightpath.regressors import expert_training_arrays, make_regressor
from brightpath.schedule import params_to_unit, summarize_params, unit_to_params
from brightpath.simulator import Families, sample_families, true_scores


@functools.cache
def expert_population() -> tuple[Families, np.ndarray]:
    """2,000 simulated families and their expert rule's true satisfaction."""
    families = sample_families(2000, np.random.default_rng(11))
    params = expert_params(families.answers, families.child_age)
    truth = true_scores(families, summarize_params(params, families.grade_band))["satisfaction"]
    return families, truth


@functools.cache
def stochastic_policy_draws() -> np.ndarray:
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


@functools.cache
def generator_families() -> Families:
    """40 simulated families the generator and evaluation tests write schedules for."""
    return sample_families(40, np.random.default_rng(21))


@functools.cache
def rf_imitator() -> RegressorGenerator:
    """A small random forest (20 trees) fitted to the expert rule on 400 other families."""
    train = sample_families(400, np.random.default_rng(22))
    X, Y = expert_training_arrays(train.answers, train.child_age)
    return RegressorGenerator(make_regressor("rf", {"n_estimators": 20}, seed=0).fit(X, Y), name="rf")
