"""Models that live in MLflow: a run's logged model artifact (``runs:/``), a registered model
(``models:/<name>/<version>`` or ``models:/<name>@<alias>``), or the latest finished run of a task.

Everything here downloads into a local directory and returns its path; what the model is and
whether it is usable is decided by the loader the caller hands it to (``ModelLoadError``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from brightpath.errors import ModelLoadError
from brightpath.export import METADATA_FILE
from experiments.tracking.runs import connect, logger_settings

log = logging.getLogger(__name__)

RUN_URI_PREFIX = "runs:/"
MODELS_URI_PREFIX = "models:/"
MODEL_FILES = ("saved_model.pb", "model.joblib")
"""A logged model folder holds ``brightpath_model.json`` and one of these."""
MAX_ARTIFACT_DEPTH = 3


def is_mlflow_uri(spec: Any) -> bool:
    """True for ``runs:/...`` and ``models:/...``."""
    return str(spec).startswith((RUN_URI_PREFIX, MODELS_URI_PREFIX))


def download_model(config: Any, uri: str, destination: str | Path, *, prefer: tuple[str, ...] = ("model",)) -> Path:
    """Download the model that ``uri`` names into ``destination`` and return its local directory.

    Args:
        config: the run's config (its ``logger`` says which tracking server).
        uri: ``runs:/<run_id>/<artifact path>``; ``runs:/<run_id>`` (the run's model folder,
            the ones named in ``prefer`` first); ``models:/<name>/<version>`` or ``models:/<name>@<alias>``.
        destination: a local folder (created); each URI gets its own subfolder.
        prefer: artifact folder names searched first when the run URI names no path.

    Raises:
        ModelLoadError: the run or model does not exist, or the run logged no model.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    # MLflow draws a tqdm bar per download; in logs and test output it is noise.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    tracking_uri = str(logger_settings(config)["tracking_uri"])
    local = Path(destination) / re.sub(r"[^A-Za-z0-9_.@-]+", "_", uri.split(":/", 1)[1].strip("/"))
    local.mkdir(parents=True, exist_ok=True)
    try:
        if uri.startswith(RUN_URI_PREFIX):
            run_id, _, artifact = uri[len(RUN_URI_PREFIX) :].strip("/").partition("/")
            if not run_id:
                raise ModelLoadError(uri, "expected runs:/<run_id>[/<artifact path>]")
            client, _ = connect(config)
            client.get_run(run_id)
            if not artifact:
                artifact = _find_model_artifact(client, run_id, prefer)
                if artifact is None:
                    raise ModelLoadError(
                        uri,
                        "the run logged no model artifact (brightpath_model.json with a SavedModel or a joblib file)",
                    )
            return Path(client.download_artifacts(run_id, artifact, str(local)))
        if uri.startswith(MODELS_URI_PREFIX):
            return Path(
                mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(local), tracking_uri=tracking_uri)
            )
    except MlflowException as exc:
        raise ModelLoadError(uri, f"MLflow cannot provide it ({exc.message})") from exc
    raise ModelLoadError(uri, f"expected a {RUN_URI_PREFIX} or {MODELS_URI_PREFIX} URI")


def latest_run_model(
    config: Any, task: str, params: dict[str, str], destination: str | Path, *, prefer: tuple[str, ...] = ("model",)
) -> tuple[str, Path] | None:
    """``(run_id, local directory)`` of the model of the latest FINISHED run of ``task`` whose params
    match ``params`` (e.g. ``{"model.name": "mlp"}``), or None if there is none."""
    from mlflow.exceptions import MlflowException

    try:
        client, experiment_id = connect(config)
        query = " AND ".join(
            [
                f"tags.task = '{task}'",
                "attributes.status = 'FINISHED'",
                *(f"params.`{k}` = '{v}'" for k, v in params.items()),
            ]
        )
        runs = client.search_runs(
            [experiment_id], filter_string=query, order_by=["attributes.start_time DESC"], max_results=20
        )
    except MlflowException as exc:
        log.warning("cannot search MLflow for %s runs (%s)", task, exc.message)
        return None
    for run in runs:
        try:
            return run.info.run_id, download_model(
                config, f"{RUN_URI_PREFIX}{run.info.run_id}", destination, prefer=prefer
            )
        except ModelLoadError as exc:
            log.info("run %s: %s", run.info.run_id, exc)
    return None


def _find_model_artifact(
    client: Any, run_id: str, prefer: tuple[str, ...], path: str = "", depth: int = 0
) -> str | None:
    """The artifact folder of a run holding a model, or None; folders named in ``prefer`` first."""
    entries = client.list_artifacts(run_id, path or None)
    names = {Path(e.path).name for e in entries if not e.is_dir}
    if METADATA_FILE in names and names & set(MODEL_FILES):
        return path
    if depth >= MAX_ARTIFACT_DEPTH:
        return None
    folders = sorted((e.path for e in entries if e.is_dir), key=lambda p: (Path(p).name not in prefer, p))
    for folder in folders:
        found = _find_model_artifact(client, run_id, prefer, folder, depth + 1)
        if found is not None:
            return found
    return None
