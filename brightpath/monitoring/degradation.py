"""Degradation: the trend of observed satisfaction per model version, and alerts on real drops.

Input is one row per served schedule that got feedback (a DataFrame; from the feedback
store or the simulator), with the observed scores already read on a 0–1 scale:

==========================  ================================================================
column                      meaning
==========================  ================================================================
``window``                  the time window: a loop round (int), a day (datetime), any
                            sortable label (name it with ``window_column``)
``model_version``           the version that served the schedule (``version_column``); when
                            the column is absent, all rows are one version ``"all"``
``stars``                   1–5 stars read as (x − 1) / 4, NaN without a rating
``likert_satisfaction``     the satisfaction Likert item read as (x − 1) / 4, NaN if skipped
``completion_rate``         share of planned blocks done, 0–1, NaN if the app was not used
==========================  ================================================================

These are the reward model's own readings of the feedback
(``brightpath.reward.targets.feedback_signals``; ``observed_scores`` applies it). Any other
score column on the same 0–1 scale (say the calibrated ``observed_satisfaction`` target, or
the reward model's score) can be named in ``metrics``.

``satisfaction_trend`` gives the per-version, per-window means (with standard errors) that
the dashboard plots. ``detect_degradation`` tests, per model version and metric, the
version's most recent window(s) against its earlier windows with a one-sided Welch test
(``brightpath.monitoring.significance.drop_test``) and Holm's adjustment across all
(version, metric) tests. A drop alerts only when it is significant (Holm p < ``alpha``) and
at least ``min_drop`` on the 0–1 scale, so noise and trivially small significant drops in
large samples stay quiet.

Defaults: ``alpha`` 0.025 — the lower tail of the usual two-sided 5 % test, so that drift
and degradation alerts together stay under a 5 % false-alarm rate on an unchanged
population (measured in ``tests/test_monitoring_degradation.py``); ``min_drop`` 0.02, i.e.
0.08 of a star.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from brightpath.errors import ValidationError
from brightpath.monitoring.alerts import ALL_VERSIONS, Alert, json_record, json_value
from brightpath.monitoring.significance import N_BOOTSTRAP, drop_test, holm_adjust

OBSERVED_METRICS: tuple[str, ...] = ("stars", "likert_satisfaction", "completion_rate")
"""The default observed-satisfaction scores (0–1), as ``feedback_signals`` names them."""

TREND_COLUMNS: tuple[str, ...] = ("window", "model_version", "metric", "n", "mean", "sem")
"""Columns of ``satisfaction_trend``: n observed values, their mean and standard error of the mean."""


@dataclass(frozen=True)
class DegradationConfig:
    """When a drop in observed satisfaction alerts.

    Attributes:
        alpha: one-sided significance level of a drop after Holm's adjustment, in (0, 1).
        min_drop: the smallest drop (0–1 scale) worth an alert, ≥ 0.
        recent_windows: how many of a version's latest windows form the recent sample, ≥ 1.
        reference_windows: how many of the version's earliest windows form the reference;
            None: every window before the recent ones.
        min_rows: a sample with fewer observed values than this (per metric) is not tested, ≥ 2.
        n_bootstrap, seed: the CI of the difference (resamples ≥ 100, RNG seed).
    """

    alpha: float = 0.025
    min_drop: float = 0.02
    recent_windows: int = 1
    reference_windows: int | None = None
    min_rows: int = 20
    n_bootstrap: int = N_BOOTSTRAP
    seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.alpha, (int, float)) and 0.0 < self.alpha < 1.0):
            raise ValidationError("degradation.alpha", self.alpha, "a level in (0, 1)")
        if not (isinstance(self.min_drop, (int, float)) and math.isfinite(self.min_drop) and self.min_drop >= 0):
            raise ValidationError("degradation.min_drop", self.min_drop, "a finite number ≥ 0")
        for name, low in (("recent_windows", 1), ("min_rows", 2), ("n_bootstrap", 100)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValidationError(f"degradation.{name}", value, f"a whole number ≥ {low}")
        value = self.reference_windows
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValidationError("degradation.reference_windows", value, "None or a whole number ≥ 1")


@dataclass(frozen=True)
class DegradationTest:
    """One (model version, metric) comparison of the recent window(s) with the reference.

    Attributes:
        model_version, metric: what was compared.
        reference_windows, recent_windows: the windows in each sample (as text).
        n_reference, n_recent: observed values in each sample.
        mean_reference, mean_recent: their means (0–1); NaN when a sample is empty.
        difference: mean_recent − mean_reference (negative is a drop).
        ci_low, ci_high: bootstrap 95 % CI of the difference (NaN when not tested).
        effect_size: Cohen's d of the difference (NaN when not tested).
        p_value: one-sided p of a drop (NaN when not tested); p_holm: Holm-adjusted over the report.
        degraded: p_holm < alpha and −difference ≥ min_drop.
        note: why a comparison was not tested, else None.
    """

    model_version: str
    metric: str
    reference_windows: tuple[str, ...]
    recent_windows: tuple[str, ...]
    n_reference: int
    n_recent: int
    mean_reference: float
    mean_recent: float
    difference: float
    ci_low: float
    ci_high: float
    effect_size: float
    p_value: float
    p_holm: float
    degraded: bool
    note: str | None = None

    @property
    def tested(self) -> bool:
        return math.isfinite(self.p_value)

    def to_dict(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class DegradationReport:
    """Degradation tests plus the trend they were read from.

    Attributes:
        tests: one per (model version, metric), versions in order of first appearance.
        trend: ``satisfaction_trend`` of the same rows (``TREND_COLUMNS``).
        config: the thresholds used.
    """

    tests: tuple[DegradationTest, ...]
    trend: pd.DataFrame
    config: DegradationConfig

    @property
    def degraded(self) -> bool:
        return any(t.degraded for t in self.tests)

    def alerts(self) -> list[Alert]:
        """A ``satisfaction_degradation`` alert (critical) per degraded (version, metric)."""
        return [
            Alert(
                kind="satisfaction_degradation",
                severity="critical",
                metric=t.metric,
                value=t.difference,
                threshold=-self.config.min_drop,
                message=(
                    f"{t.metric} of model {t.model_version} fell from {t.mean_reference:.3f} to "
                    f"{t.mean_recent:.3f} ({t.difference:+.3f}, Holm p = {t.p_holm:.2g}) "
                    f"in window {', '.join(t.recent_windows)}"
                ),
                labels={"model_version": t.model_version, "window": ",".join(t.recent_windows)},
            )
            for t in self.tests
            if t.degraded
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "degraded": self.degraded,
            "config": asdict(self.config),
            "tests": [t.to_dict() for t in self.tests],
            "trend": [{k: json_value(v) for k, v in row.items()} for row in self.trend.to_dict("records")],
            "alerts": [a.to_dict() for a in self.alerts()],
        }


def observed_scores(feedback: Any, metrics: Sequence[str] = OBSERVED_METRICS) -> pd.DataFrame:
    """The reward model's 0–1 readings of raw feedback (``feedback_signals``), one column per metric.

    Args:
        feedback: a DataFrame or mapping of feedback columns (``stars`` 1–5, ``likert_*`` 1–5,
            ``completion_rate`` 0–1, …, NaN where missing).
        metrics: which signals to return (names of ``brightpath.reward.targets.SIGNAL_NAMES``).

    Raises:
        ValidationError: an unknown signal, or a value out of range (naming the column).
    """
    from brightpath.reward.targets import SIGNAL_NAMES, feedback_signals

    for name in metrics:
        if name not in SIGNAL_NAMES:
            raise ValidationError("metrics", name, f"one of {SIGNAL_NAMES}")
    # Only the columns these signals read: the comment's sentiment (VADER) is skipped unless asked for.
    needed = {"sentiment": "comment", "adjustments": "n_adjustments"}
    columns = {needed.get(m, m) for m in metrics}
    subset = {c: feedback[c] for c in columns if c in feedback}
    signals = feedback_signals(subset)
    n = len(next(iter(signals.values())))
    return pd.DataFrame({m: signals[m] for m in metrics}, index=pd.RangeIndex(n))


def _metric_values(frame: pd.DataFrame, metric: str) -> np.ndarray:
    if metric not in frame.columns:
        raise ValidationError(f"frame[{metric!r}]", "<missing column>", "a column of observed scores")
    try:
        values = pd.to_numeric(frame[metric], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValidationError(f"frame[{metric!r}]", "<non-numeric values>", "numbers, NaN where missing") from None
    outside = ~np.isnan(values) & ((values < 0.0) | (values > 1.0))
    if outside.any():
        raise ValidationError(f"frame[{metric!r}]", float(values[outside][0]), "scores in [0, 1], NaN where missing")
    return values


def _prepared(
    frame: Any, metrics: Sequence[str], window_column: str, version_column: str
) -> tuple[pd.DataFrame, list[str]]:
    """A copy with string versions, validated metric columns and sortable windows."""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("frame", f"<{type(frame).__name__}>", "a pandas DataFrame")
    if isinstance(metrics, str) or not metrics:
        raise ValidationError("metrics", metrics, "a non-empty sequence of column names")
    if window_column not in frame.columns:
        raise ValidationError(f"frame[{window_column!r}]", "<missing column>", "the time window of each row")
    out = pd.DataFrame({"window": frame[window_column].to_numpy()})
    if out["window"].isna().any():
        raise ValidationError(f"frame[{window_column!r}]", "<missing values>", "a window for every row")
    try:
        windows = sorted(out["window"].unique().tolist())
    except TypeError:
        raise ValidationError(f"frame[{window_column!r}]", "<mixed types>", "sortable window labels") from None
    versions = frame[version_column] if version_column in frame.columns else ALL_VERSIONS
    out["model_version"] = pd.Series(versions, index=frame.index).fillna("none").astype(str).to_numpy()
    for metric in metrics:
        out[metric] = _metric_values(frame, metric)
    return out, windows


def _trend(data: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """``TREND_COLUMNS`` from a ``_prepared`` frame."""
    grouped = data.groupby(["window", "model_version"], sort=True)[list(metrics)]
    stats = {"n": grouped.count(), "mean": grouped.mean(), "sd": grouped.std()}
    parts = []
    for metric in metrics:
        part = pd.DataFrame({name: table[metric] for name, table in stats.items()}).reset_index()
        part.insert(2, "metric", metric)
        parts.append(part[part["n"] > 0])
    trend = pd.concat(parts, ignore_index=True)
    trend["n"] = trend["n"].astype(int)
    trend["sem"] = trend["sd"] / np.sqrt(trend["n"])
    return trend.sort_values(["window", "model_version", "metric"], kind="stable")[list(TREND_COLUMNS)].reset_index(
        drop=True
    )


def satisfaction_trend(
    frame: pd.DataFrame,
    metrics: Sequence[str] = OBSERVED_METRICS,
    *,
    window_column: str = "window",
    version_column: str = "model_version",
) -> pd.DataFrame:
    """Mean observed score per (window, model version, metric), ``TREND_COLUMNS``, sorted by window.

    ``n`` counts observed (non-NaN) values; ``sem`` is the standard error of the mean (NaN for n < 2).
    Groups without any observed value are left out.

    Raises:
        ValidationError: as ``detect_degradation``.
    """
    data, _ = _prepared(frame, metrics, window_column, version_column)
    return _trend(data, metrics)


def detect_degradation(
    frame: pd.DataFrame,
    metrics: Sequence[str] = OBSERVED_METRICS,
    *,
    window_column: str = "window",
    version_column: str = "model_version",
    config: DegradationConfig | None = None,
) -> DegradationReport:
    """Test each model version's latest window(s) against its earlier ones (module docstring).

    A version seen in a single window has nothing to compare with; its tests are listed
    untested with a note, as are samples with fewer than ``min_rows`` observed values.

    Raises:
        ValidationError: not a DataFrame, a missing window or metric column, scores that are not
            numbers in [0, 1] (NaN aside), unsortable windows.
    """
    config = config or DegradationConfig()
    data, _ = _prepared(frame, metrics, window_column, version_column)
    versions = data["model_version"].to_numpy()
    windows = data["window"].to_numpy()
    raw: list[dict[str, Any]] = []
    for version in dict.fromkeys(versions.tolist()):
        rows = versions == version
        served = sorted(set(windows[rows].tolist()))
        recent = served[-config.recent_windows :] if len(served) > config.recent_windows else []
        earlier = served[: len(served) - len(recent)] if recent else []
        reference = earlier if config.reference_windows is None else earlier[: config.reference_windows]
        in_reference = rows & np.isin(windows, reference)
        in_recent = rows & np.isin(windows, recent)
        for metric in metrics:
            values = data[metric].to_numpy()
            raw.append(_compare(version, metric, values[in_reference], values[in_recent], reference, recent, config))
    adjusted = holm_adjust([r["p_value"] for r in raw])
    tests = []
    for r, p_holm in zip(raw, adjusted):
        degraded = bool(np.isfinite(p_holm) and p_holm < config.alpha and -r["difference"] >= config.min_drop)
        tests.append(DegradationTest(**r, p_holm=float(p_holm), degraded=degraded))
    return DegradationReport(tuple(tests), _trend(data, metrics), config)


def _compare(
    version: str,
    metric: str,
    ref: np.ndarray,
    cur: np.ndarray,
    reference: list,
    recent: list,
    config: DegradationConfig,
) -> dict[str, Any]:
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    nan = float("nan")
    out: dict[str, Any] = {
        "model_version": version,
        "metric": metric,
        "reference_windows": tuple(str(w) for w in reference),
        "recent_windows": tuple(str(w) for w in recent),
        "n_reference": len(ref),
        "n_recent": len(cur),
        "mean_reference": float(ref.mean()) if len(ref) else nan,
        "mean_recent": float(cur.mean()) if len(cur) else nan,
        "difference": float(cur.mean() - ref.mean()) if len(ref) and len(cur) else nan,
        "ci_low": nan,
        "ci_high": nan,
        "effect_size": nan,
        "p_value": nan,
        "note": None,
    }
    if not recent:
        out["note"] = "served in a single window: nothing to compare with"
    elif min(len(ref), len(cur)) < config.min_rows:
        out["note"] = f"fewer than {config.min_rows} observed values in a window"
    else:
        result = drop_test(cur, ref, n_bootstrap=config.n_bootstrap, seed=config.seed)
        out.update(ci_low=result.ci_low, ci_high=result.ci_high, effect_size=result.effect_size, p_value=result.p_value)
    return out


def windows_of(times: Any, frequency: str) -> pd.Series:
    """Window labels for timestamps: ``times`` floored to a pandas ``frequency`` (``"D"``, ``"h"``, …).

    Raises:
        ValidationError: times that do not parse as datetimes, or an unknown frequency.
    """
    try:
        stamps = pd.to_datetime(pd.Series(times), utc=True)
    except (TypeError, ValueError):
        raise ValidationError("times", "<unparseable values>", "datetimes") from None
    try:
        return stamps.dt.floor(frequency)
    except (TypeError, ValueError):
        raise ValidationError("frequency", frequency, "a pandas frequency such as 'D' or 'h'") from None


__all__ = [
    "OBSERVED_METRICS",
    "TREND_COLUMNS",
    "DegradationConfig",
    "DegradationReport",
    "DegradationTest",
    "detect_degradation",
    "observed_scores",
    "satisfaction_trend",
    "windows_of",
]
