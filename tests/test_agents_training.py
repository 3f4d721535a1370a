"""The PPO training loop without Hydra (``agents.training``), its checkpoint (``agents.checkpoint``),
and what it logs: explained variance, the learning rate, per-episode returns for episodes of any length."""

from __future__ import annotations

import io

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tf_agents.trajectories import time_step as ts  # noqa: E402
from tf_agents.trajectories import trajectory  # noqa: E402

from agents.adapter import schedule_tf_environment  # noqa: E402
from agents.checkpoint import TrainingCheckpoint  # noqa: E402
from agents.networks import NetworkConfig  # noqa: E402
from agents.ppo import Advantages, Collected, PPOConfig  # noqa: E402
from agents.training import ProgressBar, build_learner, train_ppo  # noqa: E402

NUM_ENVS = 32
CONFIG = dict(num_iterations=3, num_epochs=2, minibatch_size=16, checkpoint_interval=1)


class Recorder:
    """An ``IterationCallback`` that keeps what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, dict[str, float]]] = []
        self.began: tuple[int, int] | None = None
        self.ended = False

    def on_train_begin(self, start_iteration: int, num_iterations: int) -> None:
        self.began = (start_iteration, num_iterations)

    def on_iteration(self, iteration: int, env_steps: int, metrics: dict[str, float]) -> None:
        self.calls.append((iteration, env_steps, metrics))

    def on_train_end(self) -> None:
        self.ended = True


def _setup(seed: int = 0, **config):
    tf_env = schedule_tf_environment(NUM_ENVS, seed=seed, reward_source="oracle")
    learner = build_learner(tf_env, NetworkConfig(), PPOConfig(**{**CONFIG, **config}), seed=seed)
    return tf_env, learner


def test_the_loop_reports_each_iteration_and_resumes_exactly_from_a_checkpoint(tmp_path):
    tf_env, learner = _setup()
    recorder = Recorder()
    straight = train_ppo(learner, tf_env, callbacks=[recorder])
    assert recorder.began == (0, 3) and recorder.ended
    assert [(i, steps) for i, steps, _ in recorder.calls] == [(1, 32), (2, 64), (3, 96)]
    metrics = recorder.calls[-1][2]
    for key in (
        "charts/episodic_return",
        "charts/true_satisfaction",
        "charts/proxy_true_gap",
        "charts/learning_rate",
        "charts/reference_kl",
        "losses/policy",
        "losses/value",
        "losses/explained_variance",
        "perf/env_steps_per_s",
    ):
        assert np.isfinite(metrics[key]), key
    assert metrics["charts/learning_rate"] == pytest.approx(1e-3)
    assert metrics["charts/proxy_true_gap"] == pytest.approx(0.0, abs=1e-6)  # the oracle reward is the truth (float32)
    assert [h["env_steps"] for h in straight] == [32, 64, 96]

    # Stop after one iteration (a checkpoint), rebuild everything, resume: the same history.
    tf_env, learner = _setup(num_iterations=1)
    checkpoint = TrainingCheckpoint(tmp_path / "run", learner, tf_env.pyenv, max_to_keep=1, resume=False)
    train_ppo(learner, tf_env, checkpoint=checkpoint)
    tf_env, learner = _setup()
    restored = TrainingCheckpoint(tmp_path / "run", learner, tf_env.pyenv, max_to_keep=1, resume=True)
    assert restored.start_iteration == 1 and len(restored.history) == 1
    resumed = train_ppo(learner, tf_env, checkpoint=restored)
    timing = ("perf/",)
    assert [{k: v for k, v in h.items() if not k.startswith(timing)} for h in resumed] == [
        {k: v for k, v in h.items() if not k.startswith(timing)} for h in straight
    ]


def test_an_annealed_learning_rate_decays_and_is_logged():
    tf_env, learner = _setup(anneal_learning_rate=True, num_iterations=2)
    recorder = Recorder()
    train_ppo(learner, tf_env, callbacks=[recorder])
    first, second = (metrics["charts/learning_rate"] for _, _, metrics in recorder.calls)
    # Two epochs of two minibatches per iteration: 4 of the run's 8 gradient steps done after the first.
    assert first == pytest.approx(1e-3) and second == pytest.approx(0.5e-3)


def test_explained_variance():
    returns = np.array([0.1, 0.5, 0.9, 0.3], np.float32)
    assert Advantages(returns, returns, returns * 0).explained_variance == 1.0
    mean = np.full(4, returns.mean(), np.float32)
    assert Advantages(mean, returns, returns - mean).explained_variance == pytest.approx(0.0, abs=1e-6)
    assert Advantages(-returns, returns, 2 * returns).explained_variance < 0
    assert np.isnan(Advantages(mean, mean, mean * 0).explained_variance)


def test_episodes_of_several_steps_are_counted_and_summed():
    """The loop's bookkeeping reads the trajectory's step types, not a one-step layout: two episodes
    of two decisions each, then their boundary steps."""
    from agents.training import _episode_mean

    first, mid, last = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST
    rows = 2
    step_type = tf.constant([[first, mid, last]] * rows, tf.int32)
    next_step_type = tf.constant([[mid, last, first]] * rows, tf.int32)
    reward = tf.constant([[0.2, 0.5, 0.0], [0.1, 0.3, 0.0]], tf.float32)
    experience = trajectory.Trajectory(
        step_type=step_type,
        observation=tf.zeros([rows, 3, 1]),
        action=tf.zeros([rows, 3, 1]),
        policy_info=(),
        next_step_type=next_step_type,
        reward=reward,
        discount=tf.ones([rows, 3]),
    )
    batch = Collected(experience, np.array([0.7, 0.4], np.float32), {"true_satisfaction": np.array([0.6, 0.5])})
    assert batch.env_steps == 4
    assert _episode_mean(experience) == pytest.approx((0.7 + 0.4) / 2)
    assert batch.metrics() == {"charts/episodic_return": pytest.approx(0.55), "charts/true_satisfaction": 0.55}


def test_the_progress_bar_does_not_redraw_on_every_iteration():
    stream = io.StringIO()
    bar = ProgressBar("run", mininterval=3600.0, file=stream)
    bar.on_train_begin(0, 200)
    for iteration in range(1, 201):
        bar.on_iteration(iteration, 32 * iteration, {"charts/episodic_return": 0.5, "charts/true_satisfaction": 0.6})
    bar.on_train_end()
    drawn = stream.getvalue().count("\r")
    assert 1 <= drawn <= 3, drawn  # the first draw and the final one, not 200
    assert "ret=0.500, true=0.600" in stream.getvalue()


def test_progress_bar_reports_to_a_service_training_job_at_most_once_per_percent(monkeypatch):
    """Inside a job of the model service the bar's progress reaches the job's status (parsed by the
    worker from stdout), about once per 1 % of the run and always at the end; outside a job, not at all."""
    import io

    import brightpath.store.jobs as jobs
    from agents.training import ProgressBar
    from brightpath.store import parse_progress

    def run(iterations: int) -> list:
        out = io.StringIO()
        monkeypatch.setattr(jobs.sys, "stdout", out)
        bar = ProgressBar("ppo-mlp-s0", file=io.StringIO())
        bar.on_train_begin(0, iterations)
        for i in range(iterations):
            bar.on_iteration(i + 1, 0, {"charts/episodic_return": 0.5})
        bar.on_train_end()
        return [parse_progress(line) for line in out.getvalue().splitlines()]

    monkeypatch.delenv(jobs.JOB_ID_ENV, raising=False)
    assert run(50) == []
    monkeypatch.setenv(jobs.JOB_ID_ENV, "job-1")
    reports = run(400)
    assert 95 <= len(reports) <= 101
    assert [p for p, _ in reports] == sorted(p for p, _ in reports)
    assert reports[-1] == (1.0, "ppo-mlp-s0: iteration 400/400")
