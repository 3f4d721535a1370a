"""The monitoring dashboard: one self-contained HTML page that a real headless Chromium renders
with every plot decoded and without the network; escaping, empty sections, atomic writes."""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.gate import ArmRates, evaluate_gate
from brightpath.monitoring import (
    MonitoringReport,
    detect_degradation,
    family_drift,
    model_health,
    observed_scores,
    render_dashboard,
    satisfaction_trend,
    segment_report,
    windows_of,
    write_dashboard,
)
from brightpath.monitoring.alerts import Alert
from brightpath.schedule import summarize_params
from brightpath.segments import family_segments
from brightpath.simulator import generate_feedback, sample_families

CHROMIUM = "/usr/bin/chromium"
REQUIRE_SERVICES_ENV = "BRIGHTPATH_REQUIRE_SERVICES"
SECTIONS = ("alerts", "satisfaction", "degradation", "drift", "segments", "health", "gate")
FIGURES = 4  # satisfaction, drift, segments, health


@pytest.fixture(scope="module")
def report() -> MonitoringReport:
    """Four rounds of 200 families served by versions 1 and 2 (2 loses 0.08 of its stars in round 3),
    an older incoming cohort, an audit log with a flaky version and a gate verdict."""
    rng = np.random.default_rng(70)
    families = sample_families(800, rng)
    summaries = summarize_params(expert_params(families.answers, families.child_age), families.grade_band)
    scores = observed_scores(generate_feedback(families, summaries, rng))
    scores["round"] = np.repeat([0, 1, 2, 3], 200)
    scores["model_version"] = np.where(scores["round"] < 2, "1", "2")
    scores.loc[scores["round"] == 3, "stars"] = (scores["stars"] - 0.08).clip(0, 1)
    degradation = detect_degradation(scores, window_column="round")
    training = sample_families(1500, rng)
    latest = slice(600, 800)
    drift = family_drift(
        training.answers, training.child_age, families.answers[latest], np.minimum(families.child_age[latest] + 2, 18)
    )
    segments = family_segments(families.answers[latest], families.child_age[latest])
    by_segment = segment_report(scores["likert_satisfaction"].to_numpy()[latest], segments, min_size=10)
    n = 400
    audit = pd.DataFrame(
        {
            "time": pd.date_range("2025-06-01", periods=n, freq="min"),
            "endpoint": "/api/ml/generate-schedule/",
            "model_version": np.where(np.arange(n) < 200, "1", "2"),
            "source": np.where((np.arange(n) >= 200) & (np.arange(n) % 9 == 0), "fallback", "ppo"),
            "latency_ms": rng.gamma(2.0, 30.0, n),
            "status_code": 201,
        }
    )
    stars = scores["stars"].to_numpy()
    gate = evaluate_gate(
        stars[400:600],
        stars[600:800],
        champion_rates=ArmRates(0.0, 0.0, 200),
        challenger_rates=ArmRates(0.0, 0.11, 200),
        segments={k: v[:200] for k, v in family_segments(families.answers, families.child_age).items()},
        challenger_segments=segments,
        names=("1", "2"),
    )
    return MonitoringReport(
        generated_at="2025-06-01T12:00:00+00:00",
        history=degradation.trend,
        drift=drift,
        degradation=degradation,
        segments=by_segment,
        health=model_health(audit),
        gate=gate,
        extra_alerts=(Alert("retraining_trigger", "info", "new_feedback_rows", 800, 500, "800 new feedback rows"),),
    )


@pytest.fixture(scope="module")
def page(report) -> str:
    return render_dashboard(report)


