"""Fixtures for the model service tests: tiny real models in a registry.

``reward_model_files`` is an attention reward model trained for two epochs on 40 simulated
families (seconds), exported once per session and copied into each registry that needs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from brightpath import registry
from tests.serving.helpers import REPO_ROOT, copy_of, tiny_generator
from tests.serving.processes import Process, free_port, healthy, wait_until


@pytest.fixture(scope="session")
def reward_model_files(tmp_path_factory) -> Path:
    """A tiny attention reward model directory (``model_version`` "tiny-reward-1")."""
    from brightpath.reward.evaluation import simulated_set
    from brightpath.reward.models import model_config
    from brightpath.reward.scoring import export_reward_model
    from brightpath.reward.training import train_reward_model
    from brightpath.simulator import sample_families

    rng = np.random.default_rng(0)
    train, val = (simulated_set(sample_families(n, rng), rng, per_family=3, mix="logged") for n in (40, 10))
    settings = {"d_model": 8, "ff_dim": 8, "head_units": [16], "max_epochs": 2, "batch_size": 32}
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


# --- the real service process (integration tests) --------------------------------------------------

SERVICE_TOKEN = "integration-token"
JOB_HEARTBEAT_S, JOB_STALE_AFTER_S = 0.5, 6.0  # a loaded 2-core machine can stall a process for seconds


@pytest.fixture(scope="session")
def service_home(tmp_path_factory, reward_model_files, _mlflow_db_template) -> Path:
    """BRIGHTPATH_HOME of the service process: a registry with gen-v1 and the tiny reward model, empty MLflow."""
    home = tmp_path_factory.mktemp("service-home")
    registry.publish(home / "models", "generator", tiny_generator(-0.5, "gen-v1"))
    registry.publish(home / "models", "reward", copy_of(reward_model_files))
    shutil.copy(_mlflow_db_template, home / "mlflow.db")  # MLflow's schema is made once per session
    return home


@pytest.fixture(scope="session")
def service_env(service_home, redis_url) -> dict[str, str]:
    """The environment of the service and its workers: Redis database 7 of the test Redis, fast job heartbeats."""
    import redis

    broker = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own on the shared test Redis
    redis.Redis.from_url(broker).flushdb()
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PYTHONPATH": python_path,
        "BRIGHTPATH_HOME": str(service_home),
        "BRIGHTPATH_MODEL_DIR": str(service_home / "models"),
        "BRIGHTPATH_DATABASE_URL": f"sqlite:///{service_home / 'brightpath.db'}",
        "BRIGHTPATH_BROKER_URL": broker,
        "BRIGHTPATH_API_TOKEN": SERVICE_TOKEN,
        "BRIGHTPATH_SERVICE_PORT": str(free_port()),
        "BRIGHTPATH_MODEL_POLL_S": "2",
        "BRIGHTPATH_JOB_HEARTBEAT_S": str(JOB_HEARTBEAT_S),
        "BRIGHTPATH_JOB_STALE_AFTER_S": str(JOB_STALE_AFTER_S),
        "BRIGHTPATH_JOB_MAX_ATTEMPTS": "2",
        "BRIGHTPATH_REAPER_INTERVAL_S": "0.5",
        "MLFLOW_TRACKING_URI": f"sqlite:///{service_home / 'mlflow.db'}",
        "OMP_NUM_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


@pytest.fixture(scope="session")
def service(service_env, service_home) -> str:
    """The base URL of a real ``python -m serving`` process (stopped by its pid at the end of the session)."""
    process = Process("serving", service_env, service_home / "service.log", service_home)
    base_url = f"http://127.0.0.1:{service_env['BRIGHTPATH_SERVICE_PORT']}"
    try:
        wait_until(lambda: healthy(base_url), 90, "the service answering /healthz", process=process)
        yield base_url
    finally:
        process.stop()
