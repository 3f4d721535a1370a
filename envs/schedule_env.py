"""``ScheduleEnv``: write one family's weekly schedule and be scored for it (a contextual bandit).

The reinforcement-learning view of the seed plan's section 3: the state is the family
(questionnaire answers, the child's age) and the expert rule's proposal for it, the
action is a normalised schedule-parameter vector, the reward is the learned reward
model's verdict on the week those parameters lay out. Everything that turns an action
into a reward lives in ``ScheduleRewards`` so the single environment here and the
batched one in ``envs.batch`` score schedules with exactly the same code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from brightpath.expert import expert_params
from brightpath.features import N_PROFILE_FEATURES, PROFILE_FEATURES, profile_features
from brightpath.schedule import (
    LAYOUT_COLUMNS,
    N_PARAMS,
    PARAM_NAMES,
    LayoutBatch,
    build_layouts,
    params_to_unit,
    summarize_many,
    unit_to_params,
)
from brightpath.simulator import Families, sample_families, true_scores
from envs.rendering import render_week, timetable_image

RewardSource = Literal["model", "oracle"]
REWARD_SOURCES: tuple[str, ...] = ("model", "oracle")
HEADS: tuple[str, ...] = ("satisfaction", "engagement", "effectiveness")
"""The reward model's (and the simulator's) three scores, each in [0, 1]."""
DEFAULT_REWARD_WEIGHTS: Mapping[str, float] = {"satisfaction": 1.0, "engagement": 0.0, "effectiveness": 0.0}
EMPTY_LAYOUT = np.zeros((0, len(LAYOUT_COLUMNS)), dtype=np.int32)
"""A week without blocks: what ``render`` draws before the first step."""

OBSERVATION_NAMES: tuple[str, ...] = PROFILE_FEATURES + tuple(f"reference_{name}" for name in PARAM_NAMES)
OBS_DIM = len(OBSERVATION_NAMES)
REFERENCE_SLICE = slice(N_PROFILE_FEATURES, OBS_DIM)
"""Where the expert rule's parameters (unit scale) sit in an observation."""
OBS_LOW = np.concatenate([np.zeros(N_PROFILE_FEATURES), -np.ones(N_PARAMS)]).astype(np.float32)
OBS_HIGH = np.ones(OBS_DIM, dtype=np.float32)


def observation(answers, child_age, xp=np):
    """Observations ``[batch, 18]`` for raw answers ``[batch, 25]`` (Likert 1–5, 0 = missing) and ages ``[batch]``.

    ``features.profile_features`` (11 values in [0, 1]) followed by the expert rule's
    parameters mapped to [-1, 1] (``schedule.params_to_unit(expert.expert_params(...))``).
    Written against an array namespace ``xp`` so an exported generator graph
    (``xp=brightpath.tf_namespace.tf_namespace()``) computes exactly what the policy saw.
    """
    profile = profile_features(answers, child_age, xp)
    reference = params_to_unit(expert_params(answers, child_age, xp), xp)
    obs = xp.concatenate([profile, reference], axis=-1)
    # Float rounding may put a value an ulp outside the box; the spaces are exact.
    return xp.clip(obs, xp.asarray(OBS_LOW, dtype=obs.dtype), xp.asarray(OBS_HIGH, dtype=obs.dtype))


def family_observation(families: Families) -> np.ndarray:
    """``observation`` of simulated families, float32 ``[len(families), 18]``."""
    return observation(families.answers, families.child_age).astype(np.float32)


@dataclass(frozen=True)
class StepScores:
    """What scoring ``n`` schedules produced.

    Attributes:
        params: float64 ``[n, N_PARAMS]`` valid schedule parameters (``schedule.PARAM_NAMES`` units).
        layouts: the weeks those parameters lay out (``schedule.build_layouts``; ``layouts[i]``
            is family ``i``'s ``[n_blocks, 5]`` layout).
        reward: float32 ``[n]`` the weighted reward-source heads, in [0, 1].
        proxy: the reward source's ``HEADS`` scores (the reward model's, or the truth
            under ``reward_source="oracle"``), float32 ``[n]`` each.
        true: the simulator's hidden ``HEADS`` scores, float64 ``[n]`` each (evaluation only).
    """

    params: np.ndarray
    layouts: LayoutBatch
    reward: np.ndarray
    proxy: dict[str, np.ndarray]
    true: dict[str, np.ndarray]


