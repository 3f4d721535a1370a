"""PPO for the schedule tasks: the TF-Agents ``PPOClipAgent``, whole-episode collection, minibatch updates.

Built from plain arguments (no Hydra objects), so notebooks and tests can use it:

    config = PPOConfig(num_iterations=200)
    agent = make_agent(tf_env.time_step_spec(), tf_env.action_spec(), actor, value, config,
                       batch_size=tf_env.batch_size)
    learner = PPOLearner(agent, config, seed=0)
    batch = learner.collect(tf_env)                          # one whole episode per family
    shaped = reference_kl.penalise(batch.experience, beta, sigma_ref)
    metrics = learner.update(shaped.experience)              # epochs x minibatches of episodes

``collect`` runs every environment of the batch through one whole episode, in lockstep
(both schedule environments end all their episodes together), so a collected batch is
``[num_envs, W + 1]`` in TF-Agents' trajectory layout: the ``W`` decisions (``FIRST``,
``MID`` …, the last one ``→ LAST`` with discount 0) and the boundary step after them,
which PPO masks out. ``BrightPath/Schedule-v0`` has one decision per episode (``W = 1``):
with discount 0 after it, GAE reduces to ``A = r − V(s)``. ``BrightPath/ScheduleWeeks-v0``
has ``W`` weekly decisions, and GAE(γ, λ) runs over them (Schulman et al. 2016). A
recurrent network (``agents.networks``, ``weeks_rnn``) carries its state through the
episode's steps while collecting and is trained on whole episodes from its initial state.

Unlike ``PPOAgent.train``'s full-batch epochs, ``update`` takes ``num_epochs`` passes
over shuffled minibatches of episodes (as in Schulman et al. 2017 and cleanrl), each one
``agent.train`` call on a minibatch (the agent's own ``num_epochs`` is 1), then
updates the observation and reward normalisers once with every decision of the batch.

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


def make_agent(
    time_step_spec,
    action_spec,
    actor_net,
    value_net,
    config: PPOConfig,
    *,
    batch_size: int,
    train_step_counter: tf.Variable | None = None,
) -> ppo_clip_agent.PPOClipAgent:
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
        experience: ``Trajectory`` ``[num_envs, W + 1]``: each episode's ``W`` decisions and the
            boundary step (``[num_envs, 2]`` for one-step episodes).
        reward: float32 ``[num_envs]`` the environment's return of each episode (the sum of its
            rewards; for one-step episodes, the reward of the decision).
        info: the environment's ``info`` of every decision, per-environment arrays joined over
            the episode's steps (``true_satisfaction``, ``proxy_satisfaction``, …: arrays
            ``[num_envs · W]``, step by step).
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
    """Collects whole-episode batches with the agent's collect policy and updates the agent.

    Args:
        agent: from ``make_agent``.
        config: the same ``PPOConfig``.
        seed: seed of ``rng``, the ``tf.random.Generator`` for action noise and minibatch order.
        jit_compile: compile the update step with XLA (``NetworkConfig.jit_compile``).
    """

    def __init__(
        self, agent: ppo_clip_agent.PPOClipAgent, config: PPOConfig, *, seed: int, jit_compile: bool = False
    ) -> None:
        self.agent = agent
        self.config = config
        self.rng = tf.random.Generator.from_seed(int(seed))
        self.recurrent = bool(tf.nest.flatten(agent.collect_policy.policy_state_spec))
        """The policy carries a state from step to step (an RNN): evaluated over whole episodes."""
        self._train = common.function(agent.train, autograph=False, jit_compile=bool(jit_compile))
        self._sample = tf.function(self._sample_impl, autograph=False)
        self._diagnostics = tf.function(self._diagnostics_impl, autograph=False)
        self._greedy = tf.function(self._greedy_impl, autograph=False)
        self._greedy_step = tf.function(self._greedy_step_impl, autograph=False)
        self._estimate = tf.function(self._estimate_impl, autograph=False)

    def _sample_impl(self, time_step, policy_state, seed):
        step = self.agent.collect_policy.distribution(time_step, policy_state)
        return step.action.sample(seed=seed), step.state, step.info

    def collect(self, tf_env) -> Collected:
        """Reset ``tf_env`` (new families) and run every episode of the batch to its end.

        One action per environment and step, sampled from the collect policy (its state, for a
        recurrent network, carried from step to step); the environments' episodes must end
        together (both schedule environments step their families in lockstep).

        Raises:
            RuntimeError: some episodes ended and others did not.
        """
        time_step = tf_env.reset()
        policy_state = self.agent.collect_policy.get_initial_state(tf_env.batch_size)
        decisions, infos, returns = [], [], 0.0
        while True:
            action, policy_state, info = self._sample(
                time_step, policy_state, tf.cast(self.rng.make_seeds(1)[:, 0], tf.int32)
            )
            next_time_step = tf_env.step(action)
            decisions.append(
                trajectory.from_transition(time_step, policy_step.PolicyStep(action, (), info), next_time_step)
            )
            infos.append(tf_env.pyenv.get_info())
            returns = returns + next_time_step.reward.numpy()
            ended = next_time_step.is_last().numpy()
            if ended.all():
                break
            if ended.any():
                raise RuntimeError(
                    "collect: some episodes ended before others; the environments must step "
                    "their episodes in lockstep (equal lengths, reset together)"
                )
            time_step = next_time_step
        # The boundary step (LAST → FIRST) that TF-Agents' PPO needs after the last decision: its
        # action and reward are never used (the loss masks it; returns read the decisions' rewards).
        boundary = trajectory.Trajectory(
            step_type=next_time_step.step_type,
            observation=next_time_step.observation,
            action=action,
            policy_info=info,
            next_step_type=tf.zeros_like(next_time_step.step_type),
            reward=tf.zeros_like(next_time_step.reward),
            discount=tf.ones_like(next_time_step.discount),
        )
        experience = tf.nest.map_structure(lambda *steps: tf.stack(steps, axis=1), *decisions, boundary)
        return Collected(experience, np.asarray(returns, dtype=np.float32), _join_infos(infos, len(returns)))

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
        values, _ = policy.apply_value_network(
            experience.observation,
            experience.step_type,
            value_state=policy.get_initial_value_state(tf.shape(experience.step_type)[0]),
            training=False,
        )
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
                index = order[start : start + size]
                loss = self._train(tf.nest.map_structure(lambda x, index=index: tf.gather(x, index), experience))
                policy_losses.append(float(loss.extra.policy_gradient_loss))
                value_losses.append(float(loss.extra.value_estimation_loss))
                clip_fractions.append(float(loss.extra.clip_fraction))
        decision = ~experience.is_boundary()
        decisions = tf.nest.map_structure(lambda x: tf.boolean_mask(x, decision), experience)
        entropy, kl, std = (float(x) for x in self._diagnostics(experience if self.recurrent else decisions))
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

    def _diagnostics_impl(self, experience: trajectory.Trajectory):
        """Mean entropy, KL from the collecting policy and standard deviation of the updated policy.

        ``experience``: the decisions flattened to ``[n]`` (a stateless policy), or whole episodes
        ``[batch, time]`` (a recurrent policy, run from its initial state; boundary steps left out)."""
        time_step = ts.TimeStep(
            experience.step_type,
            tf.zeros_like(experience.reward),
            tf.ones_like(experience.discount),
            experience.observation,
        )
        state = self.agent.collect_policy.get_initial_state(tf.shape(experience.step_type)[0])
        new = self.agent.collect_policy.distribution(time_step, state).action
        old_params = experience.policy_info["dist_params"]
        old = tfp.distributions.Normal(old_params["loc"], old_params["scale"])
        new_normal = tfp.distributions.Normal(new.mean(), new.stddev())
        entropy = tf.reduce_sum(new_normal.entropy(), axis=-1)
        kl = tf.reduce_sum(old.kl_divergence(new_normal), axis=-1)
        std = new_normal.stddev()
        if self.recurrent:
            decision = ~experience.is_boundary()
            entropy, kl, std = (tf.boolean_mask(x, decision) for x in (entropy, kl, std))
        return tf.reduce_mean(entropy), tf.reduce_mean(kl), tf.reduce_mean(std)

    def greedy_actions(self, observations: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Deterministic actions (the actor's mean, clipped to [-1, 1]) for raw observations ``[n, obs]``,
        each the first step of an episode (a one-step decision). A recurrent policy needs the
        episode's earlier steps: ``greedy_episode_actions``."""
        if self.recurrent:
            raise ValueError("greedy_actions: a recurrent policy acts on whole episodes; use greedy_episode_actions")
        out = [np.zeros((0,) + tuple(self.agent.action_spec.shape), np.float32)]
        for start in range(0, len(observations), batch_size):
            obs = tf.constant(observations[start : start + batch_size], dtype=tf.float32)
            out.append(self._greedy(ts.restart(obs, batch_size=int(obs.shape[0]))).numpy())
        return np.clip(np.concatenate(out), -1.0, 1.0)

    def _greedy_impl(self, time_step):
        return self.agent.policy.action(time_step).action

    def greedy_episode_actions(self, observations: np.ndarray) -> np.ndarray:
        """Deterministic actions ``[n, T, action]`` (clipped to [-1, 1]) of episodes whose observations
        ``[n, T, obs]`` are given step by step: step 0 starts each episode, and a recurrent policy
        carries its state through the steps (any policy works)."""
        observations = np.asarray(observations, dtype=np.float32)
        n, steps = observations.shape[:2]
        state = self.agent.policy.get_initial_state(n)
        out = []
        for t in range(steps):
            step_type = tf.fill([n], ts.StepType.FIRST if t == 0 else ts.StepType.MID)
            time_step = ts.TimeStep(
                step_type, tf.zeros([n], tf.float32), tf.ones([n], tf.float32), tf.constant(observations[:, t])
            )
            action, state = self._greedy_step(time_step, state)
            out.append(action.numpy())
        return np.clip(np.stack(out, axis=1), -1.0, 1.0)

    def _greedy_step_impl(self, time_step, policy_state):
        step = self.agent.policy.action(time_step, policy_state)
        return step.action, step.state

    def episode_actor(self, steps: int) -> GreedyEpisodeActor:
        """The greedy policy as an observation → action function over ``steps``-step episodes
        (``GreedyEpisodeActor``), e.g. for ``envs.weeks_env.ObservationPolicy``."""
        return GreedyEpisodeActor(self, steps)


