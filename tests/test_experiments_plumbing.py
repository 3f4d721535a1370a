"""The experiment plumbing: config validation, the task registry, MLflow runs, sweeps, resume,
the data task, and the real command line (CONTRACTS.md §4 and §7)."""
from __future__ import annotations

import json
import os
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


def _client(home: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home}/mlflow.db")


def _runs(home: Path, filter_string: str = ""):
    client = _client(home)
    experiment = client.get_experiment_by_name("brightpath")
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], filter_string=filter_string)


def _cli(args: list[str], home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m experiments.train <args>`` in ``home``, with its own MLflow store and data root."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           "BRIGHTPATH_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "experiments.train", *args,
               f"paths.root={home}", f"logger.tracking_uri=sqlite:///{home}/mlflow.db"]
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

def test_unknown_override_key_is_rejected_by_struct_mode(tmp_home, run_experiment, fake_task):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="n_familys"):
        run_experiment(["task=fake", "data.n_familys=3"], tmp_home)
    assert fake_task.calls == []


def test_validate_refuses_a_config_without_struct_mode():
    cfg = OmegaConf.create({"task": "data", "seed": 0})
    with pytest.raises(config_check.ConfigError, match="struct"):
        config_check.validate(cfg, overrides=[])


def test_wrong_type_fails_before_the_task_runs(tmp_home, run_experiment, fake_task):
    with pytest.raises(config_check.ConfigError, match=r"seed: expected int, got 'abc'"):
        run_experiment(["task=fake", "seed=abc"], tmp_home)
    assert fake_task.calls == []
    assert _runs(tmp_home) == []


def test_every_wrong_type_is_named_at_once(tmp_home, run_experiment, fake_task):
    with pytest.raises(config_check.ConfigError) as caught:
        run_experiment(["task=fake", "resume=1", "data.val_fraction=[0.1]", "data.version=2"], tmp_home)
    message = str(caught.value)
    assert "resume: expected bool, got 1" in message
    assert "data.val_fraction: expected float, got [0.1]" in message
    assert "data.version: expected str, got 2" in message
    assert fake_task.calls == []


def test_compatible_overrides_pass(tmp_home, run_experiment, fake_task):
    metrics = run_experiment(
        ["task=fake", "data.val_fraction=0", "optimize_metric=eval/score", "seed=2", "logger.enabled=false"], tmp_home
    )
    assert metrics == {"eval/score": 2.25}
    assert len(fake_task.calls) == 1


def test_seed_out_of_range_fails_before_the_task_runs(tmp_home, run_experiment, fake_task):
    with pytest.raises(config_check.ConfigError, match=r"seed: expected an integer in \[0, 4294967295\], got -1"):
        run_experiment(["task=fake", "seed=-1"], tmp_home)
    assert fake_task.calls == []


def test_optimize_metric_is_returned_to_the_sweeper():
    from experiments.train import objective

    metrics = {"eval/score": 0.5}
    assert objective(OmegaConf.create({"optimize_metric": None, "task": "t"}), metrics) is None
    assert objective(OmegaConf.create({"optimize_metric": "final/eval/score", "task": "t"}), metrics) == 0.5
    with pytest.raises(config_check.ConfigError, match="eval/missing.*eval/score"):
        objective(OmegaConf.create({"optimize_metric": "eval/missing", "task": "t"}), metrics)


@pytest.mark.parametrize(
    ("expected", "got", "ok"),
    [(1.0, 2, True), (1, 2.5, False), (True, 1, False), (1, True, False), ("a", 1, False),
     ([1], [2, 3], True), ([1], 1, False), ({"a": 1}, {"b": 2}, True), (None, "x", True)],
)
def test_type_rules(expected, got, ok):
    assert (expected is None or config_check._same_kind(expected, got)) is ok


def test_unknown_task_lists_the_available_ones(tmp_home, run_experiment):
    with pytest.raises(config_check.ConfigError, match=r"unknown task 'nope'; available tasks: .*data"):
        run_experiment(["task=nope"], tmp_home)


def test_task_registry_lists_modules():
    assert "data" in tasks.available()
    assert callable(tasks.load("data").run)


# --- MLflow ---------------------------------------------------------------------------------

def test_run_logs_config_git_metrics_plots(tmp_home, run_experiment, fake_task):
    metrics = run_experiment(["task=fake", "seed=1", "data.n_families=40"], tmp_home)
    assert metrics == {"eval/score": 1.25}

    (run,) = _runs(tmp_home)
    client = _client(tmp_home)
    assert run.info.run_name == "fake-s1" and run.info.status == "FINISHED"
    params, tags = run.data.params, run.data.tags
    assert params["data.n_families"] == "40" and params["seed"] == "1" and params["logger.enabled"] == "true"
    assert params["paths.data_dir"] == f"{tmp_home}/data"
    assert not any(key.startswith("hydra") for key in params)
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


def test_disabled_logger_is_a_no_op_with_the_same_interface(tmp_home, run_experiment, fake_task):
    import matplotlib.pyplot as plt

    assert run_experiment(["task=fake", "logger.enabled=false"], tmp_home) == {"eval/score": 0.25}
    assert _runs(tmp_home) == []
    tracker = tracking.Tracker()
    fig = plt.figure()
    tracker.log_figure(fig, "x.png")
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(TypeError, match="charts/bad"):
        tracker.log_metrics({"charts/bad": "high"})


