"""The continuous-improvement loop end to end on tiny budgets (``+exp=loop``, in-process): what it leaves in
the store, the model registry and the MLflow Model Registry, and a deliberately broken challenger blocked
by the gate while the champion keeps serving."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

TINY_LOOP = [
    "+exp=loop",
    "data.n_families=60",
    "data.schedules_per_family=3",
    "reward_model.d_model=4",
    "reward_model.ff_dim=4",
    "reward_model.head_units=[8]",
    "reward_model.max_epochs=2",
    "reward_model.batch_size=64",
    "env.num_envs=64",
    "agent.minibatch_size=64",
    "agent.num_iterations=2",
    "eval.n_families=60",
    "eval.oracle.n_random=16",
    "eval.oracle.n_rounds=1",
    "eval.oracle.n_local=4",
    "loop.new_families=30",
    "loop.returning_families=10",
    "loop.ab_families=60",
    "loop.gate.n_bootstrap=100",
    "loop.trigger.min_new_feedback=10",
    "loop.explore_share=0.5",
]
"""A loop that takes seconds a round: 60 families in the dataset, 2 PPO iterations of 64 families."""


def _state(home: Path) -> dict:
    return json.loads((home / "checkpoints" / "loop-s0" / "loop_state.json").read_text())


def test_the_loop_serves_learns_gates_and_promotes_through_the_store_and_both_registries(
    run_experiment, tmp_home, mlflow_store
):
    import mlflow
    import pandas as pd

    from brightpath import registry
    from brightpath.inference import generate_schedule
    from brightpath.store import Store

    metrics = run_experiment([*TINY_LOOP, "loop.rounds=2", "loop.oracle_reference=true"], tmp_home)
    state = _state(tmp_home)
    champion = state["champion"]

    store = Store(f"sqlite:///{tmp_home / 'brightpath.db'}")
    served = store.served_frame()
    feedback = store.feedback_frame()
    cohorts = served["cohort"].value_counts().to_dict()
    assert cohorts["loop-s0/r01/serve"] == cohorts["loop-s0/r02/serve"] == 40
    assert cohorts["loop-s0/r01/ab"] == cohorts["loop-s0/r02/ab"] == 60
    assert len(feedback) == len(served)  # the world answers every week (non-response leaves NaN columns)
    ab_rows = served[served["cohort"].str.endswith("/ab")]
    assert set(ab_rows["arm"]) == {"champion", "challenger"}
    assert (served[served["cohort"].str.endswith("/serve")]["arm"] == "explore").any()
    audit = store.audit_frame()
    assert len(audit) == len(served[served["source"] != "logged"])  # one audit row per week served live

    # The on-disk registry: every round published a version; the champion link is the state's champion.
    for name in ("generator", "reward", "policy"):
        assert registry.list_versions(tmp_home / "models", name) == [1, 2, 3]
    assert registry.champion_version(tmp_home / "models", "generator") == champion["generator"]
    assert registry.champion_version(tmp_home / "models", "reward") == champion["reward"]
    # brightpath.inference serves the champion without a restart.
    meta = generate_schedule({"child_age": 9, "q1": 4})["meta"]
    champion_meta = registry.read_metadata(
        registry.version_path(tmp_home / "models", "generator", champion["generator"])
    )
    assert meta["source"] == "ppo" and meta["model_version"] == champion_meta["model_version"]

    # Every round's verdict is a record with its reasons, stored next to the round.
    for round_ in (1, 2):
        verdict = state["rounds"][str(round_)]["verdict"]
        assert verdict["decision"] in ("promote", "reject") and verdict["passed"] == (verdict["decision"] == "promote")
        assert {c["name"] for c in verdict["checks"]} >= {"value_floor", "overall_regression", "invalid_rate_rise"}
        saved = json.loads((tmp_home / "checkpoints/loop-s0" / f"round-{round_:02d}" / "verdict.json").read_text())
        assert saved == verdict
        assert state["rounds"][str(round_)]["research"]["truth"]["truth"] in ("better", "equal", "worse")

    # The MLflow Model Registry: versions with aliases and verdict tags; the champion loads as a pyfunc model.
    client = mlflow_store.client
    for name, kind in (("brightpath-generator", "generator"), ("brightpath-reward", "reward")):
        model = client.get_registered_model(name)
        versions = {str(v.version): v for v in client.search_model_versions(f"name = '{name}'")}
        assert sorted(versions, key=int) == ["1", "2", "3"]
        round_of = {v.tags["round"]: str(v.version) for v in versions.values()}
        aliases = {alias: str(version) for alias, version in model.aliases.items()}
        assert aliases == {"champion": round_of[str(champion["round"])], "challenger": round_of["2"]}
        for round_ in ("1", "2"):
            tags = versions[round_of[round_]].tags
            assert tags["gate_decision"] == state["rounds"][round_]["verdict"]["decision"]
            assert json.loads(tags["gate_verdict"])["challenger"] == state["rounds"][round_]["verdict"]["challenger"]
            assert tags["registry_version"] == str(
                state["rounds"][round_]["steps"]["policy" if kind == "generator" else "reward"][
                    "generator" if kind == "generator" else "version"
                ]
            )
    mlflow.set_tracking_uri(f"sqlite:///{tmp_home}/mlflow.db")
    family = pd.DataFrame([{**{f"q{i}": 3.0 for i in range(1, 26)}, "child_age": 9.0}])
    params = mlflow.pyfunc.load_model("models:/brightpath-generator@champion").predict(family)
    assert params.shape == (1, 7) and np.all(np.isfinite(params.to_numpy()))
    scores = mlflow.pyfunc.load_model("models:/brightpath-reward@champion").predict(family.join(params))
    assert list(scores.columns) == ["satisfaction", "engagement", "effectiveness"]
    assert ((scores >= 0) & (scores <= 1)).all().all()

    # Runs: the loop's parent run with its report and dashboards; a child per round with models and inputs.
    (parent,) = mlflow_store.runs("tags.task = 'loop' and attributes.run_name = 'loop-s0'")
    artifacts = mlflow_store.artifacts(parent.info.run_id)
    assert {
        "report/loop.md",
        "report/loop_true_vs_proxy.png",
        "dashboard/dashboard.html",
        "dashboard/round-02/dashboard.html",
    } <= artifacts
    assert any(key.startswith("alerts.round_01") for key in parent.data.tags)
    round_run = client.get_run(state["rounds"]["1"]["run_id"])
    assert round_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert {d.dataset.name for d in round_run.inputs.dataset_inputs} == {"store.feedback", "store.served_families"}
    assert len(round_run.outputs.model_outputs) == 2

    report = (tmp_home / "reports" / "loop.md").read_text()
    assert "| 2 | challenger |" in report and "PPO rewarded by the hidden truth" in report
    assert metrics["loop/rounds"] == 2 and metrics["loop/promotions"] + metrics["loop/rejections"] == 2
    assert 0 < metrics["final/oracle_reward_pct_of_oracle"] <= 101

    # A fresh run (resume=false) of the same run name refuses a store that already holds it.
    from experiments.loop.runner import LoopStateError

    with pytest.raises(LoopStateError, match="resume=true"):
        run_experiment([*TINY_LOOP, "loop.rounds=0"], tmp_home)


def test_a_broken_challenger_is_blocked_and_the_champion_keeps_serving(run_experiment, tmp_home, mlflow_store):
    """The round-1 challenger learns from the reward model's inverted scores: the gate blocks it on the
    A/B test's observed feedback alone, the hidden truth agrees, and the champion stays in place."""
    from brightpath import registry
    from brightpath.inference import generate_schedule

    run_experiment(
        [
            *TINY_LOOP,
            "loop.rounds=1",
            "loop.corrupt_reward_rounds=[1]",
            "loop.ppo_iterations=15",
            "agent.learning_rate=0.01",
            "loop.ab_families=200",
            "loop.gate.value_floor=0",
            "loop.research=true",
            "loop.oracle_reference=false",
        ],
        tmp_home,
    )
    record = _state(tmp_home)["rounds"]["1"]
    verdict = record["verdict"]
    assert verdict["decision"] == "reject"
    assert "overall_regression" in verdict["failed_checks"]
    assert record["research"]["truth"]["truth"] == "worse" and record["research"]["truth"]["agrees"]

    challenger = record["steps"]["policy"]["generator"]
    assert registry.champion_version(tmp_home / "models", "generator") == 1 != challenger
    champion_meta = registry.read_metadata(registry.version_path(tmp_home / "models", "generator", 1))
    assert generate_schedule({"child_age": 12})["meta"]["model_version"] == champion_meta["model_version"]
    model = mlflow_store.client.get_registered_model("brightpath-generator")
    assert {alias: str(version) for alias, version in model.aliases.items()} == {"champion": "1", "challenger": "2"}
    rejected = mlflow_store.client.get_model_version("brightpath-generator", "2")
    assert rejected.tags["gate_decision"] == "reject"  # a rejected challenger stays registered and tagged


