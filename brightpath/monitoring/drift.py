"""Drift of incoming family profiles against the training population.

Evidently's data-drift preset does not import next to our pandas 3, so this module
implements its per-column logic against SciPy, with Evidently's default tests and
thresholds (``evidently.calculations.stattests``, ``_get_default_stattest``):

=====================  ====================================  =====================================
reference rows         numeric column (> 5 distinct values)  categorical, or numeric with ≤ 5 values
=====================  ====================================  =====================================
≤ 1000 ("small")       two-sample Kolmogorov–Smirnov,        chi-square goodness of fit against the
                       drift when p < 0.05                   reference shares (> 2 values) or the
                                                             two-proportion z-test (2 values),
                                                             drift when p < 0.05
> 1000 ("large")       Wasserstein-1 distance divided by     Jensen–Shannon distance (base 2) of
                       the reference std (at least 0.001),   the value shares, drift when ≥ 0.1
                       drift when ≥ 0.1
=====================  ====================================  =====================================

Every column also gets its population stability index, ``PSI = Σ (r − c)·ln(r / c)``
over Evidently's bins (Sturges bins of both samples for numeric columns with more
than 20 distinct reference values, else one bin per value; an empty bin counts as
0.0001, or a millionth of the smallest non-empty share when that is smaller), and
PSI ≥ 0.2 — the usual "significant shift" rule — is flagged. Non-finite values and
missing values are dropped per column, as Evidently does.

The dataset drifts when the share of drifting columns is ≥ 0.5 (Evidently's
``drift_share``). Two deviations, both for robustness: the chi-square test is
computed directly (a category the reference never showed gives p = 0 instead of
SciPy's division warning), and a column with one value in both samples has p = 1.

Alerts (``DriftReport.alerts``):

* ``dataset_drift`` (critical): the dataset drifts, as Evidently decides it.
* ``feature_drift`` (warning): one column drifts by its test **and** its PSI ≥ 0.2.
  The share rule alone misses a shift confined to a few columns (older children
  move 2 of 12); the test alone fires on noise (12 tests at p < 0.05); requiring
  both keeps the false-alarm rate of an unchanged population near zero
  (``tests/test_monitoring_drift.py`` measures it).

Monitored family columns (``profile_frame``): the 11 ``brightpath.features.PROFILE_FEATURES``
(five category scores 0–1, numeric; five per-category shares of unanswered items
0–1 in steps of 0.2, categorical; ``age_scaled`` 0–1, numeric) and ``child_age``
(years, numeric). ``drift_report`` compares any two DataFrames column by column.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from brightpath.errors import ValidationError
from brightpath.features import PROFILE_FEATURES, profile_features
from brightpath.monitoring.alerts import Alert, json_record
from brightpath.questionnaire import N_ITEMS

COLUMN_KINDS: tuple[str, ...] = ("num", "cat")
"""``num``: ordered numbers (KS / Wasserstein); ``cat``: labels (chi-square, z, Jensen–Shannon)."""

PROFILE_COLUMN_KINDS: dict[str, str] = {
    **{name: ("cat" if name.startswith("missing_") else "num") for name in PROFILE_FEATURES},
    "child_age": "num",
}
"""The monitored family columns and their kinds (module docstring)."""


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds of the drift tests; the defaults are Evidently's (module docstring).

    Attributes:
        small_reference_rows: a reference with at most this many rows is "small" (p-value tests).
        p_value_threshold: KS, chi-square and z-test: drift when p < this.
        distance_threshold: normed Wasserstein and Jensen–Shannon: drift when ≥ this.
        low_cardinality: a numeric column with at most this many distinct values is tested as categorical.
        psi_threshold: PSI at or above this is flagged.
        psi_numeric_bins_above: numeric columns with more distinct reference values than this are
            binned (Sturges) for PSI and Jensen–Shannon; others get one bin per value.
        drift_share: the dataset drifts when at least this share of columns drifts.
    """

    small_reference_rows: int = 1000
    p_value_threshold: float = 0.05
    distance_threshold: float = 0.1
    low_cardinality: int = 5
    psi_threshold: float = 0.2
    psi_numeric_bins_above: int = 20
    drift_share: float = 0.5

    def __post_init__(self) -> None:
        for name in ("small_reference_rows", "low_cardinality", "psi_numeric_bins_above"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValidationError(f"drift.{name}", value, "a whole number ≥ 1")
        for name in ("p_value_threshold", "drift_share"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 < value <= 1.0):
                raise ValidationError(f"drift.{name}", value, "a number in (0, 1]")
        for name in ("distance_threshold", "psi_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
                raise ValidationError(f"drift.{name}", value, "a positive number")


@dataclass(frozen=True)
class ColumnDrift:
    """The drift of one column.

    Attributes:
        column, kind: the column and its kind (``COLUMN_KINDS``).
        test: ``"ks"``, ``"wasserstein"``, ``"chisquare"``, ``"z"`` or ``"jensenshannon"``.
        statistic: the test's drift score: a p-value (``ks``, ``chisquare``, ``z``; drift when below
            ``threshold``) or a distance (``wasserstein`` in reference sds, ``jensenshannon`` 0–1;
            drift when at or above ``threshold``).
        statistic_kind: ``"p_value"`` or ``"distance"``.
        threshold: the test's threshold.
        drifted: whether the test says the column drifted.
        psi, psi_threshold, psi_flagged: the population stability index, its threshold, psi ≥ threshold.
        n_reference, n_current: values compared (after dropping missing ones).
        reference_mean, current_mean: the column means (None for non-numeric labels).
    """

    column: str
    kind: str
    test: str
    statistic: float
    statistic_kind: str
    threshold: float
    drifted: bool
    psi: float
    psi_threshold: float
    psi_flagged: bool
    n_reference: int
    n_current: int
    reference_mean: float | None
    current_mean: float | None

    @property
    def alerting(self) -> bool:
        """Drifted by its test and PSI-flagged: what raises a ``feature_drift`` alert."""
        return self.drifted and self.psi_flagged

    def to_dict(self) -> dict[str, Any]:
        out = json_record(self)
        out["alerting"] = self.alerting
        return out


@dataclass(frozen=True)
class DriftReport:
    """Per-column drift and the dataset verdict.

    Attributes:
        columns: one ``ColumnDrift`` per compared column, in input order.
        n_reference, n_current: rows of the two frames.
        config: the thresholds used.
    """

    columns: tuple[ColumnDrift, ...]
    n_reference: int
    n_current: int
    config: DriftConfig

    @property
    def n_drifted(self) -> int:
        return sum(c.drifted for c in self.columns)

    @property
    def share_drifted(self) -> float:
        """Share of columns whose test says they drifted, 0–1."""
        return self.n_drifted / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        """Evidently's dataset verdict: ``share_drifted ≥ drift_share``."""
        return bool(self.columns) and self.share_drifted >= self.config.drift_share

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(f"column {name!r} is not in this drift report")

    def alerts(self) -> list[Alert]:
        """``dataset_drift`` and ``feature_drift`` alerts (module docstring)."""
        out = []
        if self.dataset_drift:
            drifted = ", ".join(c.column for c in self.columns if c.drifted)
            out.append(
                Alert(
                    kind="dataset_drift",
                    severity="critical",
                    metric="share_of_drifted_columns",
                    value=self.share_drifted,
                    threshold=self.config.drift_share,
                    message=f"{self.n_drifted} of {len(self.columns)} columns drifted ({drifted})",
                )
            )
        for c in self.columns:
            if c.alerting:
                out.append(
                    Alert(
                        kind="feature_drift",
                        severity="warning",
                        metric="psi",
                        value=c.psi,
                        threshold=c.psi_threshold,
                        message=(
                            f"{c.column} drifted: {c.test} {c.statistic_kind} {c.statistic:.4g} "
                            f"(threshold {c.threshold:g}), PSI {c.psi:.3f}"
                        ),
                        labels={"column": c.column, "test": c.test},
                    )
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "n_columns": len(self.columns),
            "n_drifted": self.n_drifted,
            "share_drifted": self.share_drifted,
            "dataset_drift": self.dataset_drift,
            "config": asdict(self.config),
            "columns": [c.to_dict() for c in self.columns],
            "alerts": [a.to_dict() for a in self.alerts()],
        }


# ---------------------------------------------------------------------------
# Family profiles
# ---------------------------------------------------------------------------


def profile_frame(answers: Any, child_age: Any) -> pd.DataFrame:
    """The monitored columns of a batch of families (``PROFILE_COLUMN_KINDS``).

    Args:
        answers: ``[n, 25]`` Likert answers 1–5, 0 where missing (CONTRACTS §6).
        child_age: ``[n]`` ages in years.

    Raises:
        ValidationError: wrong shapes, non-numeric or non-finite values, answers outside 0–5.
    """
    try:
        answers = np.asarray(answers, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("answers", _describe(answers), "numbers, shape [n, 25]") from None
    if answers.ndim != 2 or answers.shape[1] != N_ITEMS:
        raise ValidationError("answers", f"<array of shape {list(answers.shape)}>", f"shape [n, {N_ITEMS}]")
    if not np.all(np.isfinite(answers)) or np.any((answers < 0) | (answers > 5)):
        raise ValidationError("answers", "<array with values outside 0–5>", "Likert 1–5, 0 where missing")
    try:
        age = np.asarray(child_age, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValidationError("child_age", _describe(child_age), "numbers, one per family") from None
    if age.shape != (len(answers),):
        raise ValidationError("child_age", f"<{age.size} values>", f"{len(answers)} ages, one per family")
    if not np.all(np.isfinite(age)):
        raise ValidationError("child_age", "<array with non-finite values>", "finite ages in years")
    features = profile_features(answers, age)
    frame = pd.DataFrame(features, columns=list(PROFILE_FEATURES))
    frame["child_age"] = age
    return frame


def family_drift(
    reference_answers: Any,
    reference_age: Any,
    current_answers: Any,
    current_age: Any,
    config: DriftConfig | None = None,
) -> DriftReport:
    """Drift of a current cohort's profiles against a reference (training) population.

    Args:
        reference_answers, reference_age: the training families (``[n_ref, 25]``, ``[n_ref]``).
        current_answers, current_age: the incoming families (``[n_cur, 25]``, ``[n_cur]``).
        config: thresholds; Evidently's defaults when None.
    """
    try:
        reference = profile_frame(reference_answers, reference_age)
    except ValidationError as err:
        raise ValidationError(f"reference_{err.field}", err.value, err.expected) from None
    try:
        current = profile_frame(current_answers, current_age)
    except ValidationError as err:
        raise ValidationError(f"current_{err.field}", err.value, err.expected) from None
    return drift_report(reference, current, PROFILE_COLUMN_KINDS, config)


# ---------------------------------------------------------------------------
# Any two frames
# ---------------------------------------------------------------------------


def drift_report(
    reference: pd.DataFrame | Mapping[str, Any],
    current: pd.DataFrame | Mapping[str, Any],
    columns: Mapping[str, str] | None = None,
    config: DriftConfig | None = None,
) -> DriftReport:
    """Evidently-style drift of ``current`` against ``reference``, column by column.

    Args:
        reference: the reference population (a DataFrame, or a mapping of equal-length columns).
        current: the population to check, with the same columns.
        columns: ``{column: "num" | "cat"}`` to compare; None: every column of ``reference``,
            numeric dtypes as ``"num"``, others as ``"cat"``.
        config: thresholds; Evidently's defaults when None.

    Raises:
        ValidationError: a column is missing, has no usable value, or a numeric column holds
            text or values whose spread overflows float64; an unknown column kind.
    """
    config = config or DriftConfig()
    reference = _frame(reference, "reference")
    current = _frame(current, "current")
    if columns is None:
        columns = {
            name: ("num" if pd.api.types.is_numeric_dtype(reference[name].dtype) else "cat")
            for name in reference.columns
        }
    results = []
    for name, kind in columns.items():
        if kind not in COLUMN_KINDS:
            raise ValidationError(f"columns[{name!r}]", kind, f"one of {COLUMN_KINDS}")
        ref = _values(reference, name, kind, "reference")
        cur = _values(current, name, kind, "current")
        if kind == "num" and not _spread_is_finite(np.concatenate([ref, cur])):
            raise ValidationError(f"reference[{name!r}]", "<values spanning beyond float64>", "numbers of sane size")
        results.append(_column_drift(name, kind, ref, cur, config))
    return DriftReport(tuple(results), len(reference), len(current), config)


def _spread_is_finite(values: np.ndarray) -> bool:
    """Whether the values' standard deviation fits in float64 (the distances and bins need it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(values.std()))


def _describe(value: Any) -> str:
    return f"<{type(value).__name__}>"


def _frame(data: Any, name: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame({k: np.asarray(v).reshape(-1) for k, v in data.items()})
        except ValueError:
            raise ValidationError(name, "<columns of different lengths>", "columns of equal length") from None
    raise ValidationError(name, _describe(data), "a pandas DataFrame or a mapping of columns")


def _values(frame: pd.DataFrame, column: str, kind: str, name: str) -> np.ndarray:
    """The column's usable values: finite numbers (float64), or non-missing labels (object) for a
    ``cat`` column that does not hold numbers."""
    where = f"{name}[{column!r}]"
    if column not in frame.columns:
        raise ValidationError(where, "<missing column>", "a column of that name")
    series = frame[column]
    numbers = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if kind == "num" or numbers:
        try:
            values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValidationError(where, "<non-numeric values>", "numbers (NaN where missing)") from None
        values = values[np.isfinite(values)]
    else:
        values = np.array([v.item() if isinstance(v, np.generic) else v for v in series.dropna()], dtype=object)
    if len(values) == 0:
        raise ValidationError(where, "<no usable values>", "at least one non-missing value")
    return values


def _column_drift(name: str, kind: str, ref: np.ndarray, cur: np.ndarray, config: DriftConfig) -> ColumnDrift:
    if ref.dtype == object or cur.dtype == object:  # labels on either side: compare both as labels
        ref, cur = ref.astype(object), cur.astype(object)
    n_values = len(_unique(_concat(ref, cur)))
    categorical = kind == "cat" or n_values <= config.low_cardinality
    if len(ref) <= config.small_reference_rows:
        if not categorical:
            test, statistic = "ks", _ks_p(ref, cur)
        elif n_values > 2:
            test, statistic = "chisquare", _chisquare_p(ref, cur)
        else:
            test, statistic = "z", _z_p(ref, cur)
        statistic_kind, threshold = "p_value", config.p_value_threshold
        drifted = statistic < threshold
    else:
        if not categorical:
            test, statistic = "wasserstein", _wasserstein_normed(ref, cur)
        else:
            test, statistic = "jensenshannon", _jensenshannon(*_shares(ref, cur, kind, config))
        statistic_kind, threshold = "distance", config.distance_threshold
        drifted = statistic >= threshold
    psi = _psi(*_shares(ref, cur, kind, config))
    numbers = ref.dtype != object and cur.dtype != object
    return ColumnDrift(
        column=name,
        kind=kind,
        test=test,
        statistic=float(statistic),
        statistic_kind=statistic_kind,
        threshold=float(threshold),
        drifted=bool(drifted),
        psi=float(psi),
        psi_threshold=float(config.psi_threshold),
        psi_flagged=bool(psi >= config.psi_threshold),
        n_reference=len(ref),
        n_current=len(cur),
        reference_mean=float(ref.mean()) if numbers else None,
        current_mean=float(cur.mean()) if numbers else None,
    )


def _concat(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Both samples (already of one kind: float64, or object labels)."""
    return np.concatenate([ref, cur])


def _unique(values: np.ndarray) -> list:
    """Distinct values: sorted numbers, or labels in order of appearance."""
    if values.dtype != object:
        return np.unique(values).tolist()
    return list(dict.fromkeys(values.tolist()))


def _counts(values: np.ndarray, keys: list) -> np.ndarray:
    """How often each of ``keys`` (from ``_unique`` of a superset) occurs in ``values``."""
    if values.dtype != object:
        return np.bincount(np.searchsorted(np.asarray(keys, dtype=np.float64), values), minlength=len(keys))
    index = {k: i for i, k in enumerate(keys)}
    return np.bincount([index[v] for v in values.tolist()], minlength=len(keys))


# --- the tests (scipy) -----------------------------------------------------


def _ks_p(ref: np.ndarray, cur: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    with warnings.catch_warnings():
        # SciPy falls back from the exact to the asymptotic p-value for some sample sizes and says so.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(ks_2samp(ref, cur).pvalue)


def _wasserstein_normed(ref: np.ndarray, cur: np.ndarray) -> float:
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))


def _chisquare_p(ref: np.ndarray, cur: np.ndarray) -> float:
    """Chi-square of the current counts against the reference shares scaled to the current size."""
    from scipy.stats import chi2

    keys = _unique(_concat(ref, cur))
    observed = _counts(cur, keys).astype(np.float64)
    expected = _counts(ref, keys) * (len(cur) / len(ref))
    if np.any((expected == 0) & (observed > 0)):
        return 0.0  # the current sample shows a value the reference never did
    seen = expected > 0
    if seen.sum() < 2:
        return 1.0
    statistic = float((((observed - expected) ** 2)[seen] / expected[seen]).sum())
    return float(chi2.sf(statistic, int(seen.sum()) - 1))


def _z_p(ref: np.ndarray, cur: np.ndarray) -> float:
    """Two-proportion z-test of the share of the first (sorted) value; p = 1 for one shared value."""
    from scipy.stats import norm

    keys = _unique(_concat(ref, cur))
    if len(keys) < 2:
        return 1.0
    try:
        first = min(keys)
    except TypeError:
        first = min(keys, key=str)
    p1 = float(np.mean(ref != first))
    p2 = float(np.mean(cur != first))
    pooled = (p1 * len(ref) + p2 * len(cur)) / (len(ref) + len(cur))
    z = (p1 - p2) / math.sqrt(pooled * (1.0 - pooled) * (1.0 / len(ref) + 1.0 / len(cur)))
    return float(2.0 * norm.sf(abs(z)))


def _shares(ref: np.ndarray, cur: np.ndarray, kind: str, config: DriftConfig) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's bins: Sturges bins for many-valued numeric columns, else one bin per value."""
    if kind == "num" and len(np.unique(ref)) > config.psi_numeric_bins_above:
        both = np.concatenate([ref, cur])
        low, high = float(both.min()), float(both.max())
        # Bin edges from unit-scaled values: the same bins, without float64 overflow for huge spans.
        edges = np.histogram_bin_edges((both - low) / (high - low), bins="sturges")
        ref_counts = np.histogram((ref - low) / (high - low), edges)[0]
        cur_counts = np.histogram((cur - low) / (high - low), edges)[0]
    else:
        keys = _unique(_concat(ref, cur))
        ref_counts, cur_counts = _counts(ref, keys), _counts(cur, keys)
    return ref_counts / len(ref), cur_counts / len(cur)


def _jensenshannon(ref_shares: np.ndarray, cur_shares: np.ndarray) -> float:
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(ref_shares, cur_shares, base=2.0))


def _fill_empty(shares: np.ndarray) -> np.ndarray:
    smallest = shares[shares > 0].min()
    return np.where(shares > 0, shares, smallest / 1e6 if smallest <= 1e-4 else 1e-4)


def _psi(ref_shares: np.ndarray, cur_shares: np.ndarray) -> float:
    ref_shares, cur_shares = _fill_empty(ref_shares), _fill_empty(cur_shares)
    return float(np.sum((ref_shares - cur_shares) * np.log(ref_shares / cur_shares)))


__all__ = [
    "COLUMN_KINDS",
    "PROFILE_COLUMN_KINDS",
    "ColumnDrift",
    "DriftConfig",
    "DriftReport",
    "drift_report",
    "family_drift",
    "profile_frame",
]
