"""The TF-Agents side: the Gymnasium adapter, the networks, the reference KL, PPO learning the
schedule bandit, and the generator export computing exactly what the policy saw."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

import envs
from brightpath import simulator
from brightpath.schedule import N_PARAMS, unit_to_params
from envs.schedule_env import OBS_DIM, ScheduleRewards, family_observation

tf = pytest.importorskip("tensorflow")

from tf_agents.environments import tf_py_environment, utils  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402

from agents import reference_kl  # noqa: E402
from agents.adapter import GymnasiumPyEnvironment, schedule_tf_environment  # noqa: E402
from agents.networks import FeatureTokenEncoder, NetworkConfig, build_networks  # noqa: E402
from agents.ppo import PPOConfig, PPOLearner, make_agent  # noqa: E402


def _vector_env(n=8, seed=0):
    vector = gym.make_vec(envs.ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", reward_source="oracle")
    return GymnasiumPyEnvironment(vector, seed=seed)


# --- adapter -----------------------------------------------------------------------------------


def test_adapters_pass_tf_agents_validation():
    single = GymnasiumPyEnvironment(gym.make(envs.ENV_ID, reward_source="oracle"), seed=0)
    assert not single.batched and single.batch_size is None
    utils.validate_py_environment(single, episodes=5)
    batched = _vector_env(8)
    assert batched.batched and batched.batch_size == 8
    utils.validate_py_environment(batched, episodes=24)


def test_batched_adapter_episode_boundaries():
    env = _vector_env(4)
    first = env.reset()
    assert (first.step_type == ts.StepType.FIRST).all() and first.observation.shape == (4, OBS_DIM)
    last = env.step(np.zeros((4, N_PARAMS), np.float32))
    assert (last.step_type == ts.StepType.LAST).all() and (last.discount == 0).all()
    assert (last.reward > 0).all()
    np.testing.assert_array_equal(env.get_info()["true_satisfaction"].astype(np.float32), last.reward)
    restarted = env.step(np.zeros((4, N_PARAMS), np.float32))  # the action is ignored
    assert (restarted.step_type == ts.StepType.FIRST).all() and (restarted.reward == 0).all()
    assert not np.array_equal(restarted.observation, first.observation)


def test_adapter_state_restores_the_family_stream():
    env = _vector_env(4, seed=3)
    env.reset()
    state = env.get_state()
    expected = env.reset().observation
    env.reset()
    env.set_state(state)
    np.testing.assert_array_equal(env.reset().observation, expected)


def test_tf_environment_is_batched():
    tf_env = schedule_tf_environment(16, seed=0, reward_source="oracle")
    assert isinstance(tf_env, tf_py_environment.TFPyEnvironment) and tf_env.batch_size == 16
    time_step = tf_env.reset()
    assert time_step.observation.shape == (16, OBS_DIM)


def test_adapter_rejects_non_box_spaces():
    with pytest.raises(TypeError, match="observation: only gymnasium.spaces.Box"):
        GymnasiumPyEnvironment(_DiscreteObs())


class _DiscreteObs(gym.Env):
    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Box(-1, 1, (1,))


# --- networks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mlp", "transformer"])
def test_networks_give_a_bounded_gaussian_policy_and_a_value(name):
    tf_env = schedule_tf_environment(8, seed=0, reward_source="oracle")
    actor, value = build_networks(
        tf_env.observation_spec(), tf_env.action_spec(), NetworkConfig(name=name, init_action_std=0.4)
    )
    obs = tf_env.reset().observation
    distribution, _ = actor(obs, step_type=None, network_state=())
    assert distribution.mean().shape == (8, N_PARAMS)
    assert np.all(np.abs(distribution.mean().numpy()) <= 1.0)
    np.testing.assert_allclose(distribution.stddev().numpy(), 0.4, rtol=1e-5)
    values, _ = value(obs, step_type=None, network_state=())
    assert values.shape == (8,)


def test_feature_token_encoder_attends_over_every_feature():
    encoder = FeatureTokenEncoder(OBS_DIM, d_model=16, num_heads=2, ff_dim=32)
    x = tf.Variable(np.random.default_rng(0).normal(size=(5, OBS_DIM)).astype(np.float32))
    with tf.GradientTape() as tape:
        out = encoder(x)
        loss = tf.reduce_sum(out**2)
    assert out.shape == (5, 16)
    gradient = tape.gradient(loss, x).numpy()
    assert np.all(np.abs(gradient).sum(axis=0) > 0)  # every feature token reaches the pooled output
    clone = FeatureTokenEncoder.from_config(encoder.get_config())
    assert clone.get_config() == encoder.get_config()
    with pytest.raises(ValueError, match="d_model"):
        FeatureTokenEncoder(OBS_DIM, d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="model.name"):
        NetworkConfig(name="rnn")


# --- reference KL ------------------------------------------------------------------------------


def test_log_ratio_is_the_gaussian_log_density_difference():
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (6, OBS_DIM)).astype(np.float32)
    action = rng.normal(size=(6, N_PARAMS)).astype(np.float32)
    loc = rng.uniform(-1, 1, (6, N_PARAMS)).astype(np.float32)
    scale = rng.uniform(0.1, 0.5, (6, N_PARAMS)).astype(np.float32)
    got = reference_kl.log_ratio(tf.constant(obs), tf.constant(action), tf.constant(loc), tf.constant(scale), 0.3)
    expected = (stats.norm.logpdf(action, loc, scale) - stats.norm.logpdf(action, obs[:, 11:], 0.3)).sum(axis=1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="sigma"):
        reference_kl.log_ratio(tf.constant(obs), tf.constant(action), tf.constant(loc), tf.constant(scale), 0.0)


@pytest.fixture(scope="module")
def learner_setup():
    """A small oracle-reward PPO setup shared by the tests below (TF graphs are costly to build)."""
    from brightpath.reproducibility import seed_everything

    seed_everything(0, with_tensorflow=True)
    tf_env = schedule_tf_environment(256, seed=0, reward_source="oracle")
    config = PPOConfig(learning_rate=1e-3, num_epochs=4, minibatch_size=128)
    actor, value = build_networks(tf_env.observation_spec(), tf_env.action_spec(), NetworkConfig())
    agent = make_agent(tf_env.time_step_spec(), tf_env.action_spec(), actor, value, config, batch_size=256)
    return tf_env, PPOLearner(agent, config, seed=0)


def test_collected_batch_is_a_decision_and_a_boundary(learner_setup):
    tf_env, learner = learner_setup
    batch = learner.collect(tf_env)
    experience = batch.experience
    assert experience.observation.shape == (256, 2, OBS_DIM) and experience.action.shape == (256, 2, N_PARAMS)
    np.testing.assert_array_equal(experience.step_type.numpy()[:, 0], ts.StepType.FIRST)
    np.testing.assert_array_equal(experience.next_step_type.numpy()[:, 0], ts.StepType.LAST)
    assert experience.is_boundary().numpy()[:, 1].all() and not experience.is_boundary().numpy()[:, 0].any()
    np.testing.assert_array_equal(experience.reward.numpy()[:, 0], batch.reward)
    assert batch.info["true_satisfaction"].shape == (256,)

    unchanged = reference_kl.penalise(experience, 0.0, 0.3)
    assert unchanged.experience is experience and unchanged.log_ratio.shape == (256,)
    shaped = reference_kl.penalise(experience, 0.1, 0.3)
    np.testing.assert_allclose(
        shaped.experience.reward.numpy()[:, 0], batch.reward - 0.1 * shaped.log_ratio.numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(shaped.experience.reward.numpy()[:, 1], experience.reward.numpy()[:, 1])
    with pytest.raises(ValueError, match="beta"):
        reference_kl.penalise(experience, -1.0, 0.3)


def test_ppo_learns_the_schedule_bandit(learner_setup):
    """With the hidden truth as reward, a dozen PPO iterations clearly beat the initial policy."""
    tf_env, learner = learner_setup
    families = simulator.sample_families(300, np.random.default_rng(42))
    obs = family_observation(families)
    truth = ScheduleRewards("oracle")

    def held_out():
        return float(truth.score(families, learner.greedy_actions(obs)).true["satisfaction"].mean())

    before = held_out()
    for _ in range(12):
        metrics = learner.update(learner.collect(tf_env).experience)
    after = held_out()
    assert after > before + 0.05
    assert set(metrics) >= {"losses/policy", "losses/value", "losses/entropy", "losses/approx_kl"}
    assert all(np.isfinite(v) for v in metrics.values())


def test_exported_generator_computes_what_the_policy_does(learner_setup, tmp_path):
    from agents.export import export_ppo_generator
    from brightpath.export import read_metadata

    _, learner = learner_setup
    directory = export_ppo_generator(learner.agent.policy, tmp_path / "generator", model_version="test")
    assert read_metadata(directory)["source"] == "ppo"
    serve = tf.saved_model.load(str(directory)).signatures["serving_default"]
    families = simulator.sample_families(200, np.random.default_rng(5))
    out = serve(answers=tf.constant(families.answers), child_age=tf.constant(families.child_age))
    from brightpath.schedule import PARAM_NAMES

    exported = np.stack([out[name].numpy() for name in PARAM_NAMES], axis=1)
    in_process = unit_to_params(learner.greedy_actions(family_observation(families)).astype(np.float64))
    np.testing.assert_allclose(exported, in_process, rtol=1e-5, atol=1e-4)


def test_ppo_config_names_bad_values():
    with pytest.raises(ValueError, match=r"agent\.importance_ratio_clipping: expected in \(0, 1\), got 1\.5"):
        PPOConfig(importance_ratio_clipping=1.5)
    with pytest.raises(ValueError, match="agent.num_epochs: expected an integer ≥ 1, got 0"):
        PPOConfig(num_epochs=0)
