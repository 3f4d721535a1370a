"""PPO for the schedule bandit: the TF-Agents ``PPOClipAgent``, one-step collection, minibatch updates.

Built from plain arguments (no Hydra objects), so notebooks and tests can use it:

    config = PPOConfig(num_iterations=200)
    agent = make_agent(tf_env.time_step_spec(), tf_env.action_spec(), actor, value, config,
                       batch_size=tf_env.batch_size)
    learner = PPOLearner(agent, config, seed=0)
    batch = learner.collect(tf_env)                          # one decision per family
    shaped = reference_kl.penalise(batch.experience, beta, sigma_ref)
    metrics = learner.update(shaped.experience)              # epochs x minibatches

Each episode is a single decision, so a collected batch is ``[num_envs, 2]`` in
TF-Agents' trajectory layout: the decision (``FIRST → LAST``, reward r, discount 0)
and the boundary step after it, which PPO masks out. With discount 0 after the
decision, GAE reduces to ``A = r − V(s)``; λ and γ are kept for generality.

Unlike ``PPOAgent.train``'s full-batch epochs, ``update`` takes ``num_epochs`` passes
over shuffled minibatches (as in Schulman et al. 2017 and cleanrl), each one
``agent.train`` call on a minibatch (the agent's own ``num_epochs`` is 1), then
updates the observation and reward normalisers once with the whole batch.

Randomness (action noise, minibatch order) comes from one ``tf.random.Generator``
(``PPOLearner.rng``), which a checkpoint saves, so a resumed run continues exactly.
"""
from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
# isort: on
import time
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.agents.ppo import ppo_clip_agent
from tf_agents.trajectories import policy_step, trajectory
from tf_agents.trajectories import time_step as ts
from tf_agents.utils import common

from agents.config import PPOConfig, ReferenceKLConfig
from brightpath.errors import ValidationError


def learning_rate_schedule(config: PPOConfig, batch_size: int):
    """Adam's step size: ``config.learning_rate``, or with ``anneal_learning_rate`` a linear decay to 0
    over every gradient step of the run (``num_iterations × num_epochs × batch_size / minibatch_size``)."""
    if not config.anneal_learning_rate:
        return config.learning_rate
    total_steps = config.num_iterations * config.num_epochs * (batch_size // config.minibatch_size)
    return tf.keras.optimizers.schedules.PolynomialDecay(config.learning_rate, total_steps, 0.0)


def make_agent(time_step_spec, action_spec, actor_net, value_net, config: PPOConfig, *, batch_size: int,
               train_step_counter: tf.Variable | None = None) -> ppo_clip_agent.PPOClipAgent:
    """A ``PPOClipAgent`` with GAE, clipping, entropy bonus and observation normalisation, initialised.

    Its ``num_epochs`` is 1 and its normalisers are updated by ``PPOLearner.update``,
    which runs the epochs over minibatches itself.

    Args:
        batch_size: decisions collected per iteration (``env.num_envs``); with
            ``config.minibatch_size`` it sets how many gradient steps the annealed
            learning rate spans.
    """
    if batch_size % config.minibatch_size:
        raise ValidationError("minibatch_size", config.minibatch_size, f"a divisor of the batch size {batch_size}")
    # A decaying step size is driven by the optimiser's own step counter, so a restored checkpoint resumes it.
    agent = ppo_clip_agent.PPOClipAgent(
        time_step_spec,
        action_spec,
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate_schedule(config, batch_size), epsilon=1e-5),
        actor_net=actor_net,
        value_net=value_net,
        greedy_eval=True,
        importance_ratio_clipping=config.importance_ratio_clipping,
        lambda_value=config.lambda_value,
        discount_factor=config.discount_factor,
        entropy_regularization=config.entropy_regularization,
        value_pred_loss_coef=config.value_pred_loss_coef,
        num_epochs=1,
        use_gae=True,
        use_td_lambda_return=True,
        normalize_rewards=config.normalize_rewards,
        normalize_observations=config.normalize_observations,
        gradient_clipping=config.gradient_clipping or None,
        value_clipping=config.value_clipping or None,
        compute_value_and_advantage_in_train=True,
        update_normalizers_in_train=False,
        train_step_counter=train_step_counter,
    )
    agent.initialize()
    return agent