def test_sweep_jobs_share_one_parent_run(tmp_home, run_experiment, fake_task):
    sweep_dir = tmp_home / "multirun" / "2025-01-01" / "12-00-00"
    for job, seed in enumerate([0, 1]):
        run_experiment(["task=fake", f"seed={seed}"], tmp_home, sweep_dir=sweep_dir, job_num=job)

    (parent,) = _runs(tmp_home, "tags.sweep_role = 'parent'")
    children = _runs(tmp_home, f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.info.run_name for r in children) == ["fake-s0", "fake-s1"]
    assert {r.data.tags["sweep_id"] for r in children} == {parent.data.tags["sweep_id"]}
    assert parent.data.tags["sweep_dir"] == str(sweep_dir.resolve())
    assert parent.info.run_name == "fake-sweep-2025-01-01_12-00-00"
    assert len(_runs(tmp_home)) == 3


def test_cli_multirun_groups_jobs_under_one_parent(tmp_home, fake_task, monkeypatch):
    """The real ``-m`` path (Hydra's basic launcher), in-process so the fake task is visible."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from experiments import train

    monkeypatch.setattr(sys, "argv", [
        "train", "-m", "task=fake", "seed=0,1", f"paths.root={tmp_home}",
        f"logger.tracking_uri=sqlite:///{tmp_home}/mlflow.db", f"hydra.sweep.dir={tmp_home}/multirun/s",
        "hydra/job_logging=disabled", "hydra/hydra_logging=disabled",
    ])
    try:
        train.main()
    finally:
        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None

    assert len(fake_task.calls) == 2
    (parent,) = _runs(tmp_home, "tags.sweep_role = 'parent'")
    children = _runs(tmp_home, f"tags.sweep_id = '{parent.data.tags['sweep_id']}' AND tags.task = 'fake'")
    children = [r for r in children if r.info.run_id != parent.info.run_id]
    assert sorted(r.data.tags["mlflow.parentRunId"] for r in children) == [parent.info.run_id] * 2
    assert sorted(r.data.tags["sweep_job"] for r in children) == ["0", "1"]


def test_resume_appends_to_the_same_run(tmp_home, run_experiment, fake_task):
    run_experiment(["task=fake"], tmp_home)
    (first,) = _runs(tmp_home)
    run_experiment(["task=fake", "resume=true"], tmp_home)
    (resumed,) = _runs(tmp_home)
    assert resumed.info.run_id == first.info.run_id and resumed.info.status == "FINISHED"
    history = _client(tmp_home).get_metric_history(first.info.run_id, "charts/value")
    assert len(history) == 6
    assert resumed.data.tags["last_resume_overrides"].startswith("task=fake resume=true")
    assert resumed.data.params["resume"] == "false"  # params are immutable; the first value stays

    # The API directly: start_run(cfg, run_id=...) reopens the run.
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(REPO_ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", [f"logger.tracking_uri=sqlite:///{tmp_home}/mlflow.db", "task=data"])
    with tracking.start_run(cfg, run_id=first.info.run_id) as tracker:
        assert tracker.run_id == first.info.run_id
        tracker.log_metrics({"charts/value": 9.0}, step=7)
    assert len(_client(tmp_home).get_metric_history(first.info.run_id, "charts/value")) == 7


def test_failed_task_marks_the_run_failed(tmp_home, run_experiment, fake_task):
    def broken(cfg, tracker):
        raise RuntimeError("boom")

    fake_task.run = broken
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment(["task=fake"], tmp_home)
    (run,) = _runs(tmp_home)
    assert run.info.status == "FAILED"


# --- the data task ------------------------------------------------------------------------

def test_data_task_logs_row_counts(tmp_home, run_experiment, monkeypatch):
    received = {}

    def generate_datasets(root, **kwargs):
        received.update(root=root, **kwargs)
        return {"version": kwargs["version"], "row_counts": {"train": 70, "val": 15, "test": 15},
                "files": {"train": str(root / "processed" / "train.parquet")},
                "summary": {"mean_stars": np.float64(3.5)}}

    monkeypatch.setitem(sys.modules, "brightpath.datasets", types.SimpleNamespace(generate_datasets=generate_datasets))
    metrics = run_experiment(["+exp=data", "data.n_families=40", "seed=3"], tmp_home)

    assert metrics == {"data/rows_train": 70.0, "data/rows_val": 15.0, "data/rows_test": 15.0}
    assert received == {"root": tmp_home / "data", "n_families": 40, "schedules_per_family": 6,
                        "val_fraction": 0.15, "test_fraction": 0.15, "seed": 3, "version": "v1"}
    (run,) = _runs(tmp_home)
    assert run.info.run_name == "data-v1-s3"
    assert run.data.metrics["data/rows_train"] == 70 and run.data.metrics["final/data/rows_test"] == 15
    assert run.data.params["data_card.row_counts.val"] == "15"
    assert [a.path for a in _client(tmp_home).list_artifacts(run.info.run_id, "data")] == ["data/data_card_v1.json"]


# --- the real command line ----------------------------------------------------------------

def test_cli_rejects_a_wrong_type_before_any_work(tmp_home):
    result = _cli(["+exp=data", "seed=abc"], tmp_home)
    assert result.returncode != 0
    assert "seed: expected int, got 'abc'" in result.stderr
    assert not (tmp_home / "data").exists()
    assert _runs(tmp_home) == []


def test_cli_generates_data(tmp_home):
    data = pytest.importorskip("brightpath.datasets", reason="brightpath/datasets.py is not written yet")
    if not hasattr(data, "generate_datasets"):
        pytest.skip("brightpath.datasets.generate_datasets is not written yet")

    result = _cli(["+exp=data", "data.n_families=40", "data.schedules_per_family=2"], tmp_home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_home / "data" / "data_card_v1.json").is_file()
    (run,) = _runs(tmp_home)
    assert run.info.status == "FINISHED" and run.info.run_name == "data-v1-s0"
    assert any(key.startswith("data/rows_") for key in run.data.metrics)
