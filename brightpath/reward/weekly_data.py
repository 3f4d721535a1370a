"""What the history-aware reward model learns from: simulated multi-week logs, and its inputs.

A deployed BrightPath serves a family a schedule every school week and logs what comes
back. ``simulate_logs`` makes such logs from the simulator: each family lives ``weeks``
consecutive school weeks (``simulator.live_week``: the hidden truth with the week's
temporal effects, the weekly feedback with silent families, skipped surveys, direction-only
adjustments and noisy comments) under a logging policy that a product could run:

=====================  =========================================================================
week's parameters      drawn as
=====================  =========================================================================
base                   the adjustment-following rule's proposal (``adaptive.AdjustmentFollower``:
                       the expert's week first, then last week's moved by each adjustment the
                       family made): what the product would serve
logged week            ``datasets.LOGGED_MIX`` around the base, as the one-shot logs: a small
                       (sd 0.2, action units) or large (sd 0.5) perturbation, or a uniform week
=====================  =========================================================================

so the logs hold the weeks a product serves and the exploration it does. A *row* is one
family-week: the week's schedule, the family, the week's date, and the tokens of the weeks
the family lived before it (``brightpath.history``: parameters, date, feedback) — everything a
deployed system has when it scores the week — with the feedback of that week as the target
(``reward.targets.feedback_targets``). The hidden truth is kept for evaluation only.

``candidate_set`` scores other weeks than the logged one against the same histories (by
default far from the product's weeks: what an exploring policy visits), several per row, so
a model's ranking of candidate weeks *for one family at one point of its history* can be
measured (``within_group_spearman``).

``WeeklyRewardInputs`` are the model's inputs (the exported model's signature,
``reward.weekly_scoring``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from brightpath.datasets import LOGGED_MIX
from brightpath.history import TOKEN_DIM, encode_weeks
from brightpath.reward.inputs import RewardInputs, build_inputs
from brightpath.reward.targets import TARGET_NAMES, FeedbackCalibration, Targets, feedback_targets
from brightpath.schedule import N_PARAMS, layouts_for, params_to_unit, unit_to_params
from brightpath.simulator import (
    Families,
    SurveyHabits,
    WeekFeedback,
    generate_week_feedback,
    live_week,
    sample_survey_habits,
    true_scores,
)
from brightpath.temporal import (
    N_WEEK_FEATURES,
    WeekContext,
    draw_start_weeks,
    following_school_weeks,
    week_context,
    week_features,
)

DEFAULT_SCHOOL_YEAR = 2025
"""Logs start in the school year from August 2025 (as ``envs.weeks_env``'s episodes)."""
LOGGED_SD: dict[str, float] = {"perturb_0.2": 0.2, "perturb_0.5": 0.5}
"""sd (action units) of each perturbation kind of ``datasets.LOGGED_MIX``; the other kind is uniform."""
OFF_DISTRIBUTION_SD = 0.8
"""``candidate_set(mix="off_distribution")``: half the candidates uniform, half the base plus this sd
(action units), as ``datasets.sample_schedule_params``' off-distribution mix."""


@dataclass(frozen=True)
class WeeklyRewardInputs:
    """Inputs of ``B`` weeks to score (the exported model's signature, ``reward.weekly_scoring``).

    Attributes:
        week: the week's blocks, summary and family (``reward.inputs.RewardInputs``).
        params: float32 ``[B, N_PARAMS]`` the week's parameters (``schedule.PARAM_NAMES`` units).
        week_features: float32 ``[B, N_WEEK_FEATURES]`` the week's date (``temporal.WEEK_FEATURES``).
        history: float32 ``[B, H, TOKEN_DIM]`` tokens of the weeks lived before it
            (``brightpath.history``), lived weeks first, zeros after; any ``H`` ≥ 1.
        history_mask: float32 ``[B, H]``, 1 for the lived weeks of ``history``.
    """

    week: RewardInputs
    params: np.ndarray
    week_features: np.ndarray
    history: np.ndarray
    history_mask: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.week)
        for name in ("params", "week_features", "history", "history_mask"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: expected {n} rows (one per week), got {len(getattr(self, name))}")
        if self.history.shape[1:] != (self.history_mask.shape[1], TOKEN_DIM):
            raise ValueError(
                f"history: expected shape [B, {self.history_mask.shape[1]}, {TOKEN_DIM}], "
                f"got {list(self.history.shape)}"
            )

    def __len__(self) -> int:
        return len(self.week)

    @property
    def lengths(self) -> np.ndarray:
        """Blocks per week, int64 ``[B]`` (for length-sorted chunks)."""
        return self.week.lengths

    def take(self, index) -> WeeklyRewardInputs:
        """The weeks at ``index``; block tokens padded only to the longest of them."""
        index = np.asarray(index)
        return WeeklyRewardInputs(
            self.week.take(index),
            self.params[index],
            self.week_features[index],
            self.history[index],
            self.history_mask[index],
        )

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every input by its signature name (``reward.weekly_scoring.INPUT_NAMES``)."""
        return {
            **self.week.as_dict(),
            "params": self.params,
            "week_features": self.week_features,
            "history": self.history,
            "history_mask": self.history_mask,
        }

    def without_history(self) -> WeeklyRewardInputs:
        """The same weeks with every history slot masked out (a model reading nothing of the past)."""
        return WeeklyRewardInputs(
            self.week, self.params, self.week_features, np.zeros_like(self.history), np.zeros_like(self.history_mask)
        )


def weekly_inputs(
    layouts,
    params: np.ndarray,
    answers: np.ndarray,
    child_age: np.ndarray,
    grade_band: np.ndarray,
    week_features: np.ndarray,
    history: np.ndarray,
    history_mask: np.ndarray,
) -> WeeklyRewardInputs:
    """``WeeklyRewardInputs`` of ``B`` weeks given as layouts (``schedule.layouts_for``), with their
    families, dates and histories (``WeeklyRewardInputs``' attributes)."""
    return WeeklyRewardInputs(
        build_inputs(layouts, answers, child_age, grade_band),
        np.asarray(params, dtype=np.float32),
        np.asarray(week_features, dtype=np.float32).reshape(-1, N_WEEK_FEATURES),
        np.asarray(history, dtype=np.float32),
        np.asarray(history_mask, dtype=np.float32),
    )


@dataclass(frozen=True)
class WeeklyRewardData:
    """Rows to train or evaluate on.

    Attributes:
        inputs: ``WeeklyRewardInputs``.
        targets: the observed targets of each week's feedback.
        truth: hidden true scores ``{target: [n]}`` (evaluation only), or None.
        week_index: int64 ``[n]`` weeks lived before the row's week (0 = no history).
        group: int64 ``[n]``: rows sharing a value are candidate weeks for the same family at the
            same point of its history (``candidate_set``); every row its own group in logs.
    """

    inputs: WeeklyRewardInputs
    targets: Targets
    truth: dict[str, np.ndarray] | None
    week_index: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, index) -> WeeklyRewardData:
        index = np.asarray(index)
        truth = None if self.truth is None else {k: v[index] for k, v in self.truth.items()}
        return WeeklyRewardData(
            self.inputs.take(index), self.targets.take(index), truth, self.week_index[index], self.group[index]
        )


@dataclass(frozen=True)
class WeeklyLogs:
    """``n`` families' simulated logs over ``W`` school weeks (``simulate_logs``).

    Attributes:
        families, habits: the families (hidden traits included) and their survey habits.
        dates: ``datetime64[D] [n, W]`` the weeks' Mondays; ``contexts`` their ``WeekContext`` per week.
        week_features: float32 ``[n, W, N_WEEK_FEATURES]``.
        base: float64 ``[n, W, N_PARAMS]`` the logging policy's proposal (action units).
        params: float64 ``[n, W, N_PARAMS]`` the served parameters (parameter units).
        history: float32 ``[n, W, TOKEN_DIM]`` the token of every lived week.
        feedback: ``W`` ``WeekFeedback`` s of ``n`` rows.
        truth: ``{target: float64 [n, W]}`` hidden true scores (evaluation only).
    """

    families: Families
    habits: SurveyHabits
    dates: np.ndarray
    contexts: list[WeekContext]
    week_features: np.ndarray
    base: np.ndarray
    params: np.ndarray
    history: np.ndarray
    feedback: list[WeekFeedback]
    truth: dict[str, np.ndarray]

    @property
    def weeks(self) -> int:
        return self.params.shape[1]

    def rows(self, calibration: FeedbackCalibration, *, with_truth: bool = True) -> WeeklyRewardData:
        """Every family-week as a row (week 0 of all families first, then week 1, …), its feedback the target."""
        n, weeks = len(self.families), self.weeks
        rows = np.tile(np.arange(n), weeks)
        week = np.repeat(np.arange(weeks), n)
        return self._score_rows(
            rows,
            week,
            self.params[rows, week],
            calibration,
            feedback=_concat_feedback(self.feedback),
            with_truth=with_truth,
            group=np.arange(n * weeks),
        )

    def _score_rows(self, rows, week, params, calibration, *, feedback=None, rng=None, with_truth=True, group):
        families = self.families.take(rows)
        layouts = layouts_for(params, families.grade_band)
        history = self.history[rows] * (np.arange(self.weeks)[None, :, None] < week[:, None, None])
        mask = (np.arange(self.weeks)[None, :] < week[:, None]).astype(np.float32)
        inputs = weekly_inputs(
            layouts,
            params,
            families.answers,
            families.child_age,
            families.grade_band,
            self.week_features[rows, week],
            history,
            mask,
        )
        context = week_context(self.dates[rows, week])
        summaries = inputs.week.summary.astype(np.float64)
        truth = true_scores(families, summaries, context)
        if feedback is None:
            feedback = generate_week_feedback(
                families, self.habits.take(rows), summaries, context, week, rng, truth=truth
            )
        targets = feedback_targets(feedback.columns(), calibration)
        return WeeklyRewardData(
            inputs, targets, truth if with_truth else None, week.astype(np.int64), np.asarray(group, dtype=np.int64)
        )


def _concat_feedback(feedback: list[WeekFeedback]) -> WeekFeedback:
    return WeekFeedback(
        **{f.name: np.concatenate([getattr(week, f.name) for week in feedback]) for f in fields(WeekFeedback)}
    )


def _logged_unit(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One logged week per row around ``base`` (action units), by ``datasets.LOGGED_MIX``."""
    kinds = list(LOGGED_MIX)
    kind = rng.choice(len(kinds), size=len(base), p=list(LOGGED_MIX.values()))
    sd = np.array([LOGGED_SD.get(name, 0.0) for name in kinds])[kind][:, None]
    uniform = np.array([name not in LOGGED_SD for name in kinds])[kind][:, None]
    return np.where(uniform, rng.uniform(-1.0, 1.0, base.shape), base + rng.normal(0.0, 1.0, base.shape) * sd)


def simulate_logs(
    families: Families, weeks: int, rng: np.random.Generator, *, school_year: int = DEFAULT_SCHOOL_YEAR
) -> WeeklyLogs:
    """Simulate ``weeks`` school weeks of each family under the logging policy (module docstring).

    Args:
        families: who lives the weeks.
        weeks: consecutive school weeks per family, from a start week uniform among those leaving
            ``weeks`` school weeks before the summer (``temporal.draw_start_weeks``).
        rng: every draw (start weeks, survey habits, logged weeks, feedback) comes from it.
    """
    from brightpath.adaptive import AdjustmentFollower

    n = len(families)
    dates = following_school_weeks(draw_start_weeks(n, weeks, rng, school_year), weeks)
    habits = sample_survey_habits(n, rng)
    contexts = [week_context(dates[:, w]) for w in range(weeks)]
    features = np.stack([week_features(c) for c in contexts], axis=1)
    follower = AdjustmentFollower()
    follower.start(families.answers, families.child_age, rng)
    base = np.zeros((n, weeks, N_PARAMS))
    served = np.zeros((n, weeks, N_PARAMS))
    history = np.zeros((n, weeks, TOKEN_DIM), dtype=np.float32)
    truth = {name: np.zeros((n, weeks)) for name in TARGET_NAMES}
    feedback = []
    for week in range(weeks):
        base[:, week] = params_to_unit(follower.act(week, contexts[week]))
        lived = live_week(families, habits, contexts[week], unit_to_params(_logged_unit(base[:, week], rng)), week, rng)
        follower.observe(week, lived.params, lived.feedback)
        served[:, week] = lived.params
        history[:, week] = encode_weeks(params_to_unit(lived.params), features[:, week], lived.feedback)
        for name in TARGET_NAMES:
            truth[name][:, week] = lived.true[name]
        feedback.append(lived.feedback)
    return WeeklyLogs(families, habits, dates, contexts, features, base, served, history, feedback, truth)


def candidate_set(
    logs: WeeklyLogs,
    calibration: FeedbackCalibration,
    rng: np.random.Generator,
    *,
    per_row: int = 4,
    rows_per_week: int | None = None,
    mix: str = "off_distribution",
) -> WeeklyRewardData:
    """Other weeks than the logged ones, scored against the logged histories, with feedback and truth.

    For each sampled (family, week) — ``rows_per_week`` families per week, all by default — ``per_row``
    candidate weeks: ``mix="off_distribution"``: half uniform over the box, half the logging
    policy's base plus noise of sd ``OFF_DISTRIBUTION_SD`` (what an exploring policy visits);
    ``mix="logged"``: ``datasets.LOGGED_MIX`` around the base. Candidates of one (family, week)
    share a ``group``. Their feedback is drawn afresh (the family's habits, that week's fatigue).
    """
    if mix not in ("off_distribution", "logged"):
        raise ValueError(f"mix: expected 'off_distribution' or 'logged', got {mix!r}")
    n, weeks = len(logs.families), logs.weeks
    chosen = [rng.permutation(n)[:rows_per_week] if rows_per_week else np.arange(n) for _ in range(weeks)]
    family = np.concatenate(chosen)
    week = np.concatenate([np.full(len(c), w) for w, c in enumerate(chosen)])
    group = np.repeat(np.arange(len(family)), per_row)
    family, week = np.repeat(family, per_row), np.repeat(week, per_row)
    base = logs.base[family, week]
    if mix == "logged":
        unit = _logged_unit(base, rng)
    else:
        far = base + rng.normal(0.0, OFF_DISTRIBUTION_SD, base.shape)
        unit = np.where(rng.random((len(base), 1)) < 0.5, rng.uniform(-1.0, 1.0, base.shape), far)
    params = unit_to_params(unit)
    return logs._score_rows(family, week, params, calibration, rng=rng, group=group)


def within_group_spearman(predicted: np.ndarray, truth: np.ndarray, group: np.ndarray) -> float:
    """Mean over groups (≥ 3 rows, truth not constant) of the Spearman correlation of ``predicted`` with
    ``truth`` inside the group: how well a model ranks candidate weeks for one family at one point
    of its history (what a policy's choice depends on). NaN when no group qualifies."""
    from scipy.stats import rankdata

    order = np.argsort(group, kind="stable")
    group, predicted, truth = group[order], np.asarray(predicted)[order], np.asarray(truth)[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    values = []
    for start, stop in zip(starts, np.r_[starts[1:], len(group)]):
        if stop - start < 3 or np.ptp(truth[start:stop]) == 0 or np.ptp(predicted[start:stop]) == 0:
            continue
        values.append(np.corrcoef(rankdata(predicted[start:stop]), rankdata(truth[start:stop]))[0, 1])
    return float(np.mean(values)) if values else float("nan")


def feedback_columns(data: Any) -> dict[str, np.ndarray]:
    """The ``feedback.FEEDBACK_COLUMNS`` of ``WeeklyLogs`` (every family-week, as ``WeeklyLogs.rows``
    orders them), for ``reward.targets.fit_calibration``."""
    return _concat_feedback(data.feedback).columns()


__all__ = [
    "DEFAULT_SCHOOL_YEAR",
    "LOGGED_SD",
    "OFF_DISTRIBUTION_SD",
    "WeeklyLogs",
    "WeeklyRewardData",
    "WeeklyRewardInputs",
    "candidate_set",
    "feedback_columns",
    "simulate_logs",
    "weekly_inputs",
    "within_group_spearman",
]
