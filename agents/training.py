"""The PPO training loop (Schulman et al. 2017, Algorithm 1), as a plain function with callbacks.

    learner = build_learner(tf_env, NetworkConfig(), PPOConfig(), seed=0)
    history = train_ppo(learner, tf_env, callbacks=[ProgressBar("ppo-mlp-s0")])

Each iteration reads as the paper's pseudo-code::

    collect     run the current stochastic policy in every environment (``PPOLearner.collect``)
    shape       subtract the RLHF penalty β·(log π − log π_ref) towards the expert rule
                (``agents.reference_kl``; β = 0 leaves the reward as it is)
    advantages  GAE advantages and TD(λ) returns from the value network (``PPOLearner.advantages``);
                how much of the returns' variance the value function explains is logged
    update      ``num_epochs`` passes of minibatch steps on the clipped surrogate, value and
                entropy losses (``PPOLearner.update``)
    log         hand the iteration's metrics to the callbacks; checkpoint every
                ``checkpoint_interval`` iterations and after the last

Nothing here knows about Hydra, MLflow or the schedule task: episodes may have any length
(the collector decides the batch layout), metrics go to callbacks, checkpoints to a
``agents.checkpoint.TrainingCheckpoint``.

Metrics per iteration (stable names; ``env_steps`` is the number of environment steps so far):
``charts/episodic_return`` and what the collector reports about its episodes
(``Collected.metrics``: ``charts/true_satisfaction``, ``charts/proxy_true_gap``),
``charts/penalised_return`` (mean shaped return per episode), ``charts/reference_kl``
(mean log π − log π_ref per step), ``charts/action_std``, ``charts/learning_rate``,
``losses/policy``, ``losses/value``, ``losses/entropy``, ``losses/approx_kl``,
``losses/clip_fraction``, ``losses/explained_variance``, ``perf/env_steps_per_s`` (steps per
second of the whole iteration), ``perf/collect_steps_per_s`` (of collection alone),
``perf/update_seconds``, ``perf/iteration_seconds``.
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)

# isort: on
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from agents import reference_kl
from agents.checkpoint import TrainingCheckpoint
from agents.networks import NetworkConfig, build_networks
from agents.ppo import PPOConfig, PPOLearner, make_agent

log = logging.getLogger(__name__)


class IterationCallback(Protocol):
    """Told about every completed iteration (1-based ``iteration``) and the run's start and end."""

    def on_train_begin(self, start_iteration: int, num_iterations: int) -> None: ...

    def on_iteration(self, iteration: int, env_steps: int, metrics: dict[str, float]) -> None: ...

    def on_train_end(self) -> None: ...


def build_learner(tf_env, network: NetworkConfig, config: PPOConfig, *, seed: int) -> PPOLearner:
    """The networks chosen by ``network``, a ``PPOClipAgent`` and its ``PPOLearner`` for ``tf_env``.

    The networks' Keras initialisers draw from TensorFlow's global random stream, so it is
    seeded with ``seed`` right before they are built: the initial policy depends on the seed
    alone, not on what ran earlier in the process (training a reward model, say). Action noise
    and minibatch order come from the learner's own generator, also seeded with ``seed``.

    Args:
        tf_env: a batched ``TFPyEnvironment`` (``agents.adapter.schedule_tf_environment``);
            its batch size is the number of decisions collected per iteration.
    """
    from brightpath.reproducibility import seed_everything

    seed_everything(seed, with_tensorflow=True)
    actor, value = build_networks(tf_env.observation_spec(), tf_env.action_spec(), network)
    global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    agent = make_agent(
        tf_env.time_step_spec(),
        tf_env.action_spec(),
        actor,
        value,
        config,
        batch_size=int(tf_env.batch_size),
        train_step_counter=global_step,
    )
    return PPOLearner(agent, config, seed=seed, jit_compile=network.jit_compile)


