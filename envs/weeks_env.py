"""``ScheduleWeeksEnv``: adapt one family's weekly schedule over ``W`` school weeks from its feedback.

The sequential version of ``BrightPath/Schedule-v0`` (issue 11). The pieces, each usable
alone and shared by the single environment here and the batched one in
``envs.weeks_batch``:

* ``WeekObservations`` builds the observation of ``n`` families' episodes from what a
  deployed system has (questionnaire, calendar, what was served, the feedback so far);
* ``actions_to_unit`` turns an action into the week's parameters (``action_mode``);
* ``WeekRewards`` is the pluggable reward source: the hidden truth (``"oracle"``, an
  ablation) or a reward model object following the ``WeekScorer`` protocol (``"model"``);
* ``WeekEpisodes`` runs ``n`` episodes in lockstep: families live their weeks through
  ``brightpath.simulator.live_week``, the same function ``brightpath.adaptive``'s harness
  uses, so an environment episode and a harness episode simulate the same world;
* ``ObservationPolicy`` wraps any observation → action function (a trained policy) as a
  ``brightpath.adaptive.WeeklyPolicy``, so it is evaluated by the same harness as the
  same-feedback baselines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from brightpath.features import N_PROFILE_FEATURES
from brightpath.history import SUMMARY_DIM, TOKEN_DIM, TOKEN_HIGH, TOKEN_LOW, encode_weeks, summarize_history
from brightpath.schedule import N_PARAMS, PARAM_NAMES, params_to_unit, unit_to_params
from brightpath.simulator import Families, LivedWeek, WeekFeedback, live_week, sample_survey_habits
from brightpath.temporal import (
    N_WEEK_FEATURES,
    WEEK_FEATURE_HIGH,
    WEEK_FEATURE_LOW,
    WEEK_FEATURES,
    draw_start_weeks,
    following_school_weeks,
    week_context,
    week_features,
)
from envs.rendering import render_week, timetable_image
from envs.schedule_env import (
    EMPTY_LAYOUT,
    HEADS,
    OBS_HIGH,
    OBS_LOW,
    REFERENCE_SLICE,
    RewardSource,
    ScheduleRewards,
    draw_families,
    observation,
)

DEFAULT_WEEKS = 8
DEFAULT_SCHOOL_YEAR = 2025
"""Episodes start in the school year that begins in August 2025 unless told otherwise."""
ActionMode = Literal["absolute", "adjust"]
ACTION_MODES: tuple[str, ...] = ("absolute", "adjust")
ADJUST_STEP = 0.5
"""``action_mode="adjust"``: the largest change of one parameter in a week, action units (a quarter
of its range)."""

NOW_FEATURES: tuple[str, ...] = WEEK_FEATURES + ("progress",)
"""The week about to be planned: its date features and ``progress`` = week index / (W − 1)."""
OBSERVATION_PARTS: tuple[str, ...] = (
    "profile",
    "reference",
    "now",
    "base",
    "summary",
    "last",
    "history",
    "history_mask",
)


def observation_layout(weeks: int) -> dict[str, slice]:
    """Where each part of ``OBSERVATION_PARTS`` sits in a flat observation of a ``weeks``-week episode."""
    sizes = {
        "profile": N_PROFILE_FEATURES,
        "reference": N_PARAMS,
        "now": len(NOW_FEATURES),
        "base": N_PARAMS,
        "summary": SUMMARY_DIM,
        "last": TOKEN_DIM,
        "history": weeks * TOKEN_DIM,
        "history_mask": weeks,
    }
    layout, start = {}, 0
    for part in OBSERVATION_PARTS:
        layout[part] = slice(start, start + sizes[part])
        start += sizes[part]
    return layout


def observation_size(weeks: int) -> int:
    """Length of a flat observation: 111 + 47·weeks (487 for 8 weeks)."""
    return observation_layout(weeks)["history_mask"].stop


def observation_bounds(weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` float32 bounds of a flat observation (see ``ScheduleWeeksEnv``'s table)."""
    low = np.concatenate(
        [
            OBS_LOW,
            WEEK_FEATURE_LOW,
            [0.0],
            -np.ones(N_PARAMS),
            np.zeros(SUMMARY_DIM),
            TOKEN_LOW,
            np.tile(TOKEN_LOW, weeks),
            np.zeros(weeks),
        ]
    )
    high = np.concatenate(
        [
            OBS_HIGH,
            WEEK_FEATURE_HIGH,
            [1.0],
            np.ones(N_PARAMS),
            np.ones(SUMMARY_DIM),
            TOKEN_HIGH,
            np.tile(TOKEN_HIGH, weeks),
            np.ones(weeks),
        ]
    )
    return low.astype(np.float32), high.astype(np.float32)


