"""End to end on tiny data: ``+exp=baseline`` (the imitation regressors), the results table
(reproducible for a seed, missing models shown as such, models found through MLflow), and the
``experiments.evaluate`` A/B command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brightpath.schedule import PARAM_NAMES

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_DATA = ["data.n_families=160", "data.schedules_per_family=2"]
TINY_RF = ["+exp=baseline", "imitation=rf", "imitation.n_estimators=30", "imitation.cv_folds=3", *TINY_DATA]
TINY_RESULTS = [
    "+exp=results",
    "results.n_families=48",
    "results.proxy=false",
    "results.n_bootstrap=200",
    "results.oracle.n_random=32",
    "results.oracle.n_rounds=1",
    "results.oracle.n_local=8",
    *TINY_DATA,
]
TINY_AB = [*TINY_DATA, "n_families=40", "n_bootstrap=200", "min_segment_size=5"]


def _stable(csv: Path) -> pd.DataFrame:
    """The table without its one timing column (the only one allowed to vary between runs)."""
    return pd.read_csv(csv).drop(columns=["ms_per_family"])


@pytest.mark.slow
def test_baseline_then_results_table_end_to_end(tmp_home, run_experiment, mlflow_store):
    metrics = run_experiment(TINY_RF, tmp_home)
    assert metrics["cv/r2"] > 0.7 and metrics["test/r2"] > 0.7
    assert metrics["eval/invalid_rate"] == 0.0
    model_dir = tmp_home / "models" / "baselines" / "rf"
    assert (model_dir / "model.joblib").is_file()
    client = mlflow_store.client
    (run,) = mlflow_store.runs("tags.task = 'imitation'")
    assert run.info.run_name == "imitation-rf-s0" and run.data.params["imitation.n_estimators"] == "30"
    logged = run.data.metrics
    assert {f"cv/mse_{p}" for p in PARAM_NAMES} <= set(logged)
    assert {f"cv/r2_{p}" for p in PARAM_NAMES if p != "break_duration_minutes"} <= set(logged)
    assert "model/model.joblib" in {a.path for a in client.list_artifacts(run.info.run_id, "model")}

    rows = "results.rows=[expert,rf,gbr,ppo_mlp,oracle]"
    run_experiment([*TINY_RESULTS, rows], tmp_home)
    reports = tmp_home / "reports"
    table = pd.read_csv(reports / "results.csv")
    assert list(table["row"]) == ["expert", "rf", "gbr", "ppo_mlp", "oracle"]
    status = dict(zip(table["row"], table["status"]))
    assert status == {
        "expert": "ok",
        "rf": "ok",
        "gbr": "not trained yet",
        "ppo_mlp": "not trained yet",
        "oracle": "ok",
    }
    by_row = table.set_index("row")
    assert by_row.loc["oracle", "pct_of_oracle"] == pytest.approx(100.0)
    assert by_row.loc["oracle", "true_satisfaction"] > by_row.loc["expert", "true_satisfaction"]
    assert by_row.loc["oracle", "p_vs_expert"] < 0.05
    assert np.isnan(by_row.loc["gbr", "true_satisfaction"])  # never fabricated
    for row in ("expert", "rf", "oracle"):
        assert by_row.loc[row, "true_ci_low"] < by_row.loc[row, "true_satisfaction"] < by_row.loc[row, "true_ci_high"]
        assert by_row.loc[row, "invalid_rate"] == 0.0
    markdown = (reports / "results.md").read_text()
    assert "| GBR | not trained yet |" in markdown and "| PPO-MLP | not trained yet |" in markdown
    assert "## Against the expert rule" in markdown and "K-2" in markdown
    assert (reports / "results_distributions.png").stat().st_size > 10_000
    (results_run,) = mlflow_store.runs("tags.task = 'results'")
    artifacts = {a.path for a in client.list_artifacts(results_run.info.run_id, "reports")}
    assert {"reports/results.md", "reports/results.csv"} <= artifacts
    assert "results/oracle/pct_of_oracle" in results_run.data.metrics

    first = _stable(reports / "results.csv")
    run_experiment([*TINY_RESULTS, rows], tmp_home)
    pd.testing.assert_frame_equal(first, _stable(reports / "results.csv"))

    # A PPO row is found through the latest FINISHED run of task ppo with that model.name, whose
    # generator artifact is downloaded (an RF directory stands in for the SavedModel here: the
    # lookup is what is under test, and it needs no TensorFlow).
    ppo_run = client.create_run(results_run.info.experiment_id, run_name="ppo-mlp-s0", tags={"task": "ppo"})
    client.log_param(ppo_run.info.run_id, "model.name", "mlp")
    client.log_artifacts(ppo_run.info.run_id, str(model_dir), "generator")
    client.set_terminated(ppo_run.info.run_id, "FINISHED")
    run_experiment([*TINY_RESULTS, "results.rows=[expert,ppo_mlp,ppo_transformer]"], tmp_home)
    ppo = _stable(reports / "results.csv").set_index("row")
    assert ppo.loc["ppo_mlp", "status"] == "ok" and ppo.loc["ppo_transformer", "status"] == "not trained yet"
    assert ppo.loc["ppo_mlp", "true_satisfaction"] == first.set_index("row").loc["rf", "true_satisfaction"]
    assert f"PPO-MLP: runs:/{ppo_run.info.run_id}" in (reports / "results.md").read_text()

    # Without the default directory the RF row is found through its MLflow run.
    shutil.rmtree(model_dir)
    run_experiment([*TINY_RESULTS, "results.rows=[expert,rf]"], tmp_home)
    again = _stable(reports / "results.csv").set_index("row")
    assert again.loc["rf", "status"] == "ok"
    assert again.loc["rf", "true_satisfaction"] == first.set_index("row").loc["rf", "true_satisfaction"]
    assert f"runs:/{run.info.run_id}" in (reports / "results.md").read_text()


class _FakeRewardModel:
    """Scores a week by its requirement coverage: enough to check the proxy columns' arithmetic."""

    def score_layouts(self, layouts, answers, child_age, grade_band):
        from brightpath.schedule import SUMMARY_FEATURES, summarize_many

        coverage = summarize_many(layouts, grade_band)[:, SUMMARY_FEATURES.index("coverage")]
        return {"satisfaction": coverage, "engagement": coverage, "effectiveness": coverage}


