"""Model health from the audit log: fallback rate, 5xx rate and latency percentiles per model
version, alerts above the ceilings, and clear errors for a malformed log."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.monitoring.alerts import LOG_EVENT, Alert, log_alerts, most_severe
from brightpath.monitoring.health import AUDIT_COLUMNS, HealthConfig, model_health

GENERATE = "/api/ml/generate-schedule/"
FEEDBACK = "/api/ml/feedback/"


def _audit(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


def test_rates_and_percentiles_per_version_and_overall():
    t = "2025-05-01T10:00:00Z"
    rows = [(t, GENERATE, "1", "ppo", 10.0 * (i + 1), 201) for i in range(8)]
    rows += [(t, GENERATE, "1", "fallback", 500.0, 201), (t, GENERATE, "1", None, 30.0, 500)]
    rows += [(t, FEEDBACK, "1", None, 5.0, 422)]
    rows += [("2025-05-02T10:00:00Z", GENERATE, "2", "ppo", 20.0, 201)] * 4 + [(t, GENERATE, None, None, None, 422)]
    report = model_health(_audit(rows))
    v1 = report.version("1")
    assert (v1.n_requests, v1.n_schedules) == (11, 9)
    assert v1.fallback_rate == pytest.approx(1 / 9)
    assert v1.error_rate == pytest.approx(1 / 11) and v1.client_error_rate == pytest.approx(1 / 11)
    latencies = [10.0 * (i + 1) for i in range(8)] + [500.0, 30.0, 5.0]
    assert v1.latency_p50_ms == pytest.approx(np.percentile(latencies, 50))
    assert v1.latency_p99_ms == pytest.approx(np.percentile(latencies, 99))
    assert report.version("2").fallback_rate == 0.0 and report.version("2").last_time.startswith("2025-05-02")
    assert report.version("none").n_requests == 1 and np.isnan(report.version("none").latency_p50_ms)
    overall = report.versions[-1]
    assert overall.model_version == "all" and overall.n_requests == 16
    assert [v.model_version for v in report.versions] == ["1", "2", "none", "all"]
    json.dumps(report.to_dict())


def test_alerts_fire_above_the_ceilings_only_for_versions_with_enough_requests():
    rng = np.random.default_rng(0)
    n = 200
    audit = pd.DataFrame(
        {
            "time": pd.date_range("2025-01-01", periods=n, freq="min"),
            "endpoint": GENERATE,
            "model_version": np.where(np.arange(n) < 100, "healthy", "sick"),
            "source": np.where((np.arange(n) >= 100) & (np.arange(n) % 10 == 0), "fallback", "ppo"),
            "latency_ms": np.where(np.arange(n) < 100, rng.uniform(5, 50, n), rng.uniform(400, 900, n)),
            "status_code": np.where((np.arange(n) >= 100) & (np.arange(n) % 25 == 1), 503, 201),
        }
    )
    audit.loc[len(audit)] = [pd.Timestamp("2025-01-02"), GENERATE, "tiny", "fallback", 5000.0, 500]
    alerts = model_health(audit).alerts()
    assert {(a.kind, a.labels["model_version"]) for a in alerts} == {
        ("fallback_rate", "sick"),
        ("error_rate", "sick"),
        ("latency_p95", "sick"),
    }
    assert most_severe(alerts) == "critical"
    quiet = model_health(audit, HealthConfig(max_fallback_rate=0.2, max_error_rate=0.05, max_latency_p95_ms=2000))
    assert quiet.alerts() == []


def test_alerts_are_structured_log_lines(caplog):
    alert = Alert("fallback_rate", "critical", "fallback_rate", 0.1, 0.05, "too many", {"model_version": "3"})
    with caplog.at_level(logging.INFO, logger="brightpath.monitoring"):
        assert log_alerts([alert, Alert("latency_p95", "warning", "latency_p95_ms", 900.0, 500.0, "slow")]) == 2
    records = [json.loads(r.getMessage()) for r in caplog.records]
    assert records[0] == {
        "event": LOG_EVENT,
        "kind": "fallback_rate",
        "severity": "critical",
        "metric": "fallback_rate",
        "value": 0.1,
        "threshold": 0.05,
        "message": "too many",
        "model_version": "3",
    }
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.WARNING]
    with pytest.raises(ValueError, match="severity"):
        Alert("x", "urgent", "m", 1.0, 0.0, "bad severity")


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["1", "2", None]),
            st.sampled_from(["ppo", "fallback", None]),
            st.one_of(st.none(), st.floats(0.0, 1e6)),
            st.sampled_from([200, 201, 404, 422, 500, 503]),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_any_valid_log_gives_rates_in_range(rows):
    audit = _audit([("2025-01-01", GENERATE, v, s, lat, code) for v, s, lat, code in rows])
    report = model_health(audit)
    for v in report.versions:
        for rate in (v.fallback_rate, v.error_rate, v.client_error_rate):
            assert np.isnan(rate) or 0.0 <= rate <= 1.0
        if not np.isnan(v.latency_p50_ms):
            assert v.latency_p50_ms <= v.latency_p95_ms <= v.latency_p99_ms
    json.dumps(report.to_dict())


@pytest.mark.parametrize(
    ("audit", "field"),
    [
        ([{"time": 1}], "audit"),
        (pd.DataFrame({"time": [1], "endpoint": [GENERATE]}), "audit"),
        (_audit([("t", GENERATE, "1", "ppo", "fast", 201)]), "audit.latency_ms"),
        (_audit([("t", GENERATE, "1", "ppo", -3.0, 201)]), "audit.latency_ms"),
        (_audit([("t", GENERATE, "1", "ppo", 3.0, 42)]), "audit.status_code"),
        (_audit([("t", GENERATE, "1", "ppo", 3.0, None)]), "audit.status_code"),
    ],
)
def test_a_malformed_log_raises_a_validation_error_naming_the_field(audit, field):
    with pytest.raises(ValidationError) as info:
        model_health(audit)
    assert info.value.field == field


def test_bad_ceilings_are_rejected():
    with pytest.raises(ValidationError) as info:
        HealthConfig(max_error_rate=2.0)
    assert info.value.field == "health.max_error_rate"


def test_an_empty_log_with_the_stores_extra_columns_reports_nothing_measured():
    columns = ["id", "request_id", *AUDIT_COLUMNS, "input_hash"]  # brightpath.store's audit_frame()
    report = model_health(pd.DataFrame([], columns=columns))
    (overall,) = report.versions
    assert overall.model_version == "all" and overall.n_requests == 0
    assert np.isnan(overall.fallback_rate) and np.isnan(overall.latency_p95_ms) and overall.last_time is None
    assert report.alerts() == []
    json.dumps(report.to_dict())