class Collected(NamedTuple):
    """One collected batch.

    Attributes:
        experience: ``Trajectory`` ``[batch, time]``; for the one-step collector ``[num_envs, 2]``
            (decision, boundary).
        reward: float32 ``[n_episodes]`` the environment's return of each episode the batch
            completed (for one-step episodes, the reward of each decision).
        info: the environment's ``info`` at those episodes' ends (``true_satisfaction``,
            ``proxy_satisfaction``, …: arrays ``[n_episodes]``).
    """

    experience: trajectory.Trajectory
    reward: np.ndarray
    info: dict[str, Any]

    @property
    def env_steps(self) -> int:
        """Environment steps (decisions) in the batch: its non-boundary steps."""
        return int(np.sum(~self.experience.is_boundary().numpy()))

    def metrics(self) -> dict[str, float]:
        """``charts/episodic_return`` (mean return of the completed episodes) and, where the
        environment reports them (CONTRACTS §5), ``charts/true_satisfaction`` (the simulator's
        hidden score of the same weeks, evaluation only) and ``charts/proxy_true_gap``
        (the reward model's satisfaction minus the truth)."""
        out = {"charts/episodic_return": float(np.mean(self.reward))}
        if "true_satisfaction" in self.info:
            true = float(np.mean(self.info["true_satisfaction"]))
            out["charts/true_satisfaction"] = true
            if "proxy_satisfaction" in self.info:
                out["charts/proxy_true_gap"] = float(np.mean(self.info["proxy_satisfaction"])) - true
        return out


class Advantages(NamedTuple):
    """GAE estimates for a batch, from the value network as it is before the update.

    Attributes:
        values: float32 ``[n]`` V(s) of every non-boundary step (normalised-reward units).
        returns: float32 ``[n]`` the TD(λ) returns the value network is trained towards.
        advantages: float32 ``[n]`` returns − values.
    """

    values: np.ndarray
    returns: np.ndarray
    advantages: np.ndarray

    @property
    def explained_variance(self) -> float:
        """``1 − Var(returns − values) / Var(returns)``: 1 for a perfect value function, 0 for one
        that predicts the mean, negative for worse (cleanrl's ``losses/explained_variance``);
        NaN when the returns do not vary."""
        variance = float(np.var(self.returns))
        return float("nan") if variance == 0 else 1.0 - float(np.var(self.returns - self.values)) / variance