def test_results_table_reports_the_reward_model_and_its_gap(tmp_home, run_experiment, monkeypatch):
    from experiments.tasks import results

    monkeypatch.setattr(results.artifacts, "reward_model", lambda config, tracker, uri: _FakeRewardModel())
    overrides = [o for o in TINY_RESULTS if o != "results.proxy=false"]
    run_experiment([*overrides, "results.rows=[expert,oracle,ppo_transformer]"], tmp_home)
    table = pd.read_csv(tmp_home / "reports" / "results.csv").set_index("row")
    assert table.loc["ppo_transformer", "status"] == "not trained yet"
    for row in ("expert", "oracle"):
        gap = table.loc[row, "proxy_satisfaction"] - table.loc[row, "true_satisfaction"]
        assert table.loc[row, "proxy_true_gap"] == pytest.approx(gap, abs=1e-5)
        assert 0.0 < table.loc[row, "proxy_satisfaction"] <= 1.0


def test_a_generator_against_itself_is_no_difference_not_a_crash(tmp_home, compose_config):
    from experiments import evaluate

    report = evaluate.run(compose_config("evaluate", [*TINY_AB, "a=expert", "b=expert", "proxy=true"]))
    assert report["proxy"] is None  # no reward model trained in this home: proxy skipped, not invented
    gold = report["gold"]
    assert gold["p_value"] == 1.0 and gold["winner"] is None and gold["mean_difference"] == 0.0
    assert Path(report["path"]).name == "ab_expert-A_vs_expert-B.json"
    assert json.loads(Path(report["path"]).read_text())["gold"]["significant"] is False
    assert all(row["winner"] is None for row in report["segments"])


def test_unpaired_evaluation_splits_the_families_and_runs_welch(tmp_home, compose_config):
    from experiments import evaluate

    cfg = compose_config(
        "evaluate",
        [
            *TINY_AB,
            "a=expert",
            "b=oracle",
            "paired=false",
            "proxy=false",
            "oracle.n_random=32",
            "oracle.n_rounds=1",
            "oracle.n_local=8",
        ],
    )
    report = evaluate.run(cfg)
    assert report["gold"]["test"] == "Welch's t-test"
    assert report["gold"]["n_a"] + report["gold"]["n_b"] == 40 and report["segments"] == []


def test_a_failed_evaluation_leaves_a_failed_run(tmp_home, compose_config, mlflow_store):
    from brightpath.errors import ModelLoadError
    from experiments import evaluate

    with pytest.raises(ModelLoadError, match="no-model-here"):
        evaluate.run(compose_config("evaluate", [*TINY_AB, "a=expert", f"b={tmp_home / 'no-model-here'}"]))
    (run,) = mlflow_store.runs("tags.task = 'evaluate'")
    assert run.info.status == "FAILED" and run.data.params["a"] == "expert"


@pytest.mark.slow
def test_evaluate_command_line_prints_the_seed_report_and_writes_json(tmp_home, mlflow_store):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "BRIGHTPATH_HOME": str(tmp_home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    common = [
        f"paths.root={tmp_home}",
        f"logger.tracking_uri=sqlite:///{tmp_home}/mlflow.db",
        *TINY_DATA,
        "n_families=40",
        "proxy=false",
        "n_bootstrap=200",
        "oracle.n_random=32",
        "oracle.n_rounds=1",
        "oracle.n_local=8",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "experiments.evaluate", "a=expert", "b=oracle", *common],
        cwd=tmp_home,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Model A (expert):" in done.stdout and "T-statistic:" in done.stdout
    assert "Winner: Model B (oracle) (statistically significant)" in done.stdout
    assert "age_band" in done.stdout
    report = json.loads((tmp_home / "reports" / "ab_expert_vs_oracle.json").read_text())
    assert report["gold"]["winner_name"] == "oracle" and report["families"]["n"] == 40
    (run,) = mlflow_store.runs("tags.task = 'evaluate'")
    assert run.data.metrics["ab/significant"] == 1.0 and run.info.status == "FINISHED"

    bad = subprocess.run(
        [sys.executable, "-m", "experiments.evaluate", "n_families=many", *common[:2]],
        cwd=tmp_home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "n_families=many" in bad.stderr and "Traceback" not in bad.stderr
