"""MLflow plumbing for experiment runs (CONTRACTS.md §7).

``start_run(cfg)`` opens one MLflow run per Hydra job and yields a ``Tracker``, the only
thing tasks use to record results. On start it logs the resolved config (flattened into
params, dotted keys, and whole as the ``config.yaml`` artifact), the git commit, the task
and seed tags, and names the run ``cfg.run_name``.

Sweeps (``-m``): every job of one sweep becomes a child of one parent run, found or
created by the sweep's output directory (``hydra.sweep.dir``); parent and children carry
the same ``sweep_id`` tag, so the MLflow UI shows a sweep as one expandable row and
``tags.sweep_id = '...'`` selects it for side-by-side comparison.

MLflow is imported only when a run starts (it costs seconds), so config errors are
reported before it loads. With ``logger.enabled=false`` the tracker does nothing but
keeps the same interface.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import Container, DictConfig, ListConfig, OmegaConf

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_PARAM_VALUE_CHARS = 6000
"""MLflow rejects param values longer than this (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH)."""
MAX_TAG_VALUE_CHARS = 8000
"""MLflow's limit for tag values (MAX_TAG_VAL_LENGTH)."""
TRUNCATED = "...[truncated]"

SWEEP_ID_TAG = "sweep_id"
SWEEP_DIR_TAG = "sweep_dir"
SWEEP_ROLE_TAG = "sweep_role"
"""``parent`` on a sweep's parent run; its children have ``mlflow.parentRunId`` instead."""


