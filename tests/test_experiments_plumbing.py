"""The experiment plumbing: config validation, the task registry, MLflow runs, sweeps, resume,
the data task, and the real command line (CONTRACTS.md §4 and §7)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from experiments import config_check, tasks, tracking

REPO_ROOT = Path(__file__).resolve().parents[1]


def _cli(args: list[str], home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m experiments.train <args>`` in ``home``, with its own MLflow store and data root."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "BRIGHTPATH_HOME": str(home),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable,
        "-m",
        "experiments.train",
        *args,
        f"paths.root={home}",
        f"logger.tracking_uri=sqlite:///{home}/mlflow.db",
    ]
    return subprocess.run(command, cwd=home, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def fake_task(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A task ``fake`` that logs a few steps, a figure and a dict, and records its calls."""
    import matplotlib.figure

    module = types.ModuleType("experiments.tasks.fake")
    module.calls = []

    def run(cfg, tracker):
        module.calls.append(cfg)
        for step in range(3):
            tracker.log_metrics({"charts/value": 2.0 * step, "charts/skipped": float("nan")}, step=step)
        tracker.log_metrics({"charts/none": None, "charts/np": np.float32(1.5)}, step=np.int64(3))
        fig = matplotlib.figure.Figure()
        fig.subplots().plot([0, 1], [1, 0])
        tracker.log_figure(fig, "curve")
        tracker.log_dict({"count": np.int64(3), "where": Path("x")}, "summary.json")
        return {"eval/score": 0.25 + cfg.seed}

    module.run = run
    real_available = tasks.available
    monkeypatch.setitem(sys.modules, "experiments.tasks.fake", module)
    monkeypatch.setattr(tasks, "available", lambda: sorted({*real_available(), "fake"}))
    return module


# --- validation: nothing runs on a bad config ---------------------------------------------


def test_unknown_override_key_is_rejected_by_the_schema(tmp_home, run_experiment, fake_task):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="n_familys"):
        run_experiment(["task=fake", "data=default", "data.n_familys=3"], tmp_home)
    assert fake_task.calls == []


def test_a_run_without_an_experiment_names_the_experiments(tmp_home, run_experiment, fake_task):
    experiments = r"\(baseline, data, loop, ppo, results, reward, weekly_reward, weeks\)"
    with pytest.raises(
        config_check.ConfigError, match=r"task: missing; choose an experiment with \+exp=<name> " + experiments
    ):
        run_experiment(["seed=1"], tmp_home)
    assert fake_task.calls == []


def test_wrong_type_fails_before_the_task_runs(tmp_home, run_experiment, fake_task, mlflow_store):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="seed=abc") as caught:
        run_experiment(["task=fake", "seed=abc"], tmp_home)
    assert "Value 'abc' of type 'str' could not be converted to Integer" in str(caught.value.__cause__)
    assert fake_task.calls == []
    assert mlflow_store.runs() == []


def test_compatible_overrides_pass(tmp_home, run_experiment, fake_task):
    metrics = run_experiment(
        [
            "task=fake",
            "data=default",
            "data.val_fraction=0",
            "optimize_metric=eval/score",
            "seed=2",
            "logger.enabled=false",
        ],
        tmp_home,
    )
    assert metrics == {"eval/score": 2.25}
    assert len(fake_task.calls) == 1


def test_seed_out_of_range_fails_before_the_task_runs(tmp_home, run_experiment, fake_task):
    with pytest.raises(config_check.ConfigError, match=r"seed: expected an integer in \[0, 4294967295\], got -1"):
        run_experiment(["task=fake", "seed=-1"], tmp_home)
    assert fake_task.calls == []


def test_a_range_error_deep_in_a_group_names_the_full_key(tmp_home, run_experiment):
    with pytest.raises(config_check.ConfigError, match=r"eval\.oracle\.n_rounds: expected an integer ≥ 0, got -1"):
        run_experiment(["+exp=ppo", "eval.oracle.n_rounds=-1"], tmp_home)
    with pytest.raises(config_check.ConfigError, match=r"agent\.learning_rate: expected > 0, got -1"):
        run_experiment(["+exp=ppo", "agent.learning_rate=-1"], tmp_home)
    assert not (tmp_home / "data").exists()