def test_a_round_whose_trigger_does_not_fire_serves_and_listens_into_postgresql_but_does_not_retrain(
    run_experiment, tmp_home, postgres_url
):
    """The store is a PostgreSQL database given by URL (nothing written to the SQLite default); round 1 serves
    its cohort and stores every answer, but too little feedback arrived to retrain: no challenger, no A/B test."""
    from brightpath import registry
    from brightpath.store import Store
    from tests.test_store import _drop_postgres_database, _fresh_postgres_database

    url, name = _fresh_postgres_database(postgres_url)
    try:
        run_experiment(
            [
                *TINY_LOOP,
                "loop.rounds=1",
                "loop.research=false",
                "loop.trigger.min_new_feedback=100000",
                "loop.trigger.on_drift=false",
                "loop.trigger.on_degradation=false",
                "loop.trigger.on_critical=false",
                f"loop.database_url='{url}'",
            ],
            tmp_home,
        )
        assert not (tmp_home / "brightpath.db").exists()
        store = Store(url)
        served, feedback = store.served_frame(), store.feedback_frame()
        store.close()
    finally:
        _drop_postgres_database(postgres_url, name)
    assert served["cohort"].value_counts().to_dict() == {"loop-s0/r00/logged": 153, "loop-s0/r01/serve": 40}
    assert len(feedback) == len(served)
    record = _state(tmp_home)["rounds"]["1"]
    assert record["done"] and not record["steps"]["trigger"]["fired"] and "verdict" not in record
    assert record["steps"]["served"] == 40
    assert registry.list_versions(tmp_home / "models", "generator") == [1]


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("loop.explore_share=1.5", "loop.explore_share"),
        ("loop.gate_score=mean", "loop.gate_score"),
        ("loop.world.shift=taller", "loop.world.shift"),
        ("loop.reward_calibration=ols", "loop.reward_calibration"),
    ],
)
def test_a_bad_loop_setting_stops_the_run_before_any_work_naming_the_key(run_experiment, tmp_home, override, key):
    from experiments.config_check import ConfigError

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        run_experiment([*TINY_LOOP, override], tmp_home)
    assert not (tmp_home / "brightpath.db").exists()


def test_the_report_plot_of_a_run_without_research_says_so_instead_of_warning():
    import warnings

    from experiments.loop.research import figure

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns on a legend with no labelled artists
        fig = figure({"0": {"done": True}, "1": {"done": True}}, None)
    for ax in fig.axes:
        assert ax.get_legend() is None
        assert [text.get_text() for text in ax.texts] == ["no research evaluation in this run"]
