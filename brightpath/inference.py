"""Inference API for the Django backend and Celery tasks (CONTRACTS §3).

``ScheduleGeneratorModel`` is the seed plan's interface, user data in, Schedule JSON
out. It is backed by an exported generator SavedModel (PPO policy or a Keras
regressor) when one is given, and by the rule-based expert generator
(``brightpath.expert``) otherwise. A missing or corrupt model never breaks schedule
generation: the model falls back to the rule and says so
(``meta.source == "fallback"``) with a logged warning. ``generate_schedule`` and
``evaluate_schedule`` are the functions a view or a task calls.

Imports NumPy and TensorFlow only at run time (no TF-Agents, Hydra or MLflow;
vaderSentiment only to read a feedback comment). Models are read from the stable
local model directory (``brightpath.export.default_model_dir()``) unless
``model_dir`` says otherwise: there, the version ``brightpath.registry`` says is
promoted. Loaded models are cached per resolved directory and the modification time
of its ``brightpath_model.json``, so a newly promoted version, or a model re-exported
in place, is picked up by the next call without a restart.
"""
from __future__ import annotations

import datetime
import functools
import logging
import numbers
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from brightpath import registry
from brightpath.errors import ModelLoadError, ValidationError
from brightpath.expert import EXPERT_VERSION, expert_params
from brightpath.export import (
    GENERATOR_SUBDIR,
    METADATA_FILE,
    REWARD_SUBDIR,
    default_model_dir,
    load_saved_model,
    read_metadata,
)
from brightpath.feedback import parse_feedback
from brightpath.questionnaire import ITEM_KEYS, LIKERT_MAX, MISSING, N_ITEMS, FamilyInput, parse_user_data
from brightpath.schedule import PARAM_NAMES, ScheduleParams, json_to_layout, schedule_for

log = logging.getLogger(__name__)

MODEL_PRIOR_WEIGHT = 1.0
"""Weight of the reward model's prediction in ``evaluate_schedule``'s blended score, in units of
one explicit Likert answer (the weights of feedback signals are in ``brightpath.reward.targets``)."""


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
                if metadata.get("kind", "generator") != "generator":
                    raise ModelLoadError(directory, f"not a generator model (kind={metadata.get('kind')!r})")
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


@functools.lru_cache(maxsize=8)
def _generator(directory: Path | None, stamp: int) -> ScheduleGeneratorModel:
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
            Default: the promoted generator of the stable local model directory
            (``brightpath.registry``). If none was ever promoted, the rule-based expert
            writes the schedule (``meta.source == "expert"``); a directory that is
            missing or corrupt gives ``meta.source == "fallback"`` and a logged warning.
    """
    directory = _promoted(GENERATOR_SUBDIR) if model_dir is None else Path(model_dir)
    stamp = 0 if directory is None else _stamp(directory) or _stamp(directory / GENERATOR_SUBDIR)
    return _generator(directory, stamp).predict(user_data, reference_date=reference_date)


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
            of ``feedback.FEEDBACK_COLUMNS``: ``stars`` and ``likert_satisfaction`` /
            ``_engagement`` / ``_effectiveness`` (1–5), ``comment`` (text), ``completion_rate``
            and ``adherence`` (0–1), ``n_adjustments`` (≥ 0), ``adjustment_kind``
            (``feedback.ADJUSTMENT_KINDS``, not used in the scores); None for a missing value.
        model_dir: a model root holding ``reward/``, or a reward model directory; default:
            the promoted reward model of ``default_model_dir()`` (``brightpath.registry``).
        user_data: the family (CONTRACTS §1); default: ``schedule["meta"]["family"]`` as
            ``schedule.schedule_for`` writes it (``answers``: 25 Likert 1–5 or 0, ``child_age``,
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
    columns = parse_feedback(feedback) if feedback is not None else None
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


def _promoted(name: str) -> Path | None:
    """The promoted version directory of model ``name`` in the default model root.

    None when nothing was ever promoted there; the champion path itself when its link is
    broken, so that loading it fails with an error naming it.
    """
    try:
        return registry.resolve(default_model_dir(), name)[1]
    except ModelLoadError:
        link = registry.champion_path(default_model_dir(), name)
        return link if link.is_symlink() else None


def _reward_dir(model_dir: str | Path | None) -> Path:
    if model_dir is None:
        return _promoted(REWARD_SUBDIR) or default_model_dir() / REWARD_SUBDIR
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
    """The family ``schedule.schedule_for`` wrote into ``meta.family``."""
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


def _prefixed(function, *args):
    """Call ``function``; its ValidationError names the field inside ``feedback``."""
    try:
        return function(*args)
    except ValidationError as exc:
        raise ValidationError(f"feedback.{exc.field}", exc.value, exc.expected) from None
