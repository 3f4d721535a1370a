"""The reward experiment end to end (``+exp=reward``), the reward model a run resolves (trained now,
as a child run, when there is none), and ``brightpath.inference.evaluate_schedule`` (CONTRACTS §3) on
an exported reward model."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brightpath.errors import ModelLoadError, ValidationError
from brightpath.inference import evaluate_schedule, generate_schedule

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_DATA = ["data.n_families=40", "data.schedules_per_family=3"]
TINY = {
    "attention": [
        "reward_model.d_model=8",
        "reward_model.ff_dim=8",
        "reward_model.head_units=[16]",
        "reward_model.max_epochs=2",
        "reward_model.batch_size=32",
    ],
    "gbr": ["reward_model=gbr", "reward_model.max_trees=10", "reward_model.trees_per_round=5"],
    "mlp": [
        "reward_model=mlp",
        "reward_model.hidden_layer_sizes=[16]",
        "reward_model.max_epochs=2",
        "reward_model.batch_size=16",
    ],
}
TIMING = ("train/seconds", "perf/")
USER_DATA = {**{f"q{i}": 1 + i % 5 for i in range(1, 26)}, "child_age": 9}
COMMON_METADATA = ("kind", "source", "model_version", "run_id", "data_version", "seed", "created_at")
"""What every saved model's brightpath_model.json records."""


# --- +exp=reward --------------------------------------------------------------------------


def test_attention_run_logs_curves_metrics_plots_and_model_and_is_reproducible(tmp_home, run_experiment, mlflow_store):
    metrics = run_experiment(["+exp=reward", *TINY_DATA, *TINY["attention"]], tmp_home)
    for name in (
        "test/spearman_true_satisfaction",
        "offdist/spearman_true_satisfaction",
        "test/mse_observed",
        "test/r2_observed",
        "test/pearson_true_satisfaction",
        "test/pearson_observed_satisfaction",
        "offdist/spearman_observed_engagement",
        "train/seconds",
    ):
        assert np.isfinite(metrics[name]), name

    (run,) = mlflow_store.runs()
    assert run.info.run_name == "reward-attention-s0"
    curve = mlflow_store.history(run.info.run_id, "reward/val_loss")
    assert [step for step, _ in curve] == list(range(1, int(metrics["train/epochs"]) + 1))
    assert run.data.metrics["final/test/spearman_true_satisfaction"] == metrics["test/spearman_true_satisfaction"]
    assert run.data.params["reward_model.name"] == "attention"
    artifacts = mlflow_store.artifacts(run.info.run_id)
    assert {
        "plots/test_calibration.png",
        "plots/test_residuals.png",
        "plots/offdist_calibration.png",
        "plots/offdist_residuals.png",
        "model/saved_model.pb",
        "model/brightpath_model.json",
        "config.yaml",
        "reward/target_calibration.json",
    } <= artifacts

    exported = json.loads((tmp_home / "models" / "reward" / "brightpath_model.json").read_text())
    assert exported["model_version"] == run.info.run_id and exported["kind"] == "reward"
    assert set(COMMON_METADATA) <= set(exported) and exported["source"] == "attention"
    assert set(exported["target_calibration"]) == {"satisfaction", "engagement", "effectiveness"}
    assert (tmp_home / "models" / "reward").resolve() == tmp_home / "models" / "versions" / "reward" / "1"

    again = run_experiment(["+exp=reward", *TINY_DATA, *TINY["attention"]], tmp_home)
    stable = {k: v for k, v in metrics.items() if not k.startswith(TIMING)}
    assert {k: v for k, v in again.items() if not k.startswith(TIMING)} == stable


@pytest.mark.parametrize("name", ["gbr", "mlp"])
def test_baseline_runs_save_a_model_directory_that_loads_back(name, tmp_home, run_experiment, mlflow_store):
    from brightpath.export import read_metadata
    from brightpath.reward.baselines import load_reward_baseline

    metrics = run_experiment(["+exp=reward", *TINY_DATA, *TINY[name]], tmp_home)
    assert np.isfinite(metrics["offdist/spearman_true_satisfaction"])
    (run,) = mlflow_store.runs()
    assert run.info.run_name == f"reward-{name}-s0"
    assert {"model/model.joblib", "model/brightpath_model.json"} <= mlflow_store.artifacts(run.info.run_id)
    directory = tmp_home / "models" / "reward_baselines" / name
    assert load_reward_baseline(directory).name == name
    metadata = read_metadata(directory)
    assert set(COMMON_METADATA) <= set(metadata) and metadata["model_version"] == run.info.run_id
    assert not (tmp_home / "models" / "reward").exists()  # only the attention model is the served reward model
    (directory / "model.joblib").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_reward_baseline(directory)


def test_a_bad_model_setting_fails_before_any_data_is_generated(tmp_home, run_experiment):
    from experiments.config_check import ConfigError

    with pytest.raises(ConfigError, match=r"reward_model\.dropout: expected a rate in \[0, 1\), got 1\.5"):
        run_experiment(["+exp=reward", *TINY_DATA, "reward_model.dropout=1.5"], tmp_home)
    assert not (tmp_home / "data").exists()


