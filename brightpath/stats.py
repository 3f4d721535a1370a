"""General statistics for comparing scores: t-tests, bootstrap confidence intervals, Holm's correction.

The t-tests are vectorised over leading axes. Degenerate samples are handled
without NaN or warnings: zero variance with equal means (a generator against
itself) gives t = 0, p = 1; zero variance with different means gives t = ±inf,
p = 0. A standard deviation at float round-off of the values' size counts as zero
(``sample_sd``). The A/B tests (``brightpath.abtest``) are built on these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ALPHA = 0.05
N_BOOTSTRAP = 2000
CI_LEVEL = 0.95
_BOOTSTRAP_CHUNK_ELEMENTS = 4_000_000  # resampled values held in memory at once (~32 MB of float64)
# A standard deviation below this share of the values' size is float round-off, not variance:
# (a + 0.1) - a differs from 0.1 in the last bits, which would otherwise give t ~ 1e17.
_ROUND_OFF = 64 * np.finfo(np.float64).eps


def _t_pvalue(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    from scipy.stats import t as t_dist

    return np.clip(2.0 * t_dist.sf(np.abs(t), df), 0.0, 1.0)


def signed_ratio(numerator: np.ndarray, se: np.ndarray) -> np.ndarray:
    """``numerator / se``, with ``se == 0`` mapped to 0 (no difference) or ±inf (a certain one)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = numerator / np.where(se > 0, se, 1.0)
    return np.where(se > 0, t, np.where(numerator == 0, 0.0, np.where(numerator > 0, np.inf, -np.inf)))


def sample_sd(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Sample sd (ddof 1) along the last axis, 0 where it is float round-off of values of size ``scale``."""
    sd = x.std(axis=-1, ddof=1)
    return np.where(sd <= _ROUND_OFF * scale, 0.0, sd)


def paired_t(a: np.ndarray, b: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired t-test of ``a`` vs ``b`` along ``axis``: ``(t, df, p)``, vectorised over the other axes.

    Matches ``scipy.stats.ttest_rel`` where the differences vary; see the module
    docstring for zero variance (differences equal up to float round-off).
    """
    a = np.moveaxis(np.asarray(a, np.float64), axis, -1)
    b = np.moveaxis(np.asarray(b, np.float64), axis, -1)
    if a.shape != b.shape:
        raise ValueError(f"a, b: paired samples must have the same shape, got {list(a.shape)} and {list(b.shape)}")
    n = a.shape[-1]
    if n < 2:
        raise ValueError(f"a, b: a paired t-test needs at least 2 pairs, got {n}")
    d = a - b
    sd = sample_sd(d, np.maximum(np.abs(a).max(axis=-1), np.abs(b).max(axis=-1)))
    t = signed_ratio(d.mean(axis=-1), sd / math.sqrt(n))
    df = np.full_like(t, n - 1.0)
    return t, df, _t_pvalue(t, df)


def welch_t(a: np.ndarray, b: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's unequal-variance t-test along ``axis``: ``(t, df, p)``; matches
    ``scipy.stats.ttest_ind(equal_var=False)`` where a variance is positive."""
    a = np.moveaxis(np.asarray(a, np.float64), axis, -1)
    b = np.moveaxis(np.asarray(b, np.float64), axis, -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na < 2 or nb < 2:
        raise ValueError(f"a, b: Welch's t-test needs at least 2 values per arm, got {na} and {nb}")
    va = sample_sd(a, np.abs(a).max(axis=-1)) ** 2 / na
    vb = sample_sd(b, np.abs(b).max(axis=-1)) ** 2 / nb
    total = va + vb
    t = signed_ratio(a.mean(axis=-1) - b.mean(axis=-1), np.sqrt(total))
    with np.errstate(divide="ignore", invalid="ignore"):
        welch_df = total**2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    # Both variances zero: Welch–Satterthwaite is 0/0; the pooled df is as good as any (p is 0 or 1).
    df = np.where(total > 0, welch_df, float(na + nb - 2))
    return t, df, _t_pvalue(t, df)


def bootstrap_ci(
    a: np.ndarray,
    b: np.ndarray | None = None,
    *,
    paired: bool = True,
    seed: int = 0,
    n_bootstrap: int = N_BOOTSTRAP,
    level: float = CI_LEVEL,
) -> tuple[float, float]:
    """Percentile-bootstrap CI of ``mean(a)`` (``b`` None) or of ``mean(a) − mean(b)``.

    Args:
        paired: resample per-family differences ``a − b`` (same length) rather than each arm.
        seed: the resampling RNG's seed (``np.random.default_rng``); the CI repeats for a seed.
        n_bootstrap: resamples, ≥ 100.
        level: coverage in (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a coverage in (0, 1), got {level!r}")
    if int(n_bootstrap) < 100:
        raise ValueError(f"n_bootstrap: expected at least 100 resamples, got {n_bootstrap!r}")
    rng = np.random.default_rng(seed)
    a = np.asarray(a, np.float64).reshape(-1)
    if b is not None and paired:
        b = np.asarray(b, np.float64).reshape(-1)
        if len(a) != len(b):
            raise ValueError(f"a, b: paired samples must have the same length, got {len(a)} and {len(b)}")
        a, b = a - b, None
    arms = [a] if b is None else [a, np.asarray(b, np.float64).reshape(-1)]
    if any(len(x) == 0 for x in arms):
        raise ValueError("a, b: the bootstrap needs at least one value per arm")
    stats = np.zeros(int(n_bootstrap))
    for sign, x in zip((1.0, -1.0), arms):
        chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // len(x))
        for lo in range(0, len(stats), chunk):
            hi = min(lo + chunk, len(stats))
            stats[lo:hi] += sign * x[rng.integers(0, len(x), (hi - lo, len(x)))].mean(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(stats, [tail, 100.0 - tail])
    return float(low), float(high)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (family-wise error control), same order as given."""
    p = np.asarray(p_values, np.float64)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


__all__ = [
    "ALPHA",
    "CI_LEVEL",
    "N_BOOTSTRAP",
    "bootstrap_ci",
    "holm",
    "paired_t",
    "sample_sd",
    "signed_ratio",
    "welch_t",
]
