"""Benchmark: schedule-environment steps per second, batched vs one at a time, and the reward model's share.

One environment step = one family's decision scored (``reset`` + ``step`` of a one-step
episode), with actions drawn uniformly over the whole box (what an exploring policy visits;
longer weeks than the expert's, so slower than a trained policy's). Measured with the
reward model of ``<model_dir>/reward`` when it is usable, else with the shipped attention
architecture trained for one epoch (speed depends on the architecture, not the weights;
``experiments.benchmarks.reward_scoring``). Each timing is the fastest of ``REPEATS``.

* ``env/batched_steps_per_s``: ``envs.batch.ScheduleVectorEnv`` with ``num_envs`` families
  per step (the default PPO batch), one reward-model call per step;
* ``env/single_steps_per_s``: ``envs.schedule_env.ScheduleEnv``, one reward-model call per
  decision, and ``env/batched_speedup`` the ratio;
* ``env/reward_model_time_share`` (and ``env/single_reward_model_time_share``): the share of
  the stepping time spent inside ``RewardScorer.score_layouts``, 0–1;
* ``env/oracle_batched_steps_per_s``: the batched path with the hidden-truth reward (no model);
  goal ≥ ``GOAL_ORACLE_STEPS_PER_S`` on 2 cores (issue 11);
* ``env/oracle_batched_steps_per_s_one_week_at_a_time``: the same, with each week laid out by
  ``schedule.build_layout`` in a Python loop and the weeks joined again (the path before
  ``schedule.build_layouts``), measured in the same run; ``env/oracle_layout_speedup`` the ratio;
* ``oracle/search_seconds`` and ``oracle/search_seconds_one_week_at_a_time``: ``oracle_search``
  on ``ORACLE_FAMILIES`` families (the evaluation's held-out set size), the other heavy user of
  the layout path, both ways, and ``oracle/search_speedup``;
* ``env/tf_env_steps_per_s``: the batched path through the TF-Agents adapter
  (``TFPyEnvironment``), as the PPO loop drives it.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

NUM_ENVS = 1024
"""Families per batched step: the default ``env.num_envs``."""
REPEATS = 3
GOAL_ORACLE_STEPS_PER_S = 20_000.0
ORACLE_FAMILIES = 1_000


def run(quick: bool = False) -> dict[str, float]:
    from brightpath.errors import ModelLoadError
    from brightpath.export import REWARD_SUBDIR, default_model_dir
    from brightpath.reward.scoring import RewardScorer
    from experiments.benchmarks.reward_scoring import tiny_reward_model

    num_envs, batched_steps, single_steps = (256, 2, 50) if quick else (NUM_ENVS, 5, 500)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            scorer, exported = RewardScorer(default_model_dir() / REWARD_SUBDIR), 1.0
        except ModelLoadError:
            scorer, exported = RewardScorer(tiny_reward_model(Path(tmp) / REWARD_SUBDIR)), 0.0
        batched, batched_share = _batched(num_envs, batched_steps, reward_model=scorer)
        single, single_share = _single(single_steps, reward_model=scorer)
        oracle, _ = _batched(num_envs, batched_steps, reward_source="oracle")
        with _layouts_one_week_at_a_time():
            oracle_one_by_one, _ = _batched(num_envs, batched_steps, reward_source="oracle")
        tf_env = _tf_environment(num_envs, batched_steps, reward_model=scorer)
    search = _oracle_search(100 if quick else ORACLE_FAMILIES)
    with _layouts_one_week_at_a_time():
        search_one_by_one = _oracle_search(100 if quick else ORACLE_FAMILIES)
    return {
        "env/num_envs": float(num_envs),
        "env/batched_steps_per_s": batched,
        "env/single_steps_per_s": single,
        "env/batched_speedup": batched / single,
        "env/reward_model_time_share": batched_share,
        "env/single_reward_model_time_share": single_share,
        "env/oracle_batched_steps_per_s": oracle,
        "env/goal_oracle_batched_steps_per_s": GOAL_ORACLE_STEPS_PER_S,
        "env/oracle_batched_steps_per_s_one_week_at_a_time": oracle_one_by_one,
        "env/oracle_layout_speedup": oracle / oracle_one_by_one,
        "oracle/families": float(100 if quick else ORACLE_FAMILIES),
        "oracle/search_seconds": search,
        "oracle/search_seconds_one_week_at_a_time": search_one_by_one,
        "oracle/search_speedup": search_one_by_one / search,
        "env/tf_env_steps_per_s": tf_env,
        "env/used_exported_model": exported,
    }


def _batched(num_envs: int, steps: int, **env_kwargs) -> tuple[float, float]:
    """``(decisions per second, reward-model time share)`` of ``steps`` batched reset+step rounds."""
    from envs.batch import ScheduleVectorEnv

    env = ScheduleVectorEnv(num_envs, **env_kwargs)
    rng = np.random.default_rng(0)
    env.reset(seed=0)

    def rounds():
        for _ in range(steps):
            env.reset()
            env.step(rng.uniform(-1, 1, (num_envs, 7)))

    seconds, model_seconds = _best_of(rounds, env.rewards)
    return num_envs * steps / seconds, model_seconds / seconds


def _single(steps: int, **env_kwargs) -> tuple[float, float]:
    """``(decisions per second, reward-model time share)`` of ``steps`` one-family episodes."""
    from envs.schedule_env import ScheduleEnv

    env = ScheduleEnv(**env_kwargs)
    rng = np.random.default_rng(0)
    env.reset(seed=0)

    def episodes():
        for _ in range(steps):
            env.reset()
            env.step(rng.uniform(-1, 1, 7))

    seconds, model_seconds = _best_of(episodes, env.rewards)
    return steps / seconds, model_seconds / seconds


def _tf_environment(num_envs: int, steps: int, **env_kwargs) -> float:
    """Decisions per second through ``agents.adapter.schedule_tf_environment`` (eager reset + step)."""
    import tensorflow as tf

    from agents.adapter import schedule_tf_environment

    tf_env = schedule_tf_environment(num_envs, seed=0, **env_kwargs)
    rng = np.random.default_rng(0)

    def rounds():
        for _ in range(steps):
            tf_env.reset()
            tf_env.step(tf.constant(rng.uniform(-1, 1, (num_envs, 7)), tf.float32))

    seconds, _ = _best_of(rounds, tf_env.pyenv.gym_env.unwrapped.rewards)
    return num_envs * steps / seconds


def _oracle_search(n_families: int) -> float:
    """Seconds of one ``oracle_search`` over ``n_families`` fresh families (seeded; one call: it takes seconds)."""
    from brightpath.oracle import oracle_search
    from brightpath.simulator import sample_families

    families = sample_families(n_families, np.random.default_rng(2026))
    started = time.perf_counter()
    oracle_search(families, np.random.default_rng(0))
    return time.perf_counter() - started


@contextlib.contextmanager
def _layouts_one_week_at_a_time() -> Iterator[None]:
    """Within the block, the environment and ``summarize_params`` lay weeks out one at a time with
    ``build_layout`` and join them, as before ``build_layouts`` existed: the baseline of the speedups."""
    import brightpath.schedule.summary as summary
    import envs.schedule_env as schedule_env
    from brightpath.schedule import LayoutBatch, ScheduleParams, build_layout

    def one_week_at_a_time(param_vectors, grade_bands):
        return LayoutBatch.from_layouts(
            [
                build_layout(ScheduleParams.from_vector(v), int(b))
                for v, b in zip(np.asarray(param_vectors), np.asarray(grade_bands))
            ]
        )

    batched = (schedule_env.build_layouts, summary.build_layouts)
    schedule_env.build_layouts = summary.build_layouts = one_week_at_a_time
    try:
        yield
    finally:
        schedule_env.build_layouts, summary.build_layouts = batched


def _best_of(call, rewards) -> tuple[float, float]:
    """``(seconds, reward-model seconds)`` of the fastest of ``REPEATS`` timed calls, after one
    warm-up call (first model calls trace): the timing least disturbed by other work."""
    call()
    best = (float("inf"), 0.0)
    for _ in range(REPEATS):
        rewards.model_seconds = 0.0
        started = time.perf_counter()
        call()
        best = min(best, (time.perf_counter() - started, rewards.model_seconds))
    return best
