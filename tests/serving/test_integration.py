"""The service as it runs: a real uvicorn process (``python -m serving``), real Celery workers
(``python -m serving.worker``) and a real redis-server, on loopback.

* a model promoted while requests keep coming is served within 10 s, and no request fails;
* a worker's pool process killed with SIGKILL mid-job: the job runs again and succeeds;
* a whole worker killed with SIGKILL mid-job: the service re-queues the job, a new worker runs it;
  killed again with no attempts left, the job fails with the reason, visible at its status URL;
  no training run outlives its worker.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from brightpath import registry
from brightpath.store import JOB_ID_ENV
from tests.serving.conftest import SERVICE_TOKEN
from tests.serving.helpers import SEED_FAMILY, tiny_generator
from tests.serving.processes import Process, pids_with_env, wait_until

AUTH = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
TINY_JOB = {"task": "data", "overrides": {"data.n_families": 30}}
"""A real training run of a few seconds: the data experiment with 30 families."""


@pytest.fixture
def worker(service_env, service_home):
    """Start workers on demand (``worker()``); each is stopped by its own pid at the end."""
    started: list[Process] = []

    def start() -> Process:
        process = Process("serving.worker", service_env, service_home / f"worker-{len(started)}.log", service_home)
        started.append(process)
        wait_until(lambda: "ready." in process.output(), 60, "the worker ready", process=process)
        return process

    yield start
    for process in started:
        process.stop()


def job(base_url: str, job_id: str) -> dict:
    return httpx.get(f"{base_url}/api/ml/jobs/{job_id}", headers=AUTH, timeout=5).json()


def start_job(base_url: str) -> str:
    response = httpx.post(f"{base_url}/api/ml/train-models/", json=TINY_JOB, headers=AUTH, timeout=5)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def training_run(job_id: str, timeout_s: float = 60) -> int:
    """The pid of the job's training subprocess, once it has started."""
    return wait_until(lambda: pids_with_env(JOB_ID_ENV, job_id), timeout_s, f"job {job_id}'s training run")[0]


def test_a_model_promoted_while_serving_is_picked_up_without_a_failed_request(service, service_home):
    statuses: list[int] = []
    versions: list[str] = []
    published = threading.Event()
    published_at: list[float] = []

    def promote() -> None:
        time.sleep(1.0)
        registry.publish(service_home / "models", "generator", tiny_generator(0.5, "gen-v2"))
        published_at.append(time.monotonic())
        published.set()

    promoter = threading.Thread(target=promote)
    promoter.start()
    with httpx.Client(base_url=service, timeout=10) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = client.post("/api/ml/generate-schedule/", json=SEED_FAMILY)
            statuses.append(response.status_code)
            versions.append(response.json().get("model_version"))
            if published.is_set() and versions[-1] == "gen-v2":
                picked_up_s = time.monotonic() - published_at[0]
                break
        else:
            raise AssertionError(f"gen-v2 never served; versions seen: {sorted(set(versions))}")
    promoter.join()
    print(
        f"\npromotion picked up after {picked_up_s:.2f} s; {len(statuses)} requests, "
        f"{sum(s != 201 for s in statuses)} failed"
    )
    assert set(statuses) == {201}
    assert versions[0] == "gen-v1" and picked_up_s <= 10.0
    status = httpx.get(f"{service}/v1/models/generator").json()
    assert status["model_version_status"][0]["version"] == "2" and status["champion_version"] == 2


def test_a_killed_pool_process_means_the_job_runs_again(service, worker):
    worker()
    job_id = start_job(service)
    first_run = training_run(job_id)
    os.kill(owner_pid(service, job_id), signal.SIGKILL)  # the process running the task, mid-run
    wait_until(lambda: gone(first_run), 10, "the killed task's training run gone with it")
    final = wait_until(
        lambda: (j := job(service, job_id))["state"] in ("succeeded", "failed") and j,
        120,
        f"job {job_id} finished",
        interval_s=0.5,
    )
    assert final["state"] == "succeeded", final
    assert (final["attempts"], final["progress"]) == (2, 1.0)
    assert final["metrics"]["data/rows_families"] == 30.0 and final["mlflow_run_id"]


def test_a_killed_worker_is_replaced_then_the_job_fails_with_the_reason(service, worker):
    first = worker()
    job_id = start_job(service)
    run = training_run(job_id)
    kill_worker(first, owner_pid(service, job_id))
    wait_until(lambda: gone(run), 10, "the training run stopped with its worker")
    requeued = wait_until(
        lambda: (j := job(service, job_id))["state"] == "queued" and j, 30, "the service re-queueing the job"
    )
    assert "stopped heartbeating" in requeued["message"]

    second = worker()
    second_run = wait_until(
        lambda: [p for p in pids_with_env(JOB_ID_ENV, job_id) if p != run], 60, "the job running on the new worker"
    )[0]
    assert job(service, job_id)["attempts"] == 2
    kill_worker(second, owner_pid(service, job_id))
    wait_until(lambda: gone(second_run), 10, "the second training run stopped with its worker")
    failed = wait_until(lambda: (j := job(service, job_id))["state"] == "failed" and j, 30, "the job failed")
    assert "failed after 2 attempt(s)" in failed["error"] and "stopped heartbeating" in failed["error"]


def owner_pid(base_url: str, job_id: str) -> int:
    """The pid of the worker process that claimed the job (its ``worker`` is ``host:pid``)."""
    return int(job(base_url, job_id)["worker"].rsplit(":", 1)[1])


def kill_worker(process: Process, pool_pid: int) -> None:
    """SIGKILL a worker's main process and the pool process running the job, each by its pid (a crash or
    OOM kill); the training run they started is not signalled: it must stop by itself."""
    os.kill(process.pid, signal.SIGKILL)
    os.kill(pool_pid, signal.SIGKILL)
    process.popen.wait()


def gone(pid: int) -> bool:
    """The process has exited (or is a zombie waiting for its dead parent's reaper)."""
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_the_docs_page_renders_in_a_headless_browser(service, tmp_path):
    import importlib.util
    import shutil
    import subprocess

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        (pytest.fail if os.environ.get("BRIGHTPATH_REQUIRE_SERVICES") == "1" else pytest.skip)(
            "chromium is not installed"
        )
    if importlib.util.find_spec("fastapi_offline") is None:  # a package of the lock, not a service to start
        pytest.skip("fastapi-offline is not installed: /docs would load Swagger UI from a CDN, unreachable here")
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{service}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = result.stdout
    assert 'class="swagger-ui' in dom, result.stderr[-2000:]
    for path in (
        "/api/ml/generate-schedule/",
        "/api/ml/evaluate-schedule/",
        "/api/ml/feedback/",
        "/api/ml/train-models/",
        "/v1/models/{name}",
    ):
        assert path in dom, f"{path} not rendered"
