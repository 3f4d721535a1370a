"""A/B tests between two schedule generators, made statistically sound.

The seed plan compares two generators with an unpaired t-test on reward-model
scores. Here both arms are usually scored on the *same* families, so the primary
test is the paired t-test on per-family differences (``paired_test``): the family
effect cancels and far smaller differences are detectable. Welch's t-test
(``welch_test``; the seed's test without the equal-variance assumption) serves for
independent samples. Each result carries:

* the mean difference A − B with a seeded percentile-bootstrap 95 % CI
  (per-family differences resampled when paired, each arm on its own when not);
* an effect size: ``d_z`` = mean difference / sd of differences (paired) or Cohen's
  ``d`` with the root mean of the two variances (unpaired);
* the t statistic, degrees of freedom and two-sided p-value;
* a winner only when p < ``alpha`` (higher scores are better).

Degenerate arms are handled without NaN or warnings: zero variance with equal
means (a generator against itself) gives t = 0, p = 1, no winner; zero variance
with different means gives t = ±inf, p = 0 and the better arm wins. The tests and
the bootstrap are the general ones of ``brightpath.stats``.

``segment_view`` repeats the paired comparison within family segments
(``brightpath.segments``: the child's grade band, high/low preference per
questionnaire category) with Holm-adjusted
p-values, so a generator that fails one kind of family shows up even when the
overall means agree. ``format_report`` prints the seed's report; ``to_dict`` gives the
JSON report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brightpath.segments import level_sort_key
from brightpath.stats import (
    ALPHA,
    CI_LEVEL,
    N_BOOTSTRAP,
    bootstrap_ci,
    holm,
    paired_t,
    sample_sd,
    signed_ratio,
    welch_t,
)


@dataclass(frozen=True)
class ABResult:
    """One A/B comparison (difference = A − B; higher scores are better).

    Attributes:
        name_a, name_b: the generators' names.
        metric: what was compared, e.g. ``"true_satisfaction"`` (0–1).
        test: ``"paired t-test"`` or ``"Welch's t-test"``.
        n_a, n_b: sample sizes (equal when paired).
        mean_a, mean_b, std_a, std_b: per-arm mean and sample standard deviation (ddof 1).
        mean_difference: mean(A) − mean(B).
        ci_low, ci_high: bootstrap CI of the mean difference at ``ci_level``.
        t_stat, df, p_value: the t-test (two-sided).
        effect_size: ``d_z`` (paired) or Cohen's ``d`` (unpaired); ``effect_size_name`` says which.
        alpha: significance level.
        winner: ``"A"``, ``"B"`` or None (no significant difference).
        note: why a result is degenerate (zero variance), else None.
    """

    name_a: str
    name_b: str
    metric: str
    test: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    std_a: float
    std_b: float
    mean_difference: float
    ci_low: float
    ci_high: float
    ci_level: float
    t_stat: float
    df: float
    p_value: float
    effect_size: float
    effect_size_name: str
    alpha: float
    winner: str | None
    note: str | None = None

    @property
    def significant(self) -> bool:
        return self.winner is not None

    @property
    def winner_name(self) -> str | None:
        return {"A": self.name_a, "B": self.name_b}.get(self.winner or "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; non-finite numbers (a degenerate t) become ``"inf"``/``"-inf"``/``"nan"``."""
        out = {k: _json_number(v) for k, v in asdict(self).items()}
        out["significant"] = self.significant
        out["winner_name"] = self.winner_name
        return out


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _std(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def ab_test(
    a: np.ndarray,
    b: np.ndarray,
    *,
    paired: bool = True,
    names: tuple[str, str] = ("A", "B"),
    metric: str = "score",
    alpha: float = ALPHA,
    seed: int = 0,
    n_bootstrap: int = N_BOOTSTRAP,
    ci_level: float = CI_LEVEL,
) -> ABResult:
    """Compare scores of arm A and arm B (higher is better).

    Args:
        a, b: per-family scores; with ``paired`` the same families in the same order.
        paired: the paired t-test on differences (primary); False: Welch's t-test.
        names: the arms' names for the report.
        metric: the scores' name for the report.
        alpha: significance level in (0, 1); a winner is declared only when p < alpha.
        seed: the bootstrap's seed.

    Raises:
        ValueError: fewer than 2 values per arm, unequal lengths when paired, non-finite scores.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha!r}")
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    for label, x in (("a", a), ("b", b)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{label}: scores must be finite; got {int((~np.isfinite(x)).sum())} non-finite")
    if paired:
        if len(a) != len(b):
            raise ValueError(f"a, b: paired scores need the same families, got {len(a)} and {len(b)} values")
        t, df, p = (float(v) for v in paired_t(a, b))
        d = a - b
        sd = float(sample_sd(d, max(np.abs(a).max(), np.abs(b).max())))
        effect = signed_ratio(np.float64(d.mean()), np.float64(sd)).item()
        test, effect_name = "paired t-test", "d_z"
        degenerate = sd == 0
    else:
        t, df, p = (float(v) for v in welch_t(a, b))
        spread = math.sqrt((sample_sd(a, np.abs(a).max()) ** 2 + sample_sd(b, np.abs(b).max()) ** 2) / 2.0)
        effect = signed_ratio(np.float64(a.mean() - b.mean()), np.float64(spread)).item()
        test, effect_name = "Welch's t-test", "cohen_d"
        degenerate = spread == 0
    difference = float(a.mean() - b.mean())
    low, high = bootstrap_ci(a, b, paired=paired, seed=seed, n_bootstrap=n_bootstrap, level=ci_level)
    winner = None
    if p < alpha and difference != 0.0:
        winner = "A" if difference > 0 else "B"
    note = None
    if degenerate:
        note = (
            "zero variance and equal means: the arms are identical"
            if difference == 0.0
            else "zero variance: every family shows the same difference"
        )
    return ABResult(
        name_a=names[0],
        name_b=names[1],
        metric=metric,
        test=test,
        n_a=len(a),
        n_b=len(b),
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        std_a=_std(a),
        std_b=_std(b),
        mean_difference=difference,
        ci_low=low,
        ci_high=high,
        ci_level=ci_level,
        t_stat=t,
        df=float(df),
        p_value=p,
        effect_size=float(effect),
        effect_size_name=effect_name,
        alpha=alpha,
        winner=winner,
        note=note,
    )


def paired_test(a: np.ndarray, b: np.ndarray, **kwargs: Any) -> ABResult:
    """``ab_test(a, b, paired=True, ...)``: the same families scored under both arms."""
    return ab_test(a, b, paired=True, **kwargs)


def welch_test(a: np.ndarray, b: np.ndarray, **kwargs: Any) -> ABResult:
    """``ab_test(a, b, paired=False, ...)``: independent samples, as in the seed plan (Welch)."""
    return ab_test(a, b, paired=False, **kwargs)


def _p_text(p: float) -> str:
    """The seed's four decimals, or scientific notation where they would print a misleading 0.0000."""
    return f"{p:.4f}" if p == 0.0 or p >= 1e-4 else f"{p:.2e}"


def format_report(result: ABResult) -> str:
    """The seed plan's printout, plus the difference's CI, the effect size and the test used."""
    label_a = f"Model A ({result.name_a})"
    label_b = f"Model B ({result.name_b})"
    lines = [
        f"A/B test on {result.metric}: {result.test}, n = {result.n_a}"
        + ("" if result.test == "paired t-test" else f" and {result.n_b}"),
        f"{label_a}: {result.mean_a:.4f} ± {result.std_a:.4f}",
        f"{label_b}: {result.mean_b:.4f} ± {result.std_b:.4f}",
        f"Mean difference (A - B): {result.mean_difference:+.4f}, "
        f"{100 * result.ci_level:.0f}% bootstrap CI [{result.ci_low:+.4f}, {result.ci_high:+.4f}]",
        f"Effect size ({result.effect_size_name}): {result.effect_size:.4f}",
        f"T-statistic: {result.t_stat:.4f}, p-value: {_p_text(result.p_value)}",
    ]
    if result.note:
        lines.append(f"Note: {result.note}")
    if result.winner is not None:
        lines.append(f"Winner: {label_a if result.winner == 'A' else label_b} (statistically significant)")
    else:
        lines.append("No statistically significant difference")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Segment view
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRow:
    """The paired comparison within one segment.

    Attributes:
        segment, level: e.g. ``"age_band"``, ``"K-2"``; ``"flexibility"``, ``"high"``.
        n: families in the segment.
        mean_a, mean_b, mean_difference, ci_low, ci_high, p_value: as ``ABResult`` (NaN
            when the segment is too small to test).
        p_holm: Holm-adjusted p-value over all tested segments of the view.
        winner: ``"A"``, ``"B"`` or None, decided on ``p_holm`` < alpha.
    """

    segment: str
    level: str
    n: int
    mean_a: float
    mean_b: float
    mean_difference: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    winner: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else _json_number(v)) for k, v in asdict(self).items()
        }


