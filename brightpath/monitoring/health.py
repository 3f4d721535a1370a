"""Model health from the service's audit log: fallbacks, latency and errors per model version.

Input: the audit log as a pandas DataFrame, one row per request, with the columns
``AUDIT_COLUMNS``:

=================  =========================================================================
column             meaning
=================  =========================================================================
``time``           when the request was answered (datetime or anything ``pd.to_datetime`` reads)
``endpoint``       e.g. ``"/api/ml/generate-schedule/"``
``model_version``  the version that answered (missing → ``"none"``, e.g. a request rejected
                   before any model ran)
``source``         the schedule's ``meta.source`` (``"ppo"``, ``"expert"``, ``"fallback"``, …);
                   missing for requests that return no schedule
``latency_ms``     server-side latency, milliseconds ≥ 0 (missing → not counted in percentiles)
``status_code``    the HTTP status, 100–599
=================  =========================================================================

Per model version (and over all rows, version ``"all"``): requests, the fallback rate
(schedules with ``source == "fallback"`` among rows with a source), the server error rate
(status ≥ 500 among all requests), the client error rate (4xx, reported, never alerted: a
client's bad input is not the model's fault) and the latency percentiles p50/p95/p99.

Alerts (``HealthReport.alerts``), for versions with at least ``min_requests`` requests:
``fallback_rate`` and ``error_rate`` above their ceilings (critical: users get the
rule-based week or nothing), ``latency_p95`` above its ceiling (warning).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from brightpath.errors import ValidationError
from brightpath.monitoring.alerts import ALL_VERSIONS, Alert, json_record

AUDIT_COLUMNS: tuple[str, ...] = ("time", "endpoint", "model_version", "source", "latency_ms", "status_code")
FALLBACK_SOURCE = "fallback"
"""``meta.source`` of a schedule the rule-based generator wrote because the model failed (CONTRACTS §3)."""
NO_VERSION = "none"


@dataclass(frozen=True)
class HealthConfig:
    """Ceilings of the health alerts.

    Attributes:
        max_fallback_rate: share of schedules served by the fallback, 0–1.
        max_error_rate: share of requests answered with a 5xx, 0–1.
        max_latency_p95_ms: 95th-percentile latency, milliseconds.
        min_requests: versions with fewer requests are reported but never alerted on, ≥ 1.
    """

    max_fallback_rate: float = 0.05
    max_error_rate: float = 0.01
    max_latency_p95_ms: float = 500.0
    min_requests: int = 20

    def __post_init__(self) -> None:
        for name in ("max_fallback_rate", "max_error_rate"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValidationError(f"health.{name}", value, "a share in [0, 1]")
        value = self.max_latency_p95_ms
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValidationError("health.max_latency_p95_ms", value, "a positive number of milliseconds")
        value = self.min_requests
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValidationError("health.min_requests", value, "a whole number ≥ 1")


@dataclass(frozen=True)
class VersionHealth:
    """Health of one model version (or ``"all"``).

    Attributes:
        model_version: the version, ``"all"`` for every row, ``"none"`` for rows without one.
        n_requests: rows; n_schedules: rows with a ``source``.
        fallback_rate: fallback schedules / n_schedules (NaN without schedules).
        error_rate: 5xx / n_requests; client_error_rate: 4xx / n_requests.
        latency_p50_ms, latency_p95_ms, latency_p99_ms: percentiles (NaN without latencies).
        first_time, last_time: ISO timestamps of the first and last request (None if unparseable).
    """

    model_version: str
    n_requests: int
    n_schedules: int
    fallback_rate: float
    error_rate: float
    client_error_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    first_time: str | None
    last_time: str | None

    def to_dict(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class HealthReport:
    """Per-version health, overall row last.

    Attributes:
        versions: one ``VersionHealth`` per model version (in order of first request), then ``"all"``.
        config: the alert ceilings.
    """

    versions: tuple[VersionHealth, ...]
    config: HealthConfig

    def version(self, name: str) -> VersionHealth:
        for v in self.versions:
            if v.model_version == name:
                return v
        raise KeyError(f"model version {name!r} is not in this health report")

    def alerts(self) -> list[Alert]:
        """Alerts for every version (not the overall row) with enough requests (module docstring)."""
        out = []
        c = self.config
        for v in self.versions:
            if v.model_version == ALL_VERSIONS or v.n_requests < c.min_requests:
                continue
            checks = (
                ("fallback_rate", "critical", v.fallback_rate, c.max_fallback_rate, "of schedules were fallbacks"),
                ("error_rate", "critical", v.error_rate, c.max_error_rate, "of requests failed with a 5xx"),
                ("latency_p95", "warning", v.latency_p95_ms, c.max_latency_p95_ms, "ms p95 latency"),
            )
            for kind, severity, value, ceiling, what in checks:
                if math.isfinite(value) and value > ceiling:
                    shown = f"{value:.0f}" if kind == "latency_p95" else f"{100 * value:.1f} %"
                    limit = f"{ceiling:.0f}" if kind == "latency_p95" else f"{100 * ceiling:.1f} %"
                    out.append(
                        Alert(
                            kind=kind,
                            severity=severity,
                            metric=kind if kind != "latency_p95" else "latency_p95_ms",
                            value=value,
                            threshold=ceiling,
                            message=f"model {v.model_version}: {shown} {what} (ceiling {limit})",
                            labels={"model_version": v.model_version},
                        )
                    )
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(v) for v in self.versions])

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "versions": [v.to_dict() for v in self.versions],
            "alerts": [a.to_dict() for a in self.alerts()],
        }


def _validated(audit: Any) -> pd.DataFrame:
    if not isinstance(audit, pd.DataFrame):
        raise ValidationError("audit", f"<{type(audit).__name__}>", "a pandas DataFrame")
    missing = [c for c in AUDIT_COLUMNS if c not in audit.columns]
    if missing:
        raise ValidationError("audit", f"<missing columns {missing}>", f"columns {list(AUDIT_COLUMNS)}")
    try:
        latency = pd.to_numeric(audit["latency_ms"], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValidationError("audit.latency_ms", "<non-numeric values>", "milliseconds ≥ 0") from None
    if np.isinf(latency).any() or (latency < 0).any():
        raise ValidationError("audit.latency_ms", "<negative or infinite values>", "milliseconds ≥ 0")
    try:
        status = pd.to_numeric(audit["status_code"], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValidationError("audit.status_code", "<non-numeric values>", "HTTP status codes 100–599") from None
    if not np.all(np.isfinite(status) & (status >= 100) & (status <= 599) & (status == np.round(status))):
        raise ValidationError("audit.status_code", "<values outside 100–599>", "HTTP status codes 100–599")
    versions = audit["model_version"].astype(object).where(audit["model_version"].notna(), NO_VERSION)
    sources = audit["source"].astype(object)
    return pd.DataFrame(
        {
            "time": pd.to_datetime(audit["time"], errors="coerce", utc=True),
            "model_version": versions.astype(str).to_numpy(),
            "has_source": sources.notna().to_numpy(),
            "fallback": (sources == FALLBACK_SOURCE).to_numpy(),
            "latency_ms": latency,
            "status_code": status,
        }
    )


def _iso(stamp: Any) -> str | None:
    return None if pd.isna(stamp) else pd.Timestamp(stamp).isoformat()


def _version_health(name: str, rows: pd.DataFrame) -> VersionHealth:
    n = len(rows)
    n_schedules = int(rows["has_source"].sum())
    latency = rows["latency_ms"].to_numpy()
    latency = latency[~np.isnan(latency)]
    p50, p95, p99 = np.percentile(latency, [50, 95, 99]) if len(latency) else (np.nan,) * 3
    status = rows["status_code"].to_numpy()
    return VersionHealth(
        model_version=name,
        n_requests=n,
        n_schedules=n_schedules,
        fallback_rate=float(rows["fallback"].sum() / n_schedules) if n_schedules else float("nan"),
        error_rate=float((status >= 500).mean()) if n else float("nan"),
        client_error_rate=float(((status >= 400) & (status < 500)).mean()) if n else float("nan"),
        latency_p50_ms=float(p50),
        latency_p95_ms=float(p95),
        latency_p99_ms=float(p99),
        first_time=_iso(rows["time"].min()) if n else None,
        last_time=_iso(rows["time"].max()) if n else None,
    )


def model_health(audit: pd.DataFrame, config: HealthConfig | None = None) -> HealthReport:
    """Health per model version from an audit log (module docstring).

    Raises:
        ValidationError: not a DataFrame, a missing column, non-numeric or negative latencies,
            status codes outside 100–599.
    """
    config = config or HealthConfig()
    rows = _validated(audit)
    versions = [
        _version_health(name, rows[rows["model_version"] == name])
        for name in dict.fromkeys(rows["model_version"].tolist())
    ]
    versions.append(_version_health(ALL_VERSIONS, rows))
    return HealthReport(tuple(versions), config)


__all__ = ["AUDIT_COLUMNS", "FALLBACK_SOURCE", "HealthConfig", "HealthReport", "VersionHealth", "model_health"]
