"""``+exp=ppo`` end to end on tiny budgets: MLflow logging, the exported generator (loaded by the
backend's ``ScheduleGeneratorModel`` and by a process that never imports this repository),
same seed → same result, resuming a killed run in the same MLflow run, the transformer model in
a sweep, and training the reward model first when there is none."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tf_agents")

TINY = [
    "+exp=ppo", "env.reward_source=oracle", "env.num_envs=64", "agent.minibatch_size=32",
    "agent.num_iterations=4", "agent.checkpoint_interval=2", "agent.learning_rate=0.001",
    "eval.n_families=24", "data.n_families=40", "data.schedules_per_family=2",
    "eval.oracle.n_random=32", "eval.oracle.n_rounds=1", "eval.oracle.n_local=8",
]
USER_DATA = {**{f"q{i}": (i * 7) % 5 + 1 for i in range(1, 26)}, "child_age": 9}
PER_ITERATION = ("charts/episodic_return", "charts/true_satisfaction", "losses/policy", "losses/value",
                 "losses/entropy", "losses/approx_kl", "perf/env_steps_per_s", "perf/reward_model_time_share")


def _client(home: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home}/mlflow.db")


def _runs(home: Path, filter_string: str = ""):
    client = _client(home)
    experiment = client.get_experiment_by_name("brightpath")
    return [] if experiment is None else client.search_runs([experiment.experiment_id], filter_string=filter_string)


def _history(home: Path, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in _client(home).get_metric_history(run_id, key))


def _comparable(metrics: dict[str, float]) -> dict[str, float]:
    """Final metrics minus wall-clock timings (the only ones that vary between identical runs)."""
    return {k: v for k, v in metrics.items() if not k.startswith("perf/") and "ms_per_family" not in k}


def test_tiny_run_logs_exports_and_serves_the_generator(tmp_home, run_experiment):
    metrics = run_experiment(TINY, tmp_home)

    for key in ("eval/true_satisfaction", "eval/true_satisfaction_ci95_low", "eval/pct_of_oracle",
                "eval/expert_true_satisfaction", "eval/oracle_true_satisfaction", "eval/invalid_rate"):
        assert np.isfinite(metrics[key]), key
    assert metrics["eval/true_satisfaction_ci95_low"] <= metrics["eval/true_satisfaction"] \
        <= metrics["eval/true_satisfaction_ci95_high"]
    assert metrics["eval/export_max_unit_diff"] == pytest.approx(0.0, abs=1e-6)
    assert "eval/proxy_true_gap" not in metrics  # the oracle reward has no proxy

    (run,) = _runs(tmp_home)
    assert run.info.run_name == "ppo-mlp-s0" and run.info.status == "FINISHED"
    assert run.data.params["model.name"] == "mlp" and run.data.params["task"] == "ppo"
    for key in PER_ITERATION:
        assert [step for step, _ in _history(tmp_home, run.info.run_id, key)] == [64, 128, 192, 256], key
    artifacts = {a.path for a in _client(tmp_home).list_artifacts(run.info.run_id)}
    assert {"generator", "policy", "plots", "eval", "config.yaml"} <= artifacts
    plots = {a.path for a in _client(tmp_home).list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/learning_curve.png", "plots/eval_distributions.png"}
    checkpoint_dir = tmp_home / "checkpoints" / "ppo-mlp-s0"
    assert (checkpoint_dir / "mlflow_run_id.txt").read_text().strip() == run.info.run_id

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
        loaded = tf.saved_model.load({str(tmp_home / 'models' / 'generator')!r})
        out = loaded.signatures["serving_default"](answers=tf.constant({answers.tolist()!r}, tf.float32),
                                                   child_age=tf.constant([9.0]))
        ours = [m for m in sys.modules if m.split(".")[0] in ("brightpath", "envs", "agents", "experiments",
                                                              "tf_agents")]
        print(json.dumps({{"params": {{k: float(v.numpy()[0]) for k, v in out.items()}}, "ours": ours}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TF_USE_LEGACY", "BRIGHTPATH"))}
    result = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_home.parent, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["ours"] == []
    from brightpath.schedule import PARAM_NAMES

    np.testing.assert_allclose([served["params"][name] for name in PARAM_NAMES], expected, rtol=1e-6)


def test_same_seed_same_result_and_a_killed_run_resumes_in_the_same_mlflow_run(tmp_home, run_experiment,
                                                                               monkeypatch):
    from experiments.tasks import ppo

    uninterrupted = run_experiment([*TINY, "run_name=straight"], tmp_home)

    original_save = ppo.RunCheckpoint.save

    def save_then_die(self, iteration):
        original_save(self, iteration)
        if iteration == 2:
            raise KeyboardInterrupt  # as if the process were killed right after this checkpoint

    monkeypatch.setattr(ppo.RunCheckpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_experiment([*TINY, "run_name=killed"], tmp_home)
    (killed,) = _runs(tmp_home, "attributes.run_name = 'killed'")
    assert killed.info.status == "KILLED"
    monkeypatch.setattr(ppo.RunCheckpoint, "save", original_save)

    resumed = run_experiment([*TINY, "run_name=killed", "resume=true"], tmp_home)
    (run,) = _runs(tmp_home, "attributes.run_name = 'killed'")
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    (straight,) = _runs(tmp_home, "attributes.run_name = 'straight'")
    for key in ("charts/episodic_return", "charts/true_satisfaction", "losses/policy"):
        assert _history(tmp_home, run.info.run_id, key) == _history(tmp_home, straight.info.run_id, key), key
    assert _comparable(resumed) == _comparable(uninterrupted)


def test_a_bad_value_fails_before_any_training(tmp_home, run_experiment):
    from experiments.config_check import ConfigError

    with pytest.raises(ConfigError) as caught:
        run_experiment([*TINY, "env.reward_source=model", "agent.minibatch_size=48",
                        "agent.importance_ratio_clipping=2.0"], tmp_home)
    message = str(caught.value)
    assert "agent.importance_ratio_clipping=2.0" in message
    assert not (tmp_home / "models").exists() and not (tmp_home / "checkpoints").exists()
    with pytest.raises(ConfigError, match="env.num_envs: expected a positive multiple of agent.minibatch_size=48"):
        run_experiment([*TINY, "agent.minibatch_size=48"], tmp_home)


def test_transformer_runs_as_a_sweep_job_on_the_train_split(tmp_home, run_experiment):
    sweep_dir = tmp_home / "multirun" / "sweep"
    metrics = run_experiment([*TINY, "model=transformer", "seed=1", "env.families=train"], tmp_home,
                             sweep_dir=sweep_dir, job_num=1)
    assert np.isfinite(metrics["eval/true_satisfaction"])
    (parent,) = _runs(tmp_home, "tags.sweep_role = 'parent'")
    (child,) = _runs(tmp_home, "attributes.run_name = 'ppo-transformer-s1'")
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.params["model.name"] == "transformer"


def test_trains_the_reward_model_first_when_there_is_none(tmp_home, run_experiment):
    pytest.importorskip("brightpath.reward.scoring")
    overrides = [*[o for o in TINY if o != "env.reward_source=oracle"], "agent.num_iterations=2",
                 "reward_model.max_epochs=1"]
    metrics = run_experiment(overrides, tmp_home)
    assert (tmp_home / "models" / "reward" / "saved_model.pb").is_file()
    assert np.isfinite(metrics["eval/proxy_satisfaction"]) and np.isfinite(metrics["eval/proxy_true_gap"])
    assert len(_runs(tmp_home, "attributes.run_name = 'reward-attention-s0'")) == 1

    run_experiment([*overrides, "run_name=again"], tmp_home)  # the exported reward model is reused
    assert len(_runs(tmp_home, "attributes.run_name = 'reward-attention-s0'")) == 1