class _Resources(html.parser.HTMLParser):
    """Every URL-valued attribute and every tag of a page."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value is not None:
                self.urls.append(value)
            if tag == "img" and name == "src":
                self.images.append(value)


def test_the_page_is_self_contained_and_shows_every_section(report, page):
    resources = _Resources()
    resources.feed(page)
    assert len(resources.images) == FIGURES
    assert all(src.startswith("data:image/png;base64,") for src in resources.images)
    assert resources.urls == resources.images  # no link, script or stylesheet to fetch
    assert "script" not in resources.tags and "link" not in resources.tags
    assert not re.search(r"url\(|@import|https?://", page)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    alerts = report.alerts()
    assert {a.kind for a in alerts} >= {"satisfaction_degradation", "feature_drift", "fallback_rate"}
    assert [a.severity for a in alerts] == sorted(
        (a.severity for a in alerts), key=("critical", "warning", "info").index
    )
    for alert in alerts:
        assert alert.message.replace("'", "&#x27;") in page
    assert "gate: reject 2" in page
    json.dumps(report.to_dict())


def test_rendering_repeats_byte_for_byte_and_escapes_what_it_is_given(report, page):
    assert render_dashboard(report) == page
    hostile = MonitoringReport(
        title="<script>alert(1)</script>",
        extra_alerts=(Alert("x", "warning", "m", 1.0, 0.0, "<img src=x onerror=alert(1)>"),),
    )
    escaped = render_dashboard(hostile)
    assert "<script>" not in escaped and "<img src=x" not in escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in escaped


def test_an_empty_report_renders_every_section_with_a_note():
    page = render_dashboard(MonitoringReport())
    assert "<img" not in page
    for note in ("No alerts.", "No satisfaction history yet.", "Drift was not checked.", "No audit log."):
        assert note in page


def test_daily_windows_plot_as_dates():
    rng = np.random.default_rng(71)
    times = pd.date_range("2025-06-01", periods=300, freq="h", tz="UTC")
    scores = pd.DataFrame({"time": times, "model_version": "3", "stars": rng.uniform(0.4, 0.9, 300)})
    scores["day"] = windows_of(scores["time"], "D")
    history = satisfaction_trend(scores, ("stars",), window_column="day")
    page = render_dashboard(MonitoringReport(history=history, window_label="day"))
    assert page.count('<img alt="observed satisfaction over time per model version"') == 1
    assert json.loads(json.dumps(MonitoringReport(history=history).to_dict()))["history"][0]["window"].startswith(
        "2025-06-01"
    )


def test_bad_input_names_the_argument():
    with pytest.raises(ValidationError) as info:
        MonitoringReport(history=pd.DataFrame({"round": [1]}))
    assert info.value.field == "history"
    with pytest.raises(ValidationError) as info:
        render_dashboard({"title": "not a report"})
    assert info.value.field == "report"


def test_write_dashboard_replaces_the_page_atomically(report, page, tmp_path):
    target = tmp_path / "site" / "dashboard.html"
    write_dashboard(MonitoringReport(title="first"), target)
    write_dashboard(report, target)
    assert target.read_text(encoding="utf-8") == page
    assert sorted(p.name for p in target.parent.iterdir()) == ["dashboard.html"]
    assert target.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------------------
# A real headless Chromium
# ---------------------------------------------------------------------------

_PROBE = (
    "<script>window.addEventListener('load', () => { document.body.dataset.images = JSON.stringify("
    "Array.from(document.images, i => [i.alt, i.naturalWidth, i.naturalHeight, i.complete])); });</script>"
)


@pytest.fixture(scope="module")
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
            pytest.fail(f"{CHROMIUM} is required ({REQUIRE_SERVICES_ENV}=1) but is not installed")
        pytest.skip(f"{CHROMIUM} is not installed here (apt-get install chromium)")
    return CHROMIUM


def _run_chromium(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # any network fetch would fail: the page must not need one
        f"--user-data-dir={profile}",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_chromium_decodes_every_plot(page, chromium, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    result = _run_chromium(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'data-images="([^"]*)"', result.stdout)
    assert match, "the probe did not run: " + result.stdout[:500]
    images = json.loads(html.unescape(match.group(1)))
    assert len(images) == FIGURES
    for alt, width, height, complete in images:
        assert complete and width >= 600 and height >= 250, (alt, width, height)


def test_chromium_screenshot_shows_the_plots(page, chromium, tmp_path):
    from matplotlib.image import imread

    path = tmp_path / "dashboard.html"
    path.write_text(page, encoding="utf-8")
    shot = tmp_path / "dashboard.png"
    result = _run_chromium(
        chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000", path.as_uri()
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = (imread(shot)[..., :3] * 255).round().astype(np.int32)
    assert pixels.shape[:2] == (2000, 1280)
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    assert len(np.unique(packed)) > 500  # text, tables and anti-aliased plot lines, not a blank page
    # The plots' own palette (matplotlib's blue and orange lines) is on screen.
    for colour in ((31, 119, 180), (255, 127, 14)):
        near = np.abs(pixels - np.array(colour)).sum(axis=-1) < 30
        assert near.sum() > 50, colour
