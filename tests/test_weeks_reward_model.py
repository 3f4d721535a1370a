"""The history-aware reward model: simulated multi-week logs (what a row may see, targets from feedback only),
candidate sets and within-family ranking, training, the exported SavedModel (TensorFlow only) and its use as the
weeks environment's reward (``WeekScorer``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from brightpath.history import LIVED_INDEX, TOKEN_DIM
from brightpath.reward.targets import fit_calibration
from brightpath.reward.weekly_data import candidate_set, feedback_columns, simulate_logs, within_group_spearman
from brightpath.simulator import sample_families

WEEKS = 4


@pytest.fixture(scope="module")
def logs():
    return simulate_logs(sample_families(60, np.random.default_rng(0)), WEEKS, np.random.default_rng(1))


@pytest.fixture(scope="module")
def calibration(logs):
    return fit_calibration(feedback_columns(logs))


def test_a_row_sees_only_the_weeks_lived_before_it(logs, calibration):
    rows = logs.rows(calibration)
    n = len(logs.families)
    assert len(rows) == n * WEEKS
    np.testing.assert_array_equal(rows.week_index, np.repeat(np.arange(WEEKS), n))
    np.testing.assert_array_equal(rows.inputs.history_mask.sum(axis=1), rows.week_index)
    lived = rows.inputs.history[:, :, LIVED_INDEX]
    np.testing.assert_array_equal(lived, rows.inputs.history_mask)  # nothing of the scored week or later leaks
    assert rows.inputs.history.shape == (n * WEEKS, WEEKS, TOKEN_DIM)
    last_row = rows.take(np.array([n * (WEEKS - 1)]))  # family 0's last week: its earlier weeks are its logs
    np.testing.assert_array_equal(last_row.inputs.history[0, : WEEKS - 1], logs.history[0, : WEEKS - 1])
    np.testing.assert_allclose(rows.inputs.params[:n], logs.params[:, 0], rtol=1e-6)


def test_targets_come_from_feedback_and_silent_weeks_weigh_nothing(logs, calibration):
    rows = logs.rows(calibration)
    feedback = feedback_columns(logs)
    silent = np.array(
        [
            all(
                feedback[c][i] is None or (isinstance(feedback[c][i], float) and np.isnan(feedback[c][i]))
                for c in feedback
            )
            for i in range(len(rows))
        ]
    )
    assert silent.any() and (~silent).any()
    assert (rows.targets.weights[silent] == 0).all() and (rows.targets.weights[~silent].sum(axis=1) > 0).all()
    # the truth is kept apart, for evaluation
    assert not np.allclose(np.nan_to_num(rows.targets.values[:, 0]), rows.truth["satisfaction"])


def test_candidates_share_a_history_per_group_and_rankings_are_measured(logs, calibration):
    candidates = candidate_set(logs, calibration, np.random.default_rng(2), per_row=5, rows_per_week=6)
    assert len(candidates) == 6 * WEEKS * 5
    for group in np.unique(candidates.group)[:5]:
        rows = candidates.group == group
        assert len(np.unique(candidates.inputs.history[rows], axis=0)) == 1
        assert len(np.unique(candidates.inputs.params[rows], axis=0)) == 5
    truth = candidates.truth["satisfaction"]
    assert within_group_spearman(truth, truth, candidates.group) == pytest.approx(1.0)
    assert within_group_spearman(-truth, truth, candidates.group) == pytest.approx(-1.0)
    assert np.isnan(within_group_spearman(truth[:2], truth[:2], np.array([0, 0])))


@pytest.fixture(scope="module")
def exported(logs, calibration, tmp_path_factory):
    pytest.importorskip("tensorflow")
    from brightpath.reward.weekly_model import WeeklyRewardConfig, train_weekly_model
    from brightpath.reward.weekly_scoring import export_weekly_reward_model

    rows = logs.rows(calibration)
    config = WeeklyRewardConfig(d_model=4, ff_dim=4, history_units=8, head_units=(8,), max_epochs=2, batch_size=64)
    trained = train_weekly_model(config, rows.take(np.arange(180)), rows.take(np.arange(180, len(rows))), seed=0)
    directory = tmp_path_factory.mktemp("weekly") / "weekly_reward"
    export_weekly_reward_model(
        trained.model,
        trained.preprocessing,
        directory,
        model_version="t",
        metadata={"target_calibration": calibration.to_dict()},
    )
    return trained, directory, rows


def test_training_is_seeded_and_the_export_scores_as_the_model(exported, calibration):
    from brightpath.reward.weekly_model import train_weekly_model
    from brightpath.reward.weekly_scoring import WeeklyRewardScorer

    trained, directory, rows = exported
    again = train_weekly_model(trained.config, rows.take(np.arange(180)), rows.take(np.arange(180, len(rows))), seed=0)
    np.testing.assert_array_equal(again.predict(rows.inputs), trained.predict(rows.inputs))
    scorer = WeeklyRewardScorer(directory)
    scores = scorer.score_inputs(rows.inputs)
    np.testing.assert_allclose(scores["satisfaction"], trained.predict(rows.inputs)[:, 0], atol=1e-5)
    assert scorer.calibration == calibration
    assert all(((s >= 0) & (s <= 1)).all() for s in scores.values())


def test_the_model_reads_the_history(exported):
    trained, _, rows = exported
    later = rows.week_index > 0
    with_history = trained.predict(rows.inputs)[later, 0]
    without = trained.predict(rows.inputs.without_history())[later, 0]
    assert np.abs(with_history - without).max() > 1e-4


def test_it_is_the_weeks_environment_s_reward(exported):
    import gymnasium as gym

    import envs
    from brightpath.reward.weekly_scoring import WeeklyRewardScorer
    from envs.weeks_env import WeekScorer

    _, directory, _ = exported
    scorer = WeeklyRewardScorer(directory)
    assert isinstance(scorer, WeekScorer)
    env = gym.make_vec(
        envs.WEEKS_ENV_ID, num_envs=6, vectorization_mode="vector_entry_point", weeks=WEEKS, reward_model=scorer
    )
    env.reset(seed=0)
    rewards = []
    for _ in range(WEEKS):
        _, reward, _, _, info = env.step(np.zeros((6, 7), np.float32))
        np.testing.assert_allclose(reward, info["proxy_satisfaction"])
        rewards.append(reward)
    assert env.unwrapped.rewards.score_calls == WEEKS  # one reward-model call per step, every family at once
    assert np.all(np.isfinite(rewards))


def test_a_model_of_another_kind_is_refused(tmp_path):
    from brightpath.errors import ModelLoadError
    from brightpath.reward.weekly_scoring import WeeklyRewardScorer

    (tmp_path / "brightpath_model.json").write_text(json.dumps({"kind": "reward"}))
    with pytest.raises(ModelLoadError, match="not a weekly reward model"):
        WeeklyRewardScorer(tmp_path)
    with pytest.raises(ModelLoadError):
        WeeklyRewardScorer(tmp_path / "missing")


def test_the_exported_model_runs_without_this_repository(exported):
    _, directory, rows = exported
    sample = rows.take(np.arange(3)).inputs.as_dict()
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        loaded = tf.saved_model.load({str(directory)!r})
        inputs = {{k: tf.constant(v, tf.float32) for k, v in json.loads(sys.stdin.read()).items()}}
        out = loaded.signatures["serving_default"](**inputs)
        ours = [m for m in sys.modules if m.split(".")[0] in ("brightpath", "envs", "agents", "experiments")]
        print(json.dumps({{"satisfaction": out["satisfaction"].numpy().tolist(), "ours": ours}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TF_USE_LEGACY", "BRIGHTPATH"))}
    result = subprocess.run(
        [sys.executable, "-I", "-c", script],
        input=json.dumps({k: v.tolist() for k, v in sample.items()}),
        cwd=directory.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["ours"] == []
    np.testing.assert_allclose(
        served["satisfaction"], exported[0].predict(rows.take(np.arange(3)).inputs)[:, 0], atol=1e-5
    )
