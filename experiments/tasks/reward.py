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
4. the model: attention → SavedModel at ``<paths.model_dir>/reward`` (the stable directory
   ``brightpath.inference.evaluate_schedule`` and the environment read), logged as the
   ``model`` artifact; gbr/mlp → ``<paths.model_dir>/reward_baselines/<name>.joblib``, logged
   the same way.

``ensure_reward_model(cfg)`` gives other tasks (PPO) a usable attention reward model,
training one in its own MLflow run (nested under the caller's run) when there is none.
To compare models side by side, sweep them (``-m ... reward_model=attention,gbr,mlp``: one
child run each under the sweep's parent run), or, inside one run, call
``train_and_evaluate`` per model with a shared ``load_reward_datasets(cfg)`` and a prefix.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf, open_dict

import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from experiments import config_check, tracking
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

USES_TENSORFLOW = False
"""TensorFlow loads (and is seeded by ``training``) only for the attention model."""
OFFDIST_STREAM = 1
"""Second entry of the off-distribution set's seed sequence ``[seed, 1]``: a stream of its own,
so the set is the same for every model trained with the same seed."""
BASELINES_SUBDIR = "reward_baselines"


def run(cfg: DictConfig, tracker: Tracker) -> dict[str, float]:
    """Train, evaluate and save ``cfg.reward_model``; return its final metrics (module docstring)."""
    return train_and_evaluate(cfg, tracker, cfg.reward_model)


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


def load_reward_datasets(cfg: DictConfig) -> RewardDatasets:
    """The ``data`` config's dataset (generated first if missing) as reward-model train/val/test data,
    plus the off-distribution set of the test families drawn from ``[seed, OFFDIST_STREAM]``."""
    import pandas as pd

    from brightpath.datasets import load_families, load_split
    from brightpath.reward.evaluation import simulated_set
    from brightpath.reward.inputs import data_from_table
    from brightpath.reward.targets import fit_calibration
    from experiments.tasks.data import ensure_dataset

    started = time.perf_counter()
    root = ensure_dataset(cfg)
    version = str(cfg.data.version)
    frames = {split: load_split(root, version, split) for split in ("train", "val", "test")}
    calibration = fit_calibration(frames["train"])
    truth_table = pd.read_parquet(root / "synthetic" / version / "truth.parquet")
    data = {split: data_from_table(frame, calibration, truth_table if split == "test" else None)
            for split, frame in frames.items()}
    offdist = simulated_set(load_families(root, version, "test"),
                            np.random.default_rng([int(cfg.seed), OFFDIST_STREAM]), calibration)
    return RewardDatasets(calibration, data["train"], data["val"], {"test": data["test"], "offdist": offdist},
                          time.perf_counter() - started)


def train_and_evaluate(
    cfg: DictConfig, tracker: Tracker, model_node: Any, *, datasets: RewardDatasets | None = None, prefix: str = ""
) -> dict[str, float]:
    """Steps 1–4 of the module docstring for one reward model.

    Args:
        cfg: the run's config (``paths``, ``data``, ``seed``, ``run_name`` are read).
        model_node: the reward model's config node (``name`` and its settings).
        datasets: ``load_reward_datasets(cfg)``, to share between several models; loaded if None.
        prefix: put before every metric, plot and artifact name (``"gbr/"`` when one run
            compares several models).

    Returns:
        The final metrics, prefixed.
    """
    from brightpath.reward.evaluation import calibration_figure, regression_metrics, residual_figure
    from brightpath.reward.models import model_config
    from brightpath.reward.training import train_reward_model

    settings = OmegaConf.to_container(model_node, resolve=True) if isinstance(model_node, DictConfig) \
        else dict(model_node)
    name = str(settings["name"])
    config = model_config(name, settings)  # a bad setting fails here, before any data is read
    seed = int(cfg.seed)
    if datasets is None:
        datasets = load_reward_datasets(cfg)
    tracker.log_params({f"{prefix}reward.rows_{split}": len(rows) for split, rows in
                        {"train": datasets.train, "val": datasets.val, **datasets.sets}.items()})
    tracker.log_dict(datasets.calibration.to_dict(), f"{prefix}reward/target_calibration.json")

    def log_epoch(epoch: int, values: dict[str, float]) -> None:
        tracker.log_metrics({f"{prefix}reward/train_loss": values["train_loss"],
                             f"{prefix}reward/val_loss": values["val_loss"],
                             f"{prefix}reward/epoch_seconds": values["seconds"]}, step=epoch)

    trained = train_reward_model(config, datasets.train, datasets.val, seed=seed, on_epoch=log_epoch)
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

    metadata = {"run_name": str(cfg.run_name), "seed": seed, "data_version": str(cfg.data.version),
                "target_calibration": datasets.calibration.to_dict(),
                "test_spearman_true_satisfaction": metrics["test/spearman_true_satisfaction"],
                "offdist_spearman_true_satisfaction": metrics["offdist/spearman_true_satisfaction"]}
    save_model(cfg, tracker, trained, metadata, prefix=prefix)
    metrics = {f"{prefix}{key}": value for key, value in metrics.items()}
    tracker.log_metrics(metrics)
    log.info("%s reward model: test Spearman %.3f, off-distribution %.3f (truth), %.1f s training", name,
             metrics[f"{prefix}test/spearman_true_satisfaction"],
             metrics[f"{prefix}offdist/spearman_true_satisfaction"], trained.history.seconds)
    return metrics


def save_model(cfg: DictConfig, tracker: Tracker, trained, metadata: dict, *, prefix: str = "") -> Path:
    """Write the model to its stable local place and log it as the run's ``model`` artifact.

    Attention: a SavedModel at ``<paths.model_dir>/reward``; gbr/mlp: a joblib file under
    ``<paths.model_dir>/reward_baselines/``. Returns the path written.
    """
    from brightpath.export import REWARD_SUBDIR

    model_dir = Path(cfg.paths.model_dir)
    version = tracker.run_id or f"{cfg.run_name}-local"
    artifact_path = f"{prefix}model".strip("/")
    if trained.name == "attention":
        from brightpath.reward.scoring import export_reward_model

        directory = export_reward_model(trained.model, trained.preprocessing, model_dir / REWARD_SUBDIR,
                                        model_version=version, metadata=metadata)
        tracker.log_artifacts(directory, artifact_path)
        return directory
    import joblib

    path = model_dir / BASELINES_SUBDIR / f"{trained.name}.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": trained.model, "model_version": version, **metadata}, path)
    tracker.log_artifact(path, artifact_path)
    return path


