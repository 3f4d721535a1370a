"""The exported reward model: writing it (``export_reward_model``) and scoring with it (``RewardScorer``).

An exported reward model is a directory (by default ``<model_dir>/reward``, see
``brightpath.export``) holding a TensorFlow SavedModel and ``brightpath_model.json``.
Loading it needs TensorFlow only, never this repository's code.

``serving_default`` signature (all inputs raw; every normalisation is inside the graph):

=============  ========================  =====================================================
input          dtype, shape              meaning
=============  ========================  =====================================================
``tokens``     float32 ``[B, T, 5]``     one token per block, any ``T`` ≥ 1: type (1 subject,
                                         2 break, 3 lunch), subject (0 none, 1–6 in
                                         ``child.SUBJECTS`` order), day (0 Monday – 4 Friday),
                                         start (hours, e.g. 8.5 = 08:30), duration (hours);
                                         rows past the week's last block are zeros
``mask``       float32 ``[B, T]``        1 for a real block, 0 for padding
``summary``    float32 ``[B, 18]``       ``schedule.SUMMARY_FEATURES`` of the week, raw units
``answers``    float32 ``[B, 25]``       questionnaire q1–q25, Likert 1–5, 0 for missing
``child_age``  float32 ``[B]``           years, 5–18
=============  ========================  =====================================================

Outputs: ``satisfaction``, ``engagement``, ``effectiveness``, each float32 ``[B]`` in [0, 1].

``brightpath.reward.inputs.build_inputs`` computes the inputs from layouts;
``RewardScorer`` does it for you and batches the calls. ``brightpath_model.json``
records the signature, the model version, the fitted normalisation
(``preprocessing``) and the feedback calibration (``target_calibration``) the
targets were built with, so new feedback can be read on the same scale.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from brightpath.errors import ModelLoadError, ValidationError
from brightpath.export import load_saved_model, read_metadata, save_serving_model
from brightpath.reward.inputs import CHUNK_SIZE, INPUT_NAMES, Preprocessing, build_inputs, length_chunks
from brightpath.reward.targets import DEFAULT_CALIBRATION, TARGET_NAMES, FeedbackCalibration

log = logging.getLogger(__name__)

MODEL_KIND = "reward"
SIGNATURE_DOC = (
    "serving_default(tokens f32[B,T,5], mask f32[B,T], summary f32[B,18], answers f32[B,25], child_age f32[B]) "
    "-> {satisfaction, engagement, effectiveness}: f32[B] in [0, 1]"
)


def export_reward_model(
    model,
    preprocessing_state: Preprocessing,
    directory: str | os.PathLike,
    *,
    model_version: str,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Export a trained attention reward model as a SavedModel (module docstring), atomically.

    Args:
        model: the Keras model of ``models.build_attention_model`` (normalisation included).
        preprocessing_state: the ``Preprocessing`` it was trained with, recorded in the metadata.
        directory: destination, e.g. a new version directory of ``brightpath.registry.publish``;
            replaced only once the export is complete.
        model_version: a version string (the MLflow run id).
        metadata: extra JSON-able entries for ``brightpath_model.json`` (training runs add the run
            id, data version, seed and ``created_at``); ``target_calibration``
            (``FeedbackCalibration.to_dict()``) lets ``evaluate_schedule`` read feedback as training did.

    Returns:
        The directory written.
    """
    import tensorflow as tf

    from brightpath.reward.inputs import tensor_specs

    specs = tensor_specs()

    @tf.function(input_signature=[specs[name] for name in INPUT_NAMES])
    def serve(tokens, mask, summary, answers, child_age):
        scores = model(
            {"tokens": tokens, "mask": mask, "summary": summary, "answers": answers, "child_age": child_age},
            training=False,
        )
        return {name: scores[:, j] for j, name in enumerate(TARGET_NAMES)}

    log.info("exporting reward model %s to %s", model_version, directory)
    return save_scoring_model(
        model,
        serve,
        specs,
        INPUT_NAMES,
        directory,
        kind=MODEL_KIND,
        source="attention",
        model_version=model_version,
        signature=SIGNATURE_DOC,
        preprocessing=preprocessing_state,
        metadata=metadata,
    )


