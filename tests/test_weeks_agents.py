"""PPO on ``BrightPath/ScheduleWeeks-v0``: whole episodes collected in lockstep, GAE over the weeks, the three
weeks networks (what each reads), recurrent state carried through an episode, and the weekly generator
export computing exactly what the in-process policy does — in a process that never imports this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tf_agents.trajectories import time_step as ts  # noqa: E402

import envs  # noqa: E402
from agents.adapter import schedule_tf_environment  # noqa: E402
from agents.export import export_weekly_generator  # noqa: E402
from agents.networks import NetworkConfig  # noqa: E402
from agents.ppo import PPOConfig  # noqa: E402
from agents.training import build_learner, train_ppo  # noqa: E402
from agents.weeks_networks import MLP_PARTS, RNN_PARTS, weeks_of  # noqa: E402
from brightpath.adaptive import WeeklyGeneratorPolicy, evaluation_cohort, run_weekly_policy  # noqa: E402
from brightpath.inference import WeeklyGeneratorModel  # noqa: E402
from brightpath.schedule import params_to_unit  # noqa: E402
from envs.weeks_env import ObservationPolicy, observation_layout, observation_size  # noqa: E402

WEEKS = 3
NUM_ENVS = 8
MODELS = ("weeks_mlp", "weeks_transformer", "weeks_rnn")


def _setup(name: str = "weeks_mlp", *, seed: int = 0, action_mode: str = "absolute", **config):
    tf_env = schedule_tf_environment(
        NUM_ENVS, seed=seed, env_id=envs.WEEKS_ENV_ID, weeks=WEEKS, reward_source="oracle", action_mode=action_mode
    )
    ppo = PPOConfig(
        **{"num_iterations": 2, "minibatch_size": 4, "num_epochs": 1, "normalize_observations": False, **config}
    )
    return tf_env, build_learner(tf_env, NetworkConfig(name=name), ppo, seed=seed)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """A briefly trained policy of each weeks network (``_setup``'s defaults: 2 iterations), its exported weekly
    generator and its metric history, by model name."""
    out = {}
    for name in MODELS:
        tf_env, learner = _setup(name)
        history = train_ppo(learner, tf_env)
        directory = tmp_path_factory.mktemp(name) / "weekly_generator"
        export_weekly_generator(learner.agent.policy, directory, weeks=WEEKS, action_mode="absolute", model_version="t")
        out[name] = (learner, directory, history)
    return out


def test_a_batch_is_every_family_s_whole_episode_and_a_boundary():
    tf_env, learner = _setup()
    batch = learner.collect(tf_env)
    experience = batch.experience
    assert experience.step_type.shape == (NUM_ENVS, WEEKS + 1)
    assert (experience.step_type.numpy()[:, 0] == ts.StepType.FIRST).all()
    assert (experience.step_type.numpy()[:, 1:WEEKS] == ts.StepType.MID).all()
    assert (experience.next_step_type.numpy()[:, WEEKS - 1] == ts.StepType.LAST).all()
    discount = experience.discount.numpy()
    assert (discount[:, : WEEKS - 1] == 1).all() and (discount[:, WEEKS - 1] == 0).all()
    assert batch.env_steps == NUM_ENVS * WEEKS
    np.testing.assert_allclose(batch.reward, experience.reward.numpy()[:, :WEEKS].sum(axis=1), rtol=1e-6)
    assert batch.info["true_satisfaction"].shape == (NUM_ENVS * WEEKS,)
    # the oracle reward is the truth of every week lived
    np.testing.assert_allclose(
        np.sort(batch.info["true_satisfaction"]), np.sort(experience.reward.numpy()[:, :WEEKS].reshape(-1)), rtol=1e-6
    )


@pytest.mark.parametrize(("gamma", "lam"), [(0.0, 0.95), (0.9, 1.0), (0.9, 0.5)])
def test_advantages_are_gae_over_the_weeks(gamma, lam):
    tf_env, learner = _setup(discount_factor=gamma, lambda_value=lam, normalize_rewards=False)
    experience = learner.collect(tf_env).experience
    estimate = learner.advantages(experience)
    rewards = experience.reward.numpy()[:, :WEEKS].astype(np.float64)
    values = estimate.values.reshape(NUM_ENVS, WEEKS)
    expected = np.zeros_like(rewards)
    running = np.zeros(NUM_ENVS)
    for week in reversed(range(WEEKS)):
        following = values[:, week + 1] if week + 1 < WEEKS else np.zeros(NUM_ENVS)  # no bootstrap at the end
        delta = rewards[:, week] + gamma * following - values[:, week]
        running = delta + gamma * lam * running
        expected[:, week] = running
    np.testing.assert_allclose(estimate.advantages.reshape(NUM_ENVS, WEEKS), expected, atol=1e-5)


def test_each_network_reads_its_parts_of_the_observation():
    layout = observation_layout(WEEKS)
    assert weeks_of(observation_size(WEEKS)) == WEEKS
    rng = np.random.default_rng(0)
    obs = rng.uniform(0.0, 1.0, (4, observation_size(WEEKS))).astype(np.float32)
    obs[:, layout["history_mask"]] = [1.0, 0.0, 0.0]
    for name, unread in (
        ("weeks_mlp", ("history", "history_mask")),
        ("weeks_transformer", ("last",)),
        ("weeks_rnn", ("summary", "history", "history_mask")),
    ):
        _, learner = _setup(name)
        changed = obs.copy()
        for part in unread:
            changed[:, layout[part]] = rng.uniform(0.0, 1.0, changed[:, layout[part]].shape)
        if name == "weeks_transformer":  # padding slots of the history are masked out
            padding = layout["history"].start + 46
            changed[:, padding : layout["history"].stop] = rng.uniform(0.0, 1.0, (4, layout["history"].stop - padding))
        first = learner.episode_actor(1)
        np.testing.assert_allclose(first(obs), learner.episode_actor(1)(changed), atol=1e-6, err_msg=name)
    assert set(MLP_PARTS) >= {"summary", "last"} and "last" in RNN_PARTS


def test_a_recurrent_policy_carries_its_state_through_the_episode():
    _, learner = _setup("weeks_rnn")
    assert learner.recurrent
    obs = np.random.default_rng(1).uniform(0.0, 1.0, (2, WEEKS, observation_size(WEEKS))).astype(np.float32)
    actions = learner.greedy_episode_actions(obs)
    other_start = obs.copy()
    other_start[:, 0] = np.random.default_rng(2).uniform(0.0, 1.0, obs[:, 0].shape)
    later = learner.greedy_episode_actions(other_start)
    assert not np.allclose(actions[:, 1:], later[:, 1:])  # week 1 is remembered in the weeks after it
    actor = learner.episode_actor(WEEKS)
    np.testing.assert_allclose(np.stack([actor(obs[:, t]) for t in range(WEEKS)], axis=1), actions, atol=1e-6)
    with pytest.raises(ValueError, match="greedy_episode_actions"):
        learner.greedy_actions(obs[:, 0])


def test_training_resumes_exactly_from_a_checkpoint(trained, tmp_path):
    from agents.checkpoint import TrainingCheckpoint

    *_, straight = trained["weeks_rnn"]  # 2 iterations without a break
    tf_env, learner = _setup("weeks_rnn", num_iterations=1)
    train_ppo(
        learner, tf_env, checkpoint=TrainingCheckpoint(tmp_path, learner, tf_env.pyenv, max_to_keep=1, resume=False)
    )
    tf_env, learner = _setup("weeks_rnn", num_iterations=2)
    restored = TrainingCheckpoint(tmp_path, learner, tf_env.pyenv, max_to_keep=1, resume=True)
    resumed = train_ppo(learner, tf_env, checkpoint=restored)
    strip = [{k: v for k, v in h.items() if not k.startswith("perf/")} for h in straight]
    assert [{k: v for k, v in h.items() if not k.startswith("perf/")} for h in resumed] == strip


@pytest.mark.parametrize("name", MODELS)
def test_the_exported_weekly_generator_plans_what_the_policy_plans(trained, name):
    learner, directory, _ = trained[name]
    model = WeeklyGeneratorModel(directory)
    assert model.weeks == WEEKS and model.source == "ppo"
    families, starts = evaluation_cohort(24, WEEKS, seed=4)
    ours = run_weekly_policy(ObservationPolicy(learner.episode_actor(WEEKS), WEEKS), families, starts, WEEKS, seed=1)
    exported = run_weekly_policy(WeeklyGeneratorPolicy(model), families, starts, WEEKS, seed=1)
    np.testing.assert_allclose(params_to_unit(exported.params), params_to_unit(ours.params), atol=1e-5, err_msg=name)
    np.testing.assert_array_equal(exported.satisfaction, ours.satisfaction)


def test_an_adjusting_policy_exports_its_adjustments(tmp_path):
    tf_env, learner = _setup(action_mode="adjust")
    train_ppo(learner, tf_env)
    export_weekly_generator(learner.agent.policy, tmp_path / "g", weeks=WEEKS, action_mode="adjust", model_version="t")
    families, starts = evaluation_cohort(16, WEEKS, seed=5)
    ours = run_weekly_policy(
        ObservationPolicy(learner.episode_actor(WEEKS), WEEKS, "adjust"), families, starts, WEEKS, seed=2
    )
    exported = run_weekly_policy(
        WeeklyGeneratorPolicy(WeeklyGeneratorModel(tmp_path / "g")), families, starts, WEEKS, seed=2
    )
    np.testing.assert_allclose(params_to_unit(exported.params), params_to_unit(ours.params), atol=1e-5)


def test_the_weekly_generator_runs_without_this_repository(trained):
    _, directory, _ = trained["weeks_rnn"]  # recurrent: the history is unrolled inside the graph
    metadata = json.loads((directory / "brightpath_model.json").read_text())
    assert metadata["kind"] == "weekly_generator" and metadata["weeks"] == WEEKS
    script = textwrap.dedent(f"""
        import json, math, sys
        import tensorflow as tf
        W = {WEEKS}
        loaded = tf.saved_model.load({str(directory)!r})
        nan = float("nan")
        feedback = [[4, 4, nan, 3, 0.7, 0.9, 0.8, 1]] + [[nan] * 8] * (W - 1)
        out = loaded.signatures["serving_default"](
            answers=tf.fill([1, 25], 3.0), child_age=tf.constant([9.0]),
            history_params=tf.constant([[[0.5, 30, 3, 8.5, 180, 0.5, 10]] * W], tf.float32),
            history_feedback=tf.constant([feedback], tf.float32),
            history_adjustment_kind=tf.constant([[1] + [-1] * (W - 1)], tf.int32),
            history_week=tf.zeros([1, W, 8]), history_mask=tf.constant([[1.0] + [0.0] * (W - 1)]),
            next_week=tf.zeros([1, 8]))
        ours = [m for m in sys.modules if m.split(".")[0] in ("brightpath", "envs", "agents", "experiments",
                                                              "tf_agents")]
        print(json.dumps({{"params": {{k: float(v.numpy()[0]) for k, v in out.items()}}, "ours": ours}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TF_USE_LEGACY", "BRIGHTPATH"))}
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], cwd=directory.parent, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["ours"] == []
    assert set(served["params"]) == set(metadata["param_names"])
    assert all(np.isfinite(list(served["params"].values())))
