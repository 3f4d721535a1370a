"""Task ``reward``: train and evaluate a reward model of family satisfaction (``+exp=reward``).

    python -m experiments.train +exp=reward                         # Keras attention model
    python -m experiments.train +exp=reward reward_model=gbr        # or mlp: the seed's baselines
    python -m experiments.train -m +exp=reward reward_model=attention,gbr,mlp

In order:

1. data: the ``data`` config's dataset under ``<paths.data_dir>`` (generated first if
   missing, as ``+exp=data`` would); the feedback calibration is fitted on the train split
   and turns every split's feedback into targets (``brightpath.reward.targets``);
2. training on the train families with early stopping on the validation families; per-epoch
   curves ``reward/train_loss``, ``reward/val_loss``, ``reward/epoch_seconds``
   (gbr: one epoch = ``trees_per_round`` more trees);
3. evaluation on the held-out test families' logged schedules (``test/...``) and on an
   off-distribution set of the same families (``offdist/...``: uniform and far-perturbed
   parameters, what a policy explores, drawn from ``seed``): MSE, R², Spearman and Pearson
   against the observed targets (``..._observed_<target>``) and the simulator's hidden truth
   (``..._true_<target>``), e.g. ``test/spearman_true_satisfaction``; calibration and
   residual plots (``plots/<set>_calibration.png``, ``plots/<set>_residuals.png``);
4. the model: attention → a SavedModel published as a new version of registry model ``reward``
   and promoted (``<paths.model_dir>/reward``, the stable directory
   ``brightpath.inference.evaluate_schedule`` and the environment read); gbr/mlp →
   ``<paths.model_dir>/reward_baselines/<name>/`` (``brightpath.reward.baselines``; not served,
   so not versioned). Either is logged as the run's ``model`` artifact.

A run that needs a reward model and finds none (PPO, the results table) runs this task as a
child run of its own (``experiments.artifacts.reward_model``). To compare models side by side,
sweep them (``-m ... reward_model=attention,gbr,mlp``: one child run each under the sweep's
parent run), or, inside one run, call ``train_and_evaluate`` per model with a shared
``load_reward_datasets(config)`` and a prefix.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from experiments import artifacts
from experiments.schemas import RunConfig
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

CONFIG_GROUPS = ("data", "reward_model")
USES_TENSORFLOW = False
"""TensorFlow loads (and is seeded by ``training``) only for the attention model."""
OFFDIST_STREAM = 1
"""Second entry of the off-distribution set's seed sequence ``[seed, 1]``: a stream of its own,
so the set is the same for every model trained with the same seed."""
BASELINES_SUBDIR = "reward_baselines"
"""``<paths.model_dir>/reward_baselines/<gbr|mlp>/``: where the scikit-learn reward baselines go."""


def run(config: RunConfig, tracker: Tracker) -> dict[str, float]:
    """Train, evaluate and save ``config.reward_model``; return its final metrics (module docstring)."""
    return train_and_evaluate(config, tracker, config.reward_model)


@dataclass(frozen=True)
class RewardDatasets:
    """What every reward model of a run trains and is judged on (step 1 of the module docstring).

    Attributes:
        calibration: the feedback calibration fitted on the train split.
        train, val: training data (observed targets only).
        sets: evaluation sets by name, ``test`` and ``offdist``, with hidden truth.
        seconds: time taken to generate (if missing) and prepare the data.
    """

    calibration: Any
    train: Any
    val: Any
    sets: dict[str, Any]
    seconds: float


def load_reward_datasets(config: RunConfig) -> RewardDatasets:
    """The ``data`` config's dataset (generated first if missing) as reward-model train/val/test data,
    plus the off-distribution set of the test families drawn from ``[seed, OFFDIST_STREAM]``."""
    import pandas as pd

    from brightpath.datasets import load_families, load_split
    from brightpath.reward.evaluation import simulated_set
    from brightpath.reward.inputs import data_from_table
    from brightpath.reward.targets import fit_calibration

    started = time.perf_counter()
    root = artifacts.dataset(config)
    version = config.data.version
    frames = {split: load_split(root, version, split) for split in ("train", "val", "test")}
    calibration = fit_calibration(frames["train"])
    truth_table = pd.read_parquet(root / "synthetic" / version / "truth.parquet")
    data = {
        split: data_from_table(frame, calibration, truth_table if split == "test" else None)
        for split, frame in frames.items()
    }
    offdist = simulated_set(
        load_families(root, version, "test"), np.random.default_rng([config.seed, OFFDIST_STREAM]), calibration
    )
    return RewardDatasets(
        calibration,
        data["train"],
        data["val"],
        {"test": data["test"], "offdist": offdist},
        time.perf_counter() - started,
    )


def train_and_evaluate(
    config: RunConfig, tracker: Tracker, model_config: Any, *, datasets: RewardDatasets | None = None, prefix: str = ""
) -> dict[str, float]:
    """Steps 1–4 of the module docstring for one reward model.

    Args:
        config: the run's config (``paths``, ``data``, ``seed``, ``run_name`` are read).
        model_config: the reward model's config (``AttentionConfig``, ``GBRConfig`` or ``MLPConfig``).
        datasets: ``load_reward_datasets(config)``, to share between several models; loaded if None.
        prefix: put before every metric, plot and artifact name (``"gbr/"`` when one run
            compares several models).

    Returns:
        The final metrics, prefixed.
    """
    from brightpath.reward.evaluation import calibration_figure, regression_metrics, residual_figure
    from brightpath.reward.training import train_reward_model

    name = model_config.name
    seed = config.seed
    if datasets is None:
        datasets = load_reward_datasets(config)
    tracker.log_params(
        {
            f"{prefix}reward.rows_{split}": len(rows)
            for split, rows in {"train": datasets.train, "val": datasets.val, **datasets.sets}.items()
        }
    )
    tracker.log_dict(datasets.calibration.to_dict(), f"{prefix}reward/target_calibration.json")

    def log_epoch(epoch: int, values: dict[str, float]) -> None:
        tracker.log_metrics(
            {
                f"{prefix}reward/train_loss": values["train_loss"],
                f"{prefix}reward/val_loss": values["val_loss"],
                f"{prefix}reward/epoch_seconds": values["seconds"],
            },
            step=epoch,
        )

    trained = train_reward_model(model_config, datasets.train, datasets.val, seed=seed, on_epoch=log_epoch)
    metrics = {
        "train/seconds": trained.history.seconds,
        "train/epochs": float(len(trained.history.epochs)),
        "train/best_epoch": float(trained.history.best_epoch),
        "val/loss": trained.history.best_val_loss,
        "perf/data_seconds": datasets.seconds,
    }
    for set_name, rows in datasets.sets.items():
        tick = time.perf_counter()
        predictions = trained.predict(rows.inputs)
        metrics[f"perf/{set_name}_predict_schedules_per_s"] = len(rows) / (time.perf_counter() - tick)
        scores = regression_metrics(predictions, observed=rows.targets, truth=rows.truth)
        metrics.update({f"{set_name}/{key}": value for key, value in scores.items()})
        label = f"{name} reward model, {set_name} set ({len(rows)} schedules)"
        tracker.log_figure(calibration_figure(predictions, rows, label), f"{prefix}{set_name}_calibration")
        tracker.log_figure(residual_figure(predictions, rows, label), f"{prefix}{set_name}_residuals")

    metadata = artifacts.model_metadata(
        config,
        tracker,
        target_calibration=datasets.calibration.to_dict(),
        test_spearman_true_satisfaction=metrics["test/spearman_true_satisfaction"],
        offdist_spearman_true_satisfaction=metrics["offdist/spearman_true_satisfaction"],
    )
    save_model(config, tracker, trained, metadata, prefix=prefix)
    metrics = {f"{prefix}{key}": value for key, value in metrics.items()}
    tracker.log_metrics(metrics)
    log.info(
        "%s reward model: test Spearman %.3f, off-distribution %.3f (truth), %.1f s training",
        name,
        metrics[f"{prefix}test/spearman_true_satisfaction"],
        metrics[f"{prefix}offdist/spearman_true_satisfaction"],
        trained.history.seconds,
    )
    return metrics


def save_model(config: RunConfig, tracker: Tracker, trained, metadata: dict, *, prefix: str = "") -> Path:
    """Write the model to its local place and log it as the run's ``model`` artifact (module
    docstring, step 4); return the directory written."""
    artifact_path = f"{prefix}model".strip("/")
    version = artifacts.model_version(config, tracker)
    if trained.name == "attention":
        from brightpath.reward.scoring import export_reward_model

        _, directory = artifacts.publish(
            config,
            artifacts.REWARD_MODEL,
            lambda path: export_reward_model(trained.model, trained.preprocessing, path, model_version=version),
            metadata,
        )
    else:
        from brightpath.reward.baselines import save_reward_baseline

        directory = save_reward_baseline(
            trained.model,
            trained.config,
            Path(config.paths.model_dir) / BASELINES_SUBDIR / trained.name,
            model_version=version,
            metadata=metadata,
        )
    tracker.log_artifacts(directory, artifact_path)
    return directory
