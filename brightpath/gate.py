"""The promotion gate: challenger vs champion, judged by thresholds kept as data.

As TFX's Evaluator does it, the gate is a list of thresholds (``GateConfig``) and its
output is a record (``GateVerdict``) that says, threshold by threshold, what was measured,
the bound it was held to and by how much it passed or failed. Promotion happens only on
a passing verdict; the verdict's ``to_dict()`` is what the loop stores and tags the
registered model with.

Inputs are what production has: each family's observed satisfaction under the arm it
was served (0–1, e.g. the reward-model target read from its feedback; NaN = no feedback),
the families' segment labels (``brightpath.segments.family_segments``), and each arm's
share of invalid and fallback schedules. The arms are either the same families (paired:
the paired t-test on per-family differences) or independent randomised groups (Welch's
t-test), both from ``brightpath.abtest`` through ``brightpath.monitoring.significance``.

Thresholds (all must pass; a skipped one does not block):

=======================  ===========================================================================
check                    fails when
=======================  ===========================================================================
``value_floor``          the challenger's mean score < ``value_floor`` (TFX value threshold)
``overall_regression``   challenger − champion < −``max_regression`` **and** the drop is significant
                         (one-sided p below its share of ``alpha``): TFX's change threshold, guarded by
                         a test so that noise alone does not block a challenger
``segment_regression``   the same within each level of each segment, with ``max_segment_regression``
                         and Holm's adjustment across levels; a level with fewer than
                         ``min_segment_size`` scored families in either arm is skipped
``invalid_rate_rise``    challenger − champion share of invalid schedules > ``max_invalid_rate_rise``
``fallback_rate_rise``   challenger − champion share of fallback schedules > ``max_fallback_rate_rise``
=======================  ===========================================================================

The regression checks are one family of tests: ``alpha`` is split equally between the overall
check and the segment checks (Holm within the segments; the overall check gets all of it when no
segments are given), so an equal challenger is blocked by chance with probability at most
``alpha`` (``tests/test_gate.py`` measures it). A check's ``margin`` is in the units of its value:
how far inside (+) or outside (−) its bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.monitoring.alerts import json_record
from brightpath.monitoring.segments_report import segment_labels, unit_scores
from brightpath.monitoring.significance import N_BOOTSTRAP, drop_test, holm_adjust
from brightpath.segments import level_sort_key

CHECKS: tuple[str, ...] = (
    "value_floor",
    "overall_regression",
    "segment_regression",
    "invalid_rate_rise",
    "fallback_rate_rise",
)


@dataclass  # not frozen: Hydra composes ``loop.gate`` onto it, and OmegaConf makes frozen nodes read-only
class GateConfig:
    """The gate's thresholds (module docstring); a Hydra ``loop.gate`` node maps onto it.

    Attributes:
        metric: the score's name in the verdict, e.g. ``"observed_satisfaction"``.
        value_floor: the challenger's mean score must reach this (0–1). 0.5 is the neutral
            answer (3 of 5 stars read as (x − 1) / 4): families must rate the weeks above neutral.
        max_regression: tolerated drop of the overall mean (0–1 units).
        max_segment_regression: tolerated drop within one segment level (0–1 units); looser than
            the overall one because a level's mean is noisier.
        alpha: family-wise significance of a drop (one-sided) over all regression checks, in (0, 1).
        min_segment_size: scored families a level needs in each arm to be checked, ≥ 2.
        max_invalid_rate_rise, max_fallback_rate_rise: tolerated rise of the share of invalid /
            fallback schedules (0–1 units).
        n_bootstrap, seed: the difference CIs' resamples (≥ 100) and seed.
    """

    metric: str = "observed_satisfaction"
    value_floor: float = 0.5
    max_regression: float = 0.01
    max_segment_regression: float = 0.03
    alpha: float = 0.05
    min_segment_size: int = 30
    max_invalid_rate_rise: float = 0.005
    max_fallback_rate_rise: float = 0.005
    n_bootstrap: int = N_BOOTSTRAP
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ValidationError("gate.metric", self.metric, "a non-empty name")
        for name in (
            "value_floor",
            "max_regression",
            "max_segment_regression",
            "max_invalid_rate_rise",
            "max_fallback_rate_rise",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValidationError(f"gate.{name}", value, "a number in [0, 1]")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0.0 < self.alpha < 1.0:
            raise ValidationError("gate.alpha", self.alpha, "a level in (0, 1)")
        for name, low in (("min_segment_size", 2), ("n_bootstrap", 100)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValidationError(f"gate.{name}", value, f"a whole number ≥ {low}")


@dataclass(frozen=True)
class ArmRates:
    """How often an arm's schedules were unusable.

    Attributes:
        invalid_rate: share of the arm's schedules that failed validation, 0–1.
        fallback_rate: share served by the rule-based fallback (``meta.source == "fallback"``), 0–1.
        n_schedules: schedules the shares are over (for the record), ≥ 0.
    """

    invalid_rate: float
    fallback_rate: float
    n_schedules: int = 0

    def __post_init__(self) -> None:
        for name in ("invalid_rate", "fallback_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0.0 <= value <= 1.0:
                raise ValidationError(name, value, "a share in [0, 1]")
        if isinstance(self.n_schedules, bool) or not isinstance(self.n_schedules, (int, np.integer)):
            raise ValidationError("n_schedules", self.n_schedules, "a whole number ≥ 0")
        if self.n_schedules < 0:
            raise ValidationError("n_schedules", self.n_schedules, "a whole number ≥ 0")


@dataclass(frozen=True)
class ThresholdCheck:
    """One threshold's record.

    Attributes:
        name: one of ``CHECKS``.
        segment, level: the segment level of a ``segment_regression`` check, else None.
        passed: the threshold holds (True for a skipped check).
        skipped: not evaluated (a segment level too small); never blocks.
        value: what was measured: the challenger's mean (``value_floor``), challenger − champion
            mean (regressions) or rate (rises).
        threshold: the bound: the floor, −tolerance (regressions) or the tolerated rise.
        margin: how far inside (+) or outside (−) the bound, units of ``value``.
        p_value: one-sided p of a drop (regressions; NaN otherwise); p_holm: Holm-adjusted across
            segment levels (equal to p_value for the overall check).
        alpha: the level ``p_holm`` is held to: the check's share of ``GateConfig.alpha``.
        ci_low, ci_high: bootstrap 95 % CI of the difference (regressions; NaN otherwise).
        n_champion, n_challenger: scores (or schedules) behind the value.
        message: one sentence for a person.
    """

    name: str
    segment: str | None
    level: str | None
    passed: bool
    skipped: bool
    value: float
    threshold: float
    margin: float
    p_value: float
    p_holm: float
    alpha: float
    ci_low: float
    ci_high: float
    n_champion: int
    n_challenger: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return json_record(self)


@dataclass(frozen=True)
class GateVerdict:
    """The gate's decision and every threshold's record.

    Attributes:
        passed: every check passed (skipped ones aside).
        champion, challenger: the arms' names (e.g. model versions).
        test: ``"paired t-test"`` or ``"Welch's t-test"``.
        champion_mean, challenger_mean: mean scores (0–1).
        checks: the records, in ``CHECKS`` order (segment levels in segment order).
        config: the thresholds applied.
    """

    passed: bool
    champion: str
    challenger: str
    test: str
    champion_mean: float
    challenger_mean: float
    checks: tuple[ThresholdCheck, ...]
    config: GateConfig

    @property
    def decision(self) -> str:
        return "promote" if self.passed else "reject"

    @property
    def failed(self) -> list[ThresholdCheck]:
        return [c for c in self.checks if not c.passed]

    @property
    def reasons(self) -> list[str]:
        """The failed checks' messages (empty when the challenger passes)."""
        return [c.message for c in self.failed]

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable verdict: decision, failed check names, every record, the config."""
        return {
            "decision": self.decision,
            "passed": self.passed,
            "champion": self.champion,
            "challenger": self.challenger,
            "metric": self.config.metric,
            "test": self.test,
            "champion_mean": self.champion_mean,
            "challenger_mean": self.challenger_mean,
            "failed_checks": [_check_label(c) for c in self.failed],
            "reasons": self.reasons,
            "checks": [c.to_dict() for c in self.checks],
            "config": asdict(self.config),
        }


def _check_label(check: ThresholdCheck) -> str:
    return check.name if check.segment is None else f"{check.name}:{check.segment}={check.level}"


def _rate_check(name: str, champion: float, challenger: float, tolerance: float, n: tuple[int, int]) -> ThresholdCheck:
    rise = challenger - champion
    what = name.removesuffix("_rate_rise")
    return ThresholdCheck(
        name=name,
        segment=None,
        level=None,
        passed=rise <= tolerance,
        skipped=False,
        value=float(rise),
        threshold=float(tolerance),
        margin=float(tolerance - rise),
        p_value=float("nan"),
        p_holm=float("nan"),
        alpha=float("nan"),
        ci_low=float("nan"),
        ci_high=float("nan"),
        n_champion=n[0],
        n_challenger=n[1],
        message=(
            f"{what} schedules: {100 * challenger:.2f} % for the challenger vs {100 * champion:.2f} % "
            f"for the champion ({100 * rise:+.2f} points, tolerated +{100 * tolerance:.2f})"
        ),
    )


def _regression(
    name: str,
    champion: np.ndarray,
    challenger: np.ndarray,
    tolerance: float,
    *,
    paired: bool,
    config: GateConfig,
    segment: str | None = None,
    level: str | None = None,
) -> dict[str, Any]:
    """A regression record before Holm (``passed`` decided by the caller once p_holm is known)."""
    nan = float("nan")
    record: dict[str, Any] = {
        "name": name,
        "segment": segment,
        "level": level,
        "threshold": -float(tolerance),
        "n_champion": len(champion),
        "n_challenger": len(challenger),
        "value": nan,
        "margin": nan,
        "p_value": nan,
        "ci_low": nan,
        "ci_high": nan,
        "skipped": False,
    }
    if min(len(champion), len(challenger)) < (config.min_segment_size if segment is not None else 2):
        record["skipped"] = True
        return record
    result = drop_test(challenger, champion, paired=paired, n_bootstrap=config.n_bootstrap, seed=config.seed)
    record.update(
        value=result.difference,
        margin=result.difference + tolerance,
        p_value=result.p_value,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
    )
    return record


def _finish(record: dict[str, Any], p_holm: float, alpha: float) -> ThresholdCheck:
    where = "overall" if record["segment"] is None else f"{record['segment']}={record['level']}"
    if record["skipped"]:
        return ThresholdCheck(
            **record,
            passed=True,
            p_holm=float("nan"),
            alpha=float(alpha),
            message=(
                f"{where}: not checked, {record['n_champion']} champion and {record['n_challenger']} "
                "challenger scores are too few"
            ),
        )
    regressed = p_holm < alpha and record["margin"] < 0
    verdict = "regressed" if regressed else "no significant regression beyond the tolerance"
    return ThresholdCheck(
        **record,
        passed=not regressed,
        p_holm=float(p_holm),
        alpha=float(alpha),
        message=(
            f"{where}: challenger − champion = {record['value']:+.4f} "
            f"(tolerated {record['threshold']:+.4f}, one-sided p = {p_holm:.2g} vs {alpha:.3g}): {verdict}"
        ),
    )


def evaluate_gate(
    champion_scores: Any,
    challenger_scores: Any,
    *,
    champion_rates: ArmRates,
    challenger_rates: ArmRates,
    segments: Mapping[str, Any] | None = None,
    challenger_segments: Mapping[str, Any] | None = None,
    paired: bool = False,
    config: GateConfig | None = None,
    names: tuple[str, str] = ("champion", "challenger"),
) -> GateVerdict:
    """Judge a challenger against the champion (module docstring).

    Args:
        champion_scores, challenger_scores: per-family observed scores (0–1, NaN = no feedback).
            Paired: the same families in the same order (pairs with a NaN are dropped); else
            independent randomised groups (NaNs dropped per arm).
        champion_rates, challenger_rates: each arm's share of invalid and fallback schedules.
        segments: ``{segment: labels}`` of the champion's families (of both arms when paired);
            None: no segment checks.
        challenger_segments: labels of the challenger's families (independent arms only).
        paired: the arms are the same families.
        config: thresholds; ``GateConfig()`` when None.
        names: the arms' names in the verdict (e.g. model versions).

    Raises:
        ValidationError: scores that are not numbers in [0, 1] (NaN aside), fewer than 2 scored
            families in an arm, labels of the wrong length, rates outside [0, 1], segments given
            for one independent arm only.
    """
    config = config or GateConfig()
    for label, rates in (("champion_rates", champion_rates), ("challenger_rates", challenger_rates)):
        if not isinstance(rates, ArmRates):
            raise ValidationError(label, rates, "an ArmRates(invalid_rate, fallback_rate, n_schedules)")
    champion = unit_scores(champion_scores, "champion_scores")
    challenger = unit_scores(challenger_scores, "challenger_scores")
    if paired:
        if len(champion) != len(challenger):
            raise ValidationError(
                "challenger_scores", f"<{len(challenger)} scores>", f"{len(champion)} scores, the champion's families"
            )
        if challenger_segments is not None:
            raise ValidationError("challenger_segments", "<labels>", "None when paired (the arms share families)")
        champion_labels = segment_labels(segments, len(champion)) if segments is not None else {}
        keep = ~np.isnan(champion) & ~np.isnan(challenger)
        champion, challenger = champion[keep], challenger[keep]
        champion_labels = {k: v[keep] for k, v in champion_labels.items()}
        challenger_labels = champion_labels
    else:
        if (segments is None) != (challenger_segments is None):
            missing = "challenger_segments" if challenger_segments is None else "segments"
            raise ValidationError(missing, None, "labels for both independent arms, or for neither")
        champion_labels = segment_labels(segments, len(champion), "segments") if segments is not None else {}
        challenger_labels = (
            segment_labels(challenger_segments, len(challenger), "challenger_segments")
            if challenger_segments is not None
            else {}
        )
        champion_keep, challenger_keep = ~np.isnan(champion), ~np.isnan(challenger)
        champion, challenger = champion[champion_keep], challenger[challenger_keep]
        champion_labels = {k: v[champion_keep] for k, v in champion_labels.items()}
        challenger_labels = {k: v[challenger_keep] for k, v in challenger_labels.items()}
        if set(champion_labels) != set(challenger_labels):
            raise ValidationError(
                "challenger_segments",
                sorted(challenger_labels),
                f"the same segments as the champion's: {sorted(champion_labels)}",
            )
    for label, values in (("champion_scores", champion), ("challenger_scores", challenger)):
        if len(values) < 2:
            raise ValidationError(label, f"<{len(values)} scored families>", "at least 2 scored families")

    challenger_mean, champion_mean = float(challenger.mean()), float(champion.mean())
    checks = [
        ThresholdCheck(
            name="value_floor",
            segment=None,
            level=None,
            passed=challenger_mean >= config.value_floor,
            skipped=False,
            value=challenger_mean,
            threshold=float(config.value_floor),
            margin=challenger_mean - config.value_floor,
            p_value=float("nan"),
            p_holm=float("nan"),
            alpha=float("nan"),
            ci_low=float("nan"),
            ci_high=float("nan"),
            n_champion=len(champion),
            n_challenger=len(challenger),
            message=f"challenger mean {config.metric} {challenger_mean:.4f} vs floor {config.value_floor:.4f}",
        )
    ]
    overall_alpha = config.alpha / 2.0 if champion_labels else config.alpha
    overall = _regression(
        "overall_regression", champion, challenger, config.max_regression, paired=paired, config=config
    )
    checks.append(_finish(overall, overall["p_value"], overall_alpha))

    segment_records = []
    for segment, champion_levels in champion_labels.items():
        challenger_levels = challenger_labels[segment]
        levels = set(champion_levels.tolist()) | set(challenger_levels.tolist())
        for level in sorted(levels, key=level_sort_key):
            segment_records.append(
                _regression(
                    "segment_regression",
                    champion[champion_levels == level],
                    challenger[challenger_levels == level],
                    config.max_segment_regression,
                    paired=paired,
                    config=config,
                    segment=segment,
                    level=level,
                )
            )
    adjusted = holm_adjust([r["p_value"] for r in segment_records])
    checks.extend(_finish(r, p, config.alpha - overall_alpha) for r, p in zip(segment_records, adjusted))

    counts = (champion_rates.n_schedules, challenger_rates.n_schedules)
    checks.append(
        _rate_check(
            "invalid_rate_rise",
            champion_rates.invalid_rate,
            challenger_rates.invalid_rate,
            config.max_invalid_rate_rise,
            counts,
        )
    )
    checks.append(
        _rate_check(
            "fallback_rate_rise",
            champion_rates.fallback_rate,
            challenger_rates.fallback_rate,
            config.max_fallback_rate_rise,
            counts,
        )
    )
    return GateVerdict(
        passed=all(c.passed for c in checks),
        champion=str(names[0]),
        challenger=str(names[1]),
        test="paired t-test" if paired else "Welch's t-test",
        champion_mean=champion_mean,
        challenger_mean=challenger_mean,
        checks=tuple(checks),
        config=config,
    )


__all__ = ["CHECKS", "ArmRates", "GateConfig", "GateVerdict", "ThresholdCheck", "evaluate_gate"]
