"""Task ``imitation``: train a regressor generator that imitates the expert rule (``+exp=baseline``).

    python -m experiments.train +exp=baseline [imitation=rf|gbr|mlp]

The experiment keeps the seed plan's name (``+exp=baseline``, CONTRACTS §4); the task and its
config group say what the regressors do: imitate the rule. Reads the dataset
(``<paths.data_dir>``, version ``data.version``; generated first if it is missing), then, in
the order a reader of the seed plan expects:

1. features and targets: profile features → the expert's parameters in unit scale
   (``regressors.expert_training_arrays``), one row per family of each split;
2. k-fold cross-validation on the training split: ``cv/mse_<param>``, ``cv/r2_<param>``,
   ``cv/r2`` (per fold at step = fold: ``cv/fold_r2``, ``cv/fold_mse``);
3. the final fit on the training split, scored on val and test (``val/...``, ``test/...``);
4. the generator's schedules on the test families, judged by the simulator's hidden truth
   next to the expert rule's (``eval/true_satisfaction``, ``eval/expert_true_satisfaction``);
5. export to ``<paths.model_dir>/baselines/<name>`` (joblib + metadata for rf/gbr, a
   generator SavedModel for the mlp), logged as the run's ``model`` artifact, plus a
   predicted-vs-expert plot.

R² of an output the rule keeps constant (break length) is undefined and left out.
The task is TensorFlow-free except for the mlp, which seeds its own initialisers and
shuffling from ``seed``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from experiments import artifacts
from experiments.schemas import RunConfig
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

CONFIG_GROUPS = ("data", "imitation")


def run(config: RunConfig, tracker: Tracker) -> dict[str, float]:
    """Train, cross-validate, score and export ``config.imitation``; return its final metrics."""
    from brightpath.datasets import load_families
    from brightpath.evaluation import evaluate_generator
    from brightpath.generators import BASELINES_SUBDIR, ExpertGenerator, RegressorGenerator
    from brightpath.regressors import (
        build_regressor,
        cross_validate,
        expert_training_arrays,
        export_mlp,
        regression_scores,
        save_baseline,
    )

    regressor = config.imitation
    source = regressor.name
    seed = config.seed
    root = artifacts.dataset(config)
    version = config.data.version
    families = {split: load_families(root, version, split) for split in ("train", "val", "test")}
    arrays = {split: expert_training_arrays(f.answers, f.child_age) for split, f in families.items()}
    X, Y = arrays["train"]
    tracker.log_params({"imitation.n_train_families": len(X), "imitation.n_test_families": len(arrays["test"][0])})

    started = time.perf_counter()
    cv = cross_validate(lambda: build_regressor(regressor, seed), X, Y, n_splits=regressor.cv_folds, seed=seed)
    for fold, scores in enumerate(cv.folds):
        tracker.log_metrics({"cv/fold_r2": scores.mean_r2, "cv/fold_mse": scores.mean_mse}, step=fold)
    metrics = cv.scores.as_metrics("cv")
    cv_seconds = time.perf_counter() - started

    started = time.perf_counter()
    model = build_regressor(regressor, seed).fit(X, Y)
    fit_seconds = time.perf_counter() - started
    for epoch, loss in enumerate(getattr(model, "loss_history", [])):
        tracker.log_metrics({"losses/mse": loss}, step=epoch)
    for split in ("val", "test"):
        Xs, Ys = arrays[split]
        metrics.update(regression_scores(Ys, model.predict(Xs)).as_metrics(split))

    version_tag = artifacts.model_version(config, tracker)
    generator = RegressorGenerator(model, name=source, model_version=version_tag)
    test_families = families["test"]
    learned = evaluate_generator(generator, test_families)
    expert = evaluate_generator(ExpertGenerator(), test_families)
    metrics.update(
        {
            "eval/true_satisfaction": float(learned.true_satisfaction.mean()),
            "eval/expert_true_satisfaction": float(expert.true_satisfaction.mean()),
            "eval/invalid_rate": learned.invalid_rate,
            "perf/cv_seconds": cv_seconds,
            "perf/fit_seconds": fit_seconds,
            "perf/inference_ms_per_family": learned.ms_per_family,
        }
    )
    tracker.log_metrics(metrics)
    _log_prediction_plot(tracker, source, arrays["test"][1], model.predict(arrays["test"][0]))

    directory = Path(config.paths.model_dir) / BASELINES_SUBDIR / source
    metadata = artifacts.model_metadata(
        config,
        tracker,
        hyperparameters=dataclasses.asdict(regressor),
        cv_r2=metrics["cv/r2"],
        test_r2=metrics["test/r2"],
    )
    if source == "mlp":
        export_mlp(model, directory, model_version=version_tag, metadata=metadata)
    else:
        save_baseline(model, directory, source=source, model_version=version_tag, metadata=metadata)
    tracker.log_artifacts(directory, "model")
    tracker.set_tags({"imitation": source, "model_dir": str(directory)})
    log.info(
        "%s imitation regressor: cv R² %.4f, test R² %.4f, true satisfaction %.4f (expert %.4f); exported to %s",
        source,
        metrics["cv/r2"],
        metrics["test/r2"],
        metrics["eval/true_satisfaction"],
        metrics["eval/expert_true_satisfaction"],
        directory,
    )
    return {
        key: metrics[key]
        for key in (
            "cv/r2",
            "cv/mse",
            "val/r2",
            "test/r2",
            "test/mse",
            "eval/true_satisfaction",
            "eval/expert_true_satisfaction",
            "eval/invalid_rate",
        )
    }


def _log_prediction_plot(tracker: Tracker, source: str, expected: np.ndarray, predicted: np.ndarray) -> None:
    """Predicted vs expert unit-scale parameters on the test families, one panel per parameter."""
    import matplotlib.figure

    from brightpath.schedule import PARAM_NAMES

    fig = matplotlib.figure.Figure(figsize=(14, 7))
    axes = fig.subplots(2, 4).ravel()
    for i, name in enumerate(PARAM_NAMES):
        ax = axes[i]
        ax.scatter(expected[:, i], predicted[:, i], s=4, alpha=0.4)
        ax.plot([-1, 1], [-1, 1], color="grey", lw=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("expert (unit scale)")
        ax.set_ylabel(f"{source} (unit scale)")
    axes[-1].axis("off")
    fig.suptitle(f"{source} imitation of the expert rule on the test families")
    fig.tight_layout()
    tracker.log_figure(fig, "imitation/predicted_vs_expert.png")
