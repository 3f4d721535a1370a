"""Task ``weekly_reward``: train and evaluate the history-aware reward model (``+exp=weekly_reward``).

    python -m experiments.train +exp=weekly_reward
    python -m experiments.train +exp=weekly_reward weeks.logs.n_families=8000 seed=1

In order:

1. logs: ``weeks.logs.n_families`` simulated families (drawn from ``[seed, LOGS_STREAM]``, apart from
   every evaluation cohort), split into train / validation / test families, each living
   ``weeks.weeks`` school weeks under the product-like logging policy
   (``brightpath.reward.weekly_data.simulate_logs``); the feedback calibration is fitted on the
   training families' feedback and reads every week's feedback into targets;
2. training on the train families' weeks with early stopping on the validation families'
   (``brightpath.reward.weekly_model.train_weekly_model``; curves ``weekly_reward/train_loss``,
   ``weekly_reward/val_loss``, ``weekly_reward/epoch_seconds``);
3. evaluation against the hidden truth, as the one-shot reward model is evaluated (``+exp=reward``):
   ``test/...`` on the test families' logged weeks and ``offdist/...`` on candidate weeks far from
   the logging policy's (``candidate_set``: half uniform, half large perturbations; what an
   exploring policy visits) scored against the same histories — MSE, R², Spearman, Pearson
   (``regression_metrics``), ``..._within_family_spearman_true_satisfaction`` (the ranking of
   candidate weeks for one family at one point of its history, what a policy's choice depends on),
   the same with the history hidden (``..._nohistory_...``: what the history adds), and the
   Spearman by weeks lived (``test/spearman_true_satisfaction_week<k>``);
4. the model exported as a SavedModel (``brightpath.reward.weekly_scoring``) and published and
   promoted as registry model ``weekly_reward``; logged as the run's ``model`` artifact.

``+exp=weeks`` runs this task as a child run when it finds no weekly reward model.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from experiments import artifacts
from experiments.schemas import RunConfig
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

CONFIG_GROUPS = ("weeks",)
USES_TENSORFLOW = True
LOGS_STREAM = 11
"""Second entry of the logs' seed sequence ``[seed, LOGS_STREAM]``: the logged families and their weeks."""
CANDIDATES_STREAM = 12
"""Stream of the off-distribution candidate weeks."""
FIRST_FAMILY_ID = 20_000_000
"""Family ids of the logs start here, apart from evaluation cohorts (``adaptive.COHORT_FIRST_ID``)."""
REPORTED_WEEKS = (0, 1, 3, 7)
"""Weeks lived before the scored week for which the test Spearman is logged on its own."""


