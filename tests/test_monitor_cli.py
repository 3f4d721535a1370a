"""Monitoring any store: ``python -m experiments.monitor`` (dashboard, JSON, alert log lines, the retraining
trigger, a training job through the service) and the service's own ``GET /dashboard``, rendered with its plots
by a real headless Chromium."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from brightpath.datasets import generate_datasets
from brightpath.store import Store
from experiments.loop.cohorts import import_logged, week_of_round
from tests.test_loop_monitoring import _record_week, _world

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    """A store with logged weeks and two served weeks, the second of a population of older children."""
    root = tmp_path_factory.mktemp("monitor-cli")
    generate_datasets(
        root / "data",
        n_families=500,
        schedules_per_family=1,
        val_fraction=0.15,
        test_fraction=0.15,
        seed=0,
        version="v1",
    )
    path = root / "store.db"
    store = Store(f"sqlite:///{path}")
    import_logged(store, _world(root / "data"), root / "data", "v1")
    _record_week(store, _world(root / "data"), 1, week=week_of_round(1))
    _record_week(store, _world(root / "data", shift="older_children"), 2, week=week_of_round(2))
    store.close()
    return path


@pytest.fixture(scope="module")
def model_root(tmp_path_factory) -> Path:
    """A registry serving a tiny generator and no reward model (the dashboard then reads feedback with the
    default calibration)."""
    from brightpath import registry
    from tests.serving.helpers import tiny_generator

    root = tmp_path_factory.mktemp("monitor-models") / "models"
    registry.publish(root, "generator", tiny_generator(-0.5, "gen-v1"))
    return root


def test_the_monitor_writes_the_dashboard_logs_alerts_and_fires_the_trigger_on_a_shift(store_path, tmp_path):
    output = tmp_path / "out" / "dashboard.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.monitor",
            "--database-url",
            f"sqlite:///{store_path}",
            "--output",
            str(output),
            "--model-dir",
            str(tmp_path / "no-models"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(output.with_name("monitoring.json").read_text())
    assert record["window"] == week_of_round(2).isoformat()
    assert record["trigger"]["fired"] and record["trigger"]["reasons"][0].startswith("drift")
    assert "started" not in record  # --start none reports only
    alert_lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"feature_drift", "retraining_triggered"} <= {line["kind"] for line in alert_lines}
    assert all(line["event"] == "brightpath.monitoring.alert" for line in alert_lines)
    assert "<img" in output.read_text() and "trigger fired" in result.stdout


def test_a_fired_trigger_submits_the_next_loop_round_to_the_service(store_path, tmp_path, model_root, monkeypatch):
    import httpx

    from experiments import monitor
    from tests.serving.helpers import TOKEN, RecordingQueue, client_for, make_settings

    queue = RecordingQueue()
    with client_for(make_settings(tmp_path, model_root), queue) as client:

        def post(url, **kwargs):
            kwargs.pop("timeout", None)
            return client.post(httpx.URL(url).path, **kwargs)

        monkeypatch.setattr(httpx, "post", post)
        status = monitor.main(
            [
                "--database-url",
                f"sqlite:///{store_path}",
                "--output",
                str(tmp_path / "d.html"),
                "--model-dir",
                str(tmp_path / "no-models"),
                "--start",
                "service",
                "--service-url",
                "http://service",
                "--token",
                TOKEN,
            ]
        )
        assert status == 0
        started = json.loads((tmp_path / "monitoring.json").read_text())["started"]
        job = client.app.state.store.get_job(started["job_id"])
    assert (job["task"], job["overrides"]) == ("loop", monitor.NEXT_ROUND_OVERRIDES)
    assert queue.submitted == [started["job_id"]]


def test_the_service_serves_the_dashboard_of_its_store_and_chromium_renders_its_plots(store_path, tmp_path, model_root):
    import shutil

    from tests.serving.helpers import client_for, make_settings
    from tests.test_dashboard import _run_chromium

    settings = make_settings(tmp_path, model_root, database_url=f"sqlite:///{tmp_path / 'copy.db'}")
    shutil.copy(store_path, tmp_path / "copy.db")
    with client_for(settings) as client:
        response = client.get("/dashboard")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Drift of incoming family profiles" in page and "feature_drift" in page
    chromium = shutil.which("/usr/bin/chromium")
    if chromium is None:
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.replace(
            "</body>",
            "<script>window.addEventListener('load', () => { document.body.dataset"
            ".images = JSON.stringify(Array.from(document.images, i => [i.naturalWidth, "
            "i.complete])); });</script></body>",
        ),
        encoding="utf-8",
    )
    result = _run_chromium(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    images = json.loads(html.unescape(re.search(r'data-images="([^"]*)"', result.stdout).group(1)))
    assert len(images) == 3  # satisfaction over weeks, drift, segments (this store has no audit rows: no health)
    assert all(complete and width > 300 for width, complete in images)
