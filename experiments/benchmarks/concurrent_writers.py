"""Benchmark: concurrent MLflow writers against the PostgreSQL-backed tracking server and against SQLite.

A sweep's parallel jobs (Ray), two researchers, or the loop and the service write to one
tracking store at once. Here ``WRITERS`` processes, released together once each has imported
MLflow, each open ``RUNS_PER_WRITER`` runs one after the other through the code every job
uses (``experiments.tracking.start_run``: the config as params and as ``config.yaml``, git
tags), log ``STEPS`` steps of ``METRICS`` metric values (one ``log_batch`` per step, as
``Tracker.log_metrics`` does) and one JSON artifact, and end the run. A writer that meets an
error records it and opens its next run, without retrying, as a job would crash. Then the store
is read back.

Targets (metric prefixes):

* ``server/``: ``mlflow server`` on a throwaway PostgreSQL cluster, artifacts proxied by the
  server, schema from ``mlflow db upgrade`` (``scripts.services``, started and stopped here);
* ``sqlite/``: a SQLite file whose schema exists, as ``mlflow.db`` is after its first run;
* ``sqlite_fresh/``: a SQLite path with no file yet, as on a fresh clone's first parallel
  sweep: the writers race to create the schema.

Per target: ``runs_lost`` (runs not in the store as FINISHED with everything logged: missing,
FAILED, or incomplete), ``params_lost``, ``metric_values_lost`` and ``artifacts_lost`` (what the
writers set out to log minus what the store holds), ``errors`` (exceptions the writers met) and
``errors_database_locked`` (those saying "database is locked"), ``store_readable`` (0 when the
store cannot even be opened afterwards), ``seconds`` (release to last writer done) and
``metric_values_per_s`` (stored values per second). The distinct error messages are printed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

WRITERS = 8
"""Concurrent writer processes (issue 12's bar: 8 writers, 0 lost runs or metrics on the server)."""
EXPERIMENT = "bench-concurrent-writers"
ARTIFACT = "bench/writer.json"
START_TIMEOUT_S = 180.0
"""How long the writers may take to import MLflow before the release (2 cores, 8 processes)."""
WRITER_TIMEOUT_S = 900.0
"""How long the writers may take to write; then the measurement fails and they are killed by pid."""


@dataclass(frozen=True)
class Workload:
    """What each writer logs; every count is ≥ 1."""

    writers: int = WRITERS
    runs_per_writer: int = 5
    params: int = 20
    """Params of the benchmark's own config section (the run also logs the rest of its config)."""
    steps: int = 50
    metrics: int = 5
    """Metric values per step, logged in one batch."""


FULL = Workload()
QUICK = Workload(writers=4, runs_per_writer=1, params=5, steps=3, metrics=2)
"""A smoke test of the benchmark itself (minutes at full size on 2 cores)."""


@dataclass
class Outcome:
    """What one target kept of one workload."""

    runs_lost: int
    params_lost: int
    metric_values_lost: int
    artifacts_lost: int
    seconds: float
    metric_values_stored: int
    store_readable: bool = True
    """False when the store could not even be opened afterwards (a half-migrated SQLite file)."""
    errors: list[str] = field(default_factory=list)
    """One line per exception a writer met (and one if the store is unreadable): ``"<type>: <first line>"``."""

    def metrics(self, prefix: str) -> dict[str, float]:
        """Flat ``{f"{prefix}/<name>": value}`` numbers for the benchmark record."""
        numbers = {key: float(value) for key, value in asdict(self).items() if key != "errors"}
        numbers["errors"] = float(len(self.errors))
        numbers["errors_database_locked"] = float(sum("database is locked" in e for e in self.errors))
        numbers["metric_values_per_s"] = self.metric_values_stored / self.seconds if self.seconds > 0 else 0.0
        return {f"{prefix}/{key}": value for key, value in numbers.items()}


def run(quick: bool = False) -> dict[str, float]:
    """Measure ``QUICK`` or ``FULL`` against the three targets; print each target's distinct errors."""
    workload = QUICK if quick else FULL
    results: dict[str, float] = {
        "writers": float(workload.writers),
        "runs_per_writer": float(workload.runs_per_writer),
        "metric_values_per_run": float(workload.steps * workload.metrics),
    }
    with tempfile.TemporaryDirectory(prefix="bench-writers-") as tmp:
        root = Path(tmp)
        targets = {
            "sqlite": sqlite_store(root / "sqlite", create_schema=True),
            "sqlite_fresh": sqlite_store(root / "sqlite_fresh", create_schema=False),
        }
        with mlflow_server(root / "services") as server_uri:
            targets = {"server": server_uri, **targets}
            for name, uri in targets.items():
                outcome = measure(uri, workload, root / name)
                results.update(outcome.metrics(name))
                for message, count in Counter(outcome.errors).most_common():
                    print(f"  {name}: {count} x {message}")
    return results


def sqlite_store(directory: Path, *, create_schema: bool) -> str:
    """``sqlite:///<directory>/mlflow.db``; with ``create_schema`` the file exists with MLflow's tables."""
    directory.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{directory / 'mlflow.db'}"
    if create_schema:
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=uri).search_experiments()
    return uri


