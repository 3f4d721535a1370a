"""The one command line: ``python -m experiments.train +exp=<name> [key=value ...]``.

    python -m experiments.train +exp=data                     # synthetic datasets
    python -m experiments.train +exp=ppo model=transformer seed=3
    python -m experiments.train -m +exp=ppo model=mlp,transformer seed=0,1,2
    python -m experiments.train -m +exp=ppo hparams_search=ppo_optuna   # Optuna search (configs/hparams_search/)

Each job: Hydra composes the config against the schemas of ``experiments.schemas`` (unknown
keys and wrong types fail there), ``config_check.load_run`` turns it into typed objects and
checks ranges and the task (before any work), then the task module named by ``task`` is
imported, every RNG seeded from ``seed``, the MLflow run opened, the task run, its final
metrics logged under ``final/`` and a summary printed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

import hydra
from omegaconf import DictConfig, OmegaConf

from brightpath.reproducibility import seed_everything
from experiments import config_check, schemas, tasks, tracking

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, float]:
    """Run one job from a composed config (no ``hydra`` section) and return its final metrics.

    Inside a Hydra job (the CLI, or tests that set ``HydraConfig``) multirun jobs are grouped
    under their sweep's parent MLflow run.

    Raises:
        experiments.config_check.ConfigError: the config is invalid; nothing has run.
    """
    config = config_check.load_run(cfg)
    task = tasks.load(config.task)
    seed_everything(config.seed, with_tensorflow=bool(getattr(task, "USES_TENSORFLOW", False)))
    resume_id = tracking.find_run_to_resume(config) if config.resume else None

    with tracking.start_run(config, run_id=resume_id) as tracker:
        returned = task.run(config, tracker)
        metrics = _final_metrics(config.task, returned)
        tracker.log_metrics({f"final/{name}": value for name, value in metrics.items()})
    _print_summary(config, tracker, metrics)
    return metrics


OBJECTIVE_SPLIT_GROUPS = ("eval", "results")
"""Config groups whose ``split`` names the families a run's final metrics come from."""


def check_objective(cfg: DictConfig) -> None:
    """A sweeper's objective (``optimize_metric``) must never come from the test families the results
    table reports: with ``optimize_metric`` set, no ``<group>.split`` of ``OBJECTIVE_SPLIT_GROUPS`` may
    be ``test`` (``hparams_search=ppo_optuna`` sets ``eval.split=val``).

    Raises:
        experiments.config_check.ConfigError: naming the split; nothing has run.
    """
    if not cfg.get("optimize_metric"):
        return
    for group in OBJECTIVE_SPLIT_GROUPS:
        if OmegaConf.select(cfg, f"{group}.split", default=None) == "test":
            raise config_check.ConfigError(
                f"{group}.split: expected val (or train) with optimize_metric={cfg.optimize_metric!r}, got 'test': "
                f"a search must not choose its configuration on the test families the results report"
            )


def objective(cfg: DictConfig, metrics: Mapping[str, float]) -> float | None:
    """The value of ``cfg.optimize_metric`` (with or without ``final/``) for a sweeper, or None."""
    name = cfg.get("optimize_metric")
    if not name:
        return None
    for key in (name, name.removeprefix("final/")):
        if key in metrics:
            return float(metrics[key])
    raise config_check.ConfigError(
        f"optimize_metric: {name!r} is not a final metric of task {cfg.task!r}; it returned: "
        + (", ".join(sorted(metrics)) or "(none)")
    )


# configs/ as an absolute path (Hydra's "../configs" relative to this file): a relative
# path works only when this file runs as __main__, not when main() is called from code.
@hydra.main(version_base="1.3", config_path=str(config_check.CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; a config error exits with status 2 and a one-paragraph message."""
    try:
        check_objective(cfg)
        return objective(cfg, run(cfg))
    except config_check.ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)


def _final_metrics(task_name: str, returned: object) -> dict[str, float]:
    if not isinstance(returned, Mapping):
        raise TypeError(f"task {task_name!r}: run() must return dict[str, float], got {type(returned).__name__}")
    metrics = {}
    for name, value in returned.items():
        try:
            metrics[str(name)] = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"task {task_name!r}: final metric {name!r} is not a number: {value!r}") from None
    return metrics


def _print_summary(config: schemas.RunConfig, tracker: tracking.Tracker, metrics: Mapping[str, float]) -> None:
    where = (
        f"MLflow run {tracker.run_id} in experiment {config.logger['experiment_name']!r}"
        if tracker.enabled
        else "MLflow logging off"
    )
    lines = [f"{config.run_name} (task {config.task}, seed {config.seed}) done; {where}"]
    width = max((len(name) for name in metrics), default=0)
    lines += [f"  {name:<{width}}  {value:.6g}" for name, value in sorted(metrics.items())]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
