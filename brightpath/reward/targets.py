"""Training targets of the reward model: what a family's feedback says about a schedule.

Three targets in [0, 1] (``TARGET_NAMES``): satisfaction, engagement, effectiveness.
They are read from the feedback the family gave (``feedback.FEEDBACK_COLUMNS``),
never from the simulator's hidden truth, and each is a reliability-weighted mean of
the signals that bear on it:

==========================  ===========================================  ==========================
signal (0–1)                from                                         feeds
==========================  ===========================================  ==========================
``likert_<target>``         Likert item 1–5 → (x − 1) / 4 (explicit)     its own target (reference)
``stars``                   1–5 stars → (x − 1) / 4 (explicit)           all three
``sentiment``               VADER compound of the comment, −1..1 → 0–1   satisfaction, engagement
``completion_rate``         share of planned blocks done (implicit)      engagement, effectiveness
``adherence``               share of the week run as planned (implicit)  satisfaction, effectiveness
``adjustments``             exp(−n_adjustments / 3) (implicit)           satisfaction
==========================  ===========================================  ==========================

Implicit signals do not sit on the rating scale (a completion rate of 0.7 is not a
rating of 0.7), so each signal is calibrated to its target's Likert item, the
family's own explicit answer, by a least-squares line fitted on training rows that
have both (``fit_calibration``). Its weight is its signal-to-noise ratio against that
item, ``r² / (1 − r²)`` with ``r`` their correlation, capped at the Likert item's own
weight of 1. A missing signal simply drops out of the mean (the others are
reweighted), so a family that left no rating still yields targets from what it did
in the app. The summed weight of the signals present is the row's sample weight:
a row backed by a rating and a comment counts more than one backed by adherence
alone, and a row with no signal for a target has weight 0.

``DEFAULT_CALIBRATION`` (identity lines, explicit signals weight 1, implicit 0.5)
serves before any fit; a trained reward model stores its fitted calibration so
``brightpath.inference.evaluate_schedule`` reads new feedback the same way.

Two ways to fit the lines (``CALIBRATION_METHODS``, ``fit_calibration(method=...)``):

* ``"regression"`` (the default): the least-squares line of the Likert item on the signal,
  ``E[item | signal]``, weighted ``r² / (1 − r²)``. Because the signal is noisy, the line is
  attenuated towards the mean of the rows it was fitted on (regression to the mean): a week
  far better than the logged ones is read as less good than it is. Measured on the default
  dataset's calibration, 2,000 fresh families, simulated feedback: the satisfaction target
  averages 0.771 on the oracle's weeks whose hidden satisfaction averages 0.853 (the Likert
  item alone: 0.848), and 0.636 vs 0.663 on the expert's; the reward model learns that
  pessimism (its proxy − true gap on PPO's weeks).
* ``"latent"``: a one-factor (congeneric) measurement model. Each signal is read as
  ``signal = a + b·T + noise`` and the Likert item as ``T + noise`` with independent noises,
  ``T`` the target on the item's scale. The variance of ``T`` is identified by triads,
  ``cov(item, s_i)·cov(item, s_j) / cov(s_i, s_j)`` (the median over pairs of signals, robust
  to a pair whose noises are correlated, such as stars and the comment's sentiment); then
  ``b = cov(item, s) / var(T)``, and the calibrated signal ``(s − a) / b`` is unbiased for
  ``T`` instead of shrunk towards the mean. Its weight is its noise variance relative to the
  item's, ``(var(item) − var(T)) / (var(s)/b² − var(T))``, capped at 1 (inverse-variance
  weighting of unbiased readings). Same measurement as above: 0.851 vs 0.853 on the oracle's
  weeks, 0.666 vs 0.663 on the expert's. A target with fewer than two usable signals besides
  its item keeps the regression lines. The model holds best for satisfaction, whose signals all
  measure it; engagement and effectiveness also take signals of satisfaction (stars, the
  comment, adherence), which load on them only through the targets' correlation, so weeks
  chosen for their satisfaction read a little high there (+0.02 on engagement in
  ``tests/test_loop_calibration.py``; regression reads them 0.03–0.05 low).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.feedback import FEEDBACK_COLUMNS, LIKERT_MAX, LIKERT_MIN

TARGET_NAMES: tuple[str, ...] = ("satisfaction", "engagement", "effectiveness")
N_TARGETS = len(TARGET_NAMES)

SIGNAL_NAMES: tuple[str, ...] = (
    "likert_satisfaction",
    "likert_engagement",
    "likert_effectiveness",
    "stars",
    "sentiment",
    "completion_rate",
    "adherence",
    "adjustments",
)
TARGET_SIGNALS: dict[str, tuple[str, ...]] = {
    # The first signal of each target is its reference: the explicit Likert item.
    "satisfaction": ("likert_satisfaction", "stars", "sentiment", "adherence", "adjustments"),
    "engagement": ("likert_engagement", "stars", "sentiment", "completion_rate"),
    "effectiveness": ("likert_effectiveness", "stars", "completion_rate", "adherence"),
}
EXPLICIT_SIGNALS = frozenset({"likert_satisfaction", "likert_engagement", "likert_effectiveness", "stars"})
ADJUSTMENT_SCALE = 3.0
"""Adjustments after which the 'no adjustments needed' signal has fallen to 1/e; a week needing
three or more changes is one the family fought with."""
MIN_FIT_ROWS = 30
"""Fewer rows with both a signal and its reference than this: keep the default line for it."""
MAX_WEIGHT = 1.0
"""A signal's weight cap: the family's own explicit Likert answer counts 1."""
DEFAULT_IMPLICIT_WEIGHT = 0.5
CALIBRATION_METHODS: tuple[str, ...] = ("regression", "latent")
"""How ``fit_calibration`` fits the lines (module docstring)."""


@dataclass(frozen=True)
class SignalCalibration:
    """``calibrated = clip(intercept + slope · signal, 0, 1)``, counted with ``weight`` ≥ 0."""

    slope: float = 1.0
    intercept: float = 0.0
    weight: float = 1.0


@dataclass(frozen=True)
class FeedbackCalibration:
    """How each signal reads onto each target: ``lines[target][signal]`` (see the module docstring)."""

    lines: Mapping[str, Mapping[str, SignalCalibration]]

    def to_dict(self) -> dict[str, dict[str, dict[str, float]]]:
        """Plain JSON-able form, as stored in a reward model's ``brightpath_model.json``."""
        return {
            t: {s: {"slope": c.slope, "intercept": c.intercept, "weight": c.weight} for s, c in lines.items()}
            for t, lines in self.lines.items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeedbackCalibration:
        """Inverse of ``to_dict``; ``ValidationError`` naming the entry that is malformed."""
        lines: dict[str, dict[str, SignalCalibration]] = {}
        for target in TARGET_NAMES:
            entries = data.get(target) if isinstance(data, Mapping) else None
            if not isinstance(entries, Mapping):
                raise ValidationError(f"target_calibration.{target}", entries, "a mapping of signal calibrations")
            lines[target] = {}
            for signal in TARGET_SIGNALS[target]:
                entry = entries.get(signal)
                try:
                    calibration = SignalCalibration(*(float(entry[k]) for k in ("slope", "intercept", "weight")))
                except (TypeError, KeyError, ValueError):
                    raise ValidationError(
                        f"target_calibration.{target}.{signal}", entry, "{'slope', 'intercept', 'weight'} numbers"
                    ) from None
                if not all(map(math.isfinite, (calibration.slope, calibration.intercept))) or not (
                    0.0 <= calibration.weight <= MAX_WEIGHT
                ):
                    raise ValidationError(
                        f"target_calibration.{target}.{signal}",
                        entry,
                        f"finite slope and intercept, weight in [0, {MAX_WEIGHT}]",
                    )
                lines[target][signal] = calibration
        return cls(lines)


DEFAULT_CALIBRATION = FeedbackCalibration(
    {
        target: {
            signal: SignalCalibration(weight=1.0 if signal in EXPLICIT_SIGNALS else DEFAULT_IMPLICIT_WEIGHT)
            for signal in signals
        }
        for target, signals in TARGET_SIGNALS.items()
    }
)


@functools.lru_cache(maxsize=1)
def _vader():
    # Imported here: only feedback with a comment needs it, and loading the lexicon takes a moment.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_scores(comments) -> np.ndarray:
    """VADER compound sentiment of each comment mapped from −1..1 to 0–1; NaN where there is no text.

    Args:
        comments: a sequence of ``str`` or missing values (None, NaN, empty text).
    """
    comments = list(comments)
    out = np.full(len(comments), np.nan)
    texts = {c for c in comments if isinstance(c, str) and c.strip()}
    if not texts:
        return out
    # Comments repeat (templates, "Love it!"), so each distinct text is scored once.
    scores = {text: (_vader().polarity_scores(text)["compound"] + 1.0) / 2.0 for text in texts}
    for i, comment in enumerate(comments):
        if isinstance(comment, str) and comment in scores:
            out[i] = scores[comment]
    return out


def _column(feedback: Any, name: str, n: int) -> np.ndarray:
    """Column ``name`` of a DataFrame or mapping as float64 ``[n]``; all-NaN when absent."""
    if name not in feedback or feedback[name] is None:
        return np.full(n, np.nan)
    try:
        values = np.asarray(feedback[name], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValidationError(name, feedback[name], "numbers (NaN or None where missing)") from None
    if values.shape != (n,):
        raise ValidationError(name, f"<{values.size} values>", f"{n} values, one per row")
    return values


def _rows(feedback: Any) -> int:
    """The number of rows of a feedback table; its columns must agree."""
    lengths = {
        len(np.asarray(feedback[name], dtype=object).reshape(-1))
        for name in FEEDBACK_COLUMNS
        if name in feedback and feedback[name] is not None
    }
    if len(lengths) > 1:
        raise ValidationError("feedback", f"<columns of lengths {sorted(lengths)}>", "columns of equal length")
    return lengths.pop() if lengths else 0


def _check_range(values: np.ndarray, name: str, low: float, high: float) -> None:
    bad = ~np.isnan(values) & ((values < low) | (values > high))
    if bad.any():
        raise ValidationError(name, float(values[bad][0]), f"a number in [{low:g}, {high:g}] or missing")


def feedback_signals(feedback: Any) -> dict[str, np.ndarray]:
    """Every signal of ``SIGNAL_NAMES`` on its raw 0–1 scale, float64 ``[n]``, NaN where not observed.

    Args:
        feedback: a DataFrame or a mapping of equal-length columns named as
            ``feedback.FEEDBACK_COLUMNS`` (any subset): ``stars`` and ``likert_*`` 1–5,
            ``comment`` text, ``completion_rate`` and ``adherence`` 0–1,
            ``n_adjustments`` ≥ 0; NaN/None for missing values.

    Raises:
        ValidationError: a value out of range or not a number, naming the column.
    """
    n = _rows(feedback)
    signals: dict[str, np.ndarray] = {}
    for name in ("stars", "likert_satisfaction", "likert_engagement", "likert_effectiveness"):
        raw = _column(feedback, name, n)
        _check_range(raw, name, LIKERT_MIN, LIKERT_MAX)
        signals[name] = (raw - LIKERT_MIN) / (LIKERT_MAX - LIKERT_MIN)
    comments = feedback["comment"] if "comment" in feedback and feedback["comment"] is not None else [None] * n
    comments = list(np.asarray(comments, dtype=object).reshape(-1))
    for i, comment in enumerate(comments):
        missing = comment is None or (isinstance(comment, float) and np.isnan(comment))
        if not missing and not isinstance(comment, str):
            raise ValidationError(f"comment[{i}]", comment, "text or None")
    signals["sentiment"] = sentiment_scores(comments)
    for name in ("completion_rate", "adherence"):
        signals[name] = _column(feedback, name, n)
        _check_range(signals[name], name, 0.0, 1.0)
    adjustments = _column(feedback, "n_adjustments", n)
    _check_range(adjustments, "n_adjustments", 0.0, np.inf)
    signals["adjustments"] = np.exp(-adjustments / ADJUSTMENT_SCALE)
    return signals


def fit_calibration(feedback: Any, method: str = "regression") -> FeedbackCalibration:
    """Fit each signal's line and weight against its target's Likert item (module docstring).

    Args:
        feedback: training rows only (a DataFrame or mapping of ``FEEDBACK_COLUMNS``).
        method: ``"regression"`` (least squares of the item on the signal) or ``"latent"``
            (the one-factor measurement model), see ``CALIBRATION_METHODS``.

    Raises:
        ValidationError: an unknown ``method``, or feedback out of range (naming the column).
    """
    if method not in CALIBRATION_METHODS:
        raise ValidationError("method", method, f"one of {', '.join(CALIBRATION_METHODS)}")
    signals = feedback_signals(feedback)
    lines: dict[str, dict[str, SignalCalibration]] = {}
    for target, names in TARGET_SIGNALS.items():
        lines[target] = _regression_lines(signals, target)
        if method == "latent":
            lines[target].update(_latent_lines(signals, names))
    return FeedbackCalibration(lines)


def _pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows where both signals were observed."""
    both = ~np.isnan(x) & ~np.isnan(y)
    return x[both], y[both]


def _covariance(x: np.ndarray, y: np.ndarray) -> float:
    """Sample covariance over the rows observing both; NaN with fewer than ``MIN_FIT_ROWS`` such rows."""
    x, y = _pairs(x, y)
    return float(np.cov(x, y)[0, 1]) if len(x) >= MIN_FIT_ROWS else math.nan


def _regression_lines(signals: dict[str, np.ndarray], target: str) -> dict[str, SignalCalibration]:
    """``"regression"`` lines of one target: the item's least-squares line on each signal."""
    names = TARGET_SIGNALS[target]
    reference = signals[names[0]]
    lines = {names[0]: SignalCalibration()}
    for name in names[1:]:
        x, y = _pairs(signals[name], reference)
        if len(x) < MIN_FIT_ROWS or x.std() == 0 or y.std() == 0:
            lines[name] = DEFAULT_CALIBRATION.lines[target][name]
            continue
        slope, intercept = np.polyfit(x, y, 1)
        r2 = float(np.corrcoef(x, y)[0, 1] ** 2)
        weight = min(r2 / max(1.0 - r2, 1e-6), MAX_WEIGHT) if slope > 0 else 0.0
        lines[name] = SignalCalibration(float(slope), float(intercept), float(weight))
    return lines


def _latent_lines(signals: dict[str, np.ndarray], names: tuple[str, ...]) -> dict[str, SignalCalibration]:
    """``"latent"`` lines of one target (module docstring); {} when the variance of the target cannot be
    identified (fewer than two signals covarying positively with the item and with each other)."""
    reference = signals[names[0]]
    item_cov = {name: _covariance(reference, signals[name]) for name in names[1:]}
    usable = [name for name, c in item_cov.items() if c > 0]
    triads = []
    for i, first in enumerate(usable):
        for second in usable[i + 1 :]:
            between = _covariance(signals[first], signals[second])
            if between > 0:
                triads.append(item_cov[first] * item_cov[second] / between)
    if not triads:
        return {}
    latent_variance = float(np.median(triads))
    item_noise = max(float(np.nanvar(reference)) - latent_variance, 0.0)
    lines = {}
    for name in names[1:]:
        if name not in usable:
            lines[name] = SignalCalibration(1.0, 0.0, 0.0)
            continue
        signal, item = _pairs(signals[name], reference)
        loading = item_cov[name] / latent_variance
        offset = float(signal.mean()) - loading * float(item.mean())
        noise = float(np.nanvar(signals[name])) / loading**2 - latent_variance
        weight = MAX_WEIGHT if noise <= 0 else min(item_noise / noise, MAX_WEIGHT)
        lines[name] = SignalCalibration(1.0 / loading, -offset / loading, float(weight))
    return lines


@dataclass(frozen=True)
class Targets:
    """Observed targets per row: ``values`` float32 ``[n, 3]`` in [0, 1] (NaN where no signal) and
    ``weights`` float32 ``[n, 3]`` ≥ 0 (0 where no signal), columns in ``TARGET_NAMES`` order."""

    values: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def take(self, index) -> Targets:
        return Targets(self.values[index], self.weights[index])


def feedback_targets(feedback: Any, calibration: FeedbackCalibration = DEFAULT_CALIBRATION) -> Targets:
    """Observed satisfaction, engagement and effectiveness of each feedback row (module docstring).

    Args:
        feedback: a DataFrame or mapping of ``FEEDBACK_COLUMNS`` columns (any subset).
        calibration: ``fit_calibration`` on the training rows, or the default.
    """
    signals = feedback_signals(feedback)
    n = len(next(iter(signals.values())))
    values = np.full((n, N_TARGETS), np.nan, dtype=np.float32)
    weights = np.zeros((n, N_TARGETS), dtype=np.float32)
    for j, target in enumerate(TARGET_NAMES):
        total = np.zeros(n)
        weighted = np.zeros(n)
        for name, line in calibration.lines[target].items():
            signal = signals[name]
            present = ~np.isnan(signal)
            calibrated = np.clip(line.intercept + line.slope * np.where(present, signal, 0.0), 0.0, 1.0)
            w = np.where(present, line.weight, 0.0)
            weighted += w * calibrated
            total += w
        observed = total > 0
        values[observed, j] = weighted[observed] / total[observed]
        weights[:, j] = total
    return Targets(values, weights)


__all__ = [
    "CALIBRATION_METHODS",
    "DEFAULT_CALIBRATION",
    "FeedbackCalibration",
    "N_TARGETS",
    "SIGNAL_NAMES",
    "SignalCalibration",
    "TARGET_NAMES",
    "TARGET_SIGNALS",
    "Targets",
    "feedback_signals",
    "feedback_targets",
    "fit_calibration",
    "sentiment_scores",
]