def split_observation(obs: np.ndarray, weeks: int) -> dict[str, np.ndarray]:
    """The parts of flat observations ``[..., observation_size(weeks)]``; ``history`` as ``[..., weeks, TOKEN_DIM]``.

    What each network reads: an MLP the fixed-size parts (``profile``, ``reference``, ``now``,
    ``base``, ``summary``, ``last``), a Transformer the ``history`` tokens under
    ``history_mask``, an RNN the ``last`` token (the week just lived) with ``now``.
    """
    obs = np.asarray(obs)
    parts = {name: obs[..., part] for name, part in observation_layout(weeks).items()}
    parts["history"] = parts["history"].reshape(obs.shape[:-1] + (weeks, TOKEN_DIM))
    return parts


def actions_to_unit(actions: np.ndarray, base_unit: np.ndarray, action_mode: ActionMode) -> np.ndarray:
    """The week's parameters in action units ``[n, N_PARAMS]`` from actions (any reals, clipped to [-1, 1]).

    ``"absolute"``: the action is the parameters. ``"adjust"``: ``base + ADJUST_STEP · action``,
    clipped to [-1, 1], where ``base`` is last week's served parameters (the expert's
    proposal before the first week).
    """
    actions = np.clip(np.asarray(actions, dtype=np.float64), -1.0, 1.0)
    if action_mode == "absolute":
        return actions
    return np.clip(base_unit + ADJUST_STEP * actions, -1.0, 1.0)


class WeekObservations:
    """The observations of ``n`` families' episodes, built from what a deployed system has.

    Args:
        weeks: episode length W (history slots).
        answers: float ``[n, 25]`` questionnaires (Likert 1–5, 0 = missing); ``child_age`` float ``[n]``.

    ``observation(week, now)`` before each week, ``record(week, ...)`` after it.
    Attributes: ``history`` float32 ``[n, W, TOKEN_DIM]`` (lived weeks first, zeros after),
    ``base`` float64 ``[n, N_PARAMS]`` last served parameters in action units (the expert's
    proposal before the first week), ``reference`` the expert's proposal.
    """

    def __init__(self, weeks: int, answers: np.ndarray, child_age: np.ndarray) -> None:
        self.weeks = int(weeks)
        self.family = observation(
            np.asarray(answers, dtype=np.float32), np.asarray(child_age, dtype=np.float32)
        ).astype(np.float32)
        n = len(self.family)
        self.reference = self.family[:, REFERENCE_SLICE].astype(np.float64)
        self.base = self.reference.copy()
        self.history = np.zeros((n, self.weeks, TOKEN_DIM), dtype=np.float32)
        self.lived = 0

    def observation(self, week: int, now: np.ndarray | None) -> np.ndarray:
        """float32 ``[n, observation_size(W)]`` before week ``week`` (0-based) whose date features are
        ``now`` (``temporal.week_features``); ``now=None`` after the last week (date features 0,
        progress 1)."""
        n = len(self.family)
        if now is None:
            now_part = np.concatenate([np.zeros((n, N_WEEK_FEATURES)), np.ones((n, 1))], axis=1)
        else:
            progress = week / max(self.weeks - 1, 1)
            now_part = np.concatenate([np.asarray(now).reshape(n, N_WEEK_FEATURES), np.full((n, 1), progress)], axis=1)
        last = self.history[:, self.lived - 1] if self.lived else np.zeros((n, TOKEN_DIM), dtype=np.float32)
        mask = (np.arange(self.weeks) < self.lived).astype(np.float32)
        return np.concatenate(
            [
                self.family,
                now_part,
                self.base,
                summarize_history(self.history, self.weeks),
                last,
                self.history.reshape(n, -1),
                np.broadcast_to(mask, (n, self.weeks)),
            ],
            axis=1,
        ).astype(np.float32)

    def record(self, week: int, unit_params: np.ndarray, now: np.ndarray, feedback: WeekFeedback) -> np.ndarray:
        """Add week ``week``'s token (served parameters in action units, its date features, the
        feedback); returns the tokens ``[n, TOKEN_DIM]``."""
        if week != self.lived or week >= self.weeks:
            raise ValueError(
                f"week: expected week {self.lived} (weeks are recorded in order, at most {self.weeks}), got {week}"
            )
        tokens = encode_weeks(unit_params, now, feedback)
        self.history[:, week] = tokens
        self.base = np.asarray(unit_params, dtype=np.float64).copy()
        self.lived += 1
        return tokens