def run(config: RunConfig, tracker: Tracker) -> dict[str, float]:
    """Simulate the logs, train, evaluate and publish the weekly reward model (module docstring)."""
    from brightpath.reward.evaluation import regression_metrics
    from brightpath.reward.targets import fit_calibration
    from brightpath.reward.weekly_data import candidate_set, feedback_columns, within_group_spearman
    from brightpath.reward.weekly_model import train_weekly_model

    started = time.perf_counter()
    logs = simulate_split_logs(config)
    calibration = fit_calibration(feedback_columns(logs["train"]))
    data = {split: split_logs.rows(calibration, with_truth=split == "test") for split, split_logs in logs.items()}
    sets = {
        "test": data["test"],
        "offdist": candidate_set(
            logs["test"],
            calibration,
            np.random.default_rng([config.seed, CANDIDATES_STREAM]),
            per_row=config.weeks.logs.candidates_per_row,
            rows_per_week=config.weeks.logs.candidate_rows_per_week,
        ),
    }
    data_seconds = time.perf_counter() - started
    tracker.log_params({f"weekly_reward.rows_{name}": len(rows) for name, rows in {**data, **sets}.items()})
    tracker.log_dict(calibration.to_dict(), "weekly_reward/target_calibration.json")

    def log_epoch(epoch: int, values: dict[str, float]) -> None:
        tracker.log_metrics(
            {
                "weekly_reward/train_loss": values["train_loss"],
                "weekly_reward/val_loss": values["val_loss"],
                "weekly_reward/epoch_seconds": values["seconds"],
            },
            step=epoch,
        )

    trained = train_weekly_model(
        config.weeks.reward_model, data["train"], data["val"], seed=config.seed, on_epoch=log_epoch
    )
    metrics = {
        "train/seconds": trained.history.seconds,
        "train/epochs": float(len(trained.history.epochs)),
        "train/best_epoch": float(trained.history.best_epoch),
        "val/loss": trained.history.best_val_loss,
        "perf/data_seconds": data_seconds,
    }
    for name, rows in sets.items():
        tick = time.perf_counter()
        predicted = trained.predict(rows.inputs)
        metrics[f"perf/{name}_predict_weeks_per_s"] = len(rows) / (time.perf_counter() - tick)
        blind = trained.predict(rows.inputs.without_history())
        metrics.update(
            {
                f"{name}/{k}": v
                for k, v in regression_metrics(predicted, observed=rows.targets, truth=rows.truth).items()
            }
        )
        metrics.update({f"{name}/nohistory_{k}": v for k, v in regression_metrics(blind, truth=rows.truth).items()})
        truth = rows.truth["satisfaction"]
        metrics[f"{name}/within_family_spearman_true_satisfaction"] = within_group_spearman(
            predicted[:, 0], truth, rows.group
        )
        metrics[f"{name}/nohistory_within_family_spearman_true_satisfaction"] = within_group_spearman(
            blind[:, 0], truth, rows.group
        )
        if name == "test":
            for week in REPORTED_WEEKS:
                lived = rows.week_index == week
                if lived.any():
                    metrics[f"test/spearman_true_satisfaction_week{week}"] = regression_metrics(
                        predicted[lived], truth={"satisfaction": truth[lived]}
                    )["spearman_true_satisfaction"]
    directory = publish(config, tracker, trained, calibration, metrics)
    tracker.log_metrics(metrics)
    log.info(
        "weekly reward model: test Spearman %.3f (%.3f without history), off-distribution %.3f, within-family "
        "%.3f; %.0f s training; %s",
        metrics["test/spearman_true_satisfaction"],
        metrics["test/nohistory_spearman_true_satisfaction"],
        metrics["offdist/spearman_true_satisfaction"],
        metrics["offdist/within_family_spearman_true_satisfaction"],
        trained.history.seconds,
        directory,
    )
    return metrics


def simulate_split_logs(config: RunConfig) -> dict:
    """The logs of the train, val and test families (module docstring, step 1)."""
    from brightpath.datasets import family_splits
    from brightpath.reward.weekly_data import simulate_logs
    from brightpath.simulator import sample_families

    spec = config.weeks.logs
    families_seed, splits_seed, *weeks_seeds = np.random.SeedSequence([config.seed, LOGS_STREAM]).spawn(5)
    families = sample_families(spec.n_families, np.random.default_rng(families_seed), first_id=FIRST_FAMILY_ID)
    split = family_splits(spec.n_families, spec.val_fraction, spec.test_fraction, np.random.default_rng(splits_seed))
    return {
        name: simulate_logs(
            families.take(np.flatnonzero(split == name)),
            config.weeks.weeks,
            np.random.default_rng(seed),
            school_year=config.weeks.school_year,
        )
        for name, seed in zip(("train", "val", "test"), weeks_seeds)
    }


def publish(config: RunConfig, tracker: Tracker, trained, calibration, metrics: dict[str, float]) -> Path:
    """Export the model, publish and promote it as registry model ``weekly_reward``, log it as ``model``."""
    from brightpath.reward.weekly_scoring import MODEL_KIND, export_weekly_reward_model

    version = artifacts.model_version(config, tracker)
    metadata = artifacts.model_metadata(
        config,
        tracker,
        target_calibration=calibration.to_dict(),
        weeks=config.weeks.weeks,
        test_spearman_true_satisfaction=metrics["test/spearman_true_satisfaction"],
        offdist_spearman_true_satisfaction=metrics["offdist/spearman_true_satisfaction"],
        offdist_within_family_spearman_true_satisfaction=metrics["offdist/within_family_spearman_true_satisfaction"],
    )
    _, directory = artifacts.publish(
        config,
        MODEL_KIND,
        lambda path: export_weekly_reward_model(trained.model, trained.preprocessing, path, model_version=version),
        metadata,
    )
    tracker.log_artifacts(directory, "model")
    return directory
