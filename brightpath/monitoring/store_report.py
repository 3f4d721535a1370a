"""Monitoring a feedback store: every monitor run on what the store holds, one ``MonitoringReport``.

The model service's ``/dashboard``, ``python -m experiments.monitor`` and each round of the
continuous loop read a ``brightpath.store.Store`` the same way (``monitor_store``):

==================  ==========================================================================
monitor             read from the store
==================  ==========================================================================
windows             a served schedule's week: its ``week_start`` (the Monday it is for), else the
                    Monday of the day it was served (``created_at``); the loop's rounds are weeks
drift               the families served in the current (latest) week against those served in
                    the weeks before it, the population the current models were trained on
                    (``family_drift``; each family once per side, by ``family_key``); skipped
                    with a note when either side has fewer than ``min_drift_families``
degradation         observed stars, satisfaction Likert and completion per model version over
                    the weeks up to the current one (``detect_degradation``); exploratory weeks
                    (arm ``EXPLORE_ARM``) are a version of their own, ``"<N> explore"``
segments            the current week's observed satisfaction by age band and preference profile
                    (``segment_report`` over ``brightpath.segments.family_segments``)
health              the audit log per model version (``model_health``)
==================  ==========================================================================

Observed satisfaction is the reward model's reading of feedback (``reward.targets.feedback_targets``
with the serving reward model's calibration when given, else the default), 0–1, NaN without any
signal. A schedule's model version is the generator's registry version number (as text, ``"3"``),
else its ``model_version`` text (e.g. the logged weeks of a dataset).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from brightpath.monitoring.alerts import Alert
from brightpath.monitoring.dashboard import MonitoringReport
from brightpath.monitoring.degradation import DegradationConfig, DegradationReport, detect_degradation, observed_scores
from brightpath.monitoring.drift import DriftConfig, DriftReport, family_drift
from brightpath.monitoring.health import HealthConfig, model_health
from brightpath.monitoring.segments_report import SegmentReport, segment_report
from brightpath.questionnaire import ITEM_KEYS

if TYPE_CHECKING:
    from brightpath.gate import GateVerdict
    from brightpath.reward.targets import FeedbackCalibration
    from brightpath.store import Store

EXPLORE_ARM = "explore"
"""``served_schedules.arm`` of a deliberately perturbed (exploratory) week: its model version is labelled
``"<N> explore"``, so degradation compares explored weeks with explored weeks."""
MIN_DRIFT_FAMILIES = 300
"""Fewest families per side for a drift test: at 200 the feature tests raise ~2 % false alerts
(``tests/test_monitoring_drift.py``); 300 keeps the combined false-alarm rate under 5 %."""
WINDOW_LABEL = "week"


def week_of(frame: pd.DataFrame) -> pd.Series:
    """The week (a Monday, ``datetime.date``) of each served schedule: ``week_start``, else the Monday of
    ``created_at``."""
    created = pd.to_datetime(frame["created_at"], utc=True)
    monday = (created - pd.to_timedelta(created.dt.weekday, unit="D")).dt.date
    start = frame["week_start"] if "week_start" in frame.columns else pd.Series(None, index=frame.index)
    return pd.Series([s if isinstance(s, datetime.date) else m for s, m in zip(start, monday)], index=frame.index)


def version_label(frame: pd.DataFrame) -> pd.Series:
    """Each row's generator registry version as text (``"3"``), else its ``model_version`` text; an
    exploratory week's gets `` explore`` appended."""
    arms = frame["arm"] if "arm" in frame.columns else pd.Series(None, index=frame.index)
    labels = []
    for version, model_version, arm in zip(frame["generator_version"], frame["model_version"], arms):
        known = version is not None and not (isinstance(version, float) and math.isnan(version))
        label = str(int(version)) if known else str(model_version)
        labels.append(f"{label} explore" if arm == EXPLORE_ARM else label)
    return pd.Series(labels, index=frame.index)


def observed_satisfaction(feedback: pd.DataFrame, calibration: FeedbackCalibration | None = None) -> np.ndarray:
    """The satisfaction target each feedback row states (0–1; NaN where no signal bears on it)."""
    from brightpath.reward.targets import DEFAULT_CALIBRATION, TARGET_NAMES, feedback_targets

    targets = feedback_targets(feedback, calibration or DEFAULT_CALIBRATION)
    column = TARGET_NAMES.index("satisfaction")
    return np.where(targets.weights[:, column] > 0, targets.values[:, column], np.nan).astype(np.float64)


@dataclass(frozen=True)
class StoreMonitoring:
    """What ``monitor_store`` found.

    Attributes:
        report: the monitors' results for the dashboard.
        window: the current week (None: the store holds no schedule).
        n_current_families, n_reference_families: the drift test's two sides.
        new_feedback: feedback rows (exploratory weeks included) received after ``feedback_since`` (all
            rows when it is None).
        notes: why a monitor was skipped.
    """

    report: MonitoringReport
    window: datetime.date | None
    n_current_families: int
    n_reference_families: int
    new_feedback: int
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": None if self.window is None else self.window.isoformat(),
            "n_current_families": self.n_current_families,
            "n_reference_families": self.n_reference_families,
            "new_feedback": self.new_feedback,
            "notes": list(self.notes),
            **self.report.to_dict(),
        }