@dataclass(frozen=True)
class WeekScoringRequest:
    """What a reward model may read to score ``n`` families' weeks (``WeekScorer.score_weeks``).

    Everything a deployed system has before the week is lived, nothing hidden.

    Attributes:
        layouts: the weeks to score (``schedule.LayoutBatch``; ``layouts[i]`` is family ``i``'s
            ``[n_blocks, 5]`` layout).
        params: float64 ``[n, N_PARAMS]`` their parameters (``schedule.PARAM_NAMES`` units).
        answers: float32 ``[n, 25]`` questionnaires (Likert 1–5, 0 = missing).
        child_age: float32 ``[n]`` years.
        grade_band: int64 ``[n]`` (``child.GRADE_BANDS`` index).
        week_features: float32 ``[n, N_WEEK_FEATURES]`` the week's date (``temporal.WEEK_FEATURES``).
        week_index: int64 ``[n]`` weeks already lived in the episode (0 for the first).
        history: float32 ``[n, W, TOKEN_DIM]`` tokens of the weeks lived before this one
            (``brightpath.history.TOKEN_FEATURES``: parameters, date, feedback, flags), lived
            weeks first, zeros after.
        history_mask: float32 ``[n, W]``, 1 for the lived weeks of ``history``.
    """

    layouts: Any
    params: np.ndarray
    answers: np.ndarray
    child_age: np.ndarray
    grade_band: np.ndarray
    week_features: np.ndarray
    week_index: np.ndarray
    history: np.ndarray
    history_mask: np.ndarray


@runtime_checkable
class WeekScorer(Protocol):
    """The reward model of ``reward_source="model"``: a history-aware estimate of a week's satisfaction.

    ``score_weeks(request)`` returns a mapping with at least ``"satisfaction"`` (float ``[n]``
    in [0, 1], the estimated satisfaction of family ``i`` with its week), and
    ``"engagement"``/``"effectiveness"`` when ``reward_weights`` uses them. It is called once
    per environment step with every family of the batch.
    """

    def score_weeks(self, request: WeekScoringRequest) -> Mapping[str, np.ndarray]: ...


