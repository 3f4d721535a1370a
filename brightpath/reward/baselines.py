"""Saving and loading the scikit-learn reward baselines (``gbr``, ``mlp``; ``models.BaselineModel``).

A saved baseline is a directory, like every BrightPath model::

    <directory>/model.joblib            the fitted BaselineModel (estimators + Preprocessing)
    <directory>/brightpath_model.json   kind "reward_baseline", source "gbr" | "mlp", model_version,
                                        the model's config, the scikit-learn version, plus the
                                        caller's metadata (run id, data version, seed, created_at)

``load_reward_baseline`` raises ``ModelLoadError`` naming the file when either is missing,
corrupt or of another kind. Unlike the attention model, a baseline is not a SavedModel: it
needs this repository and scikit-learn to load, so the environment and the backend never read
one; it is kept to compare reward models (``+exp=reward reward_model=gbr``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brightpath.errors import ModelLoadError
from brightpath.export import METADATA_FILE, atomic_directory_write, read_metadata, write_metadata
from brightpath.reward.models import BaselineModel
from brightpath.reward.targets import TARGET_NAMES

log = logging.getLogger(__name__)

MODEL_KIND = "reward_baseline"
MODEL_FILE = "model.joblib"
SOURCES: tuple[str, ...] = ("gbr", "mlp")


def save_reward_baseline(
    model: BaselineModel,
    config: Any,
    directory: str | os.PathLike,
    *,
    model_version: str,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a fitted reward baseline to ``directory`` (replaced atomically); return the directory.

    Args:
        model: the fitted ``BaselineModel`` (``TrainedRewardModel.model``).
        config: its ``GBRConfig`` or ``MLPConfig``, recorded in the metadata.
        model_version: a version string (the MLflow run id).
        metadata: extra JSON-able entries for ``brightpath_model.json``.
    """
    import joblib
    import sklearn

    if model.name not in SOURCES:
        raise ValueError(f"model: expected a reward baseline ({', '.join(SOURCES)}), got {model.name!r}")

    def write(tmp: Path) -> None:
        joblib.dump(model, tmp / MODEL_FILE)
        write_metadata(
            tmp,
            {
                "kind": MODEL_KIND,
                "source": model.name,
                "model_version": model_version,
                "model_file": MODEL_FILE,
                "outputs": list(TARGET_NAMES),
                "model_config": dataclasses.asdict(config),
                "sklearn_version": sklearn.__version__,
                **dict(metadata or {}),
            },
        )

    log.info("saving the %s reward baseline to %s", model.name, directory)
    return atomic_directory_write(Path(directory), write)


def load_reward_baseline(directory: str | os.PathLike) -> BaselineModel:
    """The ``BaselineModel`` saved in ``directory`` by ``save_reward_baseline``.

    Raises:
        ModelLoadError: naming ``brightpath_model.json`` or ``model.joblib`` when it is missing,
            corrupt, of another kind, or does not hold a reward baseline.
    """
    import joblib

    directory = Path(directory)
    metadata = read_metadata(directory)
    if metadata.get("kind") != MODEL_KIND or metadata.get("source") not in SOURCES:
        raise ModelLoadError(
            directory / METADATA_FILE,
            f"expected kind {MODEL_KIND!r} with source {' or '.join(map(repr, SOURCES))}, "
            f"got kind {metadata.get('kind')!r} and source {metadata.get('source')!r}",
        )
    path = directory / str(metadata.get("model_file", MODEL_FILE))
    if not path.is_file():
        raise ModelLoadError(path, "model file is missing")
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling raises many types (EOFError, UnpicklingError, KeyError, ...)
        raise ModelLoadError(path, f"model file is corrupt or incompatible ({type(exc).__name__}: {exc})") from exc
    if not isinstance(model, BaselineModel):
        raise ModelLoadError(path, f"holds a {type(model).__name__}, not a reward BaselineModel")
    return model


__all__ = ["MODEL_FILE", "MODEL_KIND", "SOURCES", "load_reward_baseline", "save_reward_baseline"]
