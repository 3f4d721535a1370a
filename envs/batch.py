"""``ScheduleVectorEnv``: ``num_envs`` schedule episodes at once, one reward-model call per step.

The batched path of ``envs.schedule_env.ScheduleEnv``: the same observation, action,
reward and info, but ``step`` lays out all ``num_envs`` weeks and scores them with a
single ``ScheduleRewards.score`` call (one ``RewardScorer.score_layouts`` batch), so
the reward model is never invoked one schedule at a time.

It is a ``gymnasium.vector.VectorEnv`` with next-step autoreset (Gymnasium's default):
every episode ends after one step, and the following ``step`` starts new episodes for
all sub-environments and ignores its actions. Training loops that call ``reset`` before
each decision (``agents.ppo.collect``) never pay for that extra step.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from brightpath.schedule import N_PARAMS
from brightpath.simulator import Families
from envs.schedule_env import (
    OBS_HIGH,
    OBS_LOW,
    RewardSource,
    ScheduleRewards,
    StepScores,
    draw_families,
    family_observation,
)


class ScheduleVectorEnv(VectorEnv):
    """``num_envs`` independent ``ScheduleEnv`` episodes scored in one batch.

    Args:
        num_envs: sub-environments (families per step), ≥ 1.
        reward_model, reward_source, families, reward_weights: as for ``ScheduleEnv``.

    Step returns ``(obs [N, 18], reward float32 [N], terminated bool [N] (all True),
    truncated bool [N] (all False), info)`` with ``info`` arrays of length N:
    ``true_satisfaction``, ``true_engagement``, ``true_effectiveness``,
    ``proxy_satisfaction``, ``params`` ``[N, 7]`` and ``family_id``.

    Attributes:
        rewards: the shared ``ScheduleRewards`` (its ``model_seconds`` counts reward-model time).
        step_seconds: wall seconds spent in scoring steps so far (layouts + reward source).
        last_scores: the ``StepScores`` of the last scoring step, or None.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int,
        reward_model: str | Path | Any | None = None,
        reward_source: RewardSource = "model",
        families: Families | None = None,
        reward_weights: Mapping[str, float] | None = None,
    ) -> None:
        if isinstance(num_envs, bool) or int(num_envs) != num_envs or num_envs < 1:
            raise ValueError(f"num_envs: expected an integer ≥ 1, got {num_envs!r}")
        if families is not None and len(families) == 0:
            raise ValueError("families: expected at least one family, got an empty set")
        self.num_envs = int(num_envs)
        self.rewards = ScheduleRewards(reward_source, reward_model, reward_weights)
        self.families = families
        self.single_observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, dtype=np.float32)
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (N_PARAMS,), dtype=np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.step_seconds = 0.0
        self.last_scores: StepScores | None = None
        self._families: Families | None = None
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """New families for every sub-environment; ``seed`` reseeds ``self.np_random``."""
        super().reset(seed=seed)
        self._families = draw_families(self.families, self.num_envs, self.np_random)
        self._obs = family_observation(self._families)
        return self._obs.copy(), {"family_id": self._families.family_id.copy()}

    def step(self, actions):
        if self._families is None:  # next-step autoreset: the previous step ended every episode
            obs, info = self.reset()
            zeros = np.zeros(self.num_envs, dtype=bool)
            return obs, np.zeros(self.num_envs, dtype=np.float32), zeros, zeros, info
        started = time.perf_counter()
        actions = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, N_PARAMS)
        scores = self.rewards.score(self._families, actions)
        self.step_seconds += time.perf_counter() - started
        self.last_scores = scores
        info = {
            "true_satisfaction": scores.true["satisfaction"],
            "true_engagement": scores.true["engagement"],
            "true_effectiveness": scores.true["effectiveness"],
            "proxy_satisfaction": scores.proxy["satisfaction"],
            "params": scores.params,
            "family_id": self._families.family_id.copy(),
        }
        self._families = None
        ones = np.ones(self.num_envs, dtype=bool)
        return self._obs.copy(), scores.reward, ones, ~ones, info
