"""``+exp=ppo`` end to end on tiny budgets: MLflow logging, the exported generator (published in the
registry, loaded by the backend's ``ScheduleGeneratorModel`` and by a process that never imports this
repository), same seed → same result, resuming a killed run in the same MLflow run, the transformer
model in a sweep, and training the reward model first (a child run) when there is none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("tf_agents")

TINY = [
    "+exp=ppo",
    "env.reward_source=oracle",
    "env.num_envs=64",
    "agent.minibatch_size=32",
    "agent.num_iterations=4",
    "agent.checkpoint_interval=2",
    "agent.learning_rate=0.001",
    "eval.n_families=24",
    "data.n_families=40",
    "data.schedules_per_family=2",
    "eval.oracle.n_random=32",
    "eval.oracle.n_rounds=1",
    "eval.oracle.n_local=8",
]
USER_DATA = {**{f"q{i}": (i * 7) % 5 + 1 for i in range(1, 26)}, "child_age": 9}
PER_ITERATION = (
    "charts/episodic_return",
    "charts/true_satisfaction",
    "charts/learning_rate",
    "losses/policy",
    "losses/value",
    "losses/entropy",
    "losses/approx_kl",
    "losses/explained_variance",
    "perf/env_steps_per_s",
    "perf/reward_model_time_share",
)


def _comparable(metrics: dict[str, float]) -> dict[str, float]:
    """Final metrics minus wall-clock timings (the only ones that vary between identical runs)."""
    return {k: v for k, v in metrics.items() if not k.startswith("perf/") and "ms_per_family" not in k}


def test_tiny_run_logs_exports_and_serves_the_generator(tmp_home, run_experiment, mlflow_store):
    metrics = run_experiment(TINY, tmp_home)

    for key in (
        "eval/true_satisfaction",
        "eval/true_satisfaction_ci95_low",
        "eval/pct_of_oracle",
        "eval/expert_true_satisfaction",
        "eval/oracle_true_satisfaction",
        "eval/invalid_rate",
    ):
        assert np.isfinite(metrics[key]), key
    assert (
        metrics["eval/true_satisfaction_ci95_low"]
        <= metrics["eval/true_satisfaction"]
        <= metrics["eval/true_satisfaction_ci95_high"]
    )
    assert metrics["eval/export_max_unit_diff"] == pytest.approx(0.0, abs=1e-6)
    assert "eval/proxy_true_gap" not in metrics  # the oracle reward has no proxy

    (run,) = mlflow_store.runs()
    assert run.info.run_name == "ppo-mlp-s0" and run.info.status == "FINISHED"
    assert run.data.params["model.name"] == "mlp" and run.data.params["task"] == "ppo"
    assert run.data.params["agent.learning_rate"] == "0.001" and "imitation.name" not in run.data.params
    for key in PER_ITERATION:
        assert [step for step, _ in mlflow_store.history(run.info.run_id, key)] == [64, 128, 192, 256], key
    assert {value for _, value in mlflow_store.history(run.info.run_id, "charts/learning_rate")} == {0.001}
    assert all(value <= 1.0 for _, value in mlflow_store.history(run.info.run_id, "losses/explained_variance"))
    artifacts = {a.path for a in mlflow_store.client.list_artifacts(run.info.run_id)}
    assert {"generator", "policy", "plots", "eval", "config.yaml"} <= artifacts
    plots = {a.path for a in mlflow_store.client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/learning_curve.png", "plots/eval_distributions.png"}
    checkpoint_dir = tmp_home / "checkpoints" / "ppo-mlp-s0"
    assert (checkpoint_dir / "mlflow_run_id.txt").read_text().strip() == run.info.run_id

    from agents.export import load_policy
    from brightpath import registry
    from brightpath.errors import ModelLoadError

    for name in ("generator", "policy"):
        assert registry.resolve(tmp_home / "models", name) == (1, tmp_home / "models" / "versions" / name / "1")
    assert callable(load_policy(tmp_home / "models" / "policy").action)
    with pytest.raises(ModelLoadError, match="expected kind 'policy'"):
        load_policy(tmp_home / "models" / "generator")
    exported = json.loads((tmp_home / "models" / "generator" / "brightpath_model.json").read_text())
    assert {
        "kind": "generator",
        "source": "ppo",
        "model_version": run.info.run_id,
        "run_id": run.info.run_id,
        "data_version": "v1",
        "seed": 0,
    }.items() <= exported.items() and exported["created_at"]

    from brightpath import ScheduleGeneratorModel
    from brightpath.inference import generate_schedule

    model = ScheduleGeneratorModel(tmp_home / "models")
    schedule = model.predict(USER_DATA)
    assert schedule["meta"]["source"] == "ppo" and schedule["meta"]["model_version"] == run.info.run_id
    assert len(schedule["days"]) == 5
    json.dumps(schedule)
    assert generate_schedule(USER_DATA, model_dir=tmp_home / "models")["meta"]["source"] == "ppo"
    assert (tmp_home / "models" / "policy" / "saved_model.pb").is_file()

    # The SavedModel runs in a process that never imports this repository (nor TF-Agents).
    answers = np.array([[USER_DATA[f"q{i}"] for i in range(1, 26)]], dtype=np.float32)
    expected = model.predict_params(answers, np.array([9.0]))[0]
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        loaded = tf.saved_model.load({str(tmp_home / "models" / "generator")!r})
        out = loaded.signatures["serving_default"](answers=tf.constant({answers.tolist()!r}, tf.float32),
                                                   child_age=tf.constant([9.0]))
        ours = [m for m in sys.modules if m.split(".")[0] in ("brightpath", "envs", "agents", "experiments",
                                                              "tf_agents")]
        print(json.dumps({{"params": {{k: float(v.numpy()[0]) for k, v in out.items()}}, "ours": ours}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TF_USE_LEGACY", "BRIGHTPATH"))}
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], cwd=tmp_home.parent, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["ours"] == []
    from brightpath.schedule import PARAM_NAMES

    np.testing.assert_allclose([served["params"][name] for name in PARAM_NAMES], expected, rtol=1e-6)


def test_same_seed_same_result_and_a_killed_run_resumes_in_the_same_mlflow_run(
    tmp_home, run_experiment, monkeypatch, mlflow_store
):
    from agents.checkpoint import TrainingCheckpoint

    uninterrupted = run_experiment([*TINY, "run_name=straight"], tmp_home)

    original_save = TrainingCheckpoint.save

    def save_then_die(self, iteration, history):
        original_save(self, iteration, history)
        if iteration == 2:
            raise KeyboardInterrupt  # as if the process were killed right after this checkpoint

    monkeypatch.setattr(TrainingCheckpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_experiment([*TINY, "run_name=killed"], tmp_home)
    (killed,) = mlflow_store.runs("attributes.run_name = 'killed'")
    assert killed.info.status == "KILLED"
    monkeypatch.setattr(TrainingCheckpoint, "save", original_save)

    resumed = run_experiment([*TINY, "run_name=killed", "resume=true"], tmp_home)
    (run,) = mlflow_store.runs("attributes.run_name = 'killed'")
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    (straight,) = mlflow_store.runs("attributes.run_name = 'straight'")
    for key in ("charts/episodic_return", "charts/true_satisfaction", "losses/policy", "losses/explained_variance"):
        assert mlflow_store.history(run.info.run_id, key) == mlflow_store.history(straight.info.run_id, key), key
    assert _comparable(resumed) == _comparable(uninterrupted)


def test_a_bad_value_fails_before_any_training(tmp_home, run_experiment):
    from experiments.config_check import ConfigError

    with pytest.raises(ConfigError, match=r"agent\.importance_ratio_clipping: expected in \(0, 1\), got 2\.0"):
        run_experiment(
            [*TINY, "env.reward_source=model", "agent.minibatch_size=48", "agent.importance_ratio_clipping=2.0"],
            tmp_home,
        )
    with pytest.raises(ConfigError, match=r"env\.num_envs: expected a multiple of agent\.minibatch_size=48, got 64"):
        run_experiment([*TINY, "agent.minibatch_size=48"], tmp_home)
    with pytest.raises(ConfigError, match="reward_model: expected attention"):
        run_experiment([*TINY, "env.reward_source=model", "reward_model=gbr"], tmp_home)
    assert not (tmp_home / "models").exists() and not (tmp_home / "checkpoints").exists()


def test_transformer_runs_as_a_sweep_job_on_the_train_split(tmp_home, run_experiment, mlflow_store):
    sweep_dir = tmp_home / "multirun" / "sweep"
    metrics = run_experiment(
        [*TINY, "model=transformer", "seed=1", "env.families=train"], tmp_home, sweep_dir=sweep_dir, job_num=1
    )
    assert np.isfinite(metrics["eval/true_satisfaction"])
    (parent,) = mlflow_store.runs("tags.sweep_role = 'parent'")
    (child,) = mlflow_store.runs("attributes.run_name = 'ppo-transformer-s1'")
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.params["model.name"] == "transformer" and child.data.params["model.encoder.d_model"] == "32"


def test_trains_the_reward_model_first_as_a_child_run_when_there_is_none(tmp_home, run_experiment, mlflow_store):
    overrides = [
        *[o for o in TINY if o != "env.reward_source=oracle"],
        "agent.num_iterations=2",
        "reward_model.max_epochs=1",
    ]
    metrics = run_experiment(overrides, tmp_home)
    assert (tmp_home / "models" / "reward" / "saved_model.pb").is_file()
    assert np.isfinite(metrics["eval/proxy_satisfaction"]) and np.isfinite(metrics["eval/proxy_true_gap"])
    (reward_run,) = mlflow_store.runs("attributes.run_name = 'reward-attention-s0'")
    (ppo_run,) = mlflow_store.runs("attributes.run_name = 'ppo-mlp-s0'")
    assert reward_run.data.tags["mlflow.parentRunId"] == ppo_run.info.run_id
    assert reward_run.data.params["reward_model.max_epochs"] == "1"
    assert "agent.learning_rate" not in reward_run.data.params
    (oracle_cache,) = (tmp_home / "cache" / "oracle").iterdir()

    again = run_experiment([*overrides, "run_name=again"], tmp_home)  # the promoted reward model is reused
    assert len(mlflow_store.runs("attributes.run_name = 'reward-attention-s0'")) == 1
    assert list((tmp_home / "cache" / "oracle").iterdir()) == [oracle_cache]  # the oracle is searched once
    assert again["eval/oracle_true_satisfaction"] == metrics["eval/oracle_true_satisfaction"]
