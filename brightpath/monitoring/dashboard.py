"""The monitoring dashboard: one self-contained HTML page.

``render_dashboard(report)`` turns a ``MonitoringReport`` — the results of the drift,
degradation, segment and health monitors, the last gate verdict and a per-round
history of observed satisfaction — into one HTML page: plain HTML and inline CSS,
every plot a matplotlib PNG embedded as a base64 ``data:`` URI, no JavaScript and no
external resource, so the file opens offline, can be logged to MLflow as an artifact
and served as it is at ``/dashboard``. ``write_dashboard`` writes it atomically.

Sections, top to bottom: a summary line (alert counts, dataset drift, degradation,
gate decision), the alert list, satisfaction over rounds per model version, drift per
feature, satisfaction by segment, model health, and the gate's threshold records.
A section without data says so instead of plotting.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from brightpath.errors import ValidationError
from brightpath.monitoring.alerts import SEVERITIES, Alert
from brightpath.monitoring.degradation import TREND_COLUMNS, DegradationReport
from brightpath.monitoring.drift import DriftReport
from brightpath.monitoring.health import HealthReport
from brightpath.monitoring.segments_report import SegmentReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from brightpath.gate import GateVerdict

_DPI = 100
_COLORS = {"ok": "#4c72b0", "drifted": "#dd8452", "alert": "#c44e52", "line": "#555555"}


@dataclass(frozen=True)
class MonitoringReport:
    """Everything one dashboard shows.

    Attributes:
        title: the page title.
        generated_at: when the report was made (ISO text), shown under the title; None hides it.
        history: observed satisfaction per window and model version, ``TREND_COLUMNS``
            (``window``, ``model_version``, ``metric``, ``n``, ``mean``, ``sem``), e.g. the loop's
            rounds or ``DegradationReport.trend``; None: no history plot.
        window_label: what a window is, for the axis ("round", "day").
        drift, degradation, segments, health: the monitors' reports, None when not run.
        gate: the last promotion gate verdict, None when there was none.
        extra_alerts: alerts from elsewhere (e.g. a retraining trigger) to list with the others.
    """

    title: str = "BrightPath model monitoring"
    generated_at: str | None = None
    history: pd.DataFrame | None = None
    window_label: str = "round"
    drift: DriftReport | None = None
    degradation: DegradationReport | None = None
    segments: SegmentReport | None = None
    health: HealthReport | None = None
    gate: GateVerdict | None = None
    extra_alerts: tuple[Alert, ...] = ()

    def __post_init__(self) -> None:
        if self.history is not None:
            if not isinstance(self.history, pd.DataFrame):
                raise ValidationError("history", f"<{type(self.history).__name__}>", "a pandas DataFrame")
            missing = [c for c in TREND_COLUMNS if c not in self.history.columns]
            if missing:
                raise ValidationError("history", f"<missing columns {missing}>", f"columns {list(TREND_COLUMNS)}")

    def alerts(self) -> list[Alert]:
        """Every alert of the monitors plus ``extra_alerts``, most severe first."""
        found: list[Alert] = []
        for part in (self.drift, self.degradation, self.segments, self.health):
            if part is not None:
                found.extend(part.alerts())
        found.extend(self.extra_alerts)
        return sorted(found, key=lambda a: -SEVERITIES.index(a.severity))

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON types (what the page shows, without the pictures)."""
        history = None
        if self.history is not None:
            history = [
                {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
                for row in self.history[list(TREND_COLUMNS)].astype({"window": str}).to_dict("records")
            ]
        return {
            "title": self.title,
            "generated_at": self.generated_at,
            "window_label": self.window_label,
            "history": history,
            "drift": None if self.drift is None else self.drift.to_dict(),
            "degradation": None if self.degradation is None else self.degradation.to_dict(),
            "segments": None if self.segments is None else self.segments.to_dict(),
            "health": None if self.health is None else self.health.to_dict(),
            "gate": None if self.gate is None else self.gate.to_dict(),
            "alerts": [a.to_dict() for a in self.alerts()],
        }


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def _png(fig: Figure) -> str:
    """The figure as a base64 PNG ``data:`` URI (no software/time metadata, so bytes repeat)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def satisfaction_figure(history: pd.DataFrame, window_label: str = "round") -> Figure:
    """One panel per metric: mean observed score per window, a line per model version, ±1.96 sem."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    metrics = list(dict.fromkeys(history["metric"].tolist()))
    columns = min(len(metrics), 3)
    rows = math.ceil(len(metrics) / columns)
    fig = Figure(figsize=(4.2 * columns, 3.4 * rows), constrained_layout=True)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).reshape(-1)
    windows = history["window"].tolist()
    # Numbers (rounds) stand at their value; anything else (days, labels) at its rank.
    numeric = all(isinstance(w, (int, float, np.integer, np.floating)) for w in windows)
    ordered = sorted(set(windows), key=lambda w: (str(type(w)), w))
    position = {w: float(w) if numeric else float(i) for i, w in enumerate(ordered)}
    versions = list(dict.fromkeys(history["model_version"].astype(str).tolist()))
    for ax, metric in zip(axes, metrics):
        part = history[history["metric"] == metric]
        for version in versions:
            rows_v = part[part["model_version"].astype(str) == version].sort_values("window")
            if rows_v.empty:
                continue
            xs = [position[w] for w in rows_v["window"]]
            sem = rows_v["sem"].fillna(0.0).to_numpy(dtype=np.float64)
            ax.errorbar(xs, rows_v["mean"], yerr=1.96 * sem, marker="o", capsize=3, label=f"v{version}")
        ax.set(title=metric, xlabel=window_label, ylabel="mean observed score (0–1)")
        ax.grid(alpha=0.3)
        if numeric:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.set_xticks(range(len(ordered)), [str(w) for w in ordered], rotation=30, ha="right", fontsize=8)
        ax.legend(fontsize=8, loc="lower left")
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle("Observed satisfaction over time, per model version")
    return fig