@contextlib.contextmanager
def mlflow_server(state_dir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL-backed ``mlflow server`` (``scripts.services``), stopped on exit."""
    from scripts import services

    env = services.start(["mlflow"], state_dir)
    try:
        yield env[services.ENV_VARS["mlflow"]]
    finally:
        services.stop(state_dir)


def measure(tracking_uri: str, workload: Workload, work_dir: Path) -> Outcome:
    """Run ``workload.writers`` writer processes against ``tracking_uri`` and count what the store kept.

    ``work_dir`` receives the artifacts of a store without a server (SQLite).

    Raises:
        RuntimeError: a writer process died, or did not start within ``START_TIMEOUT_S`` or
            finish within ``WRITER_TIMEOUT_S``; every writer is stopped (by its pid) first.
    """
    context = multiprocessing.get_context("spawn")  # no MLflow/SQLAlchemy state copied by fork
    ready, go, reports = context.Queue(), context.Event(), context.Queue()
    work_dir.mkdir(parents=True, exist_ok=True)
    artifact_location = None if tracking_uri.startswith("http") else str(work_dir / "artifacts")
    writers = [
        context.Process(
            target=_writer,
            args=(tracking_uri, artifact_location, index, workload, ready, go, reports),
            name=f"mlflow-writer-{index}",
        )
        for index in range(workload.writers)
    ]
    for process in writers:
        process.start()
    try:
        _collect(ready, writers, START_TIMEOUT_S, f"{tracking_uri}: starting the writers")
        started = time.perf_counter()
        go.set()
        errors = [
            line for lines in _collect(reports, writers, WRITER_TIMEOUT_S, f"{tracking_uri}: writing") for line in lines
        ]
        seconds = time.perf_counter() - started
    finally:
        for process in writers:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
    return _read_back(tracking_uri, workload, seconds, errors)


def writer_config(tracking_uri: str, artifact_location: str | None, index: int, run: int, workload: Workload):
    """The config one benchmark run logs: the ``logger`` section jobs use plus ``workload.params`` values."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {
            "task": "bench-writer",
            "seed": index,
            "run_name": f"writer{index}-run{run}",
            "resume": False,
            "logger": {
                "enabled": True,
                "tracking_uri": tracking_uri,
                "experiment_name": EXPERIMENT,
                "artifact_location": artifact_location,
            },
            "bench": {f"param_{i}": i for i in range(workload.params)},
        }
    )
    OmegaConf.set_struct(cfg, True)
    return cfg


def _collect(source, writers: list, timeout_s: float, what: str) -> list:
    """One item from each writer on ``source``; fails as soon as a writer has died without sending."""
    items: list = []
    deadline = time.monotonic() + timeout_s
    while len(items) < len(writers):
        try:
            items.append(source.get(timeout=1.0))
        except queue.Empty:
            dead = [p.pid for p in writers if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"{what}: writer process(es) {dead} died; see their output above") from None
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what}: {len(writers) - len(items)} writer(s) silent after {timeout_s:.0f} s"
                ) from None
    return items


def _writer(
    tracking_uri: str, artifact_location: str | None, index: int, workload: Workload, ready, go, reports
) -> None:
    """One writer process: ``workload.runs_per_writer`` runs; puts its error lines on ``reports``."""
    import mlflow  # noqa: F401  (imported before the release, so all writers start writing together)

    from experiments import tracking

    errors: list[str] = []
    ready.put(index)
    go.wait()
    for run in range(workload.runs_per_writer):
        try:
            with tracking.start_run(writer_config(tracking_uri, artifact_location, index, run, workload)) as tracker:
                for step in range(workload.steps):
                    tracker.log_metrics(
                        {f"bench/metric_{k}": step * k + index for k in range(workload.metrics)}, step=step
                    )
                tracker.log_dict({"writer": index, "run": run}, ARTIFACT)
        except Exception as err:  # noqa: BLE001  (counted, not raised: what a job would lose)
            errors.append(_error_line(err))
    reports.put(errors)


def _read_back(tracking_uri: str, workload: Workload, seconds: float, errors: list[str]) -> Outcome:
    from mlflow.tracking import MlflowClient

    from experiments.tracking import config_params

    try:
        client = MlflowClient(tracking_uri=tracking_uri)
        experiment = client.get_experiment_by_name(EXPERIMENT)
    except Exception as err:  # noqa: BLE001  (a store the writers broke: everything in it is lost)
        errors = [*errors, f"store unreadable: {_error_line(err)}"]
        client = experiment = None
    stored = client.search_runs([experiment.experiment_id], max_results=10_000) if experiment else []
    by_name = {run.info.run_name: run for run in stored}
    expected_params = len(config_params(writer_config(tracking_uri, None, 0, 0, workload)))
    metric_names = [f"bench/metric_{k}" for k in range(workload.metrics)]
    runs_lost = params_lost = values_lost = artifacts_lost = values_stored = 0
    for index in range(workload.writers):
        for run_number in range(workload.runs_per_writer):
            run = by_name.get(f"writer{index}-run{run_number}")
            params = len(run.data.params) if run else 0
            values = sum(len(client.get_metric_history(run.info.run_id, name)) for name in metric_names) if run else 0
            artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "bench")} if run else set()
            complete = (
                run is not None
                and run.info.status == "FINISHED"
                and params == expected_params
                and values == workload.steps * workload.metrics
                and ARTIFACT in artifacts
            )
            runs_lost += not complete
            params_lost += expected_params - params
            values_lost += workload.steps * workload.metrics - values
            artifacts_lost += ARTIFACT not in artifacts
            values_stored += values
    return Outcome(
        runs_lost=runs_lost,
        params_lost=params_lost,
        metric_values_lost=values_lost,
        artifacts_lost=artifacts_lost,
        seconds=seconds,
        metric_values_stored=values_stored,
        store_readable=client is not None,
        errors=errors,
    )


def _error_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:200] if text else ''}"