class WeekRewards:
    """The reward source of the weeks environments.

    Args:
        reward_source: ``"model"`` — a ``WeekScorer`` object (``reward_model``) estimates each week
            from what is observable; ``"oracle"`` — the hidden truth of the lived week (ablations only).
        reward_model: with ``"model"``, an object with ``score_weeks`` (``WeekScorer``).
        reward_weights: weight of each head in ``envs.schedule_env.HEADS`` (validated as
            ``ScheduleRewards`` does); the reward is their weighted mean. Default: satisfaction.

    Attributes:
        model_seconds: wall seconds inside the reward model so far; ``score_calls``: its calls.
    """

    def __init__(
        self,
        reward_source: RewardSource = "model",
        reward_model: Any = None,
        reward_weights: Mapping[str, float] | None = None,
    ) -> None:
        # ScheduleRewards holds the one definition of the weights' checks; its oracle form loads nothing.
        self.weights = ScheduleRewards("oracle", None, reward_weights).weights
        if reward_source not in ("model", "oracle"):
            raise ValueError(f"reward_source: expected one of ('model', 'oracle'), got {reward_source!r}")
        if reward_source == "model" and not isinstance(reward_model, WeekScorer):
            raise ValueError(
                "reward_model: reward_source='model' needs an object with score_weeks(request) "
                f"(envs.weeks_env.WeekScorer, a history-aware reward model), got {reward_model!r}"
            )
        self.reward_source = reward_source
        self.scorer = reward_model if reward_source == "model" else None
        self.model_seconds = 0.0
        self.score_calls = 0

    def score(self, request: WeekScoringRequest, true: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict]:
        """``(reward float32 [n], proxy heads {head: float32 [n]})`` of the weeks in ``request``."""
        n = len(request.params)
        if self.scorer is None:
            proxy = {head: np.asarray(true[head], dtype=np.float32) for head in HEADS}
        else:
            started = time.perf_counter()
            scored = self.scorer.score_weeks(request)
            self.model_seconds += time.perf_counter() - started
            self.score_calls += 1
            missing = [h for h, w in self.weights.items() if w > 0 and h not in scored]
            if missing:
                raise ValueError(f"reward_model.score_weeks: returned no {missing} (reward_weights use them)")
            proxy = {head: np.asarray(scored[head], dtype=np.float32).reshape(n) for head in HEADS if head in scored}
        total = sum(self.weights.values())
        reward = sum(w * proxy[head] for head, w in self.weights.items() if w > 0) / total
        return np.asarray(reward, dtype=np.float32), proxy


