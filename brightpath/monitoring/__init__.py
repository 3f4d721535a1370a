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
from brightpath.monitoring.drift import (
    PROFILE_COLUMN_KINDS,
    ColumnDrift,
    DriftConfig,
    DriftReport,
    drift_report,
    family_drift,
    profile_frame,
)

__all__ = [
    "ALL_VERSIONS",
    "PROFILE_COLUMN_KINDS",
    "SEVERITIES",
    "Alert",
    "ColumnDrift",
    "DriftConfig",
    "DriftReport",
    "drift_report",
    "family_drift",
    "log_alerts",
    "most_severe",
    "profile_frame",
]