def _families(served: pd.DataFrame) -> pd.DataFrame:
    """One row per family (the latest schedule of each ``family_key``; rows without a key count alone)."""
    keyed = served[served["family_key"].notna()].drop_duplicates("family_key", keep="last")
    return pd.concat([keyed, served[served["family_key"].isna()]])


def monitor_store(
    store: Store,
    *,
    window: datetime.date | None = None,
    feedback_since: datetime.datetime | None = None,
    calibration: FeedbackCalibration | None = None,
    gate: GateVerdict | None = None,
    extra_alerts: tuple[Alert, ...] = (),
    title: str = "BrightPath model monitoring",
    drift_config: DriftConfig | None = None,
    degradation_config: DegradationConfig | None = None,
    health_config: HealthConfig | None = None,
    min_drift_families: int = MIN_DRIFT_FAMILIES,
) -> StoreMonitoring:
    """Run every monitor on ``store`` (module docstring).

    Args:
        window: the week to monitor (a Monday); default the latest week with a served schedule.
        feedback_since: count the feedback received after this time (``new_feedback``), e.g. when
            the serving reward model's training data ends.
        calibration: how feedback is read as satisfaction (the serving reward model's); default
            ``reward.targets.DEFAULT_CALIBRATION``.
        gate: the last promotion verdict, shown on the dashboard.
        extra_alerts: alerts from elsewhere (a retraining trigger) to list with the monitors'.
        drift_config, degradation_config, health_config: thresholds (the monitors' defaults when None).
        min_drift_families: fewest families per side for a drift test.
    """
    notes: list[str] = []
    served = store.served_frame()
    feedback = store.feedback_frame()
    generated = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    if served.empty:
        report = MonitoringReport(
            title=title, generated_at=generated, window_label=WINDOW_LABEL, gate=gate, extra_alerts=tuple(extra_alerts)
        )
        return StoreMonitoring(report, None, 0, 0, 0, ("the store holds no served schedule",))
    served = served.assign(window=week_of(served))
    window = window or max(served["window"])
    current = _families(served[served["window"] == window])
    reference = _families(served[served["window"] < window])

    drift: DriftReport | None = None
    if min(len(current), len(reference)) >= min_drift_families:
        drift = family_drift(
            reference[list(ITEM_KEYS)].to_numpy(np.float64),
            reference["child_age"].to_numpy(),
            current[list(ITEM_KEYS)].to_numpy(np.float64),
            current["child_age"].to_numpy(),
            drift_config,
        )
    else:
        notes.append(
            f"drift not tested: {len(current)} families in week {window} and {len(reference)} before it "
            f"(at least {min_drift_families} each)"
        )

    new_feedback = len(feedback)
    if feedback_since is not None and not feedback.empty:
        new_feedback = int((feedback["received_at"] > feedback_since).sum())
    degradation: DegradationReport | None = None
    segments: SegmentReport | None = None
    if not feedback.empty:
        feedback = feedback.assign(window=week_of(feedback), model_version=version_label(feedback))
        feedback = feedback[feedback["window"] <= window].reset_index(drop=True)
    if not feedback.empty:
        scores = observed_scores(feedback)
        frame = scores.assign(window=feedback["window"].to_numpy(), model_version=feedback["model_version"].to_numpy())
        degradation = detect_degradation(frame, window_column="window", config=degradation_config)
        latest = feedback[feedback["window"] == window].reset_index(drop=True)
        if len(latest) >= 2:
            from brightpath.segments import family_segments

            segments = segment_report(
                observed_satisfaction(latest, calibration),
                family_segments(latest[list(ITEM_KEYS)].to_numpy(np.float32), latest["child_age"].to_numpy()),
            )
        else:
            notes.append(f"segments not reported: {len(latest)} feedback rows in week {window}")
    else:
        notes.append("degradation and segments not reported: no feedback yet")

    audit = store.audit_frame()
    health = model_health(audit, health_config) if not audit.empty else None
    if health is None:
        notes.append("model health not reported: the audit log is empty")

    report = MonitoringReport(
        title=title,
        generated_at=generated,
        history=None if degradation is None else degradation.trend,
        window_label=WINDOW_LABEL,
        drift=drift,
        degradation=degradation,
        segments=segments,
        health=health,
        gate=gate,
        extra_alerts=tuple(extra_alerts),
    )
    return StoreMonitoring(report, window, len(current), len(reference), new_feedback, tuple(notes))


__all__ = [
    "EXPLORE_ARM",
    "MIN_DRIFT_FAMILIES",
    "WINDOW_LABEL",
    "StoreMonitoring",
    "monitor_store",
    "observed_satisfaction",
    "version_label",
    "week_of",
]
