"""A KL penalty towards a reference policy, as in RLHF: reward − β·(log π(a|s) − log π_ref(a|s)).

TF-Agents' own KL options (``PPOKLPenaltyAgent``, the adaptive β, the KL cutoff)
penalise drift between the *old and new* policy of one update, a trust region. RLHF
(Ziegler et al. 2019; Ouyang et al. 2022) also keeps the policy near a *reference*
policy so that it cannot wander far from the data the reward model was trained on and
exploit its errors (reward over-optimisation; Gao et al. 2023). That term is added here.

The reference is the expert rule, the policy that generated (most of) the logged
schedules the reward model learned from: ``π_ref(·|s) = Normal(reference(s), σ_ref)``
per action dimension, where ``reference(s)`` is the expert's parameters in action
units, read from the observation itself (``envs.schedule_env.REFERENCE_SLICE``).
``log π(a|s)`` comes from the distribution parameters the collect policy stored in the
trajectory's ``policy_info`` when it sampled ``a``. The per-sample estimate
``log π − log π_ref`` has expectation ``KL(π‖π_ref)``.
"""

from __future__ import annotations

from typing import NamedTuple

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.trajectories import trajectory as trajectory_lib
# isort: on

from envs.schedule_env import REFERENCE_SLICE


class ReferenceKL(NamedTuple):
    """Result of ``penalise``.

    Attributes:
        experience: the trajectory with the penalised reward (``reward − β·log_ratio``
            on decision steps; boundary steps untouched).
        log_ratio: ``log π(a|s) − log π_ref(a|s)`` per decision, float32 ``[batch]``
            (summed over action dimensions).
    """

    experience: trajectory_lib.Trajectory
    log_ratio: tf.Tensor


def log_ratio(
    observation: tf.Tensor, action: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor, sigma_ref: float
) -> tf.Tensor:
    """``log π(a|s) − log π_ref(a|s)`` summed over action dimensions, shape ``observation.shape[:-1]``.

    Args:
        observation: raw (un-normalised) observations ``[..., 18]``.
        action: the sampled actions ``[..., 7]``, unclipped.
        loc, scale: the policy's Normal parameters for those actions.
        sigma_ref: standard deviation of the reference policy, action units (> 0).
    """
    if sigma_ref <= 0:
        raise ValueError(f"reference_kl.sigma: expected > 0, got {sigma_ref}")
    reference = tf.cast(observation[..., REFERENCE_SLICE], action.dtype)
    policy = tfp.distributions.Normal(loc, scale)
    ref = tfp.distributions.Normal(reference, tf.constant(sigma_ref, action.dtype))
    return tf.reduce_sum(policy.log_prob(action) - ref.log_prob(action), axis=-1)


def penalise(experience: trajectory_lib.Trajectory, beta: float, sigma_ref: float) -> ReferenceKL:
    """Subtract ``beta · (log π − log π_ref)`` from the reward of every decision step.

    Args:
        experience: PPO experience ``[batch, time]`` whose ``policy_info["dist_params"]``
            holds the Normal's ``loc`` and ``scale`` (TF-Agents' ``PPOPolicy`` collect info).
        beta: penalty weight ≥ 0; 0 returns the experience unchanged (the log-ratio is
            still computed, for logging).
        sigma_ref: the reference policy's standard deviation, action units.

    Returns:
        ``ReferenceKL``; ``log_ratio`` has one value per decision (non-boundary) step,
        flattened, ``[n_decisions]`` (``[batch]`` for one-step episodes).
    """
    if beta < 0:
        raise ValueError(f"reference_kl.beta: expected ≥ 0, got {beta}")
    params = experience.policy_info["dist_params"]
    ratio = log_ratio(experience.observation, experience.action, params["loc"], params["scale"], sigma_ref)
    decision = ~experience.is_boundary()
    penalty = tf.where(decision, beta * ratio, tf.zeros_like(ratio))
    penalised = experience._replace(reward=experience.reward - tf.cast(penalty, experience.reward.dtype))
    return ReferenceKL(penalised if beta > 0 else experience, tf.boolean_mask(ratio, decision))
