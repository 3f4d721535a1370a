"""Retraining the PPO generator against the refreshed reward model (step 4 of a round).

Wiring of ``agents.training`` (the PPO loop) for one round:

* the environment draws its families from the store's served families (their questionnaires are
  what the policy sees and the reward model scores; the world supplies their hidden traits only for
  the environment's ``true_satisfaction`` diagnostic, never for the reward);
* warm start (``loop.ppo_warm_start``) restores the champion round's agent (networks, observation
  and reward normalisers, optimiser) from its checkpoint before the first iteration; otherwise the
  networks start fresh from the round's seed;
* the round's own checkpoints (``<round dir>/ppo``) make a killed round continue exactly where it
  stopped (``agents.checkpoint.TrainingCheckpoint``);
* the greedy policy is published as new, unpromoted versions of registry models ``generator``
  (the backend's SavedModel) and ``policy`` (``PolicySaver``).

``policy_distribution`` reads the Gaussian policy's mean and standard deviation on fixed
observations, and ``sqrt_kl`` is the research view's distance from the round-0 policy
(Gao et al. 2022's √KL axis), computed in closed form.
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)

# isort: on
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from agents.adapter import schedule_tf_environment
from agents.checkpoint import TF_CHECKPOINT_SUBDIR, TrainingCheckpoint
from agents.training import ProgressBar, build_learner, train_ppo

log = logging.getLogger(__name__)

PPO_SUBDIR = "ppo"
DISTRIBUTION_FILE = "policy_distribution.npz"
"""In a round's directory: the policy's mean and std on the research view's held-out observations."""


class InvertedScorer:
    """A deliberately corrupted reward model: ``1 − score`` of the wrapped one (a broken challenger)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    def score_layouts(self, *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
        return {name: 1.0 - np.asarray(v) for name, v in self.scorer.score_layouts(*args, **kwargs).items()}


class IterationLogger:
    """Logs each PPO iteration's metrics under ``ppo/`` at step = iterations of the run so far."""

    def __init__(self, tracker) -> None:
        self.tracker = tracker

    def on_train_begin(self, start_iteration: int, num_iterations: int) -> None:
        pass

    def on_iteration(self, iteration: int, env_steps: int, metrics: dict[str, float]) -> None:
        self.tracker.log_metrics({f"ppo/{k}": v for k, v in metrics.items()}, step=iteration)

    def on_train_end(self) -> None:
        pass


def train_policy(
    *,
    round_dir: Path,
    network,
    agent,
    env,
    families,
    seed: int,
    scorer: Any | None,
    warm_from: Path | None,
    description: str,
    callbacks: Sequence[Any] = (),
):
    """Train (or continue) one round's PPO policy; returns the learner.

    Args:
        round_dir: the round's directory; checkpoints go to ``<round_dir>/ppo``.
        network, agent, env: the ``model``, ``agent`` (with this round's ``num_iterations``) and ``env``
            groups' configs.
        families: the training families (``Families``; the policy sees only their questionnaires).
        seed: the round's seed (networks, environment, action noise).
        scorer: the reward model (``score_layouts``); None with ``env.reward_source=oracle``.
        warm_from: a round directory whose checkpoint to start from; None: fresh networks.
        description: the progress bar's label.
    """
    tf_env = schedule_tf_environment(
        env.num_envs,
        seed=seed,
        reward_source=env.reward_source,
        reward_model=scorer,
        families=families,
        reward_weights=dict(env.reward_weights),
    )
    learner = build_learner(tf_env, network, agent, seed=seed)
    directory = Path(round_dir) / PPO_SUBDIR
    own = tf.train.latest_checkpoint(str(directory / TF_CHECKPOINT_SUBDIR)) if directory.exists() else None
    if own is None and warm_from is not None:
        start = tf.train.latest_checkpoint(str(Path(warm_from) / PPO_SUBDIR / TF_CHECKPOINT_SUBDIR))
        if start is None:
            raise FileNotFoundError(f"{warm_from / PPO_SUBDIR}: no checkpoint of the champion's policy to start from")
        tf.train.Checkpoint(agent=learner.agent).restore(start).expect_partial()
        log.info("PPO warm start from %s", start)
    checkpoint = TrainingCheckpoint(
        directory, learner, tf_env.pyenv, max_to_keep=agent.checkpoints_to_keep, resume=True
    )
    train_ppo(learner, tf_env, checkpoint=checkpoint, callbacks=[*callbacks, ProgressBar(description)])
    return learner


def policy_distribution(learner, observations: np.ndarray, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """The policy's Normal ``(mean, std)`` per action dimension on raw ``observations`` ``[n, 18]``; float64 ``[n, 7]``
    each."""
    from tf_agents.trajectories import time_step as ts

    means, stds = [], []
    for start in range(0, len(observations), batch_size):
        obs = tf.constant(observations[start : start + batch_size], dtype=tf.float32)
        distribution = learner.agent.collect_policy.distribution(ts.restart(obs, batch_size=int(obs.shape[0]))).action
        means.append(distribution.mean().numpy())
        stds.append(np.broadcast_to(distribution.stddev().numpy(), means[-1].shape))
    return np.concatenate(means).astype(np.float64), np.concatenate(stds).astype(np.float64)


def save_distribution(round_dir: Path, mean: np.ndarray, std: np.ndarray) -> None:
    np.savez(Path(round_dir) / DISTRIBUTION_FILE, mean=mean, std=std)


def load_distribution(round_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(Path(round_dir) / DISTRIBUTION_FILE) as saved:
        return saved["mean"], saved["std"]


def sqrt_kl(mean: np.ndarray, std: np.ndarray, mean0: np.ndarray, std0: np.ndarray) -> float:
    """√ of the mean over observations of KL(π ‖ π₀) between diagonal Gaussians (nats, summed over dimensions).

    ``KL = Σ_d log(σ₀/σ) + (σ² + (μ − μ₀)²) / (2σ₀²) − ½`` per observation (Gao et al. 2022 plot
    gold and proxy reward against √KL from the initial policy).
    """
    kl = np.log(std0 / std) + (std**2 + (mean - mean0) ** 2) / (2.0 * std0**2) - 0.5
    return float(np.sqrt(max(float(np.mean(np.sum(kl, axis=1))), 0.0)))


def publish(model_dir: Path, learner, *, model_version: str, metadata: dict[str, Any]) -> tuple[int, int]:
    """Publish the greedy policy as new unpromoted versions of ``generator`` and ``policy``; returns both versions."""
    from agents.export import export_ppo_generator, save_policy
    from brightpath import registry

    policy = learner.agent.policy
    generator = registry.publish(
        model_dir,
        "generator",
        lambda path: export_ppo_generator(policy, path, model_version=model_version),
        metadata,
        promote=False,
    )
    saved = registry.publish(
        model_dir,
        "policy",
        lambda path: save_policy(policy, path, learner.agent.train_step_counter, model_version=model_version),
        metadata,
        promote=False,
    )
    return generator, saved


__all__ = [
    "DISTRIBUTION_FILE",
    "IterationLogger",
    "InvertedScorer",
    "load_distribution",
    "policy_distribution",
    "publish",
    "save_distribution",
    "sqrt_kl",
    "train_policy",
]
