"""``+exp=weeks`` and ``+exp=weekly_reward`` end to end on tiny budgets: the weekly reward model trained first as
a child run, the adaptive policy trained against it, exported, evaluated with every baseline and reported; same
seed → same numbers; a killed run resumed equals an uninterrupted one; bad configs fail before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tf_agents")

TINY_WEEKS = [
    "+exp=weeks",
    "weeks.weeks=4",
    "weeks.num_envs=8",
    "agent.minibatch_size=4",
    "agent.num_iterations=4",
    "agent.checkpoint_interval=2",
    "agent.num_epochs=1",
    "weeks.eval_families=16",
    "weeks.one_shot_generator=expert",
    "weeks.oracle.n_random=16",
    "weeks.oracle.n_rounds=1",
    "weeks.oracle.n_local=4",
    "weeks.examples=1",
]
TINY_REWARD = [
    "weeks.logs.n_families=40",
    "weeks.logs.candidate_rows_per_week=4",
    "weeks.logs.candidates_per_row=3",
    "weeks.reward_model.max_epochs=1",
    "weeks.reward_model.d_model=4",
    "weeks.reward_model.ff_dim=4",
    "weeks.reward_model.head_units=[8]",
    "weeks.reward_model.history_units=8",
    "weeks.reward_model.batch_size=64",
]
WITH_REWARD_MODEL = [*TINY_WEEKS, *TINY_REWARD]
"""The default weekly network (weeks_mlp) against a weekly reward model trained first."""
ORACLE = [*TINY_WEEKS, "weeks.reward_source=oracle"]
RNN_ORACLE = [*ORACLE, "model=weeks_rnn", "agent.num_iterations=1"]
"""The recurrent network for one iteration on the oracle reward: the second model the report test adds."""


def _comparable(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if not k.startswith("perf/")}


def test_a_tiny_run_trains_the_reward_model_then_the_policy_and_reports(tmp_home, run_experiment, mlflow_store):
    metrics = run_experiment(WITH_REWARD_MODEL, tmp_home)

    for key in (
        "eval/late_true_satisfaction",
        "eval/late_pct_of_oracle",
        "eval/oracle_late_true_satisfaction",
        "eval/adjustment_rule_late_true_satisfaction",
        "eval/family_optimiser_late_true_satisfaction",
        "eval/one_shot_ppo_late_true_satisfaction",
        "eval/feedback_hidden_late_true_satisfaction",
        "eval/week1_minus_one_shot",
        "eval/weeks2_4_p_adjustment_rule",
        "perf/reward_model_step_share",
    ):
        assert np.isfinite(metrics[key]), key
    assert {metrics[k] for k in metrics if k.startswith("bars/")} <= {0.0, 1.0}
    assert len([k for k in metrics if k.startswith("bars/")]) == 5
    assert metrics["eval/export_max_unit_diff"] == pytest.approx(0.0, abs=1e-5)
    assert 0.0 < metrics["perf/reward_model_step_share"] < 1.0

    (parent,) = mlflow_store.runs("attributes.run_name = 'weeks-weeks_mlp-s0'")
    (child,) = mlflow_store.runs("attributes.run_name = 'weekly_reward-s0'")
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id and child.info.status == "FINISHED"
    run_id_file = tmp_home / "checkpoints" / "weeks-weeks_mlp-s0" / "mlflow_run_id.txt"
    assert run_id_file.read_text().strip() == parent.info.run_id  # beside the checkpoints, as +exp=ppo keeps it
    for key in (
        "test/spearman_true_satisfaction",
        "test/nohistory_spearman_true_satisfaction",
        "offdist/within_family_spearman_true_satisfaction",
        "test/spearman_true_satisfaction_week3",
    ):
        assert np.isfinite(child.data.metrics[key]), key
    steps = [s for s, _ in mlflow_store.history(parent.info.run_id, "perf/reward_model_time_share")]
    assert steps == [32, 64, 96, 128]  # 8 families x 4 weeks per iteration
    assert {"weekly_generator", "weekly_policy", "report", "plots", "eval"} <= {
        a.path for a in mlflow_store.client.list_artifacts(parent.info.run_id)
    }

    from brightpath import registry

    for name in ("weekly_reward", "weekly_generator", "weekly_policy"):
        assert registry.resolve(tmp_home / "models", name)[0] == 1, name
    generator = json.loads((tmp_home / "models" / "weekly_generator" / "brightpath_model.json").read_text())
    assert {
        "kind": "weekly_generator",
        "weeks": 4,
        "model": "weeks_mlp",
        "reward_source": "model",
    }.items() <= generator.items()
    report = (tmp_home / "reports" / "weeks.md").read_text()
    for row in (
        "expert rule",
        "adjustment-following rule",
        "per-family optimiser",
        "one-shot PPO repeated",
        "adaptive PPO (weeks_mlp)",
        "adaptive PPO (weeks_mlp), feedback hidden",
        "per-week oracle",
    ):
        assert f"| {row} |" in report, row
    assert "## Paired tests, weeks 2-4" in report and "## The issue's bars" in report
    assert (tmp_home / "reports" / "weeks_by_week.png").stat().st_size > 10_000

    # Another model on the same cohort joins the report (the oracle reward: no reward model needed).
    run_experiment(RNN_ORACLE, tmp_home)
    report = (tmp_home / "reports" / "weeks.md").read_text()
    assert "| adaptive PPO (weeks_mlp) |" in report and "| adaptive PPO (weeks_rnn), oracle reward |" in report


def test_same_seed_same_numbers_and_a_killed_run_resumes_exactly(tmp_home, run_experiment, monkeypatch, mlflow_store):
    from agents.checkpoint import TrainingCheckpoint

    straight = run_experiment([*ORACLE, "run_name=straight"], tmp_home)

    original_save = TrainingCheckpoint.save

    def save_then_die(self, iteration, history):
        original_save(self, iteration, history)
        if iteration == 2:
            raise KeyboardInterrupt  # as if the process were killed right after this checkpoint

    monkeypatch.setattr(TrainingCheckpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_experiment([*ORACLE, "run_name=killed"], tmp_home)
    monkeypatch.setattr(TrainingCheckpoint, "save", original_save)
    resumed = run_experiment([*ORACLE, "run_name=killed", "resume=true"], tmp_home)
    assert _comparable(resumed) == _comparable(straight)  # a second run of the same seed: the same numbers
    (killed,) = mlflow_store.runs("attributes.run_name = 'killed'")
    (first,) = mlflow_store.runs("attributes.run_name = 'straight'")
    for key in ("charts/episodic_return", "charts/true_satisfaction", "losses/policy"):
        assert mlflow_store.history(killed.info.run_id, key) == mlflow_store.history(first.info.run_id, key), key


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model=mlp", "model: expected a multi-week network"),
        ("agent.normalize_observations=true", "agent.normalize_observations: expected false"),
        ("weeks.num_envs=10", "weeks.num_envs: expected a multiple of agent.minibatch_size"),
        ("weeks.weeks=1", "weeks.weeks"),
        ("weeks.action_mode=sideways", "weeks.action_mode"),
        ("weeks.reward_model.history_units=7", "weeks.reward_model.history_units"),
    ],
)
def test_a_bad_config_fails_before_any_work(tmp_home, run_experiment, override, message):
    from experiments.config_check import ConfigError

    with pytest.raises(ConfigError, match=message):
        run_experiment([*ORACLE, override], tmp_home)
    assert not (tmp_home / "models").exists()