def save_scoring_model(
    model, serve, specs, input_names, directory, *, kind, source, model_version, signature, preprocessing, metadata=None
) -> Path:
    """Write a Keras scoring model's ``serve`` function (inputs ``specs[name] for name in input_names``) as a
    SavedModel holding the model's variables, atomically (``brightpath.export.save_serving_model``); its
    ``brightpath_model.json``: kind and version, the signature's float32 inputs with their shapes, the target
    outputs, the preprocessing and model config, then ``metadata``'s entries. Returns the directory."""
    info = {
        "kind": kind,
        "source": source,
        "model_version": model_version,
        "signature": signature,
        "inputs": {
            name: {"dtype": "float32", "shape": [None if d is None else int(d) for d in specs[name].shape]}
            for name in input_names
        },
        "outputs": list(TARGET_NAMES),
        "preprocessing": preprocessing.to_dict(),
        "model_config": dataclasses.asdict(model.config),
        **dict(metadata or {}),
    }
    return save_serving_model(serve, {"model_variables": list(model.variables)}, info, directory)


class ExportedScorer:
    """An exported scoring SavedModel with its ``brightpath_model.json``, loaded with TensorFlow only:
    what the one-week and the weekly reward scorers share. Subclasses set ``MODEL_KIND`` (the
    metadata's ``kind``), ``DESCRIPTION`` (for errors) and ``INPUT_NAMES`` (the signature's inputs).

    Args:
        model_dir: the model directory, e.g. ``models/reward``.

    Attributes:
        model_dir: that directory.
        model_version: the exported model's version (its training run).
        metadata: the parsed ``brightpath_model.json``.
        calibration: how feedback maps onto the targets the model learned (``targets``).
        chunk_size: rows per SavedModel call (cut from length-sorted rows).

    Raises:
        ModelLoadError: the directory is missing, holds another kind of model, or is corrupt (naming the path).
    """

    MODEL_KIND: str = ""
    DESCRIPTION: str = ""
    INPUT_NAMES: tuple[str, ...] = ()

    def __init__(self, model_dir: str | os.PathLike):
        self.model_dir = Path(model_dir)
        self.metadata = read_metadata(self.model_dir)
        if self.metadata.get("kind") != self.MODEL_KIND:
            raise ModelLoadError(self.model_dir, f"not {self.DESCRIPTION} (kind={self.metadata.get('kind')!r})")
        try:
            self.calibration = (
                FeedbackCalibration.from_dict(self.metadata["target_calibration"])
                if "target_calibration" in self.metadata
                else DEFAULT_CALIBRATION
            )
        except ValidationError as exc:
            raise ModelLoadError(self.model_dir, f"brightpath_model.json: {exc}") from exc
        self._loaded = load_saved_model(self.model_dir)
        try:
            self._serve = self._loaded.signatures["serving_default"]
        except (AttributeError, KeyError) as exc:
            raise ModelLoadError(self.model_dir, "the SavedModel has no serving_default signature") from exc
        self.model_version = str(self.metadata.get("model_version", "unknown"))
        self.chunk_size = CHUNK_SIZE

    def score_inputs(self, inputs: Any) -> dict[str, np.ndarray]:
        """Scores of prepared inputs (an object with ``lengths``, ``take`` and ``as_dict``, e.g.
        ``RewardInputs``): ``{"satisfaction", "engagement", "effectiveness"}`` → float32 ``[B]``."""
        import tensorflow as tf

        out = {name: np.zeros(len(inputs), dtype=np.float32) for name in TARGET_NAMES}
        for index in length_chunks(inputs.lengths, self.chunk_size):
            chunk = inputs.take(index).as_dict()
            scores = self._serve(**{name: tf.constant(chunk[name], tf.float32) for name in self.INPUT_NAMES})
            for name in TARGET_NAMES:
                out[name][index] = scores[name].numpy()
        return out


class RewardScorer(ExportedScorer):
    """Loads an exported reward SavedModel (TensorFlow only) and scores schedules in batches
    (``ExportedScorer`` for the arguments, attributes and errors; chunks of ``chunk_size`` schedules)."""

    MODEL_KIND = MODEL_KIND
    DESCRIPTION = "a reward model"
    INPUT_NAMES = INPUT_NAMES

    def score_layouts(
        self, layouts: Sequence[np.ndarray], answers: np.ndarray, child_age: np.ndarray, grade_band: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Score ``B`` schedules for their families.

        Args:
            layouts: ``B`` int32 layouts ``[n_blocks, 5]`` (``schedule.build_layout``/``json_to_layout``).
            answers: float32 ``[B, 25]`` Likert 1–5, 0 for missing.
            child_age: ``[B]`` years.
            grade_band: int ``[B]`` index into ``child.GRADE_BANDS``.

        Returns:
            ``{"satisfaction", "engagement", "effectiveness"}`` → float32 ``[B]`` in [0, 1]. One
            SavedModel call per chunk of ``chunk_size`` length-sorted schedules.
        """
        return self.score_inputs(build_inputs(layouts, answers, child_age, grade_band))


__all__ = ["MODEL_KIND", "SIGNATURE_DOC", "ExportedScorer", "RewardScorer", "export_reward_model", "save_scoring_model"]