class ScheduleRewards:
    """Turns normalised actions into schedules and scores many of them per reward-model call.

    Args:
        reward_source: ``"model"`` — the exported Keras attention reward model (the
            learned proxy); ``"oracle"`` — the simulator's hidden scores (ablations only:
            no deployed generator can see them).
        reward_model: with ``reward_source="model"``: a reward SavedModel directory
            (``<model_dir>/reward``), or an object with the
            ``brightpath.reward.scoring.RewardScorer.score_layouts`` method; ``None``
            means ``brightpath.export.default_model_dir() / "reward"``.
        reward_weights: weight of each head in ``HEADS`` (non-negative, summing above
            0); the reward is their weighted mean. Default: satisfaction only.

    Attributes:
        model_seconds: wall seconds spent inside the reward source so far (reset freely).
        score_calls: how many times the reward source was called.
    """

    def __init__(
        self,
        reward_source: RewardSource = "model",
        reward_model: str | Path | Any | None = None,
        reward_weights: Mapping[str, float] | None = None,
    ) -> None:
        if reward_source not in REWARD_SOURCES:
            raise ValueError(f"reward_source: expected one of {REWARD_SOURCES}, got {reward_source!r}")
        self.reward_source = reward_source
        weights = dict(DEFAULT_REWARD_WEIGHTS if reward_weights is None else reward_weights)
        unknown = sorted(set(weights) - set(HEADS))
        if unknown:
            raise ValueError(f"reward_weights: unknown heads {unknown}; expected keys among {HEADS}")
        self.weights = {head: float(weights.get(head, 0.0)) for head in HEADS}
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError(f"reward_weights: expected non-negative weights summing above 0, got {self.weights}")
        self.scorer = _load_scorer(reward_model) if reward_source == "model" else None
        self.model_seconds = 0.0
        self.score_calls = 0

    def score(self, families: Families, unit_actions: np.ndarray) -> StepScores:
        """Lay out and score one schedule per family.

        Args:
            families: ``n`` families.
            unit_actions: ``[n, N_PARAMS]`` actions; any real numbers (clipped to [-1, 1]).
        """
        unit = np.asarray(unit_actions, dtype=np.float64)
        if unit.size != len(families) * N_PARAMS:
            raise ValueError(
                f"action: expected {N_PARAMS} normalised schedule parameters per family "
                f"({len(families)} families), got an array of shape {unit.shape}"
            )
        unit = unit.reshape(len(families), N_PARAMS)
        params = unit_to_params(unit)
        layouts = build_layouts(params, families.grade_band)
        true = true_scores(families, summarize_many(layouts, families.grade_band))
        started = time.perf_counter()
        if self.scorer is None:
            proxy = {head: np.asarray(true[head], dtype=np.float32) for head in HEADS}
        else:
            scored = self.scorer.score_layouts(layouts, families.answers, families.child_age, families.grade_band)
            proxy = {head: np.asarray(scored[head], dtype=np.float32).reshape(len(families)) for head in HEADS}
        self.model_seconds += time.perf_counter() - started
        self.score_calls += 1
        total = sum(self.weights.values())
        reward = sum(w * proxy[head] for head, w in self.weights.items() if w > 0) / total
        return StepScores(params, layouts, np.asarray(reward, dtype=np.float32), proxy, true)


def _load_scorer(reward_model: str | Path | Any | None) -> Any:
    if reward_model is not None and hasattr(reward_model, "score_layouts"):
        return reward_model
    from brightpath.export import REWARD_SUBDIR, default_model_dir
    from brightpath.reward.scoring import RewardScorer

    return RewardScorer(Path(reward_model) if reward_model is not None else default_model_dir() / REWARD_SUBDIR)


