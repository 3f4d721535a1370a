"""Benchmark: the README's default command on a fresh home — wall time, where it goes, and third-party noise.

Runs ``python -m experiments.train +exp=ppo`` (the README's first line, after the bootstrap) as
a subprocess whose working directory and ``BRIGHTPATH_HOME`` are a new empty temporary
directory, with ``MLFLOW_TRACKING_URI``, ``BRIGHTPATH_MODEL_DIR`` and ``TF_CPP_MIN_LOG_LEVEL``
removed from its environment: it generates the dataset, trains and exports the reward model,
trains PPO, exports and evaluates, as on a fresh clone. Issue 8's bar: ≤ ``GOAL_SECONDS`` on
2 cores, printing no third-party warnings or CUDA/absl noise.

* ``first_run/wall_seconds``: launch to exit;
* ``first_run/startup_seconds``: launch until the MLflow run opens (Python, TensorFlow-free
  imports, Hydra, the config check, creating ``mlflow.db``);
* ``first_run/data_seconds``, ``first_run/reward_model_seconds`` (training, its evaluation and
  export, data excluded), ``first_run/ppo_seconds`` (training), ``first_run/evaluation_seconds``,
  ``first_run/export_seconds`` (the rest of the run: building the environment and agent, the
  SavedModel exports): from the run's ``perf/`` metrics;
* ``first_run/shutdown_seconds``: the MLflow run closed until the process exited;
* ``first_run/noise_lines``: lines of its output that come from third parties
  (``brightpath.console.third_party_noise``; goal 0), and ``first_run/output_lines`` all lines;
* ``first_run/pct_of_oracle``: the run's result (``eval/pct_of_oracle``), so a fast run is a real one.

``--quick`` runs the same command on a tiny budget (``QUICK_OVERRIDES``; the tests use it too).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND = ("-m", "experiments.train", "+exp=ppo")
"""The README's default command, after the interpreter."""
QUICK_OVERRIDES = (
    "env.num_envs=64",
    "agent.minibatch_size=32",
    "agent.num_iterations=2",
    "eval.n_families=24",
    "data.n_families=40",
    "data.schedules_per_family=2",
    "eval.oracle.n_random=32",
    "eval.oracle.n_rounds=1",
    "eval.oracle.n_local=8",
    "reward_model.max_epochs=1",
)
"""A tiny budget for the same command: every stage runs (data, reward model, PPO, export, evaluation)."""
GOAL_SECONDS = 180.0
TIMEOUT_SECONDS = 1800
_CLEARED = ("MLFLOW_TRACKING_URI", "BRIGHTPATH_MODEL_DIR", "BRIGHTPATH_HOME", "TF_CPP_MIN_LOG_LEVEL")


@dataclass(frozen=True)
class FirstRun:
    """One run of the default command: its exit status, output and timings.

    Attributes:
        returncode: the process's exit status.
        stdout, stderr: everything it printed.
        wall_seconds: launch to exit.
        launched_at: launch time, seconds since the epoch.
        home: the temporary home it ran in (deleted after ``first_run``).
    """

    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    launched_at: float
    home: Path


def first_run(home: Path, overrides: tuple[str, ...] = (), repo_root: Path = REPO_ROOT) -> FirstRun:
    """Run the default command in ``home`` (its working directory and ``BRIGHTPATH_HOME``).

    ``repo_root`` is put first on ``PYTHONPATH``, so another checkout (e.g. an older commit
    unpacked with ``git archive``) can be measured with this same harness.
    """
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env["BRIGHTPATH_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(repo_root), *filter(None, [os.environ.get("PYTHONPATH")])])
    launched_at = time.time()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *COMMAND, *overrides],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return FirstRun(done.returncode, done.stdout, done.stderr, time.perf_counter() - started, launched_at, home)


def breakdown(result: FirstRun) -> dict[str, float]:
    """Where the wall time went, from the run's MLflow record (``mlflow.db`` in its home); see the module."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{result.home / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("brightpath")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    if len(parents) != 1:
        raise RuntimeError(f"first_run: expected one top-level MLflow run in {result.home}, found {len(parents)}")
    (run,) = parents
    metrics = {}
    for child in (r for r in runs if r is not run):  # a reward model trained as a child run
        metrics.update(child.data.metrics)
    metrics.update(run.data.metrics)

    def seconds(name: str) -> float:
        for key in (name, f"final/{name}"):
            if key in metrics:
                return float(metrics[key])
        matches = [value for key, value in metrics.items() if key.endswith("/" + name) or key.endswith("." + name)]
        return float(matches[0]) if matches else 0.0

    opened, closed = run.info.start_time / 1000.0, (run.info.end_time or run.info.start_time) / 1000.0
    data = seconds("perf/data_seconds")
    reward_setup = seconds("perf/reward_model_setup_seconds")
    ppo, evaluation, total = (seconds(f"perf/{k}_seconds") for k in ("train", "eval", "total"))
    return {
        "first_run/startup_seconds": opened - result.launched_at,
        "first_run/data_seconds": data,
        "first_run/reward_model_seconds": max(reward_setup - data, 0.0),
        "first_run/ppo_seconds": ppo,
        "first_run/evaluation_seconds": evaluation,
        "first_run/export_seconds": max(total - reward_setup - ppo - evaluation, 0.0),
        "first_run/shutdown_seconds": result.launched_at + result.wall_seconds - closed,
        "first_run/pct_of_oracle": seconds("eval/pct_of_oracle"),
    }


def measure(quick: bool = False, repo_root: Path = REPO_ROOT) -> tuple[dict[str, float], list[str]]:
    """``(metrics, third-party noise lines)`` of one fresh run (the module docstring lists the metrics)."""
    from brightpath.console import third_party_noise

    with tempfile.TemporaryDirectory(prefix="brightpath-first-run-") as tmp:
        result = first_run(Path(tmp), QUICK_OVERRIDES if quick else (), repo_root)
        if result.returncode != 0:
            raise RuntimeError(
                f"first_run: `{' '.join(COMMAND)}` exited with {result.returncode}:\n{result.stderr[-3000:]}"
            )
        noise = third_party_noise(result.stdout + "\n" + result.stderr, repo_root)
        metrics = {
            "first_run/wall_seconds": result.wall_seconds,
            "first_run/goal_seconds": GOAL_SECONDS,
            **breakdown(result),
            "first_run/noise_lines": float(len(noise)),
            "first_run/output_lines": float(len((result.stdout + result.stderr).splitlines())),
        }
    return metrics, noise


def run(quick: bool = False) -> dict[str, float]:
    metrics, noise = measure(quick)
    for line in noise[:20]:
        print(f"  noise: {line[:160]}")
    return metrics