def test_an_unselected_group_cannot_be_overridden(tmp_home, run_experiment):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="Could not override 'agent.learning_rate'"):
        run_experiment(["+exp=data", "agent.learning_rate=0.1"], tmp_home)
    with pytest.raises(config_check.ConfigError, match="agent: expected one of its options, chosen with agent="):
        run_experiment(["+exp=data", "+agent.learning_rate=0.1"], tmp_home)


def test_optimize_metric_is_returned_to_the_sweeper():
    from experiments.train import objective

    metrics = {"eval/score": 0.5}
    assert objective(OmegaConf.create({"optimize_metric": None, "task": "t"}), metrics) is None
    assert objective(OmegaConf.create({"optimize_metric": "final/eval/score", "task": "t"}), metrics) == 0.5
    with pytest.raises(config_check.ConfigError, match="eval/missing.*eval/score"):
        objective(OmegaConf.create({"optimize_metric": "eval/missing", "task": "t"}), metrics)


@pytest.mark.parametrize(
    ("override", "accepted"),
    [
        ("seed=2", True),
        ("seed=2.5", False),
        ("seed=abc", False),
        ("agent.learning_rate=1", True),
        ("agent.learning_rate=fast", False),
        ("agent.normalize_rewards=false", True),
        ("agent.normalize_rewards=maybe", False),
        ("data.val_fraction=[0.1]", False),
        ("model.actor_fc_layers=[32,32]", True),
        ("model.actor_fc_layers=32", False),
        ("env.reward_model_uri=null", True),
        ("env.reward_weights.engagement=0.5", True),
        ("env.reward_weights.engagement=high", False),
    ],
)
def test_type_rules(override, accepted, compose_config):
    """OmegaConf's checks against the schemas: an int is fine where a float is expected, nothing
    else converts between numbers, bools, strings, lists and mappings."""
    from hydra.errors import ConfigCompositionException

    if accepted:
        assert compose_config("train", ["+exp=ppo", override]) is not None
    else:
        with pytest.raises(ConfigCompositionException, match=re.escape(override)):
            compose_config("train", ["+exp=ppo", override])


def test_unknown_task_lists_the_available_ones(tmp_home, run_experiment):
    with pytest.raises(config_check.ConfigError, match=r"unknown task 'nope'; available tasks: .*data"):
        run_experiment(["task=nope"], tmp_home)


def test_task_registry_lists_modules():
    assert "data" in tasks.available()
    assert callable(tasks.load("data").run)


# --- MLflow ---------------------------------------------------------------------------------


def test_run_logs_config_git_metrics_plots(tmp_home, run_experiment, fake_task, mlflow_store):
    metrics = run_experiment(["task=fake", "seed=1", "data=default", "data.n_families=40"], tmp_home)
    assert metrics == {"eval/score": 1.25}

    (run,) = mlflow_store.runs()
    client = mlflow_store.client
    assert run.info.run_name == "fake-s1" and run.info.status == "FINISHED"
    params, tags = run.data.params, run.data.tags
    assert params["data.n_families"] == "40" and params["seed"] == "1" and params["logger.enabled"] == "true"
    assert params["paths.data_dir"] == f"{tmp_home}/data"
    assert not [key for key in params if key.split(".")[0] in ("hydra", "agent", "model", "env", "eval")], params
    assert tags["git_commit"] and tags["git_dirty"] and tags["task"] == "fake" and tags["seed"] == "1"
    assert "seed=1" in tags["overrides"]

    history = client.get_metric_history(run.info.run_id, "charts/value")
    assert [(m.step, m.value) for m in history] == [(0, 0.0), (1, 2.0), (2, 4.0)]
    assert run.data.metrics["charts/np"] == 1.5 and run.data.metrics["final/eval/score"] == 1.25
    assert "charts/skipped" not in run.data.metrics and "charts/none" not in run.data.metrics

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "plots", "summary.json"} <= artifacts
    assert [a.path for a in client.list_artifacts(run.info.run_id, "plots")] == ["plots/curve.png"]
    config = yaml.safe_load(Path(client.download_artifacts(run.info.run_id, "config.yaml", str(tmp_home))).read_text())
    assert config["data"]["n_families"] == 40 and config["run_name"] == "fake-s1" and "hydra" not in config
    summary = json.loads(Path(client.download_artifacts(run.info.run_id, "summary.json", str(tmp_home))).read_text())
    assert summary == {"count": 3, "where": "x"}