class WeekEpisodes:
    """``n`` families' episodes of ``weeks`` school weeks, stepped in lockstep (the environments' core).

    Args:
        weeks: episode length W ≥ 1 (at most the 36 weeks of a school year).
        rewards: the reward source (``WeekRewards``).
        action_mode: ``"absolute"`` or ``"adjust"`` (``actions_to_unit``).
        school_year: episodes start in this school year (``temporal.school_weeks``).
        families: a ``Families`` set to draw from, or None for fresh families from the population.
    """

    def __init__(
        self, weeks: int, rewards: WeekRewards, action_mode: ActionMode, school_year: int, families: Families | None
    ) -> None:
        if isinstance(weeks, bool) or not isinstance(weeks, (int, np.integer)) or not 1 <= weeks <= 36:
            raise ValueError(f"weeks: expected an integer number of school weeks 1–36, got {weeks!r}")
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode: expected one of {ACTION_MODES}, got {action_mode!r}")
        if families is not None and len(families) == 0:
            raise ValueError("families: expected at least one family, got an empty set")
        self.weeks, self.rewards, self.action_mode = int(weeks), rewards, action_mode
        self.school_year = int(school_year)
        draw_start_weeks(1, self.weeks, np.random.default_rng(0), self.school_year)  # validates school_year
        self.families = families
        self.week = 0
        self.last: LivedWeek | None = None
        self.rewards_so_far: list[np.ndarray] = []

    def reset(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """New families, survey habits and start weeks drawn from ``rng``; the first observation."""
        self.rng = rng
        self.current = draw_families(self.families, n, rng)
        self.habits = sample_survey_habits(n, rng)
        self.dates = following_school_weeks(draw_start_weeks(n, self.weeks, rng, self.school_year), self.weeks)
        self.contexts = [week_context(self.dates[:, w]) for w in range(self.weeks)]
        self.now = [week_features(c) for c in self.contexts]
        self.observations = WeekObservations(self.weeks, self.current.answers, self.current.child_age)
        self.week = 0
        self.last = None
        self.rewards_so_far = []
        info = {"family_id": self.current.family_id.copy(), "start_date": self.dates[:, 0].copy()}
        return self.observations.observation(0, self.now[0]), info

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, dict]:
        """Live one week: ``(next observation, reward float32 [n], episode over, info)``."""
        n = len(self.current)
        actions = np.asarray(actions, dtype=np.float64)
        if actions.size != n * N_PARAMS:
            raise ValueError(
                f"action: expected {N_PARAMS} values per family ({n} families; "
                f"{PARAM_NAMES}), got an array of shape {actions.shape}"
            )
        if self.week >= self.weeks:
            raise RuntimeError("step: the episode is over; call reset()")
        week, obs = self.week, self.observations
        unit = actions_to_unit(actions.reshape(n, N_PARAMS), obs.base, self.action_mode)
        lived = live_week(self.current, self.habits, self.contexts[week], unit_to_params(unit), week, self.rng)
        request = WeekScoringRequest(
            layouts=lived.layouts,
            params=lived.params,
            answers=self.current.answers,
            child_age=self.current.child_age,
            grade_band=self.current.grade_band,
            week_features=self.now[week],
            week_index=np.full(n, week, dtype=np.int64),
            history=obs.history.copy(),
            history_mask=np.broadcast_to((np.arange(self.weeks) < week).astype(np.float32), (n, self.weeks)).copy(),
        )
        reward, proxy = self.rewards.score(request, lived.true)
        obs.record(week, params_to_unit(lived.params), self.now[week], lived.feedback)
        self.week += 1
        self.last = lived
        self.rewards_so_far.append(reward)
        done = self.week == self.weeks
        info = {
            "true_satisfaction": lived.true["satisfaction"],
            "true_engagement": lived.true["engagement"],
            "true_effectiveness": lived.true["effectiveness"],
            "proxy_satisfaction": proxy["satisfaction"],
            "params": lived.params,
            "family_id": self.current.family_id.copy(),
            "week": np.full(n, week, dtype=np.int64),
            "date": self.dates[:, week].copy(),
        }
        return obs.observation(self.week, None if done else self.now[self.week]), reward, done, info