def test_a_run_trains_its_reward_model_once_in_a_child_run(tmp_home, mlflow_store, compose_config):
    from brightpath.reward.scoring import RewardScorer
    from experiments import artifacts, config_check, tracking

    config = config_check.load_run(compose_config("train", ["+exp=ppo", *TINY_DATA, *TINY["attention"]]))
    with tracking.start_run(config) as caller:
        trained = artifacts.reward_model(config, caller, None)
        reused = artifacts.reward_model(config, caller, None)  # the champion now: no second training
    assert isinstance(trained, RewardScorer) and reused.model_dir == trained.model_dir
    assert trained.model_dir == tmp_home / "models" / "versions" / "reward" / "1"
    runs = {run.info.run_name: run for run in mlflow_store.runs()}
    assert set(runs) == {"ppo-mlp-s0", "reward-attention-s0"}
    child = runs["reward-attention-s0"]
    assert child.data.tags["mlflow.parentRunId"] == caller.run_id
    assert child.data.tags["task"] == "reward" and child.data.params["task"] == "reward"
    assert "test/spearman_true_satisfaction" in child.data.metrics
    assert not any(key.startswith(("agent.", "model.", "env.")) for key in child.data.params)

    given = artifacts.reward_model(config, caller, f"runs:/{child.info.run_id}")  # as a run URI
    assert given.model_version == trained.model_version
    mlflow_store.client.create_registered_model("reward")
    mlflow_store.client.create_model_version("reward", f"runs:/{child.info.run_id}/model", child.info.run_id)
    registered = artifacts.reward_model(config, caller, "models:/reward/1")  # as a registered model
    assert registered.model_version == trained.model_version
    with pytest.raises(ModelLoadError):
        artifacts.reward_model(config, caller, str(tmp_home / "no-model-here"))


# --- evaluate_schedule --------------------------------------------------------------------


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory) -> Path:
    """A tiny attention reward model exported with a fitted feedback calibration."""
    from brightpath.reward.evaluation import simulated_set
    from brightpath.reward.models import AttentionConfig
    from brightpath.reward.scoring import export_reward_model
    from brightpath.reward.targets import fit_calibration
    from brightpath.reward.training import train_reward_model
    from brightpath.simulator import sample_families

    rng = np.random.default_rng(0)
    train, val = (simulated_set(sample_families(n, rng), rng, per_family=3, mix="logged") for n in (40, 10))
    config = AttentionConfig(d_model=8, ff_dim=8, head_units=(16,), max_epochs=2, batch_size=32)
    trained = train_reward_model(config, train, val, seed=0)
    calibration = fit_calibration({"likert_satisfaction": [1, 2, 3, 4, 5] * 20, "stars": [1, 2, 3, 4, 5] * 20})
    root = tmp_path_factory.mktemp("models")
    export_reward_model(
        trained.model,
        trained.preprocessing,
        root / "reward",
        model_version="tiny-1",
        metadata={"target_calibration": calibration.to_dict()},
    )
    return root


@pytest.fixture
def schedule() -> dict:
    return generate_schedule(USER_DATA)


def test_evaluate_schedule_scores_a_new_schedule_without_feedback(reward_dir, schedule):
    result = evaluate_schedule(schedule, model_dir=reward_dir)
    assert set(result) == {"satisfaction", "engagement", "effectiveness", "model_version"}
    assert result["model_version"] == "tiny-1"
    assert all(
        isinstance(result[k], float) and 0 <= result[k] <= 1 for k in ("satisfaction", "engagement", "effectiveness")
    )
    json.dumps(result)
    # The family can be given explicitly instead of through meta.family; the same family, the same score.
    assert evaluate_schedule(schedule, model_dir=reward_dir / "reward", user_data=USER_DATA)[
        "satisfaction"
    ] == pytest.approx(result["satisfaction"])


def test_evaluate_schedule_with_feedback_returns_observed_and_blended_scores(reward_dir, schedule):
    plain = evaluate_schedule(schedule, model_dir=reward_dir)
    happy = evaluate_schedule(
        schedule,
        {"stars": 5, "likert_satisfaction": 5, "comment": "Love it!", "adjustment_kind": "none"},
        model_dir=reward_dir,
    )
    assert happy["satisfaction"] == plain["satisfaction"]  # the model's own score ignores feedback
    assert happy["observed"]["satisfaction"] > 0.9
    assert plain["satisfaction"] < happy["blended"]["satisfaction"] < happy["observed"]["satisfaction"]
    unhappy = evaluate_schedule(schedule, {"stars": 1, "likert_satisfaction": 1}, model_dir=reward_dir)
    assert unhappy["blended"]["satisfaction"] < plain["satisfaction"]
    # Feedback about satisfaction only: the other targets' blends fall back to the model.
    only_engagement = evaluate_schedule(schedule, {"likert_engagement": 4}, model_dir=reward_dir)
    assert only_engagement["observed"]["satisfaction"] is None
    assert only_engagement["blended"]["satisfaction"] == plain["satisfaction"]
    assert only_engagement["observed"]["engagement"] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("feedback", "field"),
    [
        ({"rating": 5}, "feedback.rating"),
        ({"stars": 7}, "feedback.stars"),
        ({"stars": True}, "feedback.stars"),
        ({"adherence": "high"}, "feedback.adherence"),
        ({"comment": 3}, "feedback.comment"),
        ({"adjustment_kind": "paint_it_blue"}, "feedback.adjustment_kind"),
        ("five stars", "feedback"),
    ],
)
def test_malformed_feedback_is_rejected_naming_the_field(reward_dir, schedule, feedback, field):
    with pytest.raises(ValidationError) as err:
        evaluate_schedule(schedule, feedback, model_dir=reward_dir)
    assert err.value.field == field