class ScheduleEnv(gym.Env):
    """Write a weekly homeschool schedule for one family; the reward model scores it.

    ## Description

    Each episode is one family and one decision, as in RLHF on a single response: the
    agent sees the family's questionnaire profile and the seed plan's rule-based
    ("expert") proposal, answers with seven normalised schedule parameters, and the
    week those parameters lay out (``brightpath.schedule.build_layout``) is scored.
    Invalid schedules are prevented by construction, not penalised: every action is
    clipped to [-1, 1] and mapped by ``schedule.unit_to_params`` onto a valid
    parameter vector, and ``build_layout`` always yields a valid Monday–Friday week
    (ordered, non-overlapping blocks inside the school day).

    ## Action Space

    ``Box(-1, 1, (7,), float32)``: the schedule parameters, each mapped linearly from
    [-1, 1] onto its range and rounded to its step (``schedule.PARAM_SPECS``).

    | Num | Parameter              | -1 means      | +1 means      |
    |-----|------------------------|---------------|---------------|
    | 0   | structure_level        | 0 (flexible)  | 1 (same daily)|
    | 1   | block_duration_minutes | 15 min        | 60 min        |
    | 2   | breaks_frequency       | every 2 blocks| every 5 blocks|
    | 3   | start_hour             | 07:00         | 10:00         |
    | 4   | daily_learning_minutes | 60 min        | 300 min       |
    | 5   | subject_rotation       | 0 (long runs) | 1 (switch)    |
    | 6   | break_duration_minutes | 5 min         | 20 min        |

    ## Observation Space

    ``Box(OBS_LOW, OBS_HIGH, (18,), float32)`` (``observation``):

    | Num   | Observation                                                    | Min | Max |
    |-------|----------------------------------------------------------------|-----|-----|
    | 0–4   | category scores: flexibility, rotation, time management,       | 0   | 1   |
    |       | long-term planning, prioritization (mean answered item, 0–1)   |     |     |
    | 5–9   | share of each category's five items left unanswered            | 0   | 1   |
    | 10    | child age scaled, (age − 5) / 13                               | 0   | 1   |
    | 11–17 | the expert rule's parameters in action units (the reference)   | -1  | 1   |

    ## Rewards

    The weighted mean of the reward source's heads (``reward_weights``; default the
    satisfaction head alone), in [0, 1]. With ``reward_source="model"`` it is the
    learned Keras attention reward model's prediction: a proxy trained on noisy,
    partly missing family feedback near the schedules families were given, so it can
    be wrong far from them, and a policy that maximises it can find weeks the model
    overrates (reward over-optimisation). The hidden truth (``simulator.true_scores``,
    which also depends on traits the questionnaire cannot see) is reported in
    ``info["true_satisfaction"]`` for evaluation only. ``reward_source="oracle"``
    rewards with that hidden truth itself (an ablation).

    ## Starting State

    A family drawn uniformly from ``families`` when given (e.g. the held-out test
    families of a dataset), otherwise a fresh family from the simulator population
    (``simulator.sample_families``), using only ``self.np_random``.

    ## Episode End

    Terminated after the single step (``terminated=True``). Never truncated.
    ``info`` on that step: ``true_satisfaction``, ``true_engagement``,
    ``true_effectiveness`` (hidden truth), ``proxy_satisfaction`` (the reward
    source's satisfaction head), ``params`` (float64 ``[7]``, ``PARAM_NAMES`` units)
    and ``family_id``.

    ## Arguments

    * ``reward_model``: reward SavedModel directory, or an object with
      ``score_layouts`` (see ``ScheduleRewards``); default ``<model_dir>/reward``.
    * ``reward_source``: ``"model"`` (default) or ``"oracle"``.
    * ``families``: a ``simulator.Families`` set to draw from; ``None`` = the population.
    * ``reward_weights``: head weights, e.g. ``{"satisfaction": 1, "engagement": 0.5}``.
    * ``render_mode``: ``None``, ``"ansi"`` (the last week as text) or ``"rgb_array"`` (the last
      week as a timetable image, ``uint8 [H, W, 3]``; ``envs.rendering.timetable_image``).

    ## Example

    >>> import gymnasium as gym, envs
    >>> env = gym.make("BrightPath/Schedule-v0", reward_source="oracle")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(obs[11:])  # follow the expert
    >>> terminated, 0.0 <= reward <= 1.0, "true_satisfaction" in info
    (True, True, True)
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 1}

    def __init__(
        self,
        reward_model: str | Path | Any | None = None,
        reward_source: RewardSource = "model",
        families: Families | None = None,
        reward_weights: Mapping[str, float] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode: expected None or one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        if families is not None and len(families) == 0:
            raise ValueError("families: expected at least one family, got an empty set")
        self.render_mode = render_mode
        self.rewards = ScheduleRewards(reward_source, reward_model, reward_weights)
        self.families = families
        self.observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (N_PARAMS,), dtype=np.float32)
        self._family: Families | None = None
        self._obs: np.ndarray | None = None
        self._last: StepScores | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._family = draw_families(self.families, 1, self.np_random)
        self._obs = family_observation(self._family)[0]
        self._last = None
        return self._obs.copy(), {"family_id": int(self._family.family_id[0])}

    def step(self, action):
        if self._family is None:
            raise RuntimeError("ScheduleEnv.step: call reset() first (each episode is one step)")
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (N_PARAMS,):
            raise ValueError(
                f"action: expected shape ({N_PARAMS},), the normalised schedule parameters "
                f"{PARAM_NAMES}, got shape {action.shape}"
            )
        scores = self.rewards.score(self._family, action[None, :])
        self._last = scores
        info = {
            "true_satisfaction": float(scores.true["satisfaction"][0]),
            "true_engagement": float(scores.true["engagement"][0]),
            "true_effectiveness": float(scores.true["effectiveness"][0]),
            "proxy_satisfaction": float(scores.proxy["satisfaction"][0]),
            "params": scores.params[0].copy(),
            "family_id": int(self._family.family_id[0]),
        }
        self._family = None  # the episode is over; the next step needs a reset
        return self._obs.copy(), float(scores.reward[0]), True, False, info

    def render(self) -> str | np.ndarray | None:
        """The last scored week: ``"ansi"`` as text (one line per day), ``"rgb_array"`` as a timetable
        image ``uint8 [H, W, 3]`` (``envs.rendering``; an empty timetable before the first step);
        ``None`` without a render mode."""
        if self.render_mode == "rgb_array":
            return timetable_image(self._last.layouts[0] if self._last is not None else EMPTY_LAYOUT)
        if self.render_mode != "ansi":
            return None
        if self._last is None:
            return "no schedule written yet (call step)"
        return render_week(self._last.layouts[0], self._last.params[0])


def draw_families(families: Families | None, n: int, rng: np.random.Generator) -> Families:
    """``n`` families: uniformly with replacement from ``families``, or fresh from the population."""
    if families is None:
        return sample_families(n, rng)
    return families.take(rng.integers(0, len(families), size=n))