def drift_figure(drift: DriftReport) -> Figure:
    """PSI per column (bars; red: alerting, orange: drifted by its test only) with each test's score."""
    from matplotlib.figure import Figure

    columns = list(drift.columns)
    fig = Figure(figsize=(10, 0.38 * len(columns) + 1.4), constrained_layout=True)
    ax = fig.subplots()
    y = np.arange(len(columns))
    colors = [_COLORS["alert"] if c.alerting else _COLORS["drifted"] if c.drifted else _COLORS["ok"] for c in columns]
    psi = np.array([c.psi for c in columns])
    ax.barh(y, psi, color=colors)
    ax.axvline(drift.config.psi_threshold, color=_COLORS["line"], linestyle="--", linewidth=1)
    upper = max(float(psi.max()) if len(psi) else 0.0, drift.config.psi_threshold) * 1.45 + 1e-3
    for yi, c in zip(y, columns):
        relation = "<" if c.statistic_kind == "p_value" else "≥"
        ax.text(
            c.psi + upper * 0.01,
            yi,
            f"{c.test} {c.statistic:.3g} (drift if {relation} {c.threshold:g})",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(y, [c.column for c in columns], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, upper)
    ax.set_xlabel(f"population stability index (dashed: {drift.config.psi_threshold:g})")
    verdict = "DATASET DRIFT" if drift.dataset_drift else "no dataset drift"
    ax.set_title(
        f"Drift per feature: {drift.n_drifted}/{len(columns)} columns drifted "
        f"({100 * drift.share_drifted:.0f} %, threshold {100 * drift.config.drift_share:.0f} %): {verdict}"
    )
    return fig


def segments_figure(segments: SegmentReport) -> Figure:
    """Mean score per segment level with its 95 % CI; flagged (under-served) levels in red."""
    from matplotlib.figure import Figure

    rows = list(segments.rows)
    fig = Figure(figsize=(10, 0.34 * len(rows) + 1.4), constrained_layout=True)
    ax = fig.subplots()
    y = np.arange(len(rows))
    means = np.array([r.mean for r in rows])
    low = np.array([r.ci_low for r in rows])
    high = np.array([r.ci_high for r in rows])
    errors = np.vstack([np.nan_to_num(means - low), np.nan_to_num(high - means)])
    colors = [_COLORS["alert"] if r.flagged else _COLORS["ok"] for r in rows]
    ax.barh(y, means, xerr=errors, color=colors, capsize=2)
    ax.axvline(segments.overall_mean, color=_COLORS["line"], linestyle="--", linewidth=1)
    ax.set_yticks(y, [f"{r.segment} = {r.level} (n={r.n})" for r in rows], fontsize=8)
    ax.invert_yaxis()
    finite = means[np.isfinite(means)]
    lower = max(0.0, float(finite.min()) - 0.1) if len(finite) else 0.0
    ax.set_xlim(lower, min(1.0, float(np.nanmax(high)) + 0.05) if np.isfinite(high).any() else 1.0)
    ax.set_xlabel(f"mean {segments.metric} (dashed: all families, {segments.overall_mean:.3f})")
    ax.set_title(f"Satisfaction by segment: {len(segments.worst())} under-served level(s) in red")
    return fig


def health_figure(health: HealthReport) -> Figure:
    """Latency percentiles and fallback/error rates per model version, with the alert ceilings."""
    from matplotlib.figure import Figure

    versions = list(health.versions)
    names = [v.model_version for v in versions]
    fig = Figure(figsize=(11, 3.6), constrained_layout=True)
    left, right = fig.subplots(1, 2)
    x = np.arange(len(versions))
    width = 0.26
    for i, (label, attr) in enumerate(
        (("p50", "latency_p50_ms"), ("p95", "latency_p95_ms"), ("p99", "latency_p99_ms"))
    ):
        left.bar(x + (i - 1) * width, [getattr(v, attr) for v in versions], width, label=label)
    left.axhline(health.config.max_latency_p95_ms, color=_COLORS["alert"], linestyle="--", linewidth=1)
    left.set_xticks(x, names)
    left.set(title="Latency per model version", ylabel="milliseconds (dashed: p95 ceiling)", xlabel="model version")
    left.legend(fontsize=8)
    for i, (label, attr, ceiling) in enumerate(
        (
            ("fallback rate", "fallback_rate", health.config.max_fallback_rate),
            ("5xx error rate", "error_rate", health.config.max_error_rate),
        )
    ):
        values = [100 * getattr(v, attr) for v in versions]
        bars = right.bar(x + (i - 0.5) * 0.38, values, 0.38, label=label)
        right.axhline(100 * ceiling, color=bars.patches[0].get_facecolor(), linestyle="--", linewidth=1)
    right.set_xticks(x, names)
    right.set(title="Fallbacks and errors per model version", ylabel="% (dashed: ceilings)", xlabel="model version")
    right.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1180px;
       color: #222; background: #fafafa; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
.sub { color: #666; margin-top: 0; }
.summary span { display: inline-block; padding: 4px 10px; margin: 2px 6px 2px 0; border-radius: 4px;
                background: #e8e8e8; font-weight: 600; }
.summary .bad { background: #f4c7c3; color: #7a1a12; } .summary .good { background: #cfe8cf; color: #1e5a1e; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 16px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.critical td { background: #fbe3e1; } tr.warning td { background: #fff4d6; } tr.info td { background: #eef4fb; }
tr.fail td { background: #fbe3e1; } tr.skip td { color: #888; }
img { max-width: 100%; display: block; margin: 8px 0; background: #fff; border: 1px solid #e4e4e4; }
.empty { color: #888; font-style: italic; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) >= 1e4 or (value != 0 and abs(value) < 1e-3) else f"{value:.4f}"
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{_e(classes[i])}"' if classes and classes[i] else ""
        cells = "".join(
            f'<td class="num">{_e(_fmt(v))}</td>'
            if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
            else f"<td>{_e(_fmt(v))}</td>"
            for v in row
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(fig: Figure, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="{_png(fig)}">'


def _empty(what: str) -> str:
    return f'<p class="empty">{_e(what)}</p>'


def _summary(report: MonitoringReport, alerts: list[Alert]) -> str:
    counts = {s: sum(a.severity == s for a in alerts) for s in SEVERITIES}
    items = [(f"{len(alerts)} alert(s): {counts['critical']} critical, {counts['warning']} warning", bool(alerts))]
    if report.drift is not None:
        items.append(
            ("dataset drift" if report.drift.dataset_drift else "no dataset drift", report.drift.dataset_drift)
        )
    if report.degradation is not None:
        items.append(
            ("satisfaction degraded" if report.degradation.degraded else "no degradation", report.degradation.degraded)
        )
    if report.gate is not None:
        items.append((f"gate: {report.gate.decision} {report.gate.challenger}", not report.gate.passed))
    spans = "".join(f'<span class="{"bad" if bad else "good"}">{_e(text)}</span>' for text, bad in items)
    return f'<div class="summary">{spans}</div>'


def _alerts_section(alerts: list[Alert]) -> str:
    if not alerts:
        return _empty("No alerts.")
    rows = [
        (
            a.severity,
            a.kind,
            a.metric,
            a.value,
            a.threshold,
            ", ".join(f"{k}={v}" for k, v in a.labels.items()),
            a.message,
        )
        for a in alerts
    ]
    return _table(
        ("severity", "kind", "metric", "value", "threshold", "where", "message"), rows, [a.severity for a in alerts]
    )


def _history_section(report: MonitoringReport) -> str:
    history = report.history
    if history is None or history.empty:
        return _empty("No satisfaction history yet.")
    return _img(satisfaction_figure(history, report.window_label), "observed satisfaction over time per model version")


def _degradation_section(degradation: DegradationReport | None) -> str:
    if degradation is None:
        return _empty("Degradation was not checked.")
    rows = [
        (
            t.model_version,
            t.metric,
            ",".join(t.reference_windows),
            ",".join(t.recent_windows),
            t.mean_reference,
            t.mean_recent,
            t.difference,
            t.p_holm,
            t.degraded,
            t.note or "",
        )
        for t in degradation.tests
    ]
    return _table(
        ("version", "metric", "reference", "recent", "mean ref.", "mean recent", "Δ", "p (Holm)", "degraded", "note"),
        rows,
        ["fail" if t.degraded else ("skip" if not t.tested else "") for t in degradation.tests],
    )


def _drift_section(drift: DriftReport | None) -> str:
    if drift is None:
        return _empty("Drift was not checked.")
    rows = [
        (c.column, c.kind, c.test, c.statistic, c.threshold, c.drifted, c.psi, c.reference_mean, c.current_mean)
        for c in drift.columns
    ]
    table = _table(
        ("column", "kind", "test", "score", "threshold", "drifted", "PSI", "mean ref.", "mean current"),
        rows,
        ["fail" if c.alerting else "" for c in drift.columns],
    )
    caption = f"<p>{drift.n_reference} reference rows vs {drift.n_current} current rows.</p>"
    return _img(drift_figure(drift), "drift per feature") + caption + table


def _segments_section(segments: SegmentReport | None) -> str:
    if segments is None or not segments.rows:
        return _empty("Segments were not checked.")
    rows = [(r.segment, r.level, r.n, r.mean, r.rest_mean, r.gap, r.p_holm, r.flagged) for r in segments.rows]
    table = _table(
        ("segment", "level", "n", "mean", "mean of the rest", "gap", "p (Holm)", "under-served"),
        rows,
        ["fail" if r.flagged else "" for r in segments.rows],
    )
    return _img(segments_figure(segments), "satisfaction by segment") + table


def _health_section(health: HealthReport | None) -> str:
    if health is None or not health.versions:
        return _empty("No audit log.")
    rows = [
        (
            v.model_version,
            v.n_requests,
            v.fallback_rate,
            v.error_rate,
            v.client_error_rate,
            v.latency_p50_ms,
            v.latency_p95_ms,
            v.latency_p99_ms,
            v.last_time,
        )
        for v in health.versions
    ]
    table = _table(
        ("version", "requests", "fallback rate", "5xx rate", "4xx rate", "p50 ms", "p95 ms", "p99 ms", "last request"),
        rows,
    )
    return _img(health_figure(health), "model health per version") + table


def _gate_section(gate: GateVerdict | None) -> str:
    if gate is None:
        return _empty("No gate verdict.")
    head = (
        f"<p><strong>{_e(gate.decision.upper())}</strong> challenger {_e(gate.challenger)} vs champion "
        f"{_e(gate.champion)} on {_e(gate.config.metric)} ({_e(gate.test)}): "
        f"{gate.challenger_mean:.4f} vs {gate.champion_mean:.4f}</p>"
    )
    rows = [
        (
            c.name,
            "" if c.segment is None else f"{c.segment}={c.level}",
            "skipped" if c.skipped else ("pass" if c.passed else "FAIL"),
            c.value,
            c.threshold,
            c.margin,
            c.p_holm,
            c.message,
        )
        for c in gate.checks
    ]
    classes = ["skip" if c.skipped else ("" if c.passed else "fail") for c in gate.checks]
    return head + _table(("check", "slice", "result", "value", "threshold", "margin", "p", "message"), rows, classes)


def render_dashboard(report: MonitoringReport) -> str:
    """The dashboard page as one self-contained HTML string (module docstring)."""
    if not isinstance(report, MonitoringReport):
        raise ValidationError("report", f"<{type(report).__name__}>", "a MonitoringReport")
    alerts = report.alerts()
    generated = f'<p class="sub">Generated {_e(report.generated_at)}</p>' if report.generated_at else ""
    sections = [
        ("alerts", "Alerts", _alerts_section(alerts)),
        ("satisfaction", "Satisfaction over rounds and versions", _history_section(report)),
        ("degradation", "Degradation tests", _degradation_section(report.degradation)),
        ("drift", "Drift of incoming family profiles", _drift_section(report.drift)),
        ("segments", "Satisfaction by segment", _segments_section(report.segments)),
        ("health", "Model health", _health_section(report.health)),
        ("gate", "Promotion gate", _gate_section(report.gate)),
    ]
    body = "".join(f'<section id="{key}"><h2>{_e(title)}</h2>{content}</section>' for key, title, content in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>{_e(report.title)}</h1>{generated}{_summary(report, alerts)}</header>"
        f"{body}</body></html>\n"
    )


def write_dashboard(report: MonitoringReport, path: str | os.PathLike) -> Path:
    """Render the dashboard and write it to ``path`` atomically (a reader never sees half a page)."""
    path = Path(path)
    page = render_dashboard(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the page from a web server or MLflow running as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = [
    "MonitoringReport",
    "drift_figure",
    "health_figure",
    "render_dashboard",
    "satisfaction_figure",
    "segments_figure",
    "write_dashboard",
]