def test_long_param_values_are_truncated():
    tracker = tracking.Tracker()
    tracker.log_params({"notes": "x" * 10_000, "nested": {"a": [1, 2]}})
    assert len(tracker._params["notes"]) == tracking.MAX_PARAM_VALUE_CHARS
    assert tracker._params["notes"].endswith(tracking.TRUNCATED)
    assert tracker._params["nested.a"] == "[1, 2]"


def test_disabled_logger_is_a_no_op_with_the_same_interface(tmp_home, run_experiment, fake_task, mlflow_store):
    import matplotlib.pyplot as plt

    assert run_experiment(["task=fake", "logger.enabled=false"], tmp_home) == {"eval/score": 0.25}
    assert mlflow_store.runs() == []
    tracker = tracking.Tracker()
    fig = plt.figure()
    tracker.log_figure(fig, "x.png")
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(TypeError, match="charts/bad"):
        tracker.log_metrics({"charts/bad": "high"})


def test_sweep_jobs_share_one_parent_run(tmp_home, run_experiment, fake_task, mlflow_store):
    sweep_dir = tmp_home / "multirun" / "2025-01-01" / "12-00-00"
    for job, seed in enumerate([0, 1]):
        run_experiment(["task=fake", f"seed={seed}"], tmp_home, sweep_dir=sweep_dir, job_num=job)

    (parent,) = mlflow_store.runs("tags.sweep_role = 'parent'")
    children = mlflow_store.runs(f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.info.run_name for r in children) == ["fake-s0", "fake-s1"]
    assert {r.data.tags["sweep_id"] for r in children} == {parent.data.tags["sweep_id"]}
    assert parent.data.tags["sweep_dir"] == str(sweep_dir.resolve())
    assert parent.info.run_name == "fake-sweep-2025-01-01_12-00-00"
    assert len(mlflow_store.runs()) == 3


