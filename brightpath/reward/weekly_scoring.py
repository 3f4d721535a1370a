"""The exported history-aware reward model: writing it (``export_weekly_reward_model``) and scoring with it
(``WeeklyRewardScorer``, the ``envs.weeks_env.WeekScorer`` of ``reward_source="model"``).

An exported model is a directory (registry model ``weekly_reward``: ``<model_dir>/weekly_reward``,
``brightpath.registry``) holding a TensorFlow SavedModel and ``brightpath_model.json``.
Loading it needs TensorFlow only.

``serving_default`` signature (raw inputs; every normalisation is inside the graph):

=================  =============================  ==================================================
input              dtype, shape                   meaning
=================  =============================  ==================================================
``tokens``         float32 ``[B, T, 5]``          the week's blocks, as the one-shot reward model's
``mask``           float32 ``[B, T]``             (``reward.scoring``): type, subject, day, start and
``summary``        float32 ``[B, 18]``            duration hours per block; padding mask; the week's
``answers``        float32 ``[B, 25]``            ``schedule.SUMMARY_FEATURES``; questionnaire (1–5,
``child_age``      float32 ``[B]``                0 = missing); age in years
``params``         float32 ``[B, 7]``             the week's parameters, ``schedule.PARAM_NAMES`` units
``week_features``  float32 ``[B, 8]``             the week's date, ``temporal.WEEK_FEATURES``
``history``        float32 ``[B, H, 46]``         one token per week the family lived before this one
                                                  (``brightpath.history.TOKEN_FEATURES``: parameters,
                                                  date, feedback, observed flags, adjustment kind),
                                                  lived weeks first; any ``H`` ≥ 1
``history_mask``   float32 ``[B, H]``             1 for a lived week, 0 for padding
=================  =============================  ==================================================

Outputs: ``satisfaction``, ``engagement``, ``effectiveness``, float32 ``[B]`` in [0, 1]: the
feedback the family is expected to give on the week, read as the targets
(``reward.targets``) read it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from brightpath.reward.inputs import Preprocessing
from brightpath.reward.scoring import ExportedScorer, save_scoring_model
from brightpath.reward.targets import TARGET_NAMES
from brightpath.reward.weekly_data import weekly_inputs

log = logging.getLogger(__name__)

MODEL_KIND = "weekly_reward"
"""``kind`` in ``brightpath_model.json``, and the model's registry name."""
INPUT_NAMES: tuple[str, ...] = (
    "tokens",
    "mask",
    "summary",
    "answers",
    "child_age",
    "params",
    "week_features",
    "history",
    "history_mask",
)
SIGNATURE_DOC = (
    "serving_default(tokens f32[B,T,5], mask f32[B,T], summary f32[B,18], answers f32[B,25], child_age f32[B], "
    "params f32[B,7], week_features f32[B,8], history f32[B,H,46], history_mask f32[B,H]) "
    "-> {satisfaction, engagement, effectiveness}: f32[B] in [0, 1]"
)


def export_weekly_reward_model(
    model,
    preprocessing: Preprocessing,
    directory: str | os.PathLike,
    *,
    model_version: str,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Export a trained history-aware reward model (``reward.weekly_model``) as a SavedModel, atomically.

    Args:
        model: the Keras model of ``weekly_model.build_weekly_model`` (normalisation included).
        preprocessing: the ``Preprocessing`` it was trained with, recorded in the metadata.
        directory: destination (e.g. a new version directory of ``brightpath.registry.publish``).
        model_version: a version string (the MLflow run id).
        metadata: extra JSON-able entries; ``target_calibration`` (``FeedbackCalibration.to_dict()``)
            says how feedback was read into targets.
    """
    import tensorflow as tf

    from brightpath.reward.weekly_model import weekly_tensor_specs

    specs = weekly_tensor_specs()

    @tf.function(input_signature=[specs[name] for name in INPUT_NAMES])
    def serve(tokens, mask, summary, answers, child_age, params, week_features, history, history_mask):
        inputs = {
            "tokens": tokens,
            "mask": mask,
            "summary": summary,
            "answers": answers,
            "child_age": child_age,
            "params": params,
            "week_features": week_features,
            "history": history,
            "history_mask": history_mask,
        }
        scores = model(inputs, training=False)
        return {name: scores[:, j] for j, name in enumerate(TARGET_NAMES)}

    log.info("exporting weekly reward model %s to %s", model_version, directory)
    return save_scoring_model(
        model,
        serve,
        specs,
        INPUT_NAMES,
        directory,
        kind=MODEL_KIND,
        source="weekly_attention",
        model_version=model_version,
        signature=SIGNATURE_DOC,
        preprocessing=preprocessing,
        metadata=metadata,
    )


class WeeklyRewardScorer(ExportedScorer):
    """An exported history-aware reward model, loaded with TensorFlow only: the ``WeekScorer`` of
    ``BrightPath/ScheduleWeeks-v0`` with ``reward_source="model"`` (``reward.scoring.ExportedScorer``
    for the arguments, e.g. ``<model_dir>/weekly_reward``, the attributes and the errors; chunks of
    ``chunk_size`` length-sorted weeks)."""

    MODEL_KIND = MODEL_KIND
    DESCRIPTION = "a weekly reward model"
    INPUT_NAMES = INPUT_NAMES

    def score_weeks(self, request) -> dict[str, np.ndarray]:
        """The ``envs.weeks_env.WeekScorer`` protocol: scores of a ``WeekScoringRequest``'s weeks (one
        SavedModel call per chunk of ``chunk_size`` length-sorted weeks)."""
        return self.score_inputs(
            weekly_inputs(
                request.layouts,
                request.params,
                request.answers,
                request.child_age,
                request.grade_band,
                request.week_features,
                request.history,
                request.history_mask,
            )
        )


__all__ = ["INPUT_NAMES", "MODEL_KIND", "SIGNATURE_DOC", "WeeklyRewardScorer", "export_weekly_reward_model"]
