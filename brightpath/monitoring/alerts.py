"""Monitoring alerts as structured records, never bare prints; the JSON form of every record.

Every monitor (drift, degradation, segments, model health) returns its findings as
``Alert`` records. A record says what kind of problem it is, how bad, which metric
crossed which threshold and by how much, and carries labels (model version, column,
segment) so a log pipeline or an MLflow tag can filter on them.
``Alert.to_log_record()`` gives the flat JSON-able dict for one structured log line;
``log_alerts`` writes one such line per alert through :mod:`logging` at the level
its severity maps to. ``json_record`` / ``json_value`` give every monitoring record (and the
gate's) the same JSON form: NaN (not measured) as null, infinities as text.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
"""Severities, least to most urgent. ``critical`` is what a retraining trigger acts on."""

_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}

ALL_VERSIONS = "all"
"""The ``model_version`` label of a row, test or alert that covers every model version."""

LOG_EVENT = "brightpath.monitoring.alert"
"""The ``event`` field of every alert log record, so a log search finds them all."""


@dataclass(frozen=True)
class Alert:
    """One monitoring finding.

    Attributes:
        kind: what was found, e.g. ``"dataset_drift"``, ``"feature_drift"``,
            ``"satisfaction_degradation"``, ``"segment_underserved"``, ``"fallback_rate"``.
        severity: one of ``SEVERITIES``.
        metric: the measured quantity, e.g. ``"share_of_drifted_columns"``, ``"stars"``.
        value: its measured value (units as the metric says).
        threshold: the threshold it crossed (same units).
        message: one sentence for a person.
        labels: where it was found, e.g. ``{"model_version": "3", "column": "child_age"}``.
    """

    kind: str
    severity: str
    metric: str
    value: float
    threshold: float
    message: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity: expected one of {SEVERITIES}, got {self.severity!r}")

    def to_log_record(self) -> dict[str, Any]:
        """A flat dict of plain JSON types for one structured log line (``event`` = ``LOG_EVENT``)."""
        record: dict[str, Any] = {
            "event": LOG_EVENT,
            "kind": self.kind,
            "severity": self.severity,
            "metric": self.metric,
            "value": json_value(float(self.value)),
            "threshold": json_value(float(self.threshold)),
            "message": self.message,
        }
        record.update({str(k): str(v) for k, v in self.labels.items()})
        return record

    def to_dict(self) -> dict[str, Any]:
        """Like ``to_log_record`` but with the labels nested, for JSON reports."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "metric": self.metric,
            "value": json_value(float(self.value)),
            "threshold": json_value(float(self.threshold)),
            "message": self.message,
            "labels": {str(k): str(v) for k, v in self.labels.items()},
        }


def json_value(value: Any) -> Any:
    """``value`` as a plain JSON type: NumPy scalars as Python numbers, NaN (not measured) as None,
    ±inf as ``"inf"``/``"-inf"``, tuples as lists, timestamps as ISO text; anything else unchanged."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, (tuple, list)):
        return [json_value(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def json_record(record: Any) -> dict[str, Any]:
    """A dataclass record's fields as plain JSON types (``json_value``)."""
    return {k: json_value(v) for k, v in asdict(record).items()}


def log_alerts(alerts: Iterable[Alert], logger: logging.Logger | None = None) -> int:
    """Write each alert as one JSON log line at the level of its severity; return how many.

    Args:
        alerts: the records to log.
        logger: where to log; ``logging.getLogger("brightpath.monitoring")`` by default.
    """
    logger = logger or logging.getLogger("brightpath.monitoring")
    count = 0
    for alert in alerts:
        logger.log(_LOG_LEVELS[alert.severity], json.dumps(alert.to_log_record(), sort_keys=True))
        count += 1
    return count


def most_severe(alerts: Iterable[Alert]) -> str | None:
    """The highest severity among ``alerts`` (``None`` when there are none)."""
    levels = [SEVERITIES.index(a.severity) for a in alerts]
    return SEVERITIES[max(levels)] if levels else None


__all__ = ["ALL_VERSIONS", "LOG_EVENT", "SEVERITIES", "Alert", "json_record", "json_value", "log_alerts", "most_severe"]
