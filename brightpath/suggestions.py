"""Improvement suggestions: the seed plan's "quality score and improvement suggestions".

A suggestion is one concrete change of one schedule parameter (``schedule.PARAM_SPECS``: block
length, start hour, daily minutes, …) that the reward model predicts raises the family's
satisfaction, with the predicted gain. How they are found:

1. the schedule's parameters are read from its ``meta`` (as every generator writes them);
2. per parameter, candidate values one and two steps either side (stepped parameters:
   ``ParamSpec.step``; continuous ones: ``CONTINUOUS_STEPS``), kept inside the parameter's range;
3. each candidate week is laid out by ``schedule.build_layout`` and checked as untrusted
   Schedule JSON would be (``schedule.validate_schedule``, and a subject block on every weekday):
   a change that makes the week invalid is never suggested;
4. the reward model scores the unchanged week and every candidate in one batch; per parameter
   the best candidate is kept if it gains at least ``min_gain``; the largest gains come first.

Gains are differences of predicted satisfaction (0–1) against the week the parameters lay out,
so they compare like with like even when the schedule was edited by hand after it was written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from brightpath.errors import ValidationError
from brightpath.questionnaire import FamilyInput
from brightpath.schedule import (
    N_DAYS,
    PARAM_SPECS,
    TYPE_SUBJECT,
    ScheduleParams,
    build_layout,
    layout_to_json,
    validate_schedule,
)

CONTINUOUS_STEPS: tuple[float, ...] = (0.1, 0.25)
"""Changes tried for a continuous parameter (structure level, subject rotation, both 0–1)."""
STEP_MULTIPLES: tuple[int, ...] = (1, 2)
"""Changes tried for a stepped parameter, in multiples of its step (e.g. 5 and 10 minutes)."""
DEFAULT_MIN_GAIN = 0.005
"""Smallest predicted satisfaction gain (0–1 scale) worth suggesting; below it is model noise."""
DEFAULT_MAX_SUGGESTIONS = 3


class Scorer(Protocol):
    """What scores weeks: ``brightpath.reward.scoring.RewardScorer`` or anything with its ``score_layouts``."""

    def score_layouts(self, layouts, answers, child_age, grade_band) -> Mapping[str, np.ndarray]: ...


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """One parameter change and what the reward model predicts it does.

    Attributes:
        parameter: a ``schedule.PARAM_NAMES`` entry.
        current: its value in the schedule.
        suggested: the value to change it to (inside the parameter's range, on its step).
        predicted_satisfaction: predicted satisfaction of the changed week, 0–1.
        predicted_gain: ``predicted_satisfaction`` minus that of the unchanged week (> 0).
        description: the change in words, e.g. "block_duration_minutes 45 → 40 (length of one
            subject block, minutes)".
    """

    parameter: str
    current: float | int
    suggested: float | int
    predicted_satisfaction: float
    predicted_gain: float
    description: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def schedule_params(schedule: Any) -> ScheduleParams:
    """The parameters recorded in a Schedule JSON's ``meta``.

    Raises:
        ValidationError: ``meta`` is missing, or a parameter is missing, not a number or out of
            range (field ``meta.<parameter>``).
    """
    meta = schedule.get("meta") if isinstance(schedule, Mapping) else None
    if not isinstance(meta, Mapping):
        raise ValidationError("meta", meta, "the schedule's meta section with its parameters")
    values = []
    for spec in PARAM_SPECS:
        value = meta.get(spec.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not spec.low <= value <= spec.high:
            raise ValidationError(f"meta.{spec.name}", value, f"a number {spec.low}–{spec.high} ({spec.doc})")
        if spec.step and (value - spec.low) % spec.step:
            raise ValidationError(f"meta.{spec.name}", value, f"a multiple of {spec.step} from {spec.low}")
        values.append(value)
    return ScheduleParams.from_vector(values)


def candidate_values(spec, current: float) -> list[float]:
    """Values to try for one parameter: one and two steps either side of ``current``, in range, distinct."""
    steps = [m * spec.step for m in STEP_MULTIPLES] if spec.step else list(CONTINUOUS_STEPS)
    values = []
    for delta in steps:
        for value in (current - delta, current + delta):
            value = float(np.clip(round(value, 6), spec.low, spec.high))
            if value != current and value not in values:
                values.append(value)
    return values


def suggest_improvements(
    schedule: Any,
    family: FamilyInput,
    scorer: Scorer,
    *,
    max_suggestions: int = DEFAULT_MAX_SUGGESTIONS,
    min_gain: float = DEFAULT_MIN_GAIN,
) -> list[Suggestion]:
    """Parameter changes predicted to raise ``family``'s satisfaction with ``schedule`` (module docstring).

    Args:
        schedule: Schedule JSON whose ``meta`` holds its parameters (every generator writes them).
        family: the family it is for (``questionnaire.parse_user_data``).
        scorer: the reward model (``RewardScorer``).
        max_suggestions: at most this many, one per parameter, largest gain first.
        min_gain: only changes predicted to gain at least this much satisfaction (0–1 scale).

    Returns:
        Up to ``max_suggestions`` suggestions; an empty list when no change is predicted to help.

    Raises:
        ValidationError: the schedule's ``meta`` lacks valid parameters.
    """
    current = schedule_params(schedule)
    grade_band = family.child.grade_band_index
    changes: list[tuple[str, float | int]] = []
    layouts = [build_layout(current, grade_band)]
    for spec in PARAM_SPECS:
        for value in candidate_values(spec, getattr(current, spec.name)):
            params = dataclasses.replace(current, **{spec.name: int(value) if spec.step else value})
            layout = build_layout(params, grade_band)
            if _valid(layout, grade_band):
                changes.append((spec.name, getattr(params, spec.name)))
                layouts.append(layout)
    n = len(layouts)
    scores = scorer.score_layouts(
        layouts,
        np.repeat(family.answers[None, :], n, axis=0),
        np.full(n, family.child_age, np.float32),
        np.full(n, grade_band),
    )
    satisfaction = np.asarray(scores["satisfaction"], dtype=np.float64)
    best: dict[str, Suggestion] = {}
    for (name, value), predicted in zip(changes, satisfaction[1:]):
        gain = float(predicted - satisfaction[0])
        if gain >= min_gain and (name not in best or gain > best[name].predicted_gain):
            spec = PARAM_SPECS[[s.name for s in PARAM_SPECS].index(name)]
            before = getattr(current, name)
            best[name] = Suggestion(
                name, before, value, float(predicted), gain, f"{name} {_show(before)} → {_show(value)} ({spec.doc})"
            )
    return sorted(best.values(), key=lambda s: -s.predicted_gain)[:max_suggestions]


def _valid(layout: np.ndarray, grade_band: int) -> bool:
    """The candidate week passes the Schedule JSON validator and teaches on every weekday."""
    try:
        validate_schedule(layout_to_json(layout, {}), grade_band=grade_band)
    except ValidationError:
        return False
    return len(np.unique(layout[layout[:, 1] == TYPE_SUBJECT, 0])) == N_DAYS


def _show(value: float) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


__all__ = [
    "CONTINUOUS_STEPS",
    "DEFAULT_MAX_SUGGESTIONS",
    "DEFAULT_MIN_GAIN",
    "STEP_MULTIPLES",
    "Scorer",
    "Suggestion",
    "candidate_values",
    "schedule_params",
    "suggest_improvements",
]
