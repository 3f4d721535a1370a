"""Inference API for the Django backend and Celery tasks (CONTRACTS §3).

Imports NumPy and TensorFlow only at run time (no TF-Agents, Hydra or MLflow;
vaderSentiment only to read a feedback comment). Models are read from the stable
local model directory (``brightpath.export.default_model_dir()``) unless
``model_dir`` says otherwise; loaded models are cached per directory (a reward
model re-exported in place is reloaded).
"""
from __future__ import annotations

import datetime
import functools
import math
import numbers
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from brightpath.errors import ValidationError
from brightpath.export import GENERATOR_SUBDIR, METADATA_FILE, REWARD_SUBDIR, default_model_dir
from brightpath.generator import ScheduleGeneratorModel
from brightpath.questionnaire import ITEM_KEYS, LIKERT_MAX, MISSING, N_ITEMS, FamilyInput, parse_user_data
from brightpath.schedule import json_to_layout
from brightpath.simulator import ADJUSTMENT_KINDS, FEEDBACK_COLUMNS

MODEL_PRIOR_WEIGHT = 1.0
"""Weight of the reward model's prediction in ``evaluate_schedule``'s blended score, in units of
one explicit Likert answer (the weights of feedback signals are in ``brightpath.reward.targets``)."""


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


def evaluate_schedule(
    schedule: Any,
    feedback: Mapping[str, Any] | None = None,
    model_dir: str | Path | None = None,
    *,
    user_data: Mapping[str, Any] | None = None,
    reference_date: datetime.date | None = None,
) -> dict:
    """Predicted satisfaction, engagement and effectiveness (0–1) of a schedule for its family.

    Args:
        schedule: Schedule JSON (CONTRACTS §2). It needs no feedback: a new schedule is scored
            from its weeks' blocks and the family's questionnaire.
        feedback: optional: one week of the family's feedback on it, a mapping with any subset
            of ``simulator.FEEDBACK_COLUMNS``: ``stars`` and ``likert_satisfaction`` /
            ``_engagement`` / ``_effectiveness`` (1–5), ``comment`` (text), ``completion_rate``
            and ``adherence`` (0–1), ``n_adjustments`` (≥ 0), ``adjustment_kind``
            (``simulator.ADJUSTMENT_KINDS``, not used in the scores); None for a missing value.
        model_dir: a model root holding ``reward/``, or a reward model directory; default
            ``<default_model_dir()>/reward``.
        user_data: the family (CONTRACTS §1); default: ``schedule["meta"]["family"]`` as
            ``generator.schedule_for`` writes it (``answers``: 25 Likert 1–5 or 0, ``child_age``,
            ``grade``).
        reference_date: for an age computed from ``user_data["birth_date"]``.

    Returns:
        ``{"satisfaction", "engagement", "effectiveness"}``: the model's scores (floats in [0, 1]),
        and ``"model_version"``. With ``feedback``, also ``"observed"``: each target as the
        feedback states it (``reward.targets.feedback_targets`` with the calibration stored with
        the model; None where the feedback says nothing about it), and ``"blended"``: per target,
        ``(MODEL_PRIOR_WEIGHT · predicted + w · observed) / (MODEL_PRIOR_WEIGHT + w)`` where ``w``
        is the feedback's summed signal weight (one explicit Likert answer = 1), so the model's
        prediction counts as much as one rating and yields as the family says more.

    Raises:
        ValidationError: a malformed schedule (missing keys, overlapping blocks, unknown block
            type, wrong types, an empty week), family or feedback, naming the field.
        ModelLoadError: no usable reward model at the directory, naming the path.
    """
    from brightpath.reward.targets import TARGET_NAMES, feedback_signals, feedback_targets

    layout = json_to_layout(schedule)
    family = parse_user_data(user_data, reference_date=reference_date) if user_data is not None \
        else _family_from_meta(schedule.get("meta"))
    columns = _feedback_columns(feedback) if feedback is not None else None
    if columns is not None:
        _prefixed(feedback_signals, columns)  # range errors before any model loads
    directory = _reward_dir(model_dir)
    scorer = _reward_scorer(directory, _stamp(directory))
    scores = scorer.score_layouts([layout], family.answers[None, :], np.array([family.child_age], np.float32),
                                  np.array([family.child.grade_band_index]))
    result: dict[str, Any] = {name: float(scores[name][0]) for name in TARGET_NAMES}
    result["model_version"] = scorer.model_version
    if columns is not None:
        observed = _prefixed(feedback_targets, columns, scorer.calibration)
        result["observed"], result["blended"] = {}, {}
        for j, name in enumerate(TARGET_NAMES):
            weight = float(observed.weights[0, j])
            value = None if weight <= 0 else float(observed.values[0, j])
            result["observed"][name] = value
            result["blended"][name] = result[name] if value is None else (
                (MODEL_PRIOR_WEIGHT * result[name] + weight * value) / (MODEL_PRIOR_WEIGHT + weight))
    return result


