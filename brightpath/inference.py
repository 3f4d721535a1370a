"""Inference API for the Django backend and Celery tasks (CONTRACTS §3).

``ScheduleGeneratorModel`` is the seed plan's interface, user data in, Schedule JSON
out. It is backed by an exported generator SavedModel (PPO policy or a Keras
regressor) when one is given, and by the rule-based expert generator
(``brightpath.expert``) otherwise. A missing or corrupt model never breaks schedule
generation: the model falls back to the rule and says so
(``meta.source == "fallback"``) with a logged warning. ``generate_schedule`` and
``evaluate_schedule`` are the functions a view or a task calls.

Weeks, not one shot: ``generate_schedule(user_data, history=[...])`` plans a family's next
week from the weeks it lived (their schedules and feedback) with the exported weekly generator
(``WeeklyGeneratorModel``, registry model ``weekly_generator``, trained by ``+exp=weeks``); with
no history — or no weekly generator — it does exactly what it does without one.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from brightpath.schedule import N_PARAMS, PARAM_NAMES, ScheduleParams, json_to_layout, schedule_for

log = logging.getLogger(__name__)

WEEKLY_GENERATOR_SUBDIR = "weekly_generator"
"""Registry name (and model-root subdirectory) of the weekly generator (``agents.export.export_weekly_generator``)."""

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
        return schedule_for(
            family, ScheduleParams.from_vector(vector), source=self.source, model_version=self.model_version
        )


@functools.lru_cache(maxsize=8)
def _generator(directory: Path | None, stamp: int) -> ScheduleGeneratorModel:
    return ScheduleGeneratorModel(directory)


def generate_schedule(
    user_data: Mapping[str, Any],
    model_dir: str | Path | None = None,
    *,
    reference_date: datetime.date | None = None,
    history: Sequence[Mapping[str, Any]] | None = None,
    week_start: datetime.date | str | None = None,
) -> dict:
    """Schedule JSON for a family.

    Args:
        user_data: the questionnaire mapping (CONTRACTS §1).
        model_dir: model root (holding ``generator/``, and ``weekly_generator/`` for ``history``) or a
            generator directory. Default: the promoted generator of the stable local model directory
            (``brightpath.registry``). If none was ever promoted, the rule-based expert
            writes the schedule (``meta.source == "expert"``); a directory that is
            missing or corrupt gives ``meta.source == "fallback"`` and a logged warning.
        history: the weeks the family lived, oldest first or in any order (``parse_history``: each
            ``{"week_start", "params" or "schedule", "feedback"}``). With at least one week and a usable
            weekly generator (the model root's ``weekly_generator/``, or the promoted one) it plans the
            next week from them (``meta.history_weeks`` says how many it read); otherwise — None, no
            weeks, no weekly generator — exactly as without history (a weekly generator that is
            missing or corrupt is logged as a warning).
        week_start: the week to plan (any day of it; a holiday or the summer reads as the next
            school week); default the school week after the last lived one, or the current week.

    Raises:
        ValidationError: invalid ``user_data`` or ``history``, naming the field.
    """
    if history:
        weeks = parse_history(history)
        weekly = weekly_generator_for(model_dir)
        if weekly is not None:
            return HistoryPlanner(weekly, weeks, week_start=week_start).predict(
                user_data, reference_date=reference_date
            )
    directory = _promoted(GENERATOR_SUBDIR) if model_dir is None else Path(model_dir)
    stamp = 0 if directory is None else _stamp(directory) or _stamp(directory / GENERATOR_SUBDIR)
    return _generator(directory, stamp).predict(user_data, reference_date=reference_date)


@dataclass(frozen=True)
class LivedWeek:
    """One week a family lived, as ``parse_history`` reads it.

    Attributes:
        monday: the week's Monday.
        params: float64 ``[N_PARAMS]`` the schedule's parameters (``PARAM_NAMES`` units).
        feedback: float64 ``[8]`` its ``brightpath.history.FEEDBACK_INPUTS`` (NaN where not given).
        adjustment_kind: the ``feedback.ADJUSTMENT_KINDS`` index of the main adjustment; 0 ("none")
            when the family reported app use (completion, adherence or an adjustment count) without a
            kind, −1 when it reported none of those (the app was not used).
    """

    monday: datetime.date
    params: np.ndarray
    feedback: np.ndarray
    adjustment_kind: int


def parse_history(history: Any) -> list[LivedWeek]:
    """A family's lived weeks, checked and ordered by date.

    Args:
        history: a list of mappings, one per lived week: ``week_start`` (a date or ISO text, any day
            of the week), the schedule as ``params`` (every ``PARAM_NAMES`` value) or ``schedule``
            (Schedule JSON whose ``meta`` holds the parameters, as served), and ``feedback``
            (optional; a mapping with any of ``feedback.FEEDBACK_COLUMNS``, or None: none given).

    Raises:
        ValidationError: naming the field, e.g. ``history[2].feedback.stars``.
    """
    from brightpath.feedback import ADJUSTMENT_KINDS
    from brightpath.reward.targets import feedback_signals

    if isinstance(history, (str, bytes, Mapping)) or not isinstance(history, Sequence):
        raise ValidationError("history", history, "a list of lived weeks ({'week_start', 'params', 'feedback'})")
    weeks = []
    for i, week in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(week, Mapping):
            raise ValidationError(where, week, "a mapping {'week_start', 'params' or 'schedule', 'feedback'}")
        unknown = sorted(set(week) - {"week_start", "params", "schedule", "feedback"})
        if unknown:
            raise ValidationError(
                f"{where}.{unknown[0]}", week[unknown[0]], "a known key: week_start, params, schedule, feedback"
            )
        monday = _monday(week.get("week_start"), f"{where}.week_start")
        params = _history_params(week, where)
        raw = week.get("feedback")
        values = np.full(8, np.nan)
        kind = -1
        if raw is not None:
            try:
                columns = parse_feedback(raw)  # its errors name feedback.<key>
            except ValidationError as exc:
                raise ValidationError(f"{where}.{exc.field}", exc.value, exc.expected) from None
            try:
                signals = feedback_signals(columns)  # its errors name the key alone
            except ValidationError as exc:
                raise ValidationError(f"{where}.feedback.{exc.field}", exc.value, exc.expected) from None
            count = columns["n_adjustments"][0]
            values = np.array(
                [
                    _number(columns[name][0])
                    for name in ("stars", "likert_satisfaction", "likert_engagement", "likert_effectiveness")
                ]
                + [
                    float(signals["sentiment"][0]),
                    _number(columns["completion_rate"][0]),
                    _number(columns["adherence"][0]),
                    _number(count),
                ]
            )
            if columns["adjustment_kind"][0] is not None:
                kind = ADJUSTMENT_KINDS.index(columns["adjustment_kind"][0])
            elif not np.isnan(values[5:]).all():
                kind = 0
        weeks.append(LivedWeek(monday, params, values, kind))
    return sorted(weeks, key=lambda w: w.monday)


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _monday(value: Any, field: str) -> datetime.date:
    """The Monday of the week of a date or ISO text (``ValidationError`` naming ``field`` otherwise)."""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value[:10])
        except ValueError:
            raise ValidationError(field, value, "an ISO date YYYY-MM-DD") from None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        raise ValidationError(field, value, "a date (datetime.date or ISO text YYYY-MM-DD)")
    return value - datetime.timedelta(days=value.weekday())


def _history_params(week: Mapping[str, Any], where: str) -> np.ndarray:
    if ("params" in week) == ("schedule" in week):
        raise ValidationError(where, sorted(week), "exactly one of 'params' and 'schedule'")
    source = week.get("params")
    field = f"{where}.params"
    if "schedule" in week:
        schedule = week["schedule"]
        source = schedule.get("meta") if isinstance(schedule, Mapping) else None
        field = f"{where}.schedule.meta"
    if not isinstance(source, Mapping):
        raise ValidationError(field, source, f"a mapping with every schedule parameter ({', '.join(PARAM_NAMES)})")
    values = []
    for name in PARAM_NAMES:
        value = source.get(name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
            raise ValidationError(f"{field}.{name}", value, "a finite number")
        values.append(float(value))
    return np.array(values)


def school_week_features(mondays: Sequence[datetime.date]) -> np.ndarray:
    """``temporal.WEEK_FEATURES`` of weeks given by their Mondays, float32 ``[n, 8]``; a week that is not
    a school week (a holiday, the summer) reads as the next school week."""
    from brightpath.temporal import SCHOOL_YEAR_FIRST_MONDAY_FROM, school_weeks, week_context, week_features

    snapped = []
    for monday in mondays:
        year = monday.year - (monday.month < SCHOOL_YEAR_FIRST_MONDAY_FROM[0])
        weeks = school_weeks(year)
        day = np.datetime64(monday, "D")
        index = int(np.searchsorted(weeks, day))
        snapped.append(weeks[index] if index < len(weeks) else school_weeks(year + 1)[0])
    return week_features(week_context(np.array(snapped, dtype="datetime64[D]")))


@dataclass
class WeeklyHistory:
    """Lived weeks of ``n`` families in the weekly generator's input layout, ``weeks`` slots each.

    Attributes (lived weeks first, padding after): ``params`` float32 ``[n, W, 7]``, ``feedback`` float32
    ``[n, W, 8]`` (NaN where not given), ``adjustment_kind`` int32 ``[n, W]`` (−1 = app unused),
    ``week`` float32 ``[n, W, 8]`` (date features), ``mask`` float32 ``[n, W]``.
    """

    params: np.ndarray
    feedback: np.ndarray
    adjustment_kind: np.ndarray
    week: np.ndarray
    mask: np.ndarray

    @classmethod
    def empty(cls, n: int, weeks: int) -> WeeklyHistory:
        return cls(
            np.zeros((n, weeks, N_PARAMS), np.float32),
            np.full((n, weeks, 8), np.nan, np.float32),
            np.full((n, weeks), -1, np.int32),
            np.zeros((n, weeks, 8), np.float32),
            np.zeros((n, weeks), np.float32),
        )

    def record(self, slot: int, params, feedback, adjustment_kind, week_features) -> None:
        """Fill slot ``slot`` of every family: ``[n, 7]``, ``[n, 8]``, ``[n]``, ``[n, 8]`` (marked lived)."""
        self.params[:, slot] = params
        self.feedback[:, slot] = feedback
        self.adjustment_kind[:, slot] = adjustment_kind
        self.week[:, slot] = week_features
        self.mask[:, slot] = 1.0


class WeeklyGeneratorModel:
    """The exported weekly generator (``agents.export.export_weekly_generator``), loaded with TensorFlow only.

    Args:
        model_dir: the weekly generator directory.

    Attributes:
        weeks: the episode length W it was trained for: it reads at most W − 1 lived weeks (the
            latest ones when a family lived more).
        source, model_version: from its ``brightpath_model.json``.

    Raises:
        ModelLoadError: the directory is missing, corrupt or holds another kind of model.
    """

    def __init__(self, model_dir: str | Path):
        self.model_dir = Path(model_dir)
        metadata = read_metadata(self.model_dir)
        if metadata.get("kind") != WEEKLY_GENERATOR_SUBDIR:
            raise ModelLoadError(self.model_dir, f"not a weekly generator (kind={metadata.get('kind')!r})")
        loaded = load_saved_model(self.model_dir)
        try:
            self._signature = loaded.signatures["serving_default"]
            self.weeks = int(metadata["weeks"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(self.model_dir, f"no serving_default signature or weeks ({exc})") from exc
        self._loaded = loaded
        self.source = str(metadata.get("source", "ppo"))
        self.model_version = str(metadata.get("model_version", "unknown"))

    def predict_params(
        self, answers: np.ndarray, child_age: np.ndarray, history: WeeklyHistory, next_week: np.ndarray
    ) -> np.ndarray:
        """Next week's parameters ``float64 [n, N_PARAMS]`` of ``n`` families (``WeeklyHistory`` of ``weeks``
        slots; ``next_week`` ``[n, 8]`` the date features of the week to plan)."""
        import tensorflow as tf

        out = self._signature(
            answers=tf.constant(np.asarray(answers, np.float32).reshape(-1, 25)),
            child_age=tf.constant(np.asarray(child_age, np.float32).reshape(-1)),
            history_params=tf.constant(history.params),
            history_feedback=tf.constant(history.feedback),
            history_adjustment_kind=tf.constant(history.adjustment_kind),
            history_week=tf.constant(history.week),
            history_mask=tf.constant(history.mask),
            next_week=tf.constant(np.asarray(next_week, np.float32)),
        )
        return np.stack([out[name].numpy() for name in PARAM_NAMES], axis=-1).astype(np.float64)

    def predict(
        self, family: FamilyInput, weeks: Sequence[LivedWeek], *, week_start=None, today: datetime.date | None = None
    ) -> dict:
        """Schedule JSON of the family's next week from its lived ``weeks`` (``parse_history``)."""
        used = list(weeks)[-(self.weeks - 1) :] if self.weeks > 1 else []
        history = WeeklyHistory.empty(1, self.weeks)
        if used:
            dates = school_week_features([w.monday for w in used])
            for slot, (week, date) in enumerate(zip(used, dates)):
                history.record(slot, week.params, week.feedback, week.adjustment_kind, date)
        if week_start is not None:
            target = _monday(week_start, "week_start")
        elif used:
            target = used[-1].monday + datetime.timedelta(days=7)
        else:
            target = _monday(today or datetime.date.today(), "reference_date")
        params = self.predict_params(
            family.answers[None, :], np.array([family.child_age]), history, school_week_features([target])
        )[0]
        schedule = schedule_for(
            family, ScheduleParams.from_vector(params), source=self.source, model_version=self.model_version
        )
        schedule["meta"]["history_weeks"] = len(used)
        return schedule


