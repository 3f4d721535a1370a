"""Checkpoints of a PPO training run: everything needed to continue it exactly after a kill.

A checkpoint (TF-Agents ``Checkpointer``) holds the agent (networks, optimiser state,
observation and reward normalisers), its greedy policy, the global step, the number of
completed iterations, the learner's random generator (action noise, minibatch order), and
a JSON record of the environment's RNG state and the metric history so far. Restoring it and
running the remaining iterations computes exactly what an uninterrupted run computes.

    checkpoint = TrainingCheckpoint(run_checkpoint_dir(root, "ppo-mlp-s0"), learner, py_env,
                                    max_to_keep=2, resume=True)
    history = train_ppo(learner, tf_env, checkpoint=checkpoint)  # continues after the restored iterations
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)

# isort: on
import json
import logging
import shutil
from pathlib import Path
from typing import Any, Protocol

import tensorflow as tf
from tf_agents.utils import common

from agents.ppo import PPOLearner

log = logging.getLogger(__name__)

TF_CHECKPOINT_SUBDIR = "tf"


class StatefulEnvironment(Protocol):
    """An environment whose random state can be saved and restored (``agents.adapter.GymnasiumPyEnvironment``)."""

    def get_state(self) -> Any: ...

    def set_state(self, state: Any) -> None: ...


def run_checkpoint_dir(checkpoint_root: str | Path, run_name: str) -> Path:
    """Where one run keeps its checkpoints: ``<checkpoint_root>/<run_name>``."""
    return Path(checkpoint_root) / str(run_name)


class TrainingCheckpoint:
    """The checkpoints of one run in ``directory`` (see the module docstring).

    Args:
        directory: the run's checkpoint directory (``run_checkpoint_dir``).
        learner: the ``PPOLearner`` whose agent and random generator are saved.
        env: the Python environment whose RNG state is saved (JSON-serialisable state).
        max_to_keep: checkpoints kept on disk (older ones are deleted).
        resume: True restores the latest checkpoint in ``directory``, if any; False deletes
            the directory's old checkpoints and starts from iteration 0.

    Attributes:
        start_iteration: completed iterations restored (0 for a fresh start).
        history: the metric history restored (one dict per completed iteration).
        restored_env_steps: environment steps of the restored iterations (0 for a fresh start).
    """

    def __init__(
        self, directory: str | Path, learner: PPOLearner, env: StatefulEnvironment, *, max_to_keep: int, resume: bool
    ) -> None:
        self.directory = Path(directory)
        self._env = env
        if not resume and self.directory.exists():
            log.info("resume=false: removing old checkpoints in %s", self.directory)
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        agent = learner.agent
        self._agent = agent
        self._iteration = tf.Variable(0, dtype=tf.int64, trainable=False, name="iteration")
        self._state = tf.Variable("", dtype=tf.string, trainable=False, name="run_state")
        self._checkpointer = common.Checkpointer(
            ckpt_dir=str(self.directory / TF_CHECKPOINT_SUBDIR),
            max_to_keep=int(max_to_keep),
            agent=agent,
            policy=agent.policy,
            global_step=agent.train_step_counter,
            iteration=self._iteration,
            action_noise=learner.rng,
            run_state=self._state,
        )
        self.start_iteration = 0
        self.history: list[dict[str, float]] = []
        if self._checkpointer.checkpoint_exists:
            saved = json.loads(self._state.numpy().decode())
            env.set_state(saved["env"])
            self.history = saved["history"]
            self.start_iteration = int(self._iteration.numpy())
            log.info("resume: continuing from iteration %d (%s)", self.start_iteration, self.directory)
        elif resume:
            log.info("resume: no checkpoint in %s; starting from iteration 0", self.directory)

    @property
    def restored_env_steps(self) -> int:
        return int(self.history[-1]["env_steps"]) if self.history else 0

    def save(self, iteration: int, history: list[dict[str, float]]) -> None:
        """Checkpoint the state after ``iteration`` completed iterations, with the metric ``history``."""
        self._iteration.assign(iteration)
        self._state.assign(json.dumps({"env": self._env.get_state(), "history": history}))
        self._checkpointer.save(global_step=self._agent.train_step_counter)


__all__ = ["TF_CHECKPOINT_SUBDIR", "StatefulEnvironment", "TrainingCheckpoint", "run_checkpoint_dir"]
