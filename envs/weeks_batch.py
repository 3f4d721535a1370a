"""``ScheduleWeeksVectorEnv``: ``num_envs`` multi-week episodes stepped together, one reward-model call per step.

The batched path of ``envs.weeks_env.ScheduleWeeksEnv``: the same observation, action,
reward and info (as arrays over the sub-environments), but every step lays out, lives
and scores all ``num_envs`` families' weeks at once (``envs.weeks_env.WeekEpisodes``:
one ``build_layouts`` batch, one vectorised truth and feedback pass, one
``WeekScorer.score_weeks`` call).

It is a ``gymnasium.vector.VectorEnv`` with next-step autoreset (Gymnasium's default).
All sub-environments run episodes of the same length in lockstep, so they end together
after ``weeks`` steps, and the following ``step`` starts new episodes for all of them and
ignores its actions (reward 0, not terminated).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from brightpath.schedule import N_PARAMS
from brightpath.simulator import Families
from envs.schedule_env import RewardSource
from envs.weeks_env import DEFAULT_SCHOOL_YEAR, DEFAULT_WEEKS, ActionMode, WeekEpisodes, WeekRewards, observation_bounds


class ScheduleWeeksVectorEnv(VectorEnv):
    """``num_envs`` independent ``ScheduleWeeksEnv`` episodes stepped in one batch.

    Args:
        num_envs: sub-environments (families per step), ≥ 1.
        weeks, reward_source, reward_model, families, reward_weights, action_mode, school_year:
            as for ``ScheduleWeeksEnv``.

    Step returns ``(obs [N, 111 + 47·weeks], reward float32 [N], terminated bool [N],
    truncated bool [N] (all False), info)`` with ``info`` arrays of length N:
    ``true_satisfaction``, ``true_engagement``, ``true_effectiveness``,
    ``proxy_satisfaction``, ``params`` ``[N, 7]``, ``family_id``, ``week`` and ``date``
    (``datetime64[D]``). The families' feedback of the last step is
    ``episodes.last.feedback`` (a ``simulator.WeekFeedback``).

    Attributes:
        episodes: the shared ``WeekEpisodes`` core; ``rewards`` its ``WeekRewards``
            (``model_seconds`` counts reward-model time).
        step_seconds: wall seconds spent in living and scoring steps so far.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int,
        weeks: int = DEFAULT_WEEKS,
        reward_source: RewardSource = "model",
        reward_model: Any = None,
        families: Families | None = None,
        reward_weights: Mapping[str, float] | None = None,
        action_mode: ActionMode = "absolute",
        school_year: int = DEFAULT_SCHOOL_YEAR,
    ) -> None:
        if isinstance(num_envs, bool) or int(num_envs) != num_envs or num_envs < 1:
            raise ValueError(f"num_envs: expected an integer ≥ 1, got {num_envs!r}")
        self.num_envs = int(num_envs)
        self.rewards = WeekRewards(reward_source, reward_model, reward_weights)
        self.episodes = WeekEpisodes(weeks, self.rewards, action_mode, school_year, families)
        self.weeks = self.episodes.weeks
        low, high = observation_bounds(self.weeks)
        self.single_observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (N_PARAMS,), dtype=np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.step_seconds = 0.0
        self._ended = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """New families, survey habits and start weeks for every sub-environment; ``seed`` reseeds ``np_random``."""
        super().reset(seed=seed)
        obs, info = self.episodes.reset(self.num_envs, self.np_random)
        self._ended = False
        return obs, info

    def step(self, actions):
        if self._ended:  # next-step autoreset: the previous step ended every episode (or none began)
            obs, info = self.reset()
            zeros = np.zeros(self.num_envs, dtype=bool)
            return obs, np.zeros(self.num_envs, dtype=np.float32), zeros, zeros, info
        started = time.perf_counter()
        obs, reward, done, info = self.episodes.step(np.asarray(actions, dtype=np.float64))
        self.step_seconds += time.perf_counter() - started
        self._ended = done
        return obs, reward, np.full(self.num_envs, done), np.zeros(self.num_envs, dtype=bool), info
