"""Benchmark: the README's six-run sweep, one job at a time (Hydra's basic launcher) against two at a
time as Ray tasks (``hydra/launcher=ray``) on the same cores, and a projection for N machines.

    python -m experiments.train -m +exp=ppo model=mlp,transformer seed=0,1,2 [hydra/launcher=ray]

Both sweeps start from copies of one prepared home: the default dataset and reward model
(``+exp=reward``, timed as ``prepare_seconds``), so each measures six PPO jobs (train, export,
evaluate on the cached-once oracle) and nothing else; each logs to a fresh SQLite store of its
own (its schema is created by the launching process, ``SweepParentRun``, before any job starts).

Per-job CPU settings (``*_cpus_per_job``, ``*_threads_per_job``, ``*_jobs_at_once``):

* ``sequential/``: one job at a time in the launching process, TensorFlow's and OpenMP's default
  thread pools (every core);
* ``ray/``: ``configs/hydra/launcher/ray.yaml``: each job a Ray task reserving 1 CPU in a fresh
  worker process with ``OMP_NUM_THREADS`` and TensorFlow's intra-/inter-op pools at 1, so as many
  jobs run at once as there are cores.

Measured per launcher: ``wall_seconds`` (launch to exit), ``job_seconds_{mean,max}`` and
``{mlp,transformer}_job_seconds`` (each job's MLflow run, start to end: its work, imports and
process start excluded), ``startup_seconds`` (launch until the first job's run opens: Python,
Hydra, for Ray the runtime and the first workers with their imports), ``shutdown_seconds``
(the last run closed until exit), ``pct_of_oracle_mean`` (the jobs' results, so a fast sweep is a
real one), ``jobs_finished``, ``job_start_gap_seconds`` (mean wait between a job ending and the
next one starting in its slot: for Ray a fresh worker and its imports) and ``overhead_seconds``
(wall time minus the makespan of the measured job times on the launcher's slots, in start
order: everything that is not a job's own work). ``ray/speedup`` is sequential wall over Ray wall;
``max_pct_of_oracle_difference`` compares the same job under both launchers (thread counts
change TensorFlow's summation order).

``projection/ray_<n>_machines_wall_seconds`` is a projection, not a measurement: ``n`` machines
like this one (each running as many jobs at once as it has cores, jobs as long as measured here
with the other core busy) take the start-up, then the six jobs scheduled on ``n`` × cores slots
with the measured start gap before every job after a slot's first, then the shutdown. It assumes
the dataset and reward model are on every machine and one MLflow server for all, and ignores the
network.

``--quick``: a tiny PPO (``QUICK_OVERRIDES``) on a tiny dataset and reward model, to smoke-test
the benchmark itself. Full size takes ~30 min on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SWEEP = ("+exp=ppo", "model=mlp,transformer", "seed=0,1,2")
"""The README's sweep (``make sweep``)."""
N_JOBS = 6
PREPARE = ("+exp=reward",)
"""Writes the default dataset and trains and promotes the reward model every PPO job loads."""
QUICK_DATA = ("data.n_families=60", "data.schedules_per_family=2")
QUICK_OVERRIDES = (
    *QUICK_DATA,
    "env.num_envs=64",
    "agent.minibatch_size=32",
    "agent.num_iterations=2",
    "eval.n_families=24",
    "eval.oracle.n_random=32",
    "eval.oracle.n_rounds=1",
    "eval.oracle.n_local=8",
)
QUICK_PREPARE = (*QUICK_DATA, "reward_model.max_epochs=1")
RAY_CPUS_PER_JOB = 1
"""``configs/hydra/launcher/ray.yaml``: ``ray.remote.num_cpus`` and the thread variables."""
PROJECTED_MACHINES = (1, 2, 3)
TIMEOUT_SECONDS = 3600
_CLEARED = (
    "RAY_ADDRESS",
    "BRIGHTPATH_MODEL_DIR",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
"""Not passed on: each sweep runs on the local Ray runtime with the launcher's own thread settings."""


@dataclass(frozen=True)
class Sweep:
    """One launched sweep, read back from its MLflow store.

    Attributes:
        wall_seconds: launch to exit of the launching process.
        launched_at: launch time, seconds since the epoch.
        jobs: ``(model, seed, start, end, pct_of_oracle)`` per finished job; times in seconds
            since the epoch, from the job's MLflow run.
    """

    wall_seconds: float
    launched_at: float
    jobs: list[tuple[str, str, float, float, float]]

    @property
    def durations(self) -> list[float]:
        """Each job's seconds, in start order."""
        return [end - start for _, _, start, end, _ in sorted(self.jobs, key=lambda job: job[2])]

    def metrics(self, prefix: str) -> dict[str, float]:
        starts = [job[2] for job in self.jobs]
        ends = [job[3] for job in self.jobs]
        out = {
            "wall_seconds": self.wall_seconds,
            "jobs_finished": float(len(self.jobs)),
            "job_seconds_mean": sum(self.durations) / len(self.jobs),
            "job_seconds_max": max(self.durations),
            "startup_seconds": min(starts) - self.launched_at,
            "shutdown_seconds": self.launched_at + self.wall_seconds - max(ends),
            "pct_of_oracle_mean": sum(job[4] for job in self.jobs) / len(self.jobs),
        }
        for model in ("mlp", "transformer"):
            times = [end - start for name, _, start, end, _ in self.jobs if name == model]
            out[f"{model}_job_seconds"] = sum(times) / len(times)
        return {f"{prefix}/{key}": value for key, value in out.items()}


def run(quick: bool = False) -> dict[str, float]:
    """Prepare a home, run the sweep with each launcher in a copy of it, and project for N machines."""
    cores = os.cpu_count() or 1
    overrides = QUICK_OVERRIDES if quick else ()
    results: dict[str, float] = {"machine/cores": float(cores), "machine/loadavg_1m_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        root = Path(tmp)
        prepared = root / "prepared"
        prepared.mkdir()
        started = time.time()
        _launch(prepared, [*PREPARE, *(QUICK_PREPARE if quick else ())], {}, "prepare")
        results["prepare_seconds"] = time.time() - started

        sweeps = {}
        for name, launcher, env in (
            ("sequential", [], {"OMP_NUM_THREADS": str(cores)}),
            ("ray", ["hydra/launcher=ray"], {}),
        ):
            home = root / name
            home.mkdir()
            for part in ("data", "models"):
                shutil.copytree(prepared / part, home / part, symlinks=True)
            print(f"  {name} sweep ({N_JOBS} jobs) …", flush=True)
            sweeps[name] = _sweep(home, [*SWEEP, *launcher, *overrides], env)
            print(f"  {name}: {sweeps[name].wall_seconds:.0f} s", flush=True)
            results.update(sweeps[name].metrics(name))

    sequential, ray = sweeps["sequential"], sweeps["ray"]
    slots = {"sequential": 1, "ray": max(1, cores // RAY_CPUS_PER_JOB)}
    threads = {"sequential": cores, "ray": RAY_CPUS_PER_JOB}
    for name, sweep in sweeps.items():
        results.update(
            {
                f"{name}/cpus_per_job": float(cores // slots[name]),
                f"{name}/threads_per_job": float(threads[name]),
                f"{name}/jobs_at_once": float(slots[name]),
                f"{name}/job_start_gap_seconds": _start_gap(sweep, slots[name]),
                f"{name}/overhead_seconds": sweep.wall_seconds - _makespan(sweep.durations, slots[name], gap=0.0),
            }
        )
    results["ray/speedup"] = sequential.wall_seconds / ray.wall_seconds
    results["max_pct_of_oracle_difference"] = _max_difference(sequential, ray)
    gap, startup, shutdown = (results[f"ray/{key}_seconds"] for key in ("job_start_gap", "startup", "shutdown"))
    for machines in PROJECTED_MACHINES:
        projected = startup + _makespan(ray.durations, machines * slots["ray"], gap=gap) + shutdown
        results[f"projection/ray_{machines}_machines_wall_seconds"] = projected
    results["machine/loadavg_1m_after"] = os.getloadavg()[0]
    return results


def _launch(home: Path, arguments: list[str], env: dict[str, str], label: str) -> float:
    """Run ``python -m experiments.train <arguments>`` in ``home``; return its wall seconds.

    Raises:
        RuntimeError: it failed (with the end of its error output).
    """
    environment = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    environment.update(
        {
            **env,
            "BRIGHTPATH_HOME": str(home),
            "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
    )
    log_path = home / f"{label}.log"
    started = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "experiments.train", *arguments],
            cwd=home,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            returncode = process.wait(timeout=TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if returncode != 0:
        raise RuntimeError(f"{label} failed with status {returncode}:\n{log_path.read_text()[-4000:]}")
    return time.perf_counter() - started


def _sweep(home: Path, arguments: list[str], env: dict[str, str]) -> Sweep:
    from mlflow.tracking import MlflowClient

    launched_at = time.time()
    wall = _launch(home, ["-m", *arguments, f"hydra.sweep.dir={home / 'multirun'}"], env, "sweep")
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("brightpath")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.task = 'ppo'")
    jobs = [
        (
            run.data.params["model.name"],
            run.data.params["seed"],
            run.info.start_time / 1000,
            run.info.end_time / 1000,
            run.data.metrics["final/eval/pct_of_oracle"],
        )
        for run in runs
        if run.info.status == "FINISHED" and run.data.tags.get("sweep_job")
    ]
    if len(jobs) != N_JOBS:
        raise RuntimeError(f"{home}: {len(jobs)} of {N_JOBS} jobs finished (see {home / 'sweep.log'})")
    return Sweep(wall_seconds=wall, launched_at=launched_at, jobs=jobs)


def _max_difference(first: Sweep, second: Sweep) -> float:
    """Largest |pct_of_oracle| difference of the same (model, seed) job under two launchers."""
    results = {(model, seed): pct for model, seed, _, _, pct in first.jobs}
    return max(abs(results[(model, seed)] - pct) for model, seed, _, _, pct in second.jobs)


def _start_gap(sweep: Sweep, slots: int) -> float:
    """Mean seconds from a slot's job ending to its next job's run opening (jobs after the first ``slots``).

    Job k (in start order, k ≥ slots) takes the slot freed by the (k − slots + 1)-th earliest end.
    """
    starts = sorted(job[2] for job in sweep.jobs)
    ends = sorted(job[3] for job in sweep.jobs)
    gaps = [starts[k] - ends[k - slots] for k in range(slots, len(starts))]
    return sum(gaps) / len(gaps) if gaps else 0.0


def _makespan(durations: list[float], slots: int, *, gap: float) -> float:
    """Finish time of ``durations`` on ``slots`` parallel slots, each job to the first free slot in
    order, every job after a slot's first waiting ``gap`` seconds first."""
    free = [0.0] * slots
    used = [False] * slots
    for duration in durations:
        slot = min(range(slots), key=free.__getitem__)
        free[slot] += (gap if used[slot] else 0.0) + duration
        used[slot] = True
    return max(free)
