"""Sweeps beyond one process: a Hydra sweep as Ray tasks (``hydra/launcher=ray``) logging to the
PostgreSQL-backed MLflow server, and why that server exists: parallel writers that open a fresh
SQLite store (the default ``sqlite:///mlflow.db`` on a new checkout) race to create its schema
and lose runs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from experiments.benchmarks import concurrent_writers

REPO_ROOT = Path(__file__).resolve().parents[1]
SWEEP_TIMEOUT_S = 300


def _processes_of_ray_session(driver_pid: int) -> list[str]:
    """Command lines of live processes of the Ray session a driver started (its raylet, GCS,
    monitors: their arguments name ``/tmp/ray/session_<time>_<driver pid>``)."""
    session = re.compile(rf"session_\d{{4}}-\d\d-\d\d_\d\d-\d\d-\d\d_\d+_{driver_pid}\b")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it exited meanwhile
            continue
        if session.search(command):
            found.append(f"{entry.name}: {command[:120]}")
    return found


def test_ray_sweep_logs_four_finished_jobs_under_one_parent_on_the_server(mlflow_server_uri, tmp_path):
    from mlflow.tracking import MlflowClient

    home = tmp_path / "home"
    home.mkdir()
    experiment = f"ray-sweep-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           "BRIGHTPATH_HOME": str(home), "MLFLOW_TRACKING_URI": mlflow_server_uri, "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)  # the local runtime, whatever cluster the developer's shell names
    command = [sys.executable, "-m", "experiments.train", "-m", "+exp=data", "data.n_families=40",
               "data.schedules_per_family=2", "seed=0,1,2,3", "hydra/launcher=ray",
               "paths.data_dir=${paths.root}/data/s${seed}",  # one dataset per job: no two jobs write one file
               f"logger.experiment_name={experiment}", f"hydra.sweep.dir={home}/multirun"]
    sweep = subprocess.Popen(command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = sweep.communicate(timeout=SWEEP_TIMEOUT_S)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
    assert sweep.returncode == 0, err[-4000:]

    client = MlflowClient(tracking_uri=mlflow_server_uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    (parent,) = [run for run in runs if run.data.tags.get("sweep_role") == "parent"]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 5 and len(children) == 4
    assert sorted(run.data.tags["sweep_job"] for run in children) == ["0", "1", "2", "3"]
    assert sorted(run.info.run_name for run in children) == [f"data-v1-s{seed}" for seed in range(4)]
    for run in children:
        seed = run.data.tags["seed"]
        assert run.info.status == "FINISHED"
        assert run.data.params["seed"] == seed and run.data.params["data.n_families"] == "40"
        assert run.data.params["paths.data_dir"] == f"{home}/data/s{seed}"
        assert run.data.metrics["final/data/rows_families"] == 40
        assert run.data.metrics["final/data/rows_schedules"] == 80
    assert {run.data.tags["sweep_id"] for run in children} == {parent.data.tags["sweep_id"]}

    # Each job ran in its own Ray worker process (max_calls: 1), none in the launching process.
    workers = {int(pid) for pid in re.findall(r"\(_run_job pid=(\d+)\)", out + err)}
    assert len(workers) == 4 and sweep.pid not in workers
    # Ray stopped with the sweep: nothing of its session is left running.
    deadline = time.monotonic() + 15
    while (left := _processes_of_ray_session(sweep.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == []


def test_parallel_first_writers_lose_runs_in_a_fresh_sqlite_store(tmp_path):
    """Measured on 2 busy cores: two writers opening a new SQLite file together lost 1 of their 2 runs
    in 7 of 7 trials; eight lost 7 of 8 in two trials and in a third left the file half-migrated, so
    that no client could open it again. Both apply the same schema migration ("duplicate column
    name", "table ... already exists", alembic's "expected to match one row"). The MLflow server's
    store is migrated once (``mlflow db upgrade``) before any writer connects."""
    workload = concurrent_writers.Workload(writers=2, runs_per_writer=1, params=1, steps=1, metrics=1)
    store = concurrent_writers.sqlite_store(tmp_path / "store", create_schema=False)

    outcome = concurrent_writers.measure(store, workload, tmp_path / "work")

    assert outcome.runs_lost >= 1, "both writers kept their run: the schema race did not happen"
    assert len(outcome.errors) >= outcome.runs_lost
    database_error = re.compile(r"^(store unreadable: )?(OperationalError|CommandError|CircularDependencyError|"
                                r"IntegrityError|MlflowException): ")
    assert [error for error in outcome.errors if not database_error.match(error)] == []