def ensure_reward_model(cfg: DictConfig) -> Path:
    """``<paths.model_dir>/reward`` once it holds a usable attention reward model.

    If it does not (missing, corrupt, not a reward model), one is trained and exported with
    ``cfg.reward_model`` when that is the attention model, else with the attention defaults
    (``configs/reward_model/attention.yaml``), in its own MLflow run named
    ``reward-attention-s<seed>``, nested under the caller's active run if there is one.
    """
    from brightpath.errors import ModelLoadError
    from brightpath.export import REWARD_SUBDIR
    from brightpath.reward.scoring import RewardScorer

    directory = Path(cfg.paths.model_dir) / REWARD_SUBDIR
    try:
        RewardScorer(directory)
        return directory
    except ModelLoadError as exc:
        log.info("no usable reward model (%s); training the attention reward model first", exc)
    node = cfg.reward_model if cfg.reward_model.name == "attention" else \
        OmegaConf.load(config_check.CONFIG_DIR / "reward_model" / "attention.yaml")
    run_cfg = copy.deepcopy(cfg)
    with open_dict(run_cfg):
        run_cfg.task = "reward"
        run_cfg.reward_model = node
        run_cfg.run_name = f"reward-attention-s{cfg.seed}"
    with _child_run(run_cfg) as tracker:
        train_and_evaluate(run_cfg, tracker, run_cfg.reward_model)
    return directory


@contextlib.contextmanager
def _child_run(cfg: DictConfig) -> Iterator[Tracker]:
    """A run of its own for ``cfg``: nested under the active MLflow run if any, else a top-level one.

    ``tracking.start_run`` opens top-level runs only, so the nested case logs what it logs
    (config params, ``config.yaml``, task/seed/git tags) through its public helpers.
    """
    mlflow = None
    if cfg.logger.enabled:
        import mlflow
    if mlflow is None or mlflow.active_run() is None:
        with tracking.start_run(cfg) as tracker:
            yield tracker
        return
    from mlflow.tracking import MlflowClient

    tags = {"task": str(cfg.task), "seed": str(cfg.seed), **tracking.git_state()}
    with mlflow.start_run(run_name=str(cfg.run_name), nested=True, tags=tags, log_system_metrics=False) as active:
        tracker = Tracker(active.info.run_id, MlflowClient())
        tracker.log_params(tracking.config_params(cfg))
        tracker.log_text(OmegaConf.to_yaml(tracking.resolved_config(cfg)), "config.yaml")
        yield tracker
