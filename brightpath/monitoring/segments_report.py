"""Observed satisfaction by family segment, with the worst-served segments flagged.

Input: per-family observed scores (``scores``, 0–1, NaN where the family gave no
feedback) and segment labels computed by the caller with
``brightpath.segments.family_segments`` (``{"age_band": ["K-2", …], "flexibility":
["high", …], …}``, each aligned with ``scores``).

For every level of every segment the report gives its mean with a bootstrap 95 % CI and
compares it with the other families (a segment is part of the overall mean, so testing it
against the overall mean would partly test it against itself): a one-sided Welch test of
"this segment scores lower than the rest" (``brightpath.monitoring.significance.drop_test``),
Holm-adjusted across all levels tested. A level is flagged as under-served when the
adjusted p-value is below ``alpha`` and its gap to the rest is at least ``min_gap``.
Levels with fewer than ``min_size`` scored families are listed, not tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.monitoring.alerts import Alert, json_record, json_value
from brightpath.monitoring.significance import N_BOOTSTRAP, drop_test, holm_adjust
from brightpath.segments import level_sort_key
from brightpath.stats import bootstrap_ci


@dataclass(frozen=True)
class SegmentSatisfaction:
    """One level of one segment.

    Attributes:
        segment, level: e.g. ``"age_band"``, ``"9-12"``.
        n: families of this level with an observed score.
        mean, ci_low, ci_high: their mean score and its bootstrap 95 % CI (0–1).
        rest_mean: the mean of every other scored family.
        gap: mean − rest_mean (negative: served worse than the rest).
        p_value: one-sided p of "lower than the rest" (NaN when not tested); p_holm: Holm-adjusted.
        flagged: p_holm < alpha and −gap ≥ min_gap.
    """

    segment: str
    level: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    rest_mean: float
    gap: float
    p_value: float
    p_holm: float
    flagged: bool

    @property
    def tested(self) -> bool:
        return math.isfinite(self.p_value)

    def to_dict(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class SegmentReport:
    """Satisfaction by segment.

    Attributes:
        metric: the score's name (e.g. ``"observed_satisfaction"``).
        n: families with an observed score; overall_mean: their mean.
        rows: one per (segment, level), segments in input order, levels youngest/low first.
        alpha, min_gap, min_size: the flagging rule.
    """

    metric: str
    n: int
    overall_mean: float
    rows: tuple[SegmentSatisfaction, ...]
    alpha: float
    min_gap: float
    min_size: int

    def worst(self) -> list[SegmentSatisfaction]:
        """The flagged levels, largest gap first."""
        return sorted((r for r in self.rows if r.flagged), key=lambda r: r.gap)

    def alerts(self) -> list[Alert]:
        """A ``segment_underserved`` alert (warning) per flagged level."""
        return [
            Alert(
                kind="segment_underserved",
                severity="warning",
                metric=self.metric,
                value=r.gap,
                threshold=-self.min_gap if self.min_gap else 0.0,
                message=(
                    f"{r.segment}={r.level} scores {r.mean:.3f} vs {r.rest_mean:.3f} for the other families "
                    f"({r.gap:+.3f}, Holm p = {r.p_holm:.2g}, n = {r.n})"
                ),
                labels={"segment": r.segment, "level": r.level},
            )
            for r in self.worst()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "n": self.n,
            "overall_mean": json_value(self.overall_mean),
            "alpha": self.alpha,
            "min_gap": self.min_gap,
            "min_size": self.min_size,
            "rows": [r.to_dict() for r in self.rows],
            "alerts": [a.to_dict() for a in self.alerts()],
        }


def segment_labels(segments: Any, n: int, name: str = "segments") -> dict[str, np.ndarray]:
    """``{segment: labels}`` as object arrays of length ``n``, labels as text.

    Raises:
        ValidationError: not a mapping, or a labelling of the wrong length or with missing labels.
    """
    if not isinstance(segments, Mapping):
        raise ValidationError(name, f"<{type(segments).__name__}>", "a mapping {segment: labels}")
    out = {}
    for segment, labels in segments.items():
        values = np.asarray(labels, dtype=object).reshape(-1)
        if len(values) != n:
            raise ValidationError(f"{name}[{segment!r}]", f"<{len(values)} labels>", f"{n} labels, one per score")
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
            raise ValidationError(f"{name}[{segment!r}]", "<missing labels>", "a label for every family")
        out[str(segment)] = np.array([str(v) for v in values], dtype=object)
    return out


def unit_scores(scores: Any, name: str = "scores") -> np.ndarray:
    """Scores on the 0–1 scale as float64 ``[n]``, NaN kept (no feedback).

    Raises:
        ValidationError: text, or values outside [0, 1] (infinities included), naming ``name``.
    """
    try:
        values = np.asarray(scores, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValidationError(name, f"<{type(scores).__name__}>", "scores in [0, 1], NaN where not observed") from None
    outside = ~np.isnan(values) & ((values < 0.0) | (values > 1.0))
    if outside.any():
        raise ValidationError(name, float(values[outside][0]), "scores in [0, 1], NaN where not observed")
    return values


def segment_report(
    scores: Any,
    segments: Mapping[str, Any],
    *,
    metric: str = "observed_satisfaction",
    alpha: float = 0.05,
    min_gap: float = 0.0,
    min_size: int = 20,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> SegmentReport:
    """Satisfaction by segment with the worst levels flagged (module docstring).

    Args:
        scores: per-family observed scores ``[n]`` (0–1; NaN = no feedback).
        segments: ``{segment: labels [n]}`` (``brightpath.segments.family_segments``).
        metric: the scores' name, for the report and alerts.
        alpha: family-wise level of the flags (Holm), in (0, 1).
        min_gap: the smallest gap below the rest worth a flag (0–1 units), ≥ 0.
        min_size: levels (and their complements) with fewer scored families are not tested, ≥ 2.
        n_bootstrap, seed: the CIs' resamples (≥ 100) and seed.

    Raises:
        ValidationError: bad scores, labels or thresholds, naming the argument.
    """
    if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 1.0):
        raise ValidationError("alpha", alpha, "a level in (0, 1)")
    if not (isinstance(min_gap, (int, float)) and math.isfinite(min_gap) and min_gap >= 0.0):
        raise ValidationError("min_gap", min_gap, "a finite number ≥ 0")
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 2:
        raise ValidationError("min_size", min_size, "a whole number ≥ 2")
    values = unit_scores(scores)
    labels = segment_labels(segments, len(values))
    observed = ~np.isnan(values)
    values = values[observed]
    labels = {k: v[observed] for k, v in labels.items()}
    nan = float("nan")
    raw: list[dict[str, Any]] = []
    for segment, level_labels in labels.items():
        for level in sorted(set(level_labels.tolist()), key=level_sort_key):
            inside = level_labels == level
            group, rest = values[inside], values[~inside]
            row: dict[str, Any] = {
                "segment": segment,
                "level": level,
                "n": len(group),
                "mean": float(group.mean()),
                "ci_low": nan,
                "ci_high": nan,
                "rest_mean": float(rest.mean()) if len(rest) else nan,
                "gap": float(group.mean() - rest.mean()) if len(rest) else nan,
                "p_value": nan,
            }
            if len(group) >= 2:
                row["ci_low"], row["ci_high"] = bootstrap_ci(group, n_bootstrap=n_bootstrap, seed=seed)
            if len(group) >= min_size and len(rest) >= min_size:
                row["p_value"] = drop_test(group, rest, n_bootstrap=n_bootstrap, seed=seed).p_value
            raw.append(row)
    adjusted = holm_adjust([r["p_value"] for r in raw])
    rows = tuple(
        SegmentSatisfaction(**r, p_holm=float(p), flagged=bool(np.isfinite(p) and p < alpha and -r["gap"] >= min_gap))
        for r, p in zip(raw, adjusted)
    )
    overall = float(values.mean()) if len(values) else nan
    return SegmentReport(metric, len(values), overall, rows, float(alpha), float(min_gap), int(min_size))


__all__ = ["SegmentReport", "SegmentSatisfaction", "segment_labels", "segment_report", "unit_scores"]
