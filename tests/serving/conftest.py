"""Fixtures for the model service tests: tiny real models in a registry.

``reward_model_files`` is an attention reward model trained for two epochs on 40 simulated
families (seconds), exported once per session and copied into each registry that needs it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brightpath import registry
from tests.serving.helpers import REPO_ROOT, copy_of, tiny_generator


@pytest.fixture(scope="session")
def reward_model_files(tmp_path_factory) -> Path:
    """A tiny attention reward model directory (``model_version`` "tiny-reward-1")."""
    from omegaconf import OmegaConf

    from brightpath.reward.evaluation import simulated_set
    from brightpath.reward.models import model_config
    from brightpath.reward.scoring import export_reward_model
    from brightpath.reward.training import train_reward_model
    from brightpath.simulator import sample_families

    rng = np.random.default_rng(0)
    train, val = (simulated_set(sample_families(n, rng), rng, per_family=3, mix="logged") for n in (40, 10))
    values = OmegaConf.to_container(OmegaConf.load(REPO_ROOT / "configs" / "reward_model" / "attention.yaml"))
    settings = {**values, "d_model": 8, "ff_dim": 8, "head_units": [16], "max_epochs": 2, "batch_size": 32}
    trained = train_reward_model(model_config("attention", settings), train, val, seed=0)
    directory = tmp_path_factory.mktemp("reward-files") / "reward"
    export_reward_model(trained.model, trained.preprocessing, directory, model_version="tiny-reward-1")
    return directory


@pytest.fixture
def model_root(tmp_path, reward_model_files) -> Path:
    """A registry with generator version 1 (bias -0.5, "gen-v1") and reward version 1 promoted."""
    root = tmp_path / "models"
    registry.publish(root, "generator", tiny_generator(-0.5, "gen-v1"))
    registry.publish(root, "reward", copy_of(reward_model_files))
    return root


@pytest.fixture(scope="session")
def shared_model_root(tmp_path_factory, reward_model_files) -> Path:
    """Like ``model_root``, shared by the tests that never change it."""
    root = tmp_path_factory.mktemp("shared-models") / "models"
    registry.publish(root, "generator", tiny_generator(-0.5, "gen-v1"))
    registry.publish(root, "reward", copy_of(reward_model_files))
    return root