class GreedyEpisodeActor:
    """``actor(observations [n, obs]) -> actions [n, action]`` (deterministic, clipped to [-1, 1]), called
    once per step of ``steps``-step episodes, in order: a recurrent policy's state is carried from step
    to step and started afresh at every episode's first step.

    Args:
        learner: the ``PPOLearner`` whose greedy policy acts.
        steps: the episodes' length.
    """

    def __init__(self, learner: PPOLearner, steps: int) -> None:
        self.learner, self.steps = learner, int(steps)
        self._step, self._state = 0, None

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        obs = tf.constant(np.asarray(observations, dtype=np.float32))
        n = int(obs.shape[0])
        if self._step == 0:
            self._state = self.learner.agent.policy.get_initial_state(n)
        step_type = tf.fill([n], ts.StepType.FIRST if self._step == 0 else ts.StepType.MID)
        time_step = ts.TimeStep(step_type, tf.zeros([n], tf.float32), tf.ones([n], tf.float32), obs)
        action, self._state = self.learner._greedy_step(time_step, self._state)
        self._step = (self._step + 1) % self.steps
        return np.clip(action.numpy(), -1.0, 1.0)


def _join_infos(infos: list[Any], batch: int) -> dict[str, np.ndarray]:
    """The per-environment arrays (length ``batch``) of each step's ``info``, joined step after step."""
    keys = [
        key
        for key, value in infos[0].items()
        if isinstance(value, np.ndarray)
        and value.ndim >= 1
        and len(value) == batch
        and all(key in info for info in infos)
    ]
    return {key: np.concatenate([np.asarray(info[key]) for info in infos]) for key in keys}


__all__ = [
    "Advantages",
    "Collected",
    "GreedyEpisodeActor",
    "PPOConfig",
    "PPOLearner",
    "ReferenceKLConfig",
    "learning_rate_schedule",
    "make_agent",
]
