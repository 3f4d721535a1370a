"""Hydra callbacks of a sweep's launching process (``-m``): its parent MLflow run, and the best trial
of an Optuna search.

``SweepParentRun`` (``configs/train.yaml``, ``configs/evaluate.yaml``) opens the sweep's parent
run before any job starts and ends it with the sweep; the jobs, wherever they run, join it by its
``sweep_id`` tag (``runs.start_run``).

``OptunaBestTrial`` (``configs/hparams_search/*.yaml``) runs when the Optuna sweeper has
finished: it writes ``<sweep dir>/best_config.yaml`` (the best trial's whole config, composed as
its job composed it, headed by the commands that rerun it on the search's split and on the test
split) and logs it, the sweeper's ``optimization_results.yaml``, the best params (``best.<key>``),
the best value (``best/<optimize_metric>``) and the best trial's run id (tag ``best_run_id``) to
the sweep's parent run.
"""

from __future__ import annotations

import atexit
import logging
import shlex
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from experiments.tracking.runs import PARENT_RUN_TAG, _sweep, logger_settings, sweep_parent_run

log = logging.getLogger(__name__)

OPTUNA_RESULTS_FILE = "optimization_results.yaml"
"""What hydra-optuna-sweeper writes into the sweep dir when it ends (``best_params``, ``best_value``)."""
BEST_CONFIG_FILE = "best_config.yaml"
SEARCH_GROUP = "hparams_search"
"""The config group of searches: left out of the command that reruns the best trial on the test split."""


class SweepParentRun(Callback):
    """Opens the sweep's parent MLflow run in the launching process before any job starts; ends it
    with the sweep.

    Jobs find the parent by its ``sweep_id`` tag wherever they run (another machine of a Ray
    cluster has no access to the launcher's sweep directory). The parent ends FINISHED when the
    sweeper returns, FAILED when the launching process exits without that (a failed job, a config
    error, Ctrl-C); a ``kill -9`` of the launcher leaves it RUNNING. Skipped with
    ``logger.enabled=false`` or without a ``task`` (each job then reports the error).
    """

    def __init__(self) -> None:
        self.tracking_uri: str | None = None
        self.parent_run_id: str | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        found = sweep_parent_run(config)
        if found is None:
            return
        client, parent = found
        self.tracking_uri = str(logger_settings(config)["tracking_uri"])
        self.parent_run_id = parent.info.run_id
        client.update_run(self.parent_run_id, status="RUNNING")
        atexit.register(self._end, "FAILED")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent_run_id is not None:
            atexit.unregister(self._end)
            self._end("FINISHED")

    def _end(self, status: str) -> None:
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=self.tracking_uri).set_terminated(self.parent_run_id, status)
        log.info("MLflow sweep parent run %s ended %s", self.parent_run_id, status)


class OptunaBestTrial(Callback):
    """Writes and logs the best trial of an Optuna search when the sweeper has finished (module docstring)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = _sweep(config.hydra)
        if sweep is None:
            return
        sweep_dir = sweep[0]
        results_path = sweep_dir / OPTUNA_RESULTS_FILE
        if not results_path.is_file():
            log.warning("no %s in %s (not an Optuna sweep?); no best config written", OPTUNA_RESULTS_FILE, sweep_dir)
            return
        results = OmegaConf.to_container(OmegaConf.load(results_path))
        best_params, best_value = dict(results["best_params"]), float(results["best_value"])
        overrides = best_trial_overrides(config, best_params)
        metric = _final_name(config.get("optimize_metric"))
        best_run_id = None
        found = sweep_parent_run(config)
        if found is not None and metric:
            direction = str(OmegaConf.select(config, "hydra.sweeper.direction", default="maximize"))
            best_run_id = _best_child_run(found[0], found[1], metric, descending=direction.endswith("maximize"))

        path = sweep_dir / BEST_CONFIG_FILE
        path.write_text(best_config_text(config, overrides, metric=metric, value=best_value, run_id=best_run_id))
        if found is not None:
            client, parent = found
            run_id = parent.info.run_id
            client.log_artifact(run_id, str(path), "optuna")
            client.log_artifact(run_id, str(results_path), "optuna")
            from mlflow.entities import Metric, Param, RunTag

            client.log_batch(
                run_id,
                metrics=[Metric(f"best/{metric or 'value'}", best_value, 0, 0)],
                params=[Param(f"best.{key}", str(value)) for key, value in best_params.items()],
                tags=[RunTag("best_run_id", best_run_id)] if best_run_id else [],
            )
        settings = " ".join(
            f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}" for key, value in best_params.items()
        )
        print(f"Optuna best trial: {metric or 'value'} {best_value:.6g} with {settings}; config: {path}")


def best_trial_overrides(config: DictConfig, best_params: dict[str, Any]) -> list[str]:
    """The command-line overrides that compose the best trial's config: the launching command's,
    minus its sweeps and the searched keys, plus the best params."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides([str(o) for o in config.hydra.overrides.task])
    kept = [o.input_line for o in parsed if not o.is_sweep_override() and o.get_key_element() not in best_params]
    return [*kept, *(f"{key}={value}" for key, value in best_params.items())]


def best_config_text(
    config: DictConfig, overrides: list[str], *, metric: str | None, value: float, run_id: str | None
) -> str:
    """``best_config.yaml``: the config the overrides compose (as the trial's job composed it),
    headed by comments giving the value and the commands that rerun it."""
    from hydra import compose

    # The launcher and sweeper chosen on the command line, so composing selects what the sweep did.
    groups = [str(o) for o in config.hydra.overrides.hydra if str(o).startswith("hydra/")]
    composed = compose(config_name=config.hydra.job.config_name, overrides=[*overrides, *groups])
    test_overrides = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") != SEARCH_GROUP]
    header = [
        f"Best trial of an Optuna search (sweep {config.hydra.sweep.dir}): {metric or 'objective'} = {value:.6g}"
        + (f", MLflow run {run_id}" if run_id else ""),
        "Rerun it as the search ran it:",
        *_command(overrides),
        "Rerun it on the test split (without the search's settings):",
        *_command(test_overrides),
    ]
    return "".join(f"# {line}\n" for line in header) + OmegaConf.to_yaml(composed)


def _command(overrides: list[str]) -> list[str]:
    """``python -m experiments.train`` with ``overrides``, one per continued line."""
    return [
        "  python -m experiments.train \\",
        *(f"    {shlex.quote(o)} \\" for o in overrides[:-1]),
        *(f"    {shlex.quote(o)}" for o in overrides[-1:]),
    ]


def _final_name(metric: Any) -> str | None:
    return None if not metric else f"final/{str(metric).removeprefix('final/')}"


def _best_child_run(client: Any, parent: Any, metric: str, *, descending: bool) -> str | None:
    """Id of the parent's finished child run with the highest (``descending``) or lowest ``metric``, or None."""
    runs = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`{PARENT_RUN_TAG}` = '{parent.info.run_id}' AND attributes.status = 'FINISHED'",
        order_by=[f"metrics.`{metric}` {'DESC' if descending else 'ASC'}"],
        max_results=1,
    )
    return runs[0].info.run_id if runs and metric in runs[0].data.metrics else None


__all__ = ["BEST_CONFIG_FILE", "OPTUNA_RESULTS_FILE", "OptunaBestTrial", "SweepParentRun", "best_trial_overrides"]
