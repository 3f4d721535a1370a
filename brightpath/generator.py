"""``ScheduleGeneratorModel``: the seed plan's interface, user data in, Schedule JSON out.

Backed by an exported generator SavedModel (PPO policy or a Keras regressor)
when one is given, and by the rule-based expert generator otherwise. A missing
or corrupt model never breaks schedule generation: the model falls back to the
rule and says so (``meta.source == "fallback"``) with a logged warning.
"""
from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from brightpath.errors import ModelLoadError
from brightpath.export import GENERATOR_SUBDIR, load_saved_model, read_metadata
from brightpath.features import expert_params
from brightpath.questionnaire import parse_user_data
from brightpath.schedule import PARAM_NAMES, ScheduleParams, schedule_for

log = logging.getLogger(__name__)

EXPERT_VERSION = "expert-rule-1"


class ScheduleGeneratorModel:
    """Write a weekly schedule for a family.

    Args:
        model_dir: a generator SavedModel directory, or a model root holding
            ``generator/``. ``None`` uses the rule-based expert generator
            (``meta.source == "expert"``).
    """

    def __init__(self, model_dir: str | Path | None = None):
        self.model_dir = None if model_dir is None else Path(model_dir)
        self._signature = None
        self.source = "expert"
        self.model_version = EXPERT_VERSION
        self.load_error: ModelLoadError | None = None
        if self.model_dir is not None:
            directory = self.model_dir
            if not (directory / "saved_model.pb").exists() and (directory / GENERATOR_SUBDIR).exists():
                directory = directory / GENERATOR_SUBDIR
            try:
                metadata = read_metadata(directory)
                loaded = load_saved_model(directory)
                self._signature = loaded.signatures["serving_default"]
                self._loaded = loaded  # keep the variables alive
                self.source = str(metadata.get("source", "model"))
                self.model_version = str(metadata.get("model_version", "unknown"))
            except (ModelLoadError, KeyError) as exc:
                self.load_error = exc if isinstance(exc, ModelLoadError) else ModelLoadError(directory, str(exc))
                self.source = "fallback"
                log.warning("generator model unusable, falling back to the rule-based generator: %s", self.load_error)

    def predict_params(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        """Parameter vectors ``[batch, N_PARAMS]`` for raw answers ``[batch, 25]`` and ages ``[batch]``."""
        answers = np.asarray(answers, dtype=np.float32).reshape(-1, 25)
        child_age = np.asarray(child_age, dtype=np.float32).reshape(-1)
        if self._signature is None:
            return expert_params(answers, child_age)
        import tensorflow as tf

        out = self._signature(answers=tf.constant(answers), child_age=tf.constant(child_age))
        return np.stack([out[name].numpy() for name in PARAM_NAMES], axis=-1).astype(np.float64)

    def predict(self, user_data: Mapping[str, Any], *, reference_date: datetime.date | None = None) -> dict:
        """Schedule JSON (CONTRACTS §2) for one family's ``user_data`` (CONTRACTS §1).

        Raises:
            ValidationError: for invalid ``user_data``, naming the field.
        """
        family = parse_user_data(user_data, reference_date=reference_date)
        vector = self.predict_params(family.answers[None, :], np.array([family.child_age]))[0]
        return schedule_for(family, ScheduleParams.from_vector(vector), source=self.source,
                            model_version=self.model_version)
