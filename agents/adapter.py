"""Gymnasium → TF-Agents: a ``PyEnvironment`` around a Gymnasium ``Env`` or ``VectorEnv``.

TF-Agents 0.19 only wraps the old ``gym`` API, so this small adapter does it for
Gymnasium 1.x. A ``VectorEnv`` becomes a *batched* ``PyEnvironment``
(``batched=True``, ``batch_size=num_envs``) whose steps go to the vector env whole,
which for ``envs.batch.ScheduleVectorEnv`` means one reward-model call per step.

Episode boundaries follow TF-Agents' conventions: ``terminated`` gives a ``LAST`` step
with discount 0, ``truncated`` a ``LAST`` step with discount 1 (bootstrap), and the
step after a ``LAST`` starts a new episode (``FIRST``) and ignores its action, which
is exactly Gymnasium's next-step autoreset. Only ``Box`` spaces are supported.
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)

# isort: on
import copy
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from tf_agents.environments import py_environment, tf_py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts


def box_to_spec(space: gym.Space, name: str) -> array_spec.BoundedArraySpec:
    """A ``BoundedArraySpec`` with the shape, dtype and bounds of a ``gymnasium.spaces.Box``."""
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(f"{name}: only gymnasium.spaces.Box is supported, got {space!r}")
    return array_spec.BoundedArraySpec(space.shape, space.dtype, minimum=space.low, maximum=space.high, name=name)


class GymnasiumPyEnvironment(py_environment.PyEnvironment):
    """A TF-Agents ``PyEnvironment`` backed by a Gymnasium environment.

    Args:
        env: a ``gymnasium.Env``, or a ``gymnasium.vector.VectorEnv`` with next-step
            autoreset (then the environment is batched, ``batch_size = num_envs``).
        seed: passed to the first ``reset`` (``env.reset(seed=seed)``); later resets
            continue the environment's own RNG, so a run is reproducible from one seed.

    ``get_info()`` returns the ``info`` of the last reset or step; ``get_state()`` and
    ``set_state()`` save and restore the environment's RNG (for checkpoints).
    """

    def __init__(self, env: gym.Env | VectorEnv, *, seed: int | None = None) -> None:
        super().__init__(handle_auto_reset=False)
        self._env = env
        self._vector = isinstance(env.unwrapped, VectorEnv)
        if self._vector:
            mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
            if mode != AutoresetMode.NEXT_STEP:
                raise ValueError(f"env: expected a VectorEnv with next-step autoreset, got autoreset_mode={mode}")
            obs_space, act_space = env.single_observation_space, env.single_action_space
        else:
            obs_space, act_space = env.observation_space, env.action_space
        self._observation_spec = box_to_spec(obs_space, "observation")
        self._action_spec = box_to_spec(act_space, "action")
        self._pending_seed = seed
        self._done: np.ndarray | None = None
        self._info: Any = None

    @property
    def batched(self) -> bool:
        return self._vector

    @property
    def batch_size(self) -> int | None:
        return int(self._env.num_envs) if self._vector else None

    @property
    def gym_env(self) -> gym.Env | VectorEnv:
        """The wrapped Gymnasium environment."""
        return self._env

    def observation_spec(self) -> array_spec.BoundedArraySpec:
        return self._observation_spec

    def action_spec(self) -> array_spec.BoundedArraySpec:
        return self._action_spec

    def get_info(self) -> Any:
        return self._info

    def get_state(self) -> dict:
        """``{"np_random": <bit generator state>, "pending_seed": int | None}`` (JSON-serialisable)."""
        return {
            "np_random": copy.deepcopy(self._env.unwrapped.np_random.bit_generator.state),
            "pending_seed": self._pending_seed,
        }

    def set_state(self, state: dict) -> None:
        """Restore the RNG saved by ``get_state``; the next step or reset starts a new episode."""
        self._env.unwrapped.np_random.bit_generator.state = copy.deepcopy(state["np_random"])
        self._pending_seed = state["pending_seed"]
        self._done = None
        self._current_time_step = None

    def close(self) -> None:
        self._env.close()

    def _reset(self) -> ts.TimeStep:
        seed, self._pending_seed = self._pending_seed, None
        obs, self._info = self._env.reset(seed=seed)
        n = self.batch_size
        self._done = np.zeros(n or (), dtype=bool)
        return ts.TimeStep(
            step_type=np.full(n or (), ts.StepType.FIRST, dtype=np.int32),
            reward=np.zeros(n or (), dtype=np.float32),
            discount=np.ones(n or (), dtype=np.float32),
            observation=np.asarray(obs, dtype=self._observation_spec.dtype),
        )

    def _step(self, action) -> ts.TimeStep:
        if self._done is None or (not self._vector and bool(self._done)):
            return self.reset()
        action = np.asarray(action, dtype=self._action_spec.dtype)
        obs, reward, terminated, truncated, self._info = self._env.step(action)
        terminated, truncated = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        restarted = self._done  # next-step autoreset: these sub-environments were reset by this step
        ended = terminated | truncated
        step_type = np.where(restarted, ts.StepType.FIRST, np.where(ended, ts.StepType.LAST, ts.StepType.MID))
        discount = np.where(terminated & ~restarted, 0.0, 1.0)
        reward = np.where(restarted, 0.0, np.asarray(reward, dtype=np.float64))
        self._done = ended & ~restarted
        return ts.TimeStep(
            step_type=step_type.astype(np.int32),
            reward=reward.astype(np.float32),
            discount=discount.astype(np.float32),
            observation=np.asarray(obs, dtype=self._observation_spec.dtype),
        )


def schedule_tf_environment(num_envs: int, *, seed: int, env_id: str | None = None, **env_kwargs: Any):
    """The batched training environment: the vector env → ``GymnasiumPyEnvironment`` → ``TFPyEnvironment``.

    Args:
        num_envs: families scored per step (one reward-model call each step).
        seed: the environment's seed (first reset).
        env_id: ``envs.ENV_ID`` (default: ``BrightPath/Schedule-v0``, batched by
            ``envs.batch.ScheduleVectorEnv``) or ``envs.WEEKS_ENV_ID`` (``BrightPath/ScheduleWeeks-v0``,
            batched by ``envs.weeks_batch.ScheduleWeeksVectorEnv``).
        env_kwargs: ``reward_model``, ``reward_source``, ``families``, ``reward_weights`` (see
            ``envs.schedule_env.ScheduleEnv``); for the weeks environment also ``weeks``,
            ``action_mode``, ``school_year`` (``envs.weeks_env.ScheduleWeeksEnv``).
    """
    import envs

    vector_env = gym.make_vec(
        env_id or envs.ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs
    )
    return tf_py_environment.TFPyEnvironment(GymnasiumPyEnvironment(vector_env, seed=seed))
