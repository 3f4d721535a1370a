"""The Optuna search ``hparams_search=ppo_optuna``: its config (validation split, seeded TPE, Ray, a
search space that holds the hand-tuned default), and a tiny search end to end (three trials of a
tiny PPO on Hydra's basic launcher, in this process): every trial a finished child run of one
parent, the best trial's config written and logged, the project's champion generator untouched."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

pytest.importorskip("tf_agents")
pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")

REPO_ROOT = Path(__file__).resolve().parents[1]
SEARCH = ["+exp=ppo", "hparams_search=ppo_optuna"]
TINY = [
    "env.reward_source=oracle",
    "env.num_envs=512",
    "agent.num_iterations=2",
    "eval.n_families=12",
    "data.n_families=40",
    "data.schedules_per_family=2",
    "eval.oracle.n_random=16",
    "eval.oracle.n_rounds=1",
    "eval.oracle.n_local=4",
]
"""A tiny PPO (the oracle as reward: no reward model to train; 512 families a step, a multiple of every
searched minibatch size) on a tiny dataset."""


def _compose(overrides: list[str], home: Path):
    from hydra import compose, initialize_config_dir

    import experiments.schemas  # noqa: F401  (registers the schemas the configs extend)

    with initialize_config_dir(config_dir=str(REPO_ROOT / "configs"), version_base="1.3"):
        return compose(config_name="train", overrides=[*overrides, f"paths.root={home}"], return_hydra_config=True)


def _interval(spec: str) -> tuple[float, float]:
    """``(low, high)`` of a sweeper param such as ``tag(log, interval(1e-4, 3e-3))`` or ``int(interval(2, 10))``."""
    inner = spec[spec.index("interval(") + len("interval(") :]
    low, high = inner[: inner.index(")")].split(",")
    return float(low), float(high)


def test_the_search_chooses_on_the_validation_split_with_a_seeded_tpe_on_ray(tmp_path):
    cfg = _compose(SEARCH, tmp_path)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.sampler._target_ == "optuna.samplers.TPESampler"
    assert sweeper.sampler.seed == 0 and sweeper.n_trials >= 20 and sweeper.direction == "maximize"
    assert cfg.hydra.launcher._target_.endswith("RayLauncher")
    assert cfg.eval.split == "val" and cfg.optimize_metric == "eval/true_satisfaction"
    assert cfg.eval.n_families <= cfg.data.n_families * cfg.data.val_fraction  # no top-up families
    assert OmegaConf.select(cfg, "hydra.callbacks.optuna_best_trial._target_") == "experiments.tracking.OptunaBestTrial"

    # Every searched key exists, and its range holds the hand-tuned default.
    for key, spec in sweeper.params.items():
        default = OmegaConf.select(cfg, key, throw_on_missing=True)
        if spec.startswith("choice("):
            assert str(default) in [c.strip() for c in spec[len("choice(") : -1].split(",")], key
        else:
            low, high = _interval(spec)
            assert low <= default <= high, key
    for choice in sweeper.params["agent.minibatch_size"][len("choice(") : -1].split(","):
        assert cfg.env.num_envs % int(choice) == 0


def test_an_objective_on_the_test_split_is_refused_before_anything_runs(tmp_path):
    from experiments import config_check
    from experiments.train import check_objective

    cfg = _compose([*SEARCH, "eval.split=test"], tmp_path)
    with pytest.raises(config_check.ConfigError, match=r"^eval\.split: expected val .* got 'test'"):
        check_objective(cfg)
    check_objective(_compose(SEARCH, tmp_path))
    check_objective(_compose(["+exp=ppo"], tmp_path))  # no objective: the test split is the default


@pytest.mark.slow
def test_a_tiny_search_logs_every_trial_and_writes_the_best_config(tmp_home, mlflow_store, monkeypatch):
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from experiments import train

    sweep_dir = tmp_home / "multirun" / "search"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "train",
            "-m",
            *SEARCH,
            *TINY,
            "hydra/launcher=basic",
            "hydra.sweeper.n_trials=3",
            "hydra.sweeper.n_jobs=3",
            f"paths.root={tmp_home}",
            f"logger.tracking_uri=sqlite:///{tmp_home}/mlflow.db",
            f"hydra.sweep.dir={sweep_dir}",
            "hydra/job_logging=disabled",
            "hydra/hydra_logging=disabled",
        ],
    )
    try:
        train.main()
    finally:
        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None

    (parent,) = mlflow_store.runs("tags.sweep_role = 'parent'")
    trials = mlflow_store.runs(f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(trials) == 3 and {run.info.status for run in trials} == {"FINISHED"}
    assert parent.info.status == "FINISHED"
    for run in trials:
        assert run.data.params["eval.split"] == "val" and run.data.params["optimize_metric"] == "eval/true_satisfaction"
        assert 1e-4 <= float(run.data.params["agent.learning_rate"]) <= 3e-3
        assert 0 <= run.data.metrics["final/eval/true_satisfaction"] <= 1
    assert len({run.data.params["agent.learning_rate"] for run in trials}) == 3  # the sampler varied them

    metric = "final/eval/true_satisfaction"
    best = max(trials, key=lambda run: run.data.metrics[metric])
    results = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert math.isclose(results.best_value, best.data.metrics[metric], rel_tol=1e-12)
    assert parent.data.metrics[f"best/{metric}"] == best.data.metrics[metric]
    assert parent.data.tags["best_run_id"] == best.info.run_id
    for key, value in results.best_params.items():
        assert parent.data.params[f"best.{key}"] == best.data.params[key] == str(value)
    assert {"optuna/best_config.yaml", "optuna/optimization_results.yaml"} <= mlflow_store.artifacts(parent.info.run_id)

    # best_config.yaml: the best trial's whole config, and how to rerun it on either split.
    text = (sweep_dir / "best_config.yaml").read_text()
    best_config = OmegaConf.create(text)
    for key, value in results.best_params.items():
        assert OmegaConf.select(best_config, key) == value
    assert best_config.eval.split == "val" and best_config.agent.num_iterations == 2
    header = text[: text.index("\ntask:")]
    on_test = header[header.index("on the test split") :]
    assert "hparams_search=ppo_optuna" in header and "hparams_search" not in on_test
    assert "agent.learning_rate=" in on_test and "+exp=ppo" in on_test

    # Trials publish to the search's own registry; the project's champion generator is untouched.
    from brightpath import registry

    assert list(registry.list_versions(tmp_home / "models" / "hparams_search", "generator")) == [1, 2, 3]
    assert not (tmp_home / "models" / "generator").exists()
    # Each trial checkpoints in its own output dir (they share the run name ppo-mlp-s0).
    assert sorted(p.parent.parent.name for p in sweep_dir.glob("*/checkpoints/ppo-mlp-s0")) == ["0", "1", "2"]