def _drop_days(schedule):
    del schedule["days"]


def _overlap(schedule):
    blocks = schedule["days"][1]["blocks"]
    blocks[1]["start_time"] = blocks[0]["start_time"]


def _unknown_type(schedule):
    schedule["days"][2]["blocks"][0]["type"] = "recess"


def _wrong_type(schedule):
    schedule["days"][0]["blocks"][0]["duration_minutes"] = "30"


def _missing_key(schedule):
    del schedule["days"][3]["blocks"][0]["start_time"]


def _empty_week(schedule):
    for day in schedule["days"]:
        day["blocks"] = []


@pytest.mark.parametrize(
    ("break_it", "field"),
    [
        (_drop_days, "days"),
        (_missing_key, "days[3].blocks[0].start_time"),
        (_overlap, "days[1].blocks[1].start_time"),
        (_unknown_type, "days[2].blocks[0].type"),
        (_wrong_type, "days[0].blocks[0].duration_minutes"),
        (_empty_week, "days"),
    ],
)
def test_a_malformed_schedule_gets_a_validation_error_before_any_model_loads(break_it, field, schedule, tmp_path):
    broken = copy.deepcopy(schedule)
    break_it(broken)
    with pytest.raises(ValidationError) as err:
        evaluate_schedule(broken, model_dir=tmp_path / "no-model-here")
    assert err.value.field == field


def test_a_schedule_without_its_family_needs_user_data(reward_dir, schedule):
    del schedule["meta"]["family"]
    with pytest.raises(ValidationError) as err:
        evaluate_schedule(schedule, model_dir=reward_dir)
    assert err.value.field == "meta.family"
    schedule["meta"]["family"] = {"answers": [3] * 24 + [9], "child_age": 9}
    with pytest.raises(ValidationError) as err:
        evaluate_schedule(schedule, model_dir=reward_dir)
    assert err.value.field == "meta.family.answers[24]"
    schedule["meta"]["family"] = {"answers": [3] * 25, "child_age": 40}
    with pytest.raises(ValidationError) as err:
        evaluate_schedule(schedule, model_dir=reward_dir)
    assert err.value.field == "meta.family.child_age"
    assert 0 <= evaluate_schedule(schedule, model_dir=reward_dir, user_data=USER_DATA)["satisfaction"] <= 1


def test_a_missing_or_corrupt_reward_model_gets_a_model_load_error_naming_the_path(schedule, reward_dir, tmp_path):
    import shutil

    missing = tmp_path / "models"
    with pytest.raises(ModelLoadError) as err:
        evaluate_schedule(schedule, model_dir=missing)
    assert str(missing) in str(err.value)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(reward_dir / "reward", corrupt)
    (corrupt / "variables" / "variables.index").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError) as err:
        evaluate_schedule(schedule, model_dir=corrupt)
    assert str(corrupt) in str(err.value)


def test_evaluate_schedule_reads_the_default_model_directory(reward_dir, schedule, monkeypatch):
    monkeypatch.setenv("BRIGHTPATH_MODEL_DIR", str(reward_dir))
    assert evaluate_schedule(schedule)["model_version"] == "tiny-1"


def test_evaluate_schedule_needs_no_training_stack(reward_dir, schedule, tmp_path):
    """CONTRACTS §3: a Django view can call it; vaderSentiment loads only to read a comment."""
    (tmp_path / "schedule.json").write_text(json.dumps(schedule))
    script = f"""
import json, sys
from brightpath.inference import evaluate_schedule
schedule = json.load(open({str(tmp_path / "schedule.json")!r}))
evaluate_schedule(schedule, {{"stars": 4}}, model_dir={str(reward_dir)!r})
loaded = {{m.split(".")[0] for m in sys.modules}}
assert not loaded & {{"tf_agents", "hydra", "mlflow", "vaderSentiment", "sklearn"}}, loaded
evaluate_schedule(schedule, {{"comment": "Works well for us."}}, model_dir={str(reward_dir)!r})
assert "vaderSentiment" in {{m.split(".")[0] for m in sys.modules}}
"""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