def _reward_dir(model_dir: str | Path | None) -> Path:
    if model_dir is None:
        return default_model_dir() / REWARD_SUBDIR
    directory = Path(model_dir)
    if not (directory / METADATA_FILE).exists() and (directory / REWARD_SUBDIR).is_dir():
        return directory / REWARD_SUBDIR
    return directory


def _stamp(directory: Path) -> int:
    """Changes when a model is exported again in the same place (the metadata is rewritten)."""
    try:
        return (directory / METADATA_FILE).stat().st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=8)
def _reward_scorer(directory: Path, stamp: int):
    from brightpath.reward.scoring import RewardScorer

    return RewardScorer(directory)


def _family_from_meta(meta: Any) -> FamilyInput:
    """The family ``generator.schedule_for`` wrote into ``meta.family``."""
    family = meta.get("family") if isinstance(meta, Mapping) else None
    if not isinstance(family, Mapping):
        raise ValidationError("meta.family", family,
                              "the family the schedule is for ({'answers', 'child_age', 'grade'}), or pass user_data")
    answers = family.get("answers")
    if not isinstance(answers, (list, tuple)) or len(answers) != N_ITEMS:
        raise ValidationError("meta.family.answers", answers, f"a list of {N_ITEMS} Likert answers (0 = missing)")
    user_data: dict[str, Any] = {}
    for i, answer in enumerate(answers):
        if isinstance(answer, bool) or not isinstance(answer, numbers.Integral) or not MISSING <= answer <= LIKERT_MAX:
            raise ValidationError(f"meta.family.answers[{i}]", answer, f"an integer {MISSING}–{LIKERT_MAX} (0 = missing)")
        if answer != MISSING:
            user_data[ITEM_KEYS[i]] = int(answer)
    for key in ("child_age", "grade"):
        if family.get(key) is not None:
            user_data[key] = family[key]
    try:
        return parse_user_data(user_data)
    except ValidationError as exc:
        raise ValidationError(f"meta.family.{exc.field}", exc.value, exc.expected) from None


def _feedback_columns(feedback: Any) -> dict[str, list]:
    """One-row columns of a feedback mapping, with the type of every value checked."""
    if not isinstance(feedback, Mapping):
        raise ValidationError("feedback", feedback, f"a mapping with any of {', '.join(FEEDBACK_COLUMNS)}")
    columns: dict[str, list] = {}
    for key, value in feedback.items():
        if key not in FEEDBACK_COLUMNS:
            raise ValidationError(f"feedback.{key}", value, f"a known key, one of {', '.join(FEEDBACK_COLUMNS)}")
        if key == "comment":
            if value is not None and not isinstance(value, str):
                raise ValidationError("feedback.comment", value, "text or None")
        elif key == "adjustment_kind":
            if value is not None and value not in ADJUSTMENT_KINDS:
                raise ValidationError("feedback.adjustment_kind", value, f"one of {', '.join(ADJUSTMENT_KINDS)}")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                    or not math.isfinite(float(value))):
            raise ValidationError(f"feedback.{key}", value, "a finite number or None")
        columns[key] = [value]
    return columns


def _prefixed(function, *args):
    """Call ``function``; its ValidationError names the field inside ``feedback``."""
    try:
        return function(*args)
    except ValidationError as exc:
        raise ValidationError(f"feedback.{exc.field}", exc.value, exc.expected) from None