class PPOLearner:
    """Collects one-step batches with the agent's collect policy and updates the agent.

    Args:
        agent: from ``make_agent``.
        config: the same ``PPOConfig``.
        seed: seed of ``rng``, the ``tf.random.Generator`` for action noise and minibatch order.
        jit_compile: compile the update step with XLA (``NetworkConfig.jit_compile``).
    """

    def __init__(self, agent: ppo_clip_agent.PPOClipAgent, config: PPOConfig, *, seed: int,
                 jit_compile: bool = False) -> None:
        self.agent = agent
        self.config = config
        self.rng = tf.random.Generator.from_seed(int(seed))
        self._train = common.function(agent.train, autograph=False, jit_compile=bool(jit_compile))
        self._sample = tf.function(self._sample_impl, autograph=False)
        self._diagnostics = tf.function(self._diagnostics_impl, autograph=False)
        self._greedy = tf.function(self._greedy_impl, autograph=False)
        self._estimate = tf.function(self._estimate_impl, autograph=False)

    def _sample_impl(self, time_step, seed):
        step = self.agent.collect_policy.distribution(time_step)
        return step.action.sample(seed=seed), step.info

    def collect(self, tf_env) -> Collected:
        """Reset ``tf_env`` (new families), sample one action each, step once."""
        time_step = tf_env.reset()
        action, info = self._sample(time_step, tf.cast(self.rng.make_seeds(1)[:, 0], tf.int32))
        next_time_step = tf_env.step(action)
        decision = trajectory.from_transition(time_step, policy_step.PolicyStep(action, (), info), next_time_step)
        # The boundary step (LAST → FIRST) that TF-Agents' PPO needs after the decision: its
        # action and reward are never used (the loss masks it; returns read the decision's reward).
        boundary = trajectory.Trajectory(
            step_type=next_time_step.step_type, observation=next_time_step.observation, action=action,
            policy_info=info, next_step_type=tf.zeros_like(next_time_step.step_type),
            reward=tf.zeros_like(next_time_step.reward), discount=tf.ones_like(next_time_step.discount),
        )
        experience = tf.nest.map_structure(lambda a, b: tf.stack([a, b], axis=1), decision, boundary)
        return Collected(experience, next_time_step.reward.numpy(), tf_env.pyenv.get_info())

    def advantages(self, experience: trajectory.Trajectory) -> Advantages:
        """GAE advantages and TD(λ) returns of ``experience`` with the current value network.

        The same computation ``PPOAgent`` runs at the start of each ``update`` minibatch (reward
        normalisation included; TF-Agents' ``compute_value_and_advantage_in_train``), made before
        any gradient step: what PPO's advantage step sees, and what the explained variance of
        the value function is measured on. It changes nothing (no normaliser update, no RNG).
        """
        values, returns, advantages, valid = (x.numpy() for x in self._estimate(experience))
        return Advantages(values[valid], returns[valid], advantages[valid])

    def _estimate_impl(self, experience):
        policy = self.agent.collect_policy
        values, _ = policy.apply_value_network(experience.observation, experience.step_type,
                                               value_state=policy.get_initial_value_state(
                                                   tf.shape(experience.step_type)[0]),
                                               training=False)
        _, _, next_time_steps = trajectory.to_transition(experience)
        returns, advantages = self.agent.compute_return_and_advantage(next_time_steps, values)
        valid = ~experience.is_boundary()[:, :-1]
        return values[:, :-1], returns, advantages, valid

    def learning_rate(self, batch_size: int) -> float:
        """Adam's step size for the next gradient step, ``batch_size`` decisions per update."""
        schedule = learning_rate_schedule(self.config, batch_size)
        return float(schedule(self.agent.train_step_counter) if callable(schedule) else schedule)

    def update(self, experience: trajectory.Trajectory) -> dict[str, float]:
        """``num_epochs`` passes of minibatch PPO steps over ``experience``; then the normalisers.

        Returns:
            ``losses/policy``, ``losses/value``, ``losses/entropy`` (mean entropy of the
            updated policy, nats, summed over action dimensions), ``losses/approx_kl``
            (mean KL from the collecting to the updated policy), ``losses/clip_fraction``,
            ``charts/action_std`` (mean policy standard deviation, action units),
            ``charts/learning_rate`` (Adam's step size at the update's first gradient step) and
            ``perf/update_seconds``.
        """
        started = time.perf_counter()
        batch = int(experience.reward.shape[0])
        size = self.config.minibatch_size
        if batch % size:
            raise ValidationError("minibatch_size", size, f"a divisor of the batch size {batch}")
        learning_rate = self.learning_rate(batch)
        policy_losses, value_losses, clip_fractions = [], [], []
        for _ in range(self.config.num_epochs):
            order = tf.argsort(self.rng.uniform([batch]))
            for start in range(0, batch, size):
                index = order[start:start + size]
                loss = self._train(tf.nest.map_structure(lambda x, index=index: tf.gather(x, index), experience))
                policy_losses.append(float(loss.extra.policy_gradient_loss))
                value_losses.append(float(loss.extra.value_estimation_loss))
                clip_fractions.append(float(loss.extra.clip_fraction))
        decisions = tf.nest.map_structure(lambda x: x[:, 0], experience)
        entropy, kl, std = (float(x) for x in self._diagnostics(decisions))
        self.agent.update_observation_normalizer(decisions.observation)
        self.agent.update_reward_normalizer(decisions.reward)
        return {
            "losses/policy": float(np.mean(policy_losses)),
            "losses/value": float(np.mean(value_losses)),
            "losses/entropy": entropy,
            "losses/approx_kl": kl,
            "losses/clip_fraction": float(np.mean(clip_fractions)),
            "charts/action_std": std,
            "charts/learning_rate": learning_rate,
            "perf/update_seconds": time.perf_counter() - started,
        }

    def _diagnostics_impl(self, decisions: trajectory.Trajectory):
        time_step = ts.TimeStep(decisions.step_type, tf.zeros_like(decisions.reward),
                                tf.ones_like(decisions.discount), decisions.observation)
        new = self.agent.collect_policy.distribution(time_step).action
        old_params = decisions.policy_info["dist_params"]
        old = tfp.distributions.Normal(old_params["loc"], old_params["scale"])
        new_normal = tfp.distributions.Normal(new.mean(), new.stddev())
        entropy = tf.reduce_mean(tf.reduce_sum(new_normal.entropy(), axis=-1))
        kl = tf.reduce_mean(tf.reduce_sum(old.kl_divergence(new_normal), axis=-1))
        return entropy, kl, tf.reduce_mean(new_normal.stddev())

    def greedy_actions(self, observations: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Deterministic actions (the actor's mean, clipped to [-1, 1]) for raw observations ``[n, 18]``."""
        out = [np.zeros((0,) + tuple(self.agent.action_spec.shape), np.float32)]
        for start in range(0, len(observations), batch_size):
            obs = tf.constant(observations[start:start + batch_size], dtype=tf.float32)
            out.append(self._greedy(ts.restart(obs, batch_size=int(obs.shape[0]))).numpy())
        return np.clip(np.concatenate(out), -1.0, 1.0)

    def _greedy_impl(self, time_step):
        return self.agent.policy.action(time_step).action


__all__ = [
    "Advantages", "Collected", "PPOConfig", "PPOLearner", "ReferenceKLConfig", "learning_rate_schedule", "make_agent",
]