def test_cli_multirun_groups_jobs_under_one_parent(tmp_home, fake_task, monkeypatch, mlflow_store):
    """The real ``-m`` path (Hydra's basic launcher), in-process so the fake task is visible."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from experiments import train

    monkeypatch.setattr(
        sys,
        "argv",
        [
            "train",
            "-m",
            "task=fake",
            "seed=0,1",
            f"paths.root={tmp_home}",
            f"logger.tracking_uri=sqlite:///{tmp_home}/mlflow.db",
            f"hydra.sweep.dir={tmp_home}/multirun/s",
            "hydra/job_logging=disabled",
            "hydra/hydra_logging=disabled",
        ],
    )
    try:
        train.main()
    finally:
        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None

    assert len(fake_task.calls) == 2
    (parent,) = mlflow_store.runs("tags.sweep_role = 'parent'")
    children = mlflow_store.runs(f"tags.sweep_id = '{parent.data.tags['sweep_id']}' AND tags.task = 'fake'")
    children = [r for r in children if r.info.run_id != parent.info.run_id]
    assert sorted(r.data.tags["mlflow.parentRunId"] for r in children) == [parent.info.run_id] * 2
    assert sorted(r.data.tags["sweep_job"] for r in children) == ["0", "1"]


def test_resume_appends_to_the_same_run(tmp_home, run_experiment, fake_task, mlflow_store, compose_config):
    run_experiment(["task=fake"], tmp_home)
    (first,) = mlflow_store.runs()
    run_experiment(["task=fake", "resume=true"], tmp_home)
    (resumed,) = mlflow_store.runs()
    assert resumed.info.run_id == first.info.run_id and resumed.info.status == "FINISHED"
    assert len(mlflow_store.history(first.info.run_id, "charts/value")) == 6
    assert resumed.data.tags["last_resume_overrides"].startswith("task=fake resume=true")
    assert resumed.data.params["resume"] == "false"  # params are immutable; the first value stays

    # The API directly: start_run(config, run_id=...) reopens the run.
    config = config_check.load_run(compose_config("train", ["+exp=data"]))
    with tracking.start_run(config, run_id=first.info.run_id) as tracker:
        assert tracker.run_id == first.info.run_id
        tracker.log_metrics({"charts/value": 9.0}, step=7)
    assert len(mlflow_store.history(first.info.run_id, "charts/value")) == 7


def test_a_child_run_is_nested_under_its_parent(tmp_home, mlflow_store, compose_config):
    config = config_check.load_run(compose_config("train", ["+exp=data"]))
    with tracking.start_run(config) as parent, tracking.start_run(config, parent_run_id=parent.run_id) as child:
        assert child.run_id != parent.run_id
    runs = {run.info.run_id: run for run in mlflow_store.runs()}
    assert runs[child.run_id].data.tags["mlflow.parentRunId"] == parent.run_id
    assert "mlflow.parentRunId" not in runs[parent.run_id].data.tags
    assert {run.info.status for run in runs.values()} == {"FINISHED"}


def test_failed_task_marks_the_run_failed(tmp_home, run_experiment, fake_task, mlflow_store):
    def broken(cfg, tracker):
        raise RuntimeError("boom")

    fake_task.run = broken
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment(["task=fake"], tmp_home)
    (run,) = mlflow_store.runs()
    assert run.info.status == "FAILED"


# --- the data task ------------------------------------------------------------------------


def test_data_task_logs_row_counts_and_nothing_it_does_not_use(tmp_home, run_experiment, mlflow_store):
    metrics = run_experiment(["+exp=data", "data.n_families=40", "data.schedules_per_family=2", "seed=3"], tmp_home)

    card = json.loads((tmp_home / "data" / "data_card_v1.json").read_text())
    assert card["generator"] == {**card["generator"], "seed": 3, "n_families": 40, "schedules_per_family": 2}
    assert metrics == {f"data/rows_{table}": float(count) for table, count in card["row_counts"].items()}
    assert metrics["data/rows_schedules"] == 80.0
    (run,) = mlflow_store.runs()
    assert run.info.run_name == "data-v1-s3"
    assert run.data.metrics["final/data/rows_test_rows"] == card["row_counts"]["test_rows"]
    assert run.data.params["data_card.row_counts.val_families"] == str(card["row_counts"]["val_families"])
    assert run.data.params["data_card.generator.simulator_version"] == card["generator"]["simulator_version"]
    assert mlflow_store.artifacts(run.info.run_id, "data") == {"data/data_card_v1.json"}
    unused = [key for key in run.data.params if key.split(".")[0] in ("agent", "model", "imitation", "env", "eval")]
    assert unused == [] and run.data.params["data.n_families"] == "40"


# --- the real command line ----------------------------------------------------------------


def test_cli_rejects_a_wrong_type_before_any_work(tmp_home, mlflow_store):
    result = _cli(["+exp=data", "seed=abc"], tmp_home)
    assert result.returncode != 0
    assert "seed=abc" in result.stderr and "could not be converted to Integer" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_home / "data").exists()
    assert mlflow_store.runs() == []


def test_cli_generates_data(tmp_home, mlflow_store):
    result = _cli(["+exp=data", "data.n_families=40", "data.schedules_per_family=2"], tmp_home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_home / "data" / "data_card_v1.json").is_file()
    (run,) = mlflow_store.runs()
    assert run.info.status == "FINISHED" and run.info.run_name == "data-v1-s0"
    assert any(key.startswith("data/rows_") for key in run.data.metrics)