class ScheduleWeeksEnv(gym.Env):
    """Adapt one family's weekly homeschool schedule over ``weeks`` school weeks from its feedback.

    ## Description

    An episode is one family over ``weeks`` consecutive school weeks (breaks skipped),
    starting on a school-week Monday drawn from the school year (``temporal.school_weeks``:
    36 weeks from late August, with Thanksgiving, winter and spring breaks). Each step the
    agent sets that week's schedule; the family lives the week (``simulator.live_week``: the
    hidden truth with the week's temporal effects — darker winter mornings, lighter weeks
    before a holiday, shorter attention after one, early spring afternoons) and reports
    what it reports (``simulator.weekly``: stars, Likert, a comment, completion, adherence,
    the kind and count of its adjustments; silent families and skipped weeks as missing
    values with flags). That feedback and the next week's date join the next observation.
    A questionnaire cannot reveal the child's real attention span, the family's
    chronotype or how it rates; the feedback can, week by week. Every action lays out a
    valid week (``schedule.unit_to_params`` + ``build_layouts``), as in ``Schedule-v0``.

    ## Action Space

    ``Box(-1, 1, (7,), float32)``, read according to ``action_mode``:

    | Num | Parameter              | absolute: -1 … +1        | adjust: change at ±1      |
    |-----|------------------------|--------------------------|---------------------------|
    | 0   | structure_level        | 0 … 1                    | ±0.25                     |
    | 1   | block_duration_minutes | 15 … 60 min              | ±11.25 min                |
    | 2   | breaks_frequency       | every 2 … 5 blocks       | ±0.75 blocks              |
    | 3   | start_hour             | 07:00 … 10:00            | ±0.75 h                   |
    | 4   | daily_learning_minutes | 60 … 300 min             | ±60 min                   |
    | 5   | subject_rotation       | 0 … 1                    | ±0.25                     |
    | 6   | break_duration_minutes | 5 … 20 min               | ±3.75 min                 |

    ``"absolute"`` (default): the action is the week's parameters in action units, as in
    ``Schedule-v0``, so a one-shot policy's actions mean the same here (and the first 18
    observation values are ``Schedule-v0``'s observation). ``"adjust"``: the week's
    parameters are last week's (the expert's proposal before week 1) plus ``ADJUST_STEP``
    (0.5) × action, clipped; a zero action keeps the schedule. Stepped parameters are
    rounded to their step after the change (a change under half a step, e.g. under 2.5
    minutes of block, keeps the value).

    Why absolute is the default, measured: a linear policy on the fixed observation parts,
    trained by an evolution strategy with the oracle reward (120 iterations × 32 episodes of
    256 families × 8 weeks, same seeds for both modes), reached 0.726 mean true satisfaction
    on 1,024 other families in absolute mode against 0.710 in adjust mode. Adjust starts
    higher (a zero policy serves the expert: 0.657, against the box centre's 0.497) but
    learns more slowly: an error in week 1 is carried into every later week.

    ## Observation Space

    ``Box(low, high, (111 + 47·weeks,), float32)`` — 487 values for 8 weeks — in named
    slices (``observation_layout(weeks)``; ``split_observation`` cuts them out):

    | Slice          | Size     | Contents                                                    | Min  | Max |
    |----------------|----------|-------------------------------------------------------------|------|-----|
    | profile        | 11       | questionnaire category scores, unanswered shares, age       | 0    | 1   |
    |                |          | (as ``Schedule-v0``'s observation 0–10)                     |      |     |
    | reference      | 7        | the expert rule's parameters, action units                  | -1   | 1   |
    | now            | 9        | the coming week: ``temporal.WEEK_FEATURES`` (season sin/cos | -1/0 | 1   |
    |                |          | −1–1; morning darkness, last week before a break, weeks to  |      |     |
    |                |          | it, first week back, weeks since, year progress: 0–1) and   |      |     |
    |                |          | ``progress`` = week / (weeks − 1); after the last week 0s, 1|      |     |
    | base           | 7        | last week's served parameters (the reference in week 1)     | -1   | 1   |
    | summary        | 31       | running summary of the feedback so far                      | 0    | 1   |
    |                |          | (``brightpath.history.SUMMARY_FEATURES``: weeks lived,      |      |     |
    |                |          | mean of each signal where observed, observed shares,        |      |     |
    |                |          | adjustment-kind shares)                                     |      |     |
    | last           | 46       | the token of the week just lived (zeros before week 1)      | -1/0 | 1   |
    | history        | weeks×46 | one token per lived week, in order, zeros after             | -1/0 | 1   |
    | history_mask   | weeks    | 1 for the lived weeks of ``history``                        | 0    | 1   |

    A token (``brightpath.history.TOKEN_FEATURES``, 46 values): the served parameters
    (7, action units), the week's date features (8), the feedback values (stars, three
    Likert items, comment sentiment, completion, adherence, adjustment count; 0–1, 0 when
    missing), six observed flags (stars, each Likert item, comment, app use), the
    adjustment kind one-hot (16, ``feedback.ADJUSTMENT_KINDS``) and ``lived`` (1). An MLP
    reads the fixed parts, a Transformer attends over ``history``, an RNN reads ``last``.

    ## Rewards

    Per week, the weighted mean of the reward source's heads (default satisfaction), in
    [0, 1]. ``reward_source="model"``: a history-aware reward model (a ``WeekScorer``)
    estimates the week's satisfaction from the schedule, the questionnaire, the date and
    the feedback history before the week (``WeekScoringRequest``), as a deployed system
    could; it can be wrong, and a policy can over-optimise it. ``reward_source="oracle"``:
    the week's hidden true satisfaction (an ablation: no deployed system sees it). The
    hidden truth is in ``info["true_satisfaction"]`` every step, for evaluation only.

    ## Starting State

    A family drawn uniformly from ``families`` when given, otherwise fresh from the
    population (``simulator.sample_families``); its survey habits
    (``simulator.sample_survey_habits``: 15 % never answer); a start week uniform among the
    school weeks of ``school_year`` that leave ``weeks`` school weeks before the summer.
    All from ``self.np_random``.

    ## Episode End

    Terminated after ``weeks`` steps (the episode is that many weeks: ``terminated=True``,
    no bootstrap). Never truncated. ``info`` every step: ``true_satisfaction``,
    ``true_engagement``, ``true_effectiveness`` (hidden truth of the week lived),
    ``proxy_satisfaction`` (the reward source's), ``params`` (float64 ``[7]``, parameter
    units), ``family_id``, ``week`` (0-based), ``date`` (its Monday, ISO text) and
    ``feedback`` (the family's report, a ``feedback.FEEDBACK_COLUMNS`` mapping, None where
    missing). ``reset``'s ``info``: ``family_id``, ``start_date``.

    ## Arguments

    * ``weeks``: episode length, 1–36 school weeks (default 8).
    * ``reward_source``: ``"model"`` (default) or ``"oracle"``.
    * ``reward_model``: with ``"model"``, an object with ``score_weeks`` (``WeekScorer``).
    * ``families``: a ``simulator.Families`` set to draw from; ``None`` = the population.
    * ``reward_weights``: head weights, e.g. ``{"satisfaction": 1, "engagement": 0.5}``.
    * ``action_mode``: ``"absolute"`` (default) or ``"adjust"``.
    * ``school_year``: the school year episodes start in (default 2025: August 2025–May 2026).
    * ``render_mode``: ``None``, ``"ansi"`` (the last week as text, with its feedback) or
      ``"rgb_array"`` (the last week as a timetable image with a bar per week of rewards so
      far, ``uint8 [H, W, 3]``; ``envs.rendering``).

    ## Example

    >>> import gymnasium as gym, envs
    >>> env = gym.make("BrightPath/ScheduleWeeks-v0", reward_source="oracle", weeks=4)
    >>> obs, info = env.reset(seed=0)
    >>> parts = split_observation(obs, weeks=4)
    >>> for week in range(4):
    ...     obs, reward, terminated, truncated, info = env.step(parts["reference"])  # the expert, every week
    >>> terminated, info["week"], 0.0 <= info["true_satisfaction"] <= 1.0
    (True, 3, True)
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 1}

    def __init__(
        self,
        weeks: int = DEFAULT_WEEKS,
        reward_source: RewardSource = "model",
        reward_model: Any = None,
        families: Families | None = None,
        reward_weights: Mapping[str, float] | None = None,
        action_mode: ActionMode = "absolute",
        school_year: int = DEFAULT_SCHOOL_YEAR,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode: expected None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.rewards = WeekRewards(reward_source, reward_model, reward_weights)
        self.episodes = WeekEpisodes(weeks, self.rewards, action_mode, school_year, families)
        self.weeks = self.episodes.weeks
        low, high = observation_bounds(self.weeks)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (N_PARAMS,), dtype=np.float32)
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self.episodes.reset(1, self.np_random)
        self._started = True
        return obs[0], {"family_id": int(info["family_id"][0]), "start_date": str(info["start_date"][0])}

    def step(self, action):
        if not self._started:
            raise RuntimeError("ScheduleWeeksEnv.step: call reset() first")
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (N_PARAMS,):
            raise ValueError(
                f"action: expected shape ({N_PARAMS},), the schedule parameters {PARAM_NAMES} "
                f"({self.episodes.action_mode}), got shape {action.shape}"
            )
        obs, reward, done, batch_info = self.episodes.step(action[None, :])
        feedback = self.episodes.last.feedback.row(0)
        info = {
            key: (value[0].copy() if key == "params" else value[0].item())
            for key, value in batch_info.items()
            if key != "date"
        }
        info["date"] = str(batch_info["date"][0])
        info["feedback"] = feedback
        if done:
            self._started = False
        return obs[0], float(reward[0]), done, False, info

    def render(self) -> str | np.ndarray | None:
        """The last lived week: ``"ansi"`` as text with its date and feedback, ``"rgb_array"`` as a
        timetable image with the rewards so far as bars; ``None`` without a render mode."""
        last = self.episodes.last
        if self.render_mode == "rgb_array":
            bars = [float(r[0]) for r in self.episodes.rewards_so_far] + [np.nan] * (
                self.weeks - len(self.episodes.rewards_so_far)
            )
            return timetable_image(last.layouts[0] if last is not None else EMPTY_LAYOUT, bars=bars)
        if self.render_mode != "ansi":
            return None
        if last is None:
            return "no week lived yet (call step)"
        week = self.episodes.week - 1
        feedback = last.feedback.row(0)
        said = ", ".join(
            f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}" for k, v in feedback.items() if v is not None
        )
        return (
            f"week {week + 1}/{self.weeks} (Monday {self.episodes.dates[0, week]}): "
            f"reward {float(self.episodes.rewards_so_far[-1][0]):.3f}\n"
            + render_week(last.layouts[0], last.params[0])
            + f"\nfeedback: {said or 'nothing'}"
        )


class ObservationPolicy:
    """Any observation → action function as a ``brightpath.adaptive.WeeklyPolicy``.

    ``actor(obs float32 [n, observation_size(weeks)]) -> actions [n, N_PARAMS]`` sees exactly the
    observations ``ScheduleWeeksEnv`` would give (``WeekObservations``), and its actions are read
    with the same ``action_mode``, so a policy trained on the environment is evaluated by
    ``brightpath.adaptive.evaluate_weekly_policy`` like the same-feedback baselines.

    Args:
        actor: the policy (e.g. a trained network's deterministic action).
        weeks: the episode length it was trained for (the observation's history slots).
        action_mode: as the environment's.
        name: row label.
    """

    def __init__(
        self,
        actor: Callable[[np.ndarray], np.ndarray],
        weeks: int = DEFAULT_WEEKS,
        action_mode: ActionMode = "absolute",
        name: str = "observation-policy",
    ) -> None:
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode: expected one of {ACTION_MODES}, got {action_mode!r}")
        self.actor, self.weeks, self.action_mode, self.name = actor, int(weeks), action_mode, name

    def start(self, answers: np.ndarray, child_age: np.ndarray, rng: np.random.Generator) -> None:
        self.observations = WeekObservations(self.weeks, answers, child_age)

    def act(self, week: int, context) -> np.ndarray:
        self._now = week_features(context)
        obs = self.observations.observation(week, self._now)
        actions = np.asarray(self.actor(obs), dtype=np.float64).reshape(len(obs), N_PARAMS)
        return unit_to_params(actions_to_unit(actions, self.observations.base, self.action_mode))

    def observe(self, week: int, params: np.ndarray, feedback: WeekFeedback) -> None:
        self.observations.record(week, params_to_unit(params), self._now, feedback)


__all__ = [
    "ACTION_MODES",
    "ADJUST_STEP",
    "DEFAULT_SCHOOL_YEAR",
    "DEFAULT_WEEKS",
    "NOW_FEATURES",
    "OBSERVATION_PARTS",
    "ObservationPolicy",
    "ScheduleWeeksEnv",
    "WeekEpisodes",
    "WeekObservations",
    "WeekRewards",
    "WeekScorer",
    "WeekScoringRequest",
    "actions_to_unit",
    "observation_bounds",
    "observation_layout",
    "observation_size",
    "split_observation",
]
