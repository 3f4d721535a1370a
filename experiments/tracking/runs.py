"""The MLflow run lifecycle: open a run for a job (new, resumed, or a child of another), end it.

``start_run(config)`` opens one MLflow run and yields its ``Tracker``. On start it logs the
resolved config (flattened into params and whole as the ``config.yaml`` artifact), the git
commit, the task and seed tags, and names the run ``config.run_name``. The run ends
FINISHED, FAILED on an exception, or KILLED on Ctrl-C.

Nesting: ``parent_run_id`` makes the run a child of another (a reward model trained for a
PPO run is a child of it). Inside a Hydra multirun (``-m``) every job becomes a child of one
parent run per sweep; parent and children carry the same ``sweep_id`` tag (a hash of the sweep
directory as the launching process names it), so the MLflow UI shows a sweep as one expandable
row. The launching process creates the parent before any job starts (``sweeps.SweepParentRun``, a
Hydra callback in ``configs/train.yaml``) and ends it when the sweep ends, so jobs on other machines of
a Ray cluster find it by its tag; a job that finds none (a sweep launched without the callback)
creates it under a lock file in the sweep directory.

Runs are driven through ``MlflowClient`` only (no fluent ``mlflow.start_run`` stack), so a
child run never depends on which run happens to be "active" in the process. MLflow is
imported only when a run starts (it costs seconds), so config errors are reported first.
With ``logger.enabled=false`` the tracker does nothing but keeps the same interface.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from experiments.tracking.git import git_state
from experiments.tracking.params import config_params, resolved_config
from experiments.tracking.tracker import Tracker

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

PARENT_RUN_TAG = "mlflow.parentRunId"
SWEEP_ID_TAG = "sweep_id"
SWEEP_DIR_TAG = "sweep_dir"
SWEEP_ROLE_TAG = "sweep_role"
"""``parent`` on a sweep's parent run; its children have ``mlflow.parentRunId`` instead."""
SWEEP_CREATOR_TAG = "sweep_parent_created_by"
"""``launcher`` (``SweepParentRun``: it alone ends the parent) or ``job`` (the jobs end it)."""


@contextlib.contextmanager
def start_run(config: Any, *, run_id: str | None = None, parent_run_id: str | None = None) -> Iterator[Tracker]:
    """Open the MLflow run for ``config`` and yield its ``Tracker``; end it on exit.

    Args:
        config: the run's config dataclass (``task``, ``seed``, ``run_name`` and the ``logger``
            mapping are read; the whole config is logged).
        run_id: resume this existing run (status back to RUNNING; params already logged are
            kept, new ones added, and the config is logged again under ``resumes/``).
        parent_run_id: open a new run nested under this one. Otherwise, inside a Hydra
            multirun job, the run is nested under the sweep's parent run.
    """
    if not logger_settings(config)["enabled"]:
        log.info("MLflow logging is off (logger.enabled=false)")
        yield Tracker()
        return

    client, experiment_id = connect(config)
    resumed = run_id is not None
    tags = _run_tags(config)
    sweep_parent = None
    if resumed:
        client.update_run(run_id, status="RUNNING")
        tags = {"last_resume_git_commit": tags["git_commit"], "last_resume_overrides": tags["overrides"]}
    else:
        if parent_run_id is None:
            sweep = _sweep(_hydra_config())
            if sweep is not None:
                sweep_dir, sweep_id, job = sweep
                parent = _find_or_create_parent(client, experiment_id, config, sweep_dir, sweep_id, creator="job")
                parent_run_id = parent.info.run_id
                if parent.data.tags.get(SWEEP_CREATOR_TAG) != "launcher":
                    sweep_parent = parent_run_id
                    client.update_run(sweep_parent, status="RUNNING")
                tags.update({SWEEP_ID_TAG: sweep_id, SWEEP_DIR_TAG: str(sweep_dir), "sweep_job": job})
        if parent_run_id is not None:
            tags[PARENT_RUN_TAG] = parent_run_id
        from mlflow.tracking.context.registry import resolve_tags

        run_id = client.create_run(
            experiment_id, run_name=str(config.run_name), tags=resolve_tags({k: str(v) for k, v in tags.items()})
        ).info.run_id
    tracker = Tracker(run_id, client, client.get_run(run_id).data.params if resumed else None)
    status = "FAILED"
    try:
        if resumed:
            tracker.set_tags(tags)
        tracker.log_params(config_params(config))
        config_file = f"resumes/{time.strftime('%Y%m%d-%H%M%S')}/config.yaml" if resumed else "config.yaml"
        tracker.log_text(OmegaConf.to_yaml(resolved_config(config)), config_file)
        log.info(
            "MLflow run %s (%s) in experiment %r at %s",
            run_id,
            config.run_name,
            logger_settings(config)["experiment_name"],
            logger_settings(config)["tracking_uri"],
        )
        yield tracker
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        client.set_terminated(run_id, status)
        if sweep_parent is not None:
            client.set_terminated(sweep_parent, "FINISHED")


def find_run_to_resume(config: Any) -> str | None:
    """Id of the latest run named ``config.run_name`` for ``config.task``, or None (logging off, none yet)."""
    if not logger_settings(config)["enabled"]:
        return None
    client, experiment_id = connect(config)
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.run_name = {_quote(config.run_name)} AND tags.task = {_quote(config.task)}",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        log.info("resume: no earlier run named %r; starting a new one", config.run_name)
        return None
    return runs[0].info.run_id


