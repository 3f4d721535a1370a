"""Benchmark: the model service under load. Goal: ``POST /api/ml/generate-schedule/`` sustains ≥ 200 requests/s
for 60 s on loopback with 0 errors and p99 ≤ 50 ms, every request audited (issue 9).

What it does:

1. a throwaway ``BRIGHTPATH_HOME`` with a registry holding a generator: a copy of the promoted one in
   ``default_model_dir()`` when there is one, else an untrained PPO-MLP policy exported exactly as
   training exports it (``agents.export.export_ppo_generator``; speed depends on the network, not on
   its weights); the store is the default embedded SQLite file (WAL);
2. starts ``python -m serving`` as a subprocess (this module never imports ``serving``) and drives it
   with ``wrk`` (one thread, a Lua script that POSTs the example family of the service's own OpenAPI
   document: the seed plan's answers, age 8), after a short warm-up, twice:

   * **paced** (the goal): each connection waits ``CONNECTIONS / PACED_REQUESTS_PER_S`` seconds between
     requests, so the service is offered a steady load a little above the goal for ``DURATION_S``
     seconds and the latencies are those of a service keeping up, not of a queue (``service/*``);
   * **max**: no pause, the most the service answers (``service/max_*``; its latencies are queueing
     behind ``MAX_CONNECTIONS`` requests by construction);
3. halfway through the paced run, publishes and promotes a second generator version; a poller reads
   ``/v1/models/generator`` and records when the new version is served (``service/promotion_pickup_s``):
   a swap under load, whose failed requests would show in ``service/errors``;
4. counts the audit rows and served schedules the paced run wrote (the store, read directly);
5. times ``brightpath.inference.generate_schedule`` in-process on the same model, one call at a time,
   for the service's overhead (HTTP, validation, the store write, JSON).

Metrics: ``service/requests_per_s``, ``service/requests``, ``service/errors`` (socket errors and non-2xx),
``service/latency_{mean,p50,p90,p99,max}_ms`` (wrk's, client side), ``service/server_latency_{p50,p99}_ms``
(the service's own, from a request's arrival to its answer being stored, read from the audit log),
``service/audit_rows_per_request`` (≥ 1: every answered request has its row; requests cut off when wrk
stops can add a few), ``service/promotion_pickup_s``, ``service/max_requests_per_s``,
``service/max_latency_{p50,p99}_ms`` and the mean latency Little's law gives for that run
(``service/max_mean_latency_littles_law_ms``), ``service/wrk_time_accounted`` and
``service/max_wrk_time_accounted`` (requests × (mean latency + pause) ÷ (connections × duration): about 1
when wrk's latencies agree with its own request count, above 1 when they cannot, as seen on this
machine's VM under a saturating load; then trust the server-side figures), ``service/inprocess_{p50,p99}_ms``,
``service/overhead_p50_ms`` (paced p50 − in-process p50), ``service/meets_goals`` (1 when all four hold),
and the 1-minute load average before and after (``machine/load_avg_*``: other work on the two cores slows
the service; the figures are comparable only on a quiet machine).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

GOAL_REQUESTS_PER_S = 200.0
GOAL_P99_MS = 50.0
DURATION_S = 60
MAX_DURATION_S = 30
QUICK_DURATION_S = 5
WARM_UP_S = 5
CONNECTIONS = 16
"""wrk connections of the paced run: with a pause of 64 ms each, the offered load hardly depends on the latency."""
MAX_CONNECTIONS = 4
"""wrk connections of the max run: enough to keep the service busy without a long queue."""
PACED_REQUESTS_PER_S = 250.0
"""Offered load of the paced run: above the goal, so that the goal is met with the service's own latency added."""
INPROCESS_CALLS = 2000
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = os.getenv("BRIGHTPATH_BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"

local pause_ms = tonumber(os.getenv("BRIGHTPATH_BENCH_PAUSE_MS") or "0")
if pause_ms > 0 then
  delay = function() return pause_ms end
end

done = function(summary, latency, requests)
  local errors = summary.errors
  local out = io.open(os.getenv("BRIGHTPATH_BENCH_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %f}',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  out:close()
end
"""


def run(quick: bool = False) -> dict[str, float]:
    from brightpath import registry
    from brightpath.store import Store

    if shutil.which("wrk") is None:
        raise RuntimeError("service_load: wrk is not installed (Debian: apt-get install wrk)")
    duration = QUICK_DURATION_S if quick else DURATION_S
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="brightpath-service-load-") as tmp:
        home = Path(tmp)
        models = home / "models"
        source = _generator_source(home / "export")
        registry.publish(
            models, "generator", lambda d: shutil.copytree(source, d, dirs_exist_ok=True), {"model_version": "bench-v1"}
        )
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "BRIGHTPATH_HOME": str(home),
            "BRIGHTPATH_MODEL_DIR": str(models),
            "BRIGHTPATH_SERVICE_PORT": str(port),
            "BRIGHTPATH_LOG_LEVEL": "WARNING",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        env.pop("BRIGHTPATH_DATABASE_URL", None)  # the default embedded SQLite store in the throwaway home
        service = _start_service(env, home, base_url)
        family = _example_family(base_url)
        pause_ms = CONNECTIONS * 1000.0 / PACED_REQUESTS_PER_S
        try:
            _wrk(base_url, family, WARM_UP_S, home / "warm-up.json", pause_ms, CONNECTIONS)
            store = Store(f"sqlite:///{home / 'brightpath.db'}", migrate=False)
            audit_before, served_before = store.count("audit_log"), store.count("served_schedules")
            pickup: list[float] = []
            promoter = threading.Thread(target=_promote_midway, args=(models, source, base_url, duration / 2, pickup))
            promoter.start()
            result = _wrk(base_url, family, duration, home / "paced.json", pause_ms, CONNECTIONS)
            promoter.join()
            audit = store.count("audit_log") - audit_before
            served = store.count("served_schedules") - served_before
            server_ms = store.audit_frame(endpoint="generate-schedule")["latency_ms"].to_numpy()[-audit:]
            store.close()
            max_seconds = QUICK_DURATION_S if quick else MAX_DURATION_S
            most = _wrk(base_url, family, max_seconds, home / "max.json", 0.0, MAX_CONNECTIONS)
        finally:
            _stop(service)
        version_dir = registry.resolve(models, "generator")[1]
        inprocess = _inprocess_ms(version_dir, family, 200 if quick else INPROCESS_CALLS)
    requests = float(result["requests"])
    errors = float(sum(result[k] for k in ("connect", "read", "write", "status", "timeout")))
    seconds = result["duration_us"] / 1e6
    p50, p99 = result["p50_us"] / 1000.0, result["p99_us"] / 1000.0
    return {
        "service/requests_per_s": requests / seconds,
        "service/requests": requests,
        "service/duration_s": seconds,
        "service/errors": errors,
        "service/connections": float(CONNECTIONS),
        "service/max_connections": float(MAX_CONNECTIONS),
        "service/latency_mean_ms": result["mean_us"] / 1000.0,
        "service/latency_p50_ms": p50,
        "service/latency_p90_ms": result["p90_us"] / 1000.0,
        "service/latency_p99_ms": p99,
        "service/latency_max_ms": result["max_us"] / 1000.0,
        "service/wrk_time_accounted": _time_accounted(result, CONNECTIONS, pause_ms),
        "service/server_latency_p50_ms": float(np.percentile(server_ms, 50)),
        "service/server_latency_p99_ms": float(np.percentile(server_ms, 99)),
        "service/audit_rows": float(audit),
        "service/served_schedules": float(served),
        "service/audit_rows_per_request": audit / requests if requests else 0.0,
        "service/promotion_pickup_s": pickup[0] if pickup else float("nan"),
        "service/offered_requests_per_s": PACED_REQUESTS_PER_S,
        "service/max_requests_per_s": most["requests"] / (most["duration_us"] / 1e6),
        "service/max_latency_p50_ms": most["p50_us"] / 1000.0,
        "service/max_latency_p99_ms": most["p99_us"] / 1000.0,
        "service/max_errors": float(sum(most[k] for k in ("connect", "read", "write", "status", "timeout"))),
        "service/max_mean_latency_littles_law_ms": MAX_CONNECTIONS * most["duration_us"] / most["requests"] / 1000.0,
        "service/max_wrk_time_accounted": _time_accounted(most, MAX_CONNECTIONS, 0.0),
        "service/inprocess_p50_ms": float(np.percentile(inprocess, 50)),
        "service/inprocess_p99_ms": float(np.percentile(inprocess, 99)),
        "service/overhead_p50_ms": p50 - float(np.percentile(inprocess, 50)),
        "service/goal_requests_per_s": GOAL_REQUESTS_PER_S,
        "service/goal_p99_ms": GOAL_P99_MS,
        "service/meets_goals": float(
            requests / seconds >= GOAL_REQUESTS_PER_S and p99 <= GOAL_P99_MS and errors == 0 and audit >= requests
        ),
        "machine/load_avg_1m_before": load_before,
        "machine/load_avg_1m_after": os.getloadavg()[0],
    }


def _generator_source(export_dir: Path) -> Path:
    """The generator to serve: the promoted one of ``default_model_dir()``, else an untrained PPO-MLP export."""
    from brightpath import registry
    from brightpath.errors import ModelLoadError
    from brightpath.export import default_model_dir

    try:
        return registry.resolve(default_model_dir(), "generator")[1]
    except ModelLoadError:
        pass
    from agents.adapter import schedule_tf_environment
    from agents.config import NetworkConfig, PPOConfig
    from agents.export import export_ppo_generator
    from agents.training import build_learner

    tf_env = schedule_tf_environment(1, seed=0, reward_source="oracle")
    learner = build_learner(tf_env, NetworkConfig(), PPOConfig(minibatch_size=1), seed=0)  # one family per batch
    return export_ppo_generator(learner.agent.policy, export_dir, model_version="bench-untrained-ppo-mlp")


def _start_service(env: dict[str, str], home: Path, base_url: str) -> subprocess.Popen:
    log = open(home / "service.log", "wb")  # noqa: SIM115 (the child writes it until it is stopped)
    process = subprocess.Popen(
        [sys.executable, "-m", "serving"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service_load: the service exited; log:\n{(home / 'service.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    _stop(process)
    raise RuntimeError("service_load: the service did not answer /healthz within 120 s")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the service's process group (it leads it), SIGKILL if it does not stop."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _time_accounted(result: dict[str, float], connections: int, pause_ms: float) -> float:
    """requests × (wrk's mean latency + pause) ÷ (connections × duration): about 1 when wrk's latencies agree
    with its own request count (each connection has one request in flight or is pausing); above 1 they are
    overstated."""
    return result["requests"] * (result["mean_us"] + 1000.0 * pause_ms) / (connections * result["duration_us"])


def _example_family(base_url: str) -> dict:
    """The request body the service documents for ``generate-schedule`` with ``child_age`` (the seed plan's family)."""
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=10) as response:
        examples = json.load(response)["components"]["schemas"]["GenerateScheduleRequest"]["examples"]
    return next(example for example in examples if "child_age" in example)


def _wrk(base_url: str, family: dict, seconds: int, out: Path, pause_ms: float, connections: int) -> dict[str, float]:
    """One wrk run POSTing ``family``: ``connections`` connections, ``pause_ms`` between a connection's requests."""
    script = out.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "BRIGHTPATH_BENCH_BODY": json.dumps(family),
        "BRIGHTPATH_BENCH_OUT": str(out),
        "BRIGHTPATH_BENCH_PAUSE_MS": str(int(round(pause_ms))),
    }
    subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            f"{base_url}/api/ml/generate-schedule/",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text())


def _promote_midway(models: Path, source: Path, base_url: str, after_s: float, pickup: list[float]) -> None:
    """After ``after_s``, publish and promote version 2; record how long until the service serves it."""
    from brightpath import registry

    time.sleep(after_s)
    registry.publish(
        models, "generator", lambda d: shutil.copytree(source, d, dirs_exist_ok=True), {"model_version": "bench-v2"}
    )
    promoted = time.monotonic()
    while time.monotonic() - promoted < 30:
        with urllib.request.urlopen(f"{base_url}/v1/models/generator", timeout=5) as response:
            if json.load(response)["model_version_status"][0]["version"] == "2":
                pickup.append(time.monotonic() - promoted)
                return
        time.sleep(0.05)


def _inprocess_ms(version_dir: Path, family: dict, calls: int) -> np.ndarray:
    """Milliseconds per ``brightpath.inference.generate_schedule`` call on the same model and family, one at a time."""
    from brightpath.inference import generate_schedule

    user_data = {key: value for key, value in family.items() if key in ("preferences", "child_age")}
    generate_schedule(user_data, model_dir=version_dir)  # load and trace once
    times = np.empty(calls)
    for i in range(calls):
        started = time.perf_counter()
        generate_schedule(user_data, model_dir=version_dir)
        times[i] = (time.perf_counter() - started) * 1000.0
    return times


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
