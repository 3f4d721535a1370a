"""Monitoring of the served models: drift, degradation, segments, health, alerts and a dashboard.

Library code on plain arrays and pandas DataFrames, so the same functions read the
feedback store in production and the simulator in tests:

==================  =========================================================================
module              what it watches
==================  =========================================================================
``drift``           incoming family profiles vs the training population (Evidently's tests)
``degradation``     observed satisfaction per model version over time windows
``segments_report`` observed satisfaction by family segment, worst segments flagged
``health``          fallback rate, latency and errors per model version, from the audit log
``alerts``          the structured ``Alert`` records all of them return
``dashboard``       one self-contained HTML page of all of the above
==================  =========================================================================

The promotion gate that uses the same tests lives in ``brightpath.gate``.
"""

from __future__ import annotations

from brightpath.monitoring.alerts import ALL_VERSIONS, SEVERITIES, Alert, log_alerts, most_severe
from brightpath.monitoring.dashboard import MonitoringReport, render_dashboard, write_dashboard
from brightpath.monitoring.degradation import (
    OBSERVED_METRICS,
    TREND_COLUMNS,
    DegradationConfig,
    DegradationReport,
    DegradationTest,
    detect_degradation,
    observed_scores,
    satisfaction_trend,
    windows_of,
)
from brightpath.monitoring.drift import (
    PROFILE_COLUMN_KINDS,
    ColumnDrift,
    DriftConfig,
    DriftReport,
    drift_report,
    family_drift,
    profile_frame,
)
from brightpath.monitoring.health import AUDIT_COLUMNS, HealthConfig, HealthReport, VersionHealth, model_health
from brightpath.monitoring.segments_report import SegmentReport, SegmentSatisfaction, segment_report

__all__ = [
    "ALL_VERSIONS",
    "AUDIT_COLUMNS",
    "OBSERVED_METRICS",
    "PROFILE_COLUMN_KINDS",
    "SEVERITIES",
    "TREND_COLUMNS",
    "Alert",
    "ColumnDrift",
    "DegradationConfig",
    "DegradationReport",
    "DegradationTest",
    "DriftConfig",
    "DriftReport",
    "HealthConfig",
    "HealthReport",
    "MonitoringReport",
    "SegmentReport",
    "SegmentSatisfaction",
    "VersionHealth",
    "detect_degradation",
    "drift_report",
    "family_drift",
    "log_alerts",
    "model_health",
    "most_severe",
    "observed_scores",
    "profile_frame",
    "render_dashboard",
    "satisfaction_trend",
    "segment_report",
    "windows_of",
    "write_dashboard",
]
