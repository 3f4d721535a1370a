"""Inference API for the Django backend and Celery tasks (CONTRACTS §3).

Imports NumPy and TensorFlow only at run time (no TF-Agents, Hydra or MLflow).
Models are read from the stable local model directory
(``brightpath.export.default_model_dir()``) unless ``model_dir`` says otherwise;
loaded models are cached per directory.
"""
from __future__ import annotations

import datetime
import functools
from pathlib import Path
from typing import Any, Mapping

from brightpath.export import GENERATOR_SUBDIR, default_model_dir
from brightpath.generator import ScheduleGeneratorModel


@functools.lru_cache(maxsize=8)
def _generator(directory: Path | None) -> ScheduleGeneratorModel:
    return ScheduleGeneratorModel(directory)


def generate_schedule(
    user_data: Mapping[str, Any],
    model_dir: str | Path | None = None,
    *,
    reference_date: datetime.date | None = None,
) -> dict:
    """Schedule JSON for a family.

    Args:
        user_data: the questionnaire mapping (CONTRACTS §1).
        model_dir: model root (holding ``generator/``) or a generator directory.
            Default: the stable local model directory. If that holds no trained
            generator yet, the rule-based expert writes the schedule
            (``meta.source == "expert"``); an explicit directory that is missing
            or corrupt gives ``meta.source == "fallback"`` and a logged warning.
    """
    if model_dir is None:
        root = default_model_dir()
        directory = root if (root / GENERATOR_SUBDIR).exists() else None
    else:
        directory = Path(model_dir)
    return _generator(directory).predict(user_data, reference_date=reference_date)