class Tracker:
    """Records one run: metrics, params, tags, figures and files.

    Attributes:
        run_id: the MLflow run id, or None when logging is disabled.
    """

    def __init__(
        self,
        run_id: str | None = None,
        client: MlflowClient | None = None,
        logged_params: Mapping[str, str] | None = None,
    ) -> None:
        """Use ``start_run``; ``Tracker()`` with no arguments is the no-op tracker."""
        self.run_id = run_id
        self._client = client
        self._params: dict[str, str] = dict(logged_params or {})

    @property
    def enabled(self) -> bool:
        """False for the no-op tracker (``logger.enabled=false``)."""
        return self._client is not None

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log numbers under namespaced names (``losses/policy``) at ``step`` (default 0).

        NumPy scalars, 0-d arrays and eager tensors are cast to float; None and NaN
        values are skipped (with a debug message) so a missing evaluation never fails a run.

        Raises:
            TypeError: a value is not a number.
        """
        clean: dict[str, float] = {}
        for key, value in metrics.items():
            number = _as_float(key, value)
            if number is None or math.isnan(number):
                log.debug("metric %s skipped at step %s: value is %r", key, step, value)
                continue
            clean[str(key)] = number
        if not self.enabled or not clean:
            return
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        step = 0 if step is None else int(step)
        self._client.log_batch(
            self.run_id, metrics=[Metric(key, value, timestamp, step) for key, value in clean.items()]
        )

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params; nested mappings are flattened to dotted keys, values over 6000 chars truncated.

        MLflow params are immutable: a key already logged with the same value is skipped,
        one with a different value (possible on resume) is kept and a warning says so.
        """
        new: dict[str, str] = {}
        for key, value in _flatten(params).items():
            text = _truncate(_param_text(value), MAX_PARAM_VALUE_CHARS)
            old = self._params.get(key)
            if old is None:
                new[key] = text
            elif old != text:
                log.warning("param %s was logged as %r; MLflow params cannot change, %r not logged", key, old, text)
        if not new:
            return
        self._params.update(new)
        if not self.enabled:
            return
        from mlflow.entities import Param

        self._client.log_batch(self.run_id, params=[Param(key, value) for key, value in new.items()])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values become strings, truncated to MLflow's 8000 chars)."""
        if not self.enabled or not tags:
            return
        from mlflow.entities import RunTag

        self._client.log_batch(
            self.run_id,
            tags=[RunTag(str(k), _truncate(str(v), MAX_TAG_VALUE_CHARS)) for k, v in tags.items()],
        )

    def log_figure(self, fig: Any, filename: str) -> None:
        """Save a matplotlib figure as PNG under the run's ``plots/`` artifacts, then close it.

        Args:
            fig: a ``matplotlib.figure.Figure``.
            filename: e.g. ``"learning_curve.png"`` or ``"eval/calibration"``; the suffix
                becomes ``.png``.
        """
        try:
            if not self.enabled:
                return
            relative = Path(filename).with_suffix(".png")
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / relative.name
                fig.savefig(path, format="png", dpi=120, bbox_inches="tight")
                self._client.log_artifact(self.run_id, str(path), _join("plots", relative.parent))
        finally:
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close(fig)

    def log_dict(self, obj: Any, filename: str) -> None:
        """Log a mapping or list as a JSON (``.json``) or YAML (``.yaml``/``.yml``) artifact.

        DictConfig/ListConfig are resolved; NumPy scalars and paths become plain values.
        """
        if not self.enabled:
            return
        self._client.log_dict(self.run_id, _plain(obj), filename)

    def log_text(self, text: str, filename: str) -> None:
        """Log a string as a text artifact at ``filename`` (e.g. ``"reports/summary.md"``)."""
        if not self.enabled:
            return
        self._client.log_text(self.run_id, text, filename)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Log one local file under ``artifact_path`` (a folder in the run's artifacts)."""
        path = Path(local_path)
        if not path.is_file():
            raise FileNotFoundError(f"log_artifact: {path} is not a file")
        if self.enabled:
            self._client.log_artifact(self.run_id, str(path), artifact_path)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> None:
        """Log a local directory's contents, e.g. a SavedModel with ``artifact_path="model"``."""
        path = Path(local_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"log_artifacts: {path} is not a directory")
        if self.enabled:
            self._client.log_artifacts(self.run_id, str(path), artifact_path)


@contextlib.contextmanager
def start_run(cfg: DictConfig, *, run_id: str | None = None) -> Iterator[Tracker]:
    """Open the MLflow run for this job and yield its ``Tracker``; end it on exit.

    Args:
        cfg: the composed config (``logger``, ``run_name``, ``task``, ``seed`` are read).
        run_id: resume this existing run (status back to RUNNING; params already logged
            are kept, new ones added, and the config is logged again under ``resumes/``).

    Inside a Hydra multirun job, the run is nested under the sweep's parent run.
    The run ends FINISHED, FAILED on an exception, or KILLED on Ctrl-C.
    """
    if not cfg.logger.enabled:
        log.info("MLflow logging is off (logger.enabled=false)")
        yield Tracker()
        return

    import mlflow

    client, experiment_id = _connect(cfg)
    hydra_cfg = _hydra_config()
    resumed = run_id is not None
    tags = _run_tags(cfg, hydra_cfg)
    parent_id = None
    if resumed:
        active = mlflow.start_run(run_id=run_id, log_system_metrics=False)
        tags = {"last_resume_git_commit": tags["git_commit"], "last_resume_overrides": tags["overrides"]}
    else:
        sweep = _sweep(hydra_cfg)
        if sweep is not None:
            sweep_dir, sweep_id = sweep
            parent_id = _find_or_create_parent(client, experiment_id, cfg, sweep_dir, sweep_id)
            client.update_run(parent_id, status="RUNNING")
            tags.update({SWEEP_ID_TAG: sweep_id, SWEEP_DIR_TAG: str(sweep_dir), "sweep_job": hydra_cfg.job.num})
        active = mlflow.start_run(
            experiment_id=experiment_id,
            run_name=str(cfg.run_name),
            parent_run_id=parent_id,
            tags={k: str(v) for k, v in tags.items()},
            log_system_metrics=False,
        )
    tracker = Tracker(
        active.info.run_id, client, client.get_run(active.info.run_id).data.params if resumed else None
    )
    status = "FAILED"
    try:
        if resumed:
            tracker.set_tags(tags)
        tracker.log_params(config_params(cfg))
        config_file = f"resumes/{time.strftime('%Y%m%d-%H%M%S')}/config.yaml" if resumed else "config.yaml"
        tracker.log_text(OmegaConf.to_yaml(resolved_config(cfg)), config_file)
        log.info("MLflow run %s (%s) in experiment %r at %s", tracker.run_id, cfg.run_name,
                 cfg.logger.experiment_name, mlflow.get_tracking_uri())
        yield tracker
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        _end_fluent_runs(tracker.run_id, status)
        if parent_id is not None:
            client.set_terminated(parent_id, "FINISHED")


def find_run_to_resume(cfg: DictConfig) -> str | None:
    """Id of the latest run named ``cfg.run_name`` for ``cfg.task``, or None (logging off, none yet)."""
    if not cfg.logger.enabled:
        return None
    client, experiment_id = _connect(cfg)
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.run_name = {_quote(cfg.run_name)} AND tags.task = {_quote(cfg.task)}",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        log.info("resume: no earlier run named %r; starting a new one", cfg.run_name)
        return None
    return runs[0].info.run_id


def run_checkpoint_dir(cfg: DictConfig) -> Path:
    """Where a task keeps this run's checkpoints: ``<paths.checkpoint_dir>/<run_name>``."""
    return Path(cfg.paths.checkpoint_dir) / str(cfg.run_name)


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain Python values, interpolations resolved, ``hydra`` section left out."""
    out: dict[str, Any] = {}
    for key in cfg:
        if key == "hydra":
            continue
        node = cfg._get_node(key)
        out[key] = OmegaConf.to_container(cfg[key], resolve=True) if isinstance(node, Container) else cfg[key]
    return out


def config_params(cfg: DictConfig) -> dict[str, str]:
    """The resolved config flattened to MLflow params: ``{"data.n_families": "4000", ...}``."""
    return {key: _param_text(value) for key, value in _flatten(resolved_config(cfg)).items()}


@functools.lru_cache(maxsize=1)
def git_state() -> dict[str, str]:
    """``{"git_commit": sha or "unknown", "git_dirty": "true"|"false"|"unknown"}`` for this checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", str(REPO_ROOT), *args],
            check=True, capture_output=True, text=True, timeout=10,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    try:
        dirty = "true" if git("status", "--porcelain", "--untracked-files=no") else "false"
    except (OSError, subprocess.SubprocessError):
        dirty = "unknown"
    return {"git_commit": commit, "git_dirty": dirty}


def _connect(cfg: DictConfig) -> tuple[MlflowClient, str]:
    """Point MLflow at ``logger.tracking_uri`` and return a client and the experiment id."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(str(cfg.logger.tracking_uri))
    client = MlflowClient()
    name = str(cfg.logger.experiment_name)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        experiment_id = experiment.experiment_id
    else:
        location = cfg.logger.get("artifact_location")
        try:
            experiment_id = client.create_experiment(name, artifact_location=location and str(location))
        except MlflowException:  # a parallel job created it first
            experiment_id = client.get_experiment_by_name(name).experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return client, experiment_id


def _hydra_config() -> Any:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _run_tags(cfg: DictConfig, hydra_cfg: Any) -> dict[str, str]:
    tags = {"task": str(cfg.task), "seed": str(cfg.seed), **git_state()}
    from experiments.config_check import job_overrides

    tags["overrides"] = " ".join(job_overrides())
    output_dir = OmegaConf.select(hydra_cfg, "runtime.output_dir", default=None, throw_on_missing=False) \
        if hydra_cfg is not None else None
    if output_dir:
        tags["hydra_output_dir"] = str(output_dir)
    return tags


def _sweep(hydra_cfg: Any) -> tuple[Path, str] | None:
    """``(absolute sweep dir, sweep id)`` inside a multirun job, else None."""
    from hydra.types import RunMode

    if hydra_cfg is None or hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    sweep_dir = Path(str(hydra_cfg.sweep.dir)).resolve()
    return sweep_dir, hashlib.sha1(str(sweep_dir).encode()).hexdigest()[:12]


def _find_or_create_parent(
    client: MlflowClient, experiment_id: str, cfg: DictConfig, sweep_dir: Path, sweep_id: str
) -> str:
    """The sweep's parent run id; a lock file in the sweep dir keeps parallel jobs from racing."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with open(sweep_dir / ".mlflow-parent.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runs = client.search_runs(
            [experiment_id],
            filter_string=f"tags.{SWEEP_ID_TAG} = '{sweep_id}' AND tags.{SWEEP_ROLE_TAG} = 'parent'",
            max_results=1,
        )
        if runs:
            return runs[0].info.run_id
        parent = client.create_run(
            experiment_id,
            run_name=f"{cfg.task}-sweep-{sweep_dir.parent.name}_{sweep_dir.name}",
            tags={
                SWEEP_ID_TAG: sweep_id,
                SWEEP_DIR_TAG: str(sweep_dir),
                SWEEP_ROLE_TAG: "parent",
                "task": str(cfg.task),
                **git_state(),
            },
        )
        log.info("MLflow sweep parent run %s for %s", parent.info.run_id, sweep_dir)
        return parent.info.run_id


def _end_fluent_runs(run_id: str, status: str) -> None:
    """End ``run_id`` and any fluent run a task left open on top of it."""
    import mlflow

    while (active := mlflow.active_run()) is not None:
        ours = active.info.run_id == run_id
        mlflow.end_run(status if ours else "FAILED")
        if ours:
            return


def _as_float(key: Any, value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {key!r}: expected a number, got {value!r} ({type(value).__name__})") from None


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    if isinstance(mapping, DictConfig):
        mapping = OmegaConf.to_container(mapping, resolve=True)
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, DictConfig):
            value = OmegaConf.to_container(value, resolve=True)
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_plain(value), default=str)


def _plain(obj: Any) -> Any:
    """Plain JSON/YAML-able Python values from configs, NumPy scalars and paths."""
    if isinstance(obj, (DictConfig, ListConfig)):
        return OmegaConf.to_container(obj, resolve=True)
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    return obj


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def _join(base: str, sub: Path) -> str:
    return base if str(sub) in ("", ".") else f"{base}/{sub.as_posix()}"


def _quote(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if "'" in text else f"'{text}'"