def train_ppo(
    learner: PPOLearner,
    tf_env,
    *,
    checkpoint: TrainingCheckpoint | None = None,
    callbacks: Sequence[IterationCallback] = (),
) -> list[dict[str, float]]:
    """Run the PPO iterations after the checkpoint's up to ``learner.config.num_iterations`` (module docstring).

    Args:
        learner: from ``build_learner`` (or ``PPOLearner`` directly); its ``config`` sets the
            number of iterations, the reference penalty and the checkpoint interval.
        tf_env: the batched environment the learner collects from.
        checkpoint: where the run continues from (its ``start_iteration`` and ``history``; a fresh
            one starts at iteration 0) and saves itself every ``checkpoint_interval`` iterations and
            after the last. None: iterations 1 … ``num_iterations``, nothing saved.
        callbacks: told about each iteration (``IterationCallback``), e.g. a metrics logger and
            a ``ProgressBar``.

    Returns:
        The metric history: the checkpoint's followed by one dict per iteration run here (its
        metrics and ``env_steps``).
    """
    config = learner.config
    start_iteration = checkpoint.start_iteration if checkpoint is not None else 0
    history = list(checkpoint.history) if checkpoint is not None else []
    env_steps = int(history[-1]["env_steps"]) if history else 0
    for callback in callbacks:
        callback.on_train_begin(start_iteration, config.num_iterations)
    for iteration in range(start_iteration + 1, config.num_iterations + 1):
        started = time.perf_counter()
        batch = learner.collect(tf_env)
        collect_seconds = time.perf_counter() - started
        shaped = reference_kl.penalise(batch.experience, config.reference_kl.beta, config.reference_kl.sigma)
        advantages = learner.advantages(shaped.experience)
        metrics = learner.update(shaped.experience)
        seconds = time.perf_counter() - started

        env_steps += batch.env_steps
        metrics.update(batch.metrics())
        metrics.update(
            {
                "charts/penalised_return": _episode_mean(shaped.experience),
                "charts/reference_kl": float(np.mean(shaped.log_ratio.numpy())),
                "losses/explained_variance": advantages.explained_variance,
                "perf/env_steps_per_s": batch.env_steps / seconds,
                "perf/collect_steps_per_s": batch.env_steps / collect_seconds,
                "perf/iteration_seconds": seconds,
            }
        )
        history.append({"env_steps": env_steps, **metrics})
        for callback in callbacks:
            callback.on_iteration(iteration, env_steps, metrics)
        if checkpoint is not None and (
            iteration % config.checkpoint_interval == 0 or iteration == config.num_iterations
        ):
            checkpoint.save(iteration, history)
    for callback in callbacks:
        callback.on_train_end()
    return history


def _episode_mean(experience) -> float:
    """Mean over the episodes ending in ``experience`` of their summed (shaped) reward."""
    reward = experience.reward.numpy()
    decisions = ~experience.is_boundary().numpy()
    episodes = max(int(np.sum(experience.next_step_type.numpy() == ts.StepType.LAST)), 1)
    return float(np.sum(reward[decisions]) / episodes)


class ProgressBar:
    """A ``tqdm`` bar over the run's iterations with the latest return and true satisfaction.

    The postfix is set without forcing a redraw (``refresh=False``), so a non-interactive log
    gets a line at tqdm's ``mininterval``, not one per iteration. Inside a training job of the
    model service (``brightpath.store.report_progress``; a no-op elsewhere) the same progress goes
    to the job's status, at most once per ``JOB_PROGRESS_STEP`` of the run.
    """

    JOB_PROGRESS_STEP = 0.01

    def __init__(self, description: str, *, mininterval: float = 1.0, file: Any = None) -> None:
        """Args: ``description`` (the bar's label, e.g. the run name); ``mininterval``, seconds
        between redraws at least; ``file``, where to draw (default: standard error)."""
        self.description = description
        self.mininterval = mininterval
        self.file = file
        self._bar = None
        self._reported = -1.0

    def on_train_begin(self, start_iteration: int, num_iterations: int) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=num_iterations,
            initial=start_iteration,
            desc=self.description,
            unit="it",
            mininterval=self.mininterval,
            file=self.file,
        )

    def on_iteration(self, iteration: int, env_steps: int, metrics: dict[str, float]) -> None:
        postfix = {"ret": f"{metrics['charts/episodic_return']:.3f}"}
        if "charts/true_satisfaction" in metrics:
            postfix["true"] = f"{metrics['charts/true_satisfaction']:.3f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)
        done = self._bar.n / max(self._bar.total or 1, 1)
        if done - self._reported >= self.JOB_PROGRESS_STEP or done >= 1.0:
            from brightpath.store import report_progress

            report_progress(done, f"{self.description}: iteration {self._bar.n}/{self._bar.total}")
            self._reported = done

    def on_train_end(self) -> None:
        self._bar.close()


__all__ = ["IterationCallback", "ProgressBar", "build_learner", "train_ppo"]