def logger_settings(config: Any) -> Mapping[str, Any]:
    """The ``logger`` group of ``config`` (``configs/logger/mlflow.yaml``): ``enabled``,
    ``tracking_uri``, ``experiment_name``, ``artifact_location``."""
    return config.logger


def connect(config: Any) -> tuple[MlflowClient, str]:
    """A client of ``logger.tracking_uri`` and the id of ``logger.experiment_name`` (created if new)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    settings = logger_settings(config)
    client = MlflowClient(tracking_uri=str(settings["tracking_uri"]))
    name = str(settings["experiment_name"])
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return client, experiment.experiment_id
    location = settings.get("artifact_location")
    try:
        return client, client.create_experiment(name, artifact_location=location and str(location))
    except MlflowException:  # a parallel job created it first
        return client, client.get_experiment_by_name(name).experiment_id


def job_overrides() -> list[str]:
    """The current Hydra job's command-line overrides as typed (``[]`` outside a Hydra job).

    Read unresolved: ``hydra.overrides.task`` is a config node, so an override such as
    ``data.n_families=${seed}`` would otherwise come back with ``${seed}`` substituted.
    """
    hydra_cfg = _hydra_config()
    if hydra_cfg is None:
        return []
    return [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)]


def _hydra_config() -> Any:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _run_tags(config: Any) -> dict[str, str]:
    tags = {"task": str(config.task), "seed": str(config.seed), **git_state(), "overrides": " ".join(job_overrides())}
    hydra_cfg = _hydra_config()
    output_dir = (
        OmegaConf.select(hydra_cfg, "runtime.output_dir", default=None, throw_on_missing=False)
        if hydra_cfg is not None
        else None
    )
    if output_dir:
        tags["hydra_output_dir"] = str(output_dir)
    return tags


def _sweep(hydra_cfg: Any) -> tuple[Path, str, str] | None:
    """``(sweep dir, sweep id, job number)`` inside a Hydra multirun (job or launching process), else None.

    The sweep dir is ``hydra.sweep.dir`` joined to ``hydra.runtime.cwd``: the directory the
    launching process saw, shipped with every job, so a job on another machine (another working
    directory, no shared disk) computes the same sweep id as the launcher. The job number is
    empty in the launching process.
    """
    from hydra.types import RunMode

    if hydra_cfg is None or hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    sweep_dir = Path(os.path.normpath(os.path.join(str(hydra_cfg.runtime.cwd), str(hydra_cfg.sweep.dir))))
    job = OmegaConf.select(hydra_cfg, "job.num", default=None, throw_on_missing=False)
    return sweep_dir, hashlib.sha1(str(sweep_dir).encode()).hexdigest()[:12], "" if job is None else str(job)


def _find_parent(client: MlflowClient, experiment_id: str, sweep_id: str) -> Any:
    """The parent run (``mlflow.entities.Run``) of sweep ``sweep_id``, or None."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{SWEEP_ID_TAG} = '{sweep_id}' AND tags.{SWEEP_ROLE_TAG} = 'parent'",
        max_results=1,
    )
    return runs[0] if runs else None


def _find_or_create_parent(
    client: MlflowClient, experiment_id: str, config: Any, sweep_dir: Path, sweep_id: str, *, creator: str
) -> Any:
    """The sweep's parent run (``mlflow.entities.Run``), looked up by its ``sweep_id`` tag.

    Only when there is none yet is it created, under a lock file in the sweep dir (looking
    again under the lock), so parallel jobs of one machine never create two. ``creator`` (tag
    ``SWEEP_CREATOR_TAG``): ``launcher`` or ``job``.
    """
    found = _find_parent(client, experiment_id, sweep_id)
    if found is not None:
        return found
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with open(sweep_dir / ".mlflow-parent.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _find_parent(client, experiment_id, sweep_id)
        if found is not None:
            return found
        parent = client.create_run(
            experiment_id,
            run_name=f"{config.task}-sweep-{sweep_dir.parent.name}_{sweep_dir.name}",
            tags={
                SWEEP_ID_TAG: sweep_id,
                SWEEP_DIR_TAG: str(sweep_dir),
                SWEEP_ROLE_TAG: "parent",
                SWEEP_CREATOR_TAG: creator,
                "task": str(config.task),
                **git_state(),
            },
        )
        log.info("MLflow sweep parent run %s for %s", parent.info.run_id, sweep_dir)
        return parent


def sweep_parent_run(config: Any) -> tuple[MlflowClient, Any] | None:
    """``(client, parent run)`` of the sweep the launching process (or a job) of ``config`` belongs to:
    found or created as the jobs do. None outside a multirun, with logging off, or without a ``task``.

    Args:
        config: the composed config with its ``hydra`` node (what a Hydra callback receives).
    """
    if OmegaConf.select(config, "task", default=None, throw_on_missing=False) is None or not OmegaConf.select(
        config, "logger.enabled", default=False
    ):
        return None
    sweep = _sweep(config.hydra)
    if sweep is None:
        return None
    sweep_dir, sweep_id, _ = sweep
    client, experiment_id = connect(config)
    return client, _find_or_create_parent(client, experiment_id, config, sweep_dir, sweep_id, creator="launcher")


def _quote(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if "'" in text else f"'{text}'"
