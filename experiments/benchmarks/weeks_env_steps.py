"""Benchmark: family-weeks per second of the batched multi-week environment, and the reward model's share.

One family-week = one family's week laid out, lived (hidden truth with the week's
temporal effects, weekly feedback), scored by the reward source and encoded into the
next observation: a step of ``envs.weeks_batch.ScheduleWeeksVectorEnv`` with ``num_envs``
families (``NUM_ENVS``) over whole ``weeks``-week episodes, resets included, with
actions drawn uniformly over the whole box. Each timing is the fastest of ``REPEATS``
after one warm-up episode (first reward-model calls trace; the first step of a process
reads every comment template with VADER once, about half a second, so the warm-up
episode is reported on its own).

* ``weeks/oracle_family_weeks_per_s``: ``reward_source="oracle"`` (the goal: ≥ 20,000 on 2 cores);
* ``weeks/oracle_first_episode_family_weeks_per_s``: the warm-up episode of a fresh process;
* ``weeks/model_family_weeks_per_s`` and ``weeks/reward_model_time_share`` (0–1): a stand-in
  reward model behind the ``WeekScorer`` protocol — the one-step attention reward model
  (``<model_dir>/reward`` when usable, else the shipped architecture trained for one epoch,
  ``experiments.benchmarks.reward_scoring.tiny_reward_model``) scoring each week's layouts,
  so the model's cost per family-week is that of the real architecture, history aside;
* ``weeks/tf_env_family_weeks_per_s``: the model-source path through the TF-Agents adapter
  (``agents.adapter.GymnasiumPyEnvironment`` + ``TFPyEnvironment``), as a PPO loop drives it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

NUM_ENVS = 1024
"""Families per batched step: the one-step environment's default PPO batch."""
WEEKS = 8
REPEATS = 3
GOAL_ORACLE_FAMILY_WEEKS_PER_S = 20_000.0


class AttentionStandIn:
    """A ``envs.weeks_env.WeekScorer`` that scores each week's layouts with a one-step reward model
    (``RewardScorer.score_layouts``), ignoring the history: the benchmark's model-source cost."""

    def __init__(self, scorer) -> None:
        self.scorer = scorer

    def score_weeks(self, request):
        return self.scorer.score_layouts(request.layouts, request.answers, request.child_age, request.grade_band)


def run(quick: bool = False) -> dict[str, float]:
    from brightpath.errors import ModelLoadError
    from brightpath.export import REWARD_SUBDIR, default_model_dir
    from brightpath.reward.scoring import RewardScorer
    from experiments.benchmarks.reward_scoring import tiny_reward_model

    num_envs, episodes = (256, 1) if quick else (NUM_ENVS, 2)
    first, oracle, _ = _episodes(num_envs, episodes, reward_source="oracle")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            scorer, exported = RewardScorer(default_model_dir() / REWARD_SUBDIR), 1.0
        except ModelLoadError:
            scorer, exported = RewardScorer(tiny_reward_model(Path(tmp) / REWARD_SUBDIR)), 0.0
        _, model, share = _episodes(num_envs, episodes, reward_model=AttentionStandIn(scorer))
        tf_env = _tf_environment(num_envs, episodes, reward_model=AttentionStandIn(scorer))
    return {
        "weeks/num_envs": float(num_envs),
        "weeks/weeks": float(WEEKS),
        "weeks/oracle_family_weeks_per_s": oracle,
        "weeks/goal_oracle_family_weeks_per_s": GOAL_ORACLE_FAMILY_WEEKS_PER_S,
        "weeks/oracle_first_episode_family_weeks_per_s": first,
        "weeks/model_family_weeks_per_s": model,
        "weeks/reward_model_time_share": share,
        "weeks/tf_env_family_weeks_per_s": tf_env,
        "weeks/used_exported_model": exported,
    }


def _episodes(num_envs: int, episodes: int, **env_kwargs) -> tuple[float, float, float]:
    """``(first-episode family-weeks/s, best family-weeks/s, reward-model time share)`` of
    ``episodes`` whole episodes (reset + ``WEEKS`` steps) per timing."""
    from envs.weeks_batch import ScheduleWeeksVectorEnv

    env = ScheduleWeeksVectorEnv(num_envs, weeks=WEEKS, **env_kwargs)
    rng = np.random.default_rng(0)
    env.reset(seed=0)

    def run_episodes():
        for _ in range(episodes):
            env.reset()
            for _ in range(WEEKS):
                env.step(rng.uniform(-1, 1, (num_envs, 7)))

    started = time.perf_counter()
    run_episodes()
    first = num_envs * WEEKS * episodes / (time.perf_counter() - started)
    best = (float("inf"), 0.0)
    for _ in range(REPEATS):
        env.rewards.model_seconds = 0.0
        started = time.perf_counter()
        run_episodes()
        best = min(best, (time.perf_counter() - started, env.rewards.model_seconds))
    seconds, model_seconds = best
    return first, num_envs * WEEKS * episodes / seconds, model_seconds / seconds


def _tf_environment(num_envs: int, episodes: int, **env_kwargs) -> float:
    """Family-weeks per second through the TF-Agents adapter (eager reset + steps)."""
    import tensorflow as tf
    from tf_agents.environments import tf_py_environment

    from agents.adapter import GymnasiumPyEnvironment
    from envs.weeks_batch import ScheduleWeeksVectorEnv

    tf_env = tf_py_environment.TFPyEnvironment(
        GymnasiumPyEnvironment(ScheduleWeeksVectorEnv(num_envs, weeks=WEEKS, **env_kwargs), seed=0)
    )
    rng = np.random.default_rng(0)

    def run_episodes():
        for _ in range(episodes):
            tf_env.reset()
            for _ in range(WEEKS):
                tf_env.step(tf.constant(rng.uniform(-1, 1, (num_envs, 7)), tf.float32))

    run_episodes()
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run_episodes()
        best = min(best, time.perf_counter() - started)
    return num_envs * WEEKS * episodes / best