def segment_view(
    a: np.ndarray,
    b: np.ndarray,
    segments: Mapping[str, np.ndarray],
    *,
    alpha: float = ALPHA,
    seed: int = 0,
    n_bootstrap: int = N_BOOTSTRAP,
    min_size: int = 10,
) -> list[SegmentRow]:
    """Paired A/B results within each level of each segment (``segments.family_segments``).

    Args:
        a, b: per-family scores of the same families.
        segments: ``{segment: labels [n]}``.
        min_size: segments with fewer families are listed with NaN statistics, not tested.
    """
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    if len(a) != len(b):
        raise ValueError(f"a, b: the segment view pairs families; got {len(a)} and {len(b)} values")
    raw = []
    for segment, labels in segments.items():
        labels = np.asarray(labels, dtype=object).reshape(-1)
        if len(labels) != len(a):
            raise ValueError(f"segments[{segment!r}]: expected {len(a)} labels, got {len(labels)}")
        for level in sorted(set(labels.tolist()), key=level_sort_key):
            mask = labels == level
            n = int(mask.sum())
            if n < max(min_size, 2):
                raw.append((segment, str(level), n, float(a[mask].mean()), float(b[mask].mean()), None))
                continue
            result = ab_test(a[mask], b[mask], paired=True, alpha=alpha, seed=seed, n_bootstrap=n_bootstrap)
            raw.append((segment, str(level), n, result.mean_a, result.mean_b, result))
    tested = [r[5].p_value for r in raw if r[5] is not None]
    adjusted = iter(holm(tested)) if tested else iter(())
    rows = []
    nan = float("nan")
    for segment, level, n, mean_a, mean_b, result in raw:
        if result is None:
            rows.append(SegmentRow(segment, level, n, mean_a, mean_b, mean_a - mean_b, nan, nan, nan, nan, None))
            continue
        p_holm = float(next(adjusted))
        winner = None
        if p_holm < alpha and result.mean_difference != 0.0:
            winner = "A" if result.mean_difference > 0 else "B"
        rows.append(
            SegmentRow(
                segment,
                level,
                n,
                mean_a,
                mean_b,
                result.mean_difference,
                result.ci_low,
                result.ci_high,
                result.p_value,
                p_holm,
                winner,
            )
        )
    return rows


def format_segments(rows: Sequence[SegmentRow], names: tuple[str, str] = ("A", "B")) -> str:
    """A fixed-width table of ``segment_view`` rows."""
    header = (
        f"{'segment':<16}{'level':<8}{'n':>6}{names[0][:12]:>14}{names[1][:12]:>14}{'A - B':>10}"
        f"{'95% CI':>22}{'p (Holm)':>10}  winner"
    )
    lines = [header]
    for r in rows:
        if math.isnan(r.p_value):
            ci, p = "too few families", ""
        else:
            ci, p = f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]", f"{r.p_holm:.4f}"
        winner = {"A": names[0], "B": names[1]}.get(r.winner or "", "-")
        lines.append(
            f"{r.segment:<16}{r.level:<8}{r.n:>6}{r.mean_a:>14.4f}{r.mean_b:>14.4f}"
            f"{r.mean_difference:>+10.4f}{ci:>22}{p:>10}  {winner}"
        )
    return "\n".join(lines)


__all__ = [
    "ABResult",
    "SegmentRow",
    "ab_test",
    "format_report",
    "format_segments",
    "paired_test",
    "segment_view",
    "welch_test",
]