class HistoryPlanner:
    """A family's next week from its lived weeks, with the ``predict(user_data, *, reference_date=None)`` of
    ``ScheduleGeneratorModel`` (what ``brightpath.serve.serve_week`` calls).

    Args:
        model: the weekly generator.
        weeks: the family's lived weeks (``parse_history``).
        week_start: the week to plan (``WeeklyGeneratorModel.predict``).
    """

    def __init__(self, model: WeeklyGeneratorModel, weeks: Sequence[LivedWeek], *, week_start=None) -> None:
        self.model, self.weeks, self.week_start = model, list(weeks), week_start

    def predict(self, user_data: Mapping[str, Any], *, reference_date: datetime.date | None = None) -> dict:
        family = parse_user_data(user_data, reference_date=reference_date)
        return self.model.predict(family, self.weeks, week_start=self.week_start, today=reference_date)


@functools.lru_cache(maxsize=8)
def _weekly_generator(directory: Path, stamp: int) -> WeeklyGeneratorModel:
    return WeeklyGeneratorModel(directory)


def weekly_generator_for(model_dir: str | Path | None = None) -> WeeklyGeneratorModel | None:
    """The weekly generator of ``model_dir`` (a model root holding ``weekly_generator/`` — the registry's
    promoted version — or the directory itself), or the promoted one of the default model directory;
    None when there is none, with a logged warning when one is there but unusable. Loaded once per
    directory and metadata time (a newly promoted version is picked up)."""
    if model_dir is None:
        directory = _promoted(WEEKLY_GENERATOR_SUBDIR)
    elif (Path(model_dir) / WEEKLY_GENERATOR_SUBDIR).exists():
        directory = Path(model_dir) / WEEKLY_GENERATOR_SUBDIR
    else:  # a generator directory: the weekly generator itself, or a one-shot generator (no weekly one)
        try:
            directory = (
                Path(model_dir) if read_metadata(Path(model_dir)).get("kind") == WEEKLY_GENERATOR_SUBDIR else None
            )
        except ModelLoadError:
            directory = None
    if directory is None:
        return None
    try:
        return _weekly_generator(directory, _stamp(directory))
    except ModelLoadError as exc:
        log.warning("weekly generator unusable, planning without the family's history: %s", exc)
        return None


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
    family = (
        parse_user_data(user_data, reference_date=reference_date)
        if user_data is not None
        else _family_from_meta(schedule.get("meta"))
    )
    columns = parse_feedback(feedback) if feedback is not None else None
    if columns is not None:
        _prefixed(feedback_signals, columns)  # range errors before any model loads
    directory = _reward_dir(model_dir)
    scorer = _reward_scorer(directory, _stamp(directory))
    scores = scorer.score_layouts(
        [layout],
        family.answers[None, :],
        np.array([family.child_age], np.float32),
        np.array([family.child.grade_band_index]),
    )
    result: dict[str, Any] = {name: float(scores[name][0]) for name in TARGET_NAMES}
    result["model_version"] = scorer.model_version
    if columns is not None:
        observed = _prefixed(feedback_targets, columns, scorer.calibration)
        result["observed"], result["blended"] = {}, {}
        for j, name in enumerate(TARGET_NAMES):
            weight = float(observed.weights[0, j])
            value = None if weight <= 0 else float(observed.values[0, j])
            result["observed"][name] = value
            result["blended"][name] = (
                result[name]
                if value is None
                else ((MODEL_PRIOR_WEIGHT * result[name] + weight * value) / (MODEL_PRIOR_WEIGHT + weight))
            )
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
        raise ValidationError(
            "meta.family",
            family,
            "the family the schedule is for ({'answers', 'child_age', 'grade'}), or pass user_data",
        )
    answers = family.get("answers")
    if not isinstance(answers, (list, tuple)) or len(answers) != N_ITEMS:
        raise ValidationError("meta.family.answers", answers, f"a list of {N_ITEMS} Likert answers (0 = missing)")
    user_data: dict[str, Any] = {}
    for i, answer in enumerate(answers):
        if isinstance(answer, bool) or not isinstance(answer, numbers.Integral) or not MISSING <= answer <= LIKERT_MAX:
            raise ValidationError(
                f"meta.family.answers[{i}]", answer, f"an integer {MISSING}–{LIKERT_MAX} (0 = missing)"
            )
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
