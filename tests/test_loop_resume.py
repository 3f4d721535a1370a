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
    """``python -m experiments.train`` of ``LOOP`` in ``home``, with this process's thread settings (tests/conftest.py),
    so that it computes what an in-process run computes."""
    env = {**os.environ, "BRIGHTPATH_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db"}
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.train", *LOOP, *extra, f"paths.root={home}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen | None) -> None:
    """SIGKILL ``process`` by its pid if it is still running, and reap it."""
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


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


def test_a_loop_killed_mid_round_resumes_to_what_an_uninterrupted_run_reaches(tmp_path, tmp_home, run_experiment):
    """The run to kill is a process of its own (SIGKILLed inside round 1's PPO, then resumed by a new process);
    the uninterrupted run is made in this process meanwhile."""
    import shutil
    import threading

    killed_home = tmp_path / "killed"
    killed_home.mkdir()
    shutil.copy(tmp_home / "mlflow.db", killed_home / "mlflow.db")  # the empty store tmp_home starts with
    killed = _launch(killed_home)
    marker = killed_home / "checkpoints" / "loop-s0" / KILL_AFTER
    outcome: dict = {}

    def kill_inside_round_1_then_resume() -> None:
        deadline = time.monotonic() + 600
        while not marker.exists():
            if killed.poll() is not None:
                outcome["error"] = f"the run ended before round 1's PPO: {killed.stderr.read()[-3000:]}"
                return
            if time.monotonic() > deadline:
                outcome["error"] = "round 1's PPO never started"
                return
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        outcome["state"] = json.loads((killed_home / "checkpoints" / "loop-s0" / "loop_state.json").read_text())
        outcome["resumed"] = _launch(killed_home, "resume=true")

    watcher = threading.Thread(target=kill_inside_round_1_then_resume, daemon=True)
    watcher.start()
    try:
        run_experiment(LOOP, tmp_home)
        watcher.join(timeout=600)
        assert "error" not in outcome, outcome["error"]
        assert not outcome["state"]["rounds"]["1"].get("done"), "the kill was meant to land inside round 1"
        _finish(outcome["resumed"])
    finally:  # whatever failed, no run outlives the test: each is stopped by its own pid
        _stop(killed)  # (also ends the watcher's wait for round 1)
        watcher.join(timeout=600)
        _stop(outcome.get("resumed"))

    expected, got = _store_contents(tmp_home), _store_contents(killed_home)
    for table in expected:
        assert len(got[table]) == len(expected[table]), table
        assert got[table] == expected[table], table
    assert _registry_state(killed_home) == _registry_state(tmp_home)
