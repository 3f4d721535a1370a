"""Killing the loop mid-round (SIGKILL) and resuming it (``resume=true``) gives the same store contents and
the same registry state (on disk and in the MLflow Model Registry) as an uninterrupted run: every row has a
deterministic id and is inserted once, every model version is published and registered once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_loop import TINY_LOOP

REPO_ROOT = Path(__file__).resolve().parents[1]
LOOP = [
    *TINY_LOOP,
    "loop.rounds=1",
    "loop.ppo_iterations=4",
    "agent.checkpoint_interval=1",
    "loop.research=false",
    "loop.oracle_reference=false",
]
"""Round 1 trains 4 PPO iterations with a checkpoint after each, so a kill lands inside the round; the A/B
gate, the promotion and the dashboard come after it."""
KILL_AFTER = "round-01/ppo/tf/checkpoint"


def _launch(home: Path, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "BRIGHTPATH_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.train", *LOOP, *extra, f"paths.root={home}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> None:
    _, errors = process.communicate(timeout=600)
    assert process.returncode == 0, errors[-3000:]


def _store_contents(home: Path) -> dict:
    """Every row of the store's tables, in id order. Two things differ between runs by nature and are
    put in common terms: a model's version string is its training run's MLflow id (read as the round that
    trained it), and audit latencies are measured."""
    from sqlalchemy import create_engine, text

    rounds = json.loads((home / "checkpoints" / "loop-s0" / "loop_state.json").read_text())["rounds"]
    run_round = {record["run_id"]: f"round-{key}" for key, record in rounds.items()}
    engine = create_engine(f"sqlite:///{home / 'brightpath.db'}")
    contents = {}
    with engine.connect() as connection:
        for table in ("served_schedules", "feedback", "audit_log"):
            rows = [dict(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id")).mappings()]
            for row in rows:
                row.pop("latency_ms", None)
                if "model_version" in row:
                    row["model_version"] = run_round.get(row["model_version"], row["model_version"])
                if "schedule_json" in row:
                    schedule = json.loads(row["schedule_json"])
                    schedule["meta"]["model_version"] = run_round.get(
                        schedule["meta"]["model_version"], schedule["meta"]["model_version"]
                    )
                    row["schedule_json"] = schedule
            contents[table] = rows
    engine.dispose()
    return contents


def _registry_state(home: Path) -> dict:
    from mlflow.tracking import MlflowClient

    from brightpath import registry
    from experiments.loop.mlflow_registry import registry_state

    state = {}
    for name in ("generator", "reward", "policy"):
        versions = registry.list_versions(home / "models", name)
        state[name] = {
            "champion": registry.champion_version(home / "models", name),
            "versions": {
                v: registry.read_metadata(registry.version_path(home / "models", name, v)).get("loop") for v in versions
            },
            "promotions": [p["version"] for p in registry.promotions(home / "models", name)],
        }
    client = MlflowClient(tracking_uri=f"sqlite:///{home}/mlflow.db")
    state["mlflow"] = registry_state(client, ("brightpath-generator", "brightpath-reward"))
    return state


def test_a_loop_killed_mid_round_resumes_to_what_an_uninterrupted_run_reaches(tmp_path, _mlflow_db_template):
    import shutil

    homes = {name: tmp_path / name for name in ("uninterrupted", "killed")}
    for home in homes.values():
        home.mkdir()
        shutil.copy(_mlflow_db_template, home / "mlflow.db")
    uninterrupted = _launch(homes["uninterrupted"])
    killed = _launch(homes["killed"])
    marker = homes["killed"] / "checkpoints" / "loop-s0" / KILL_AFTER
    deadline = time.monotonic() + 600
    while not marker.exists():
        assert killed.poll() is None, f"the run ended before round 1's PPO: {killed.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, "round 1's PPO never started"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    state = json.loads((homes["killed"] / "checkpoints" / "loop-s0" / "loop_state.json").read_text())
    assert not state["rounds"]["1"].get("done"), "the kill was meant to land inside round 1"

    resumed = _launch(homes["killed"], "resume=true")
    _finish(resumed)
    _finish(uninterrupted)

    expected, got = (_store_contents(homes[n]) for n in ("uninterrupted", "killed"))
    for table in expected:
        assert len(got[table]) == len(expected[table]), table
        assert got[table] == expected[table], table
    assert _registry_state(homes["killed"]) == _registry_state(homes["uninterrupted"])
