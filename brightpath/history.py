"""A family's weekly history as a deployed system sees it: one token per lived week, and a running summary.

A week's *token* is what was served and what came back: the schedule parameters (action
units, [-1, 1]), the week's date features (``temporal.WEEK_FEATURES``), the observable
feedback (``simulator.weekly.WeekFeedback``) with a flag for each observed signal (a
missing value is 0 with its flag 0, never NaN), the adjustment kind one-hot, and a
``lived`` flag (1 for a real week; padding is all zeros). The *summary* is a fixed-size
digest of any number of tokens: running means of the feedback over the weeks it was
observed, how often each signal was observed and each adjustment kind was made.

The multi-week environment (``envs.weeks_env``) builds its observations from these, a
history-aware reward model reads them, and an exported generator's history input is
the same tokens, so every consumer encodes a week one way.

=====================  ================================  ======  =====
token features         meaning                           min     max
=====================  ================================  ======  =====
``param_<name>`` (7)   served parameters, action units   -1      1
date (8)               ``temporal.WEEK_FEATURES``        -1/0    1
``stars``              (stars − 1) / 4                   0       1
``likert_<item>`` (3)  (answer − 1) / 4                  0       1
``sentiment``          VADER reading of the comment      0       1
``completion_rate``    share of planned blocks done      0       1
``adherence``          share of the week run as planned  0       1
``adjustments``        min(count, 10) / 10               0       1
``<signal>_observed``  1 when the signal above was seen  0       1
(6)                    (stars, 3 Likert, comment, app)
``kind_<kind>`` (16)   one-hot ``ADJUSTMENT_KINDS``      0       1
                       (all 0 when the app was unused)
``lived``              1 for a lived week, 0 = padding   0       1
=====================  ================================  ======  =====
"""
from __future__ import annotations

import numpy as np

from brightpath.feedback import ADJUSTMENT_KINDS, LIKERT_MAX, LIKERT_MIN
from brightpath.schedule import N_PARAMS, PARAM_NAMES
from brightpath.simulator.weekly import WeekFeedback
from brightpath.temporal import (
    N_WEEK_FEATURES,
    WEEK_FEATURE_HIGH,
    WEEK_FEATURE_LOW,
    WEEK_FEATURES,
)

FEEDBACK_VALUES: tuple[str, ...] = (
    "stars", "likert_satisfaction", "likert_engagement", "likert_effectiveness", "sentiment", "completion_rate",
    "adherence", "adjustments",
)
"""Feedback values of a token, each 0–1 (0 when not observed)."""
OBSERVED_FLAGS: tuple[str, ...] = (
    "stars_observed", "likert_satisfaction_observed", "likert_engagement_observed", "likert_effectiveness_observed",
    "comment_observed", "app_used",
)
"""Which signals were observed: stars, each Likert item, a comment (→ sentiment), app use (→ completion,
adherence, adjustments)."""
ADJUSTMENT_CAP = 10
"""Adjustment counts are clipped here before scaling to 0–1."""

TOKEN_FEATURES: tuple[str, ...] = (
    tuple(f"param_{name}" for name in PARAM_NAMES) + WEEK_FEATURES + FEEDBACK_VALUES + OBSERVED_FLAGS
    + tuple(f"kind_{kind}" for kind in ADJUSTMENT_KINDS) + ("lived",)
)
TOKEN_DIM = len(TOKEN_FEATURES)
TOKEN_INDEX: dict[str, int] = {name: i for i, name in enumerate(TOKEN_FEATURES)}
PARAM_SLICE = slice(0, N_PARAMS)
DATE_SLICE = slice(N_PARAMS, N_PARAMS + N_WEEK_FEATURES)
VALUE_SLICE = slice(DATE_SLICE.stop, DATE_SLICE.stop + len(FEEDBACK_VALUES))
FLAG_SLICE = slice(VALUE_SLICE.stop, VALUE_SLICE.stop + len(OBSERVED_FLAGS))
KIND_SLICE = slice(FLAG_SLICE.stop, FLAG_SLICE.stop + len(ADJUSTMENT_KINDS))
LIVED_INDEX = KIND_SLICE.stop
TOKEN_LOW = np.concatenate([-np.ones(N_PARAMS), WEEK_FEATURE_LOW, np.zeros(TOKEN_DIM - DATE_SLICE.stop)]).astype(
    np.float32)
TOKEN_HIGH = np.concatenate([np.ones(N_PARAMS), WEEK_FEATURE_HIGH, np.ones(TOKEN_DIM - DATE_SLICE.stop)]).astype(
    np.float32)

# Which flag each feedback value waits for (stars … sentiment: their own; completion, adherence,
# adjustments: app use).
_VALUE_FLAG = np.array([0, 1, 2, 3, 4, 5, 5, 5])

SUMMARY_FEATURES: tuple[str, ...] = (
    ("weeks_lived",) + tuple(f"mean_{name}" for name in FEEDBACK_VALUES)
    + tuple(f"share_{flag}" for flag in OBSERVED_FLAGS) + tuple(f"share_kind_{kind}" for kind in ADJUSTMENT_KINDS)
)
"""The running summary (``summarize_history``), each 0–1: ``weeks_lived`` (lived weeks / capacity);
``mean_<value>`` the mean of a feedback value over the weeks it was observed (0 before any);
``share_<flag>`` the share of lived weeks it was observed; ``share_kind_<kind>`` the share of
weeks with app use whose main adjustment was that kind."""
SUMMARY_DIM = len(SUMMARY_FEATURES)


def _on_unit(likert: np.ndarray) -> np.ndarray:
    return (likert - LIKERT_MIN) / (LIKERT_MAX - LIKERT_MIN)


def encode_weeks(unit_params: np.ndarray, date_features: np.ndarray, feedback: WeekFeedback) -> np.ndarray:
    """Tokens ``float32 [n, TOKEN_DIM]`` of ``n`` lived weeks (``TOKEN_FEATURES``).

    Args:
        unit_params: ``[n, N_PARAMS]`` the served parameters in action units (``schedule.params_to_unit``).
        date_features: ``[n, N_WEEK_FEATURES]`` the weeks' ``temporal.week_features``.
        feedback: what the families reported after those weeks.
    """
    n = len(feedback)
    values = np.column_stack([
        _on_unit(feedback.stars), _on_unit(feedback.likert_satisfaction), _on_unit(feedback.likert_engagement),
        _on_unit(feedback.likert_effectiveness), feedback.sentiment, feedback.completion_rate, feedback.adherence,
        np.minimum(feedback.n_adjustments, ADJUSTMENT_CAP) / ADJUSTMENT_CAP,
    ])
    app = feedback.app_used
    flags = np.column_stack([~np.isnan(values[:, :5]), app])
    kinds = np.zeros((n, len(ADJUSTMENT_KINDS)))
    kinds[np.flatnonzero(app), feedback.adjustment_kind[app]] = 1.0
    return np.concatenate([
        np.asarray(unit_params, dtype=np.float64).reshape(n, N_PARAMS), np.asarray(date_features).reshape(n, -1),
        np.nan_to_num(values, nan=0.0), flags, kinds, np.ones((n, 1)),
    ], axis=1).astype(np.float32)


def summarize_history(tokens: np.ndarray, capacity: int | None = None) -> np.ndarray:
    """The running summary ``float32 [n, SUMMARY_DIM]`` (``SUMMARY_FEATURES``) of token histories.

    Args:
        tokens: ``[n, T, TOKEN_DIM]`` each family's lived weeks, padding rows all zeros.
        capacity: weeks that ``weeks_lived`` is a share of; default ``T``.
    """
    tokens = np.asarray(tokens, dtype=np.float64)
    lived = tokens[:, :, LIVED_INDEX].sum(axis=1)
    flags = tokens[:, :, FLAG_SLICE]
    flag_counts = flags.sum(axis=1)
    value_sums = tokens[:, :, VALUE_SLICE].sum(axis=1)
    value_counts = flag_counts[:, _VALUE_FLAG]
    kind_counts = tokens[:, :, KIND_SLICE].sum(axis=1)
    app_weeks = flag_counts[:, -1:]
    capacity = tokens.shape[1] if capacity is None else capacity
    return np.concatenate([
        (lived / max(capacity, 1))[:, None],
        value_sums / np.maximum(value_counts, 1.0),
        flag_counts / np.maximum(lived, 1.0)[:, None],
        kind_counts / np.maximum(app_weeks, 1.0),
    ], axis=1).astype(np.float32)


__all__ = [
    "ADJUSTMENT_CAP", "DATE_SLICE", "FEEDBACK_VALUES", "FLAG_SLICE", "KIND_SLICE", "LIVED_INDEX", "OBSERVED_FLAGS",
    "PARAM_SLICE", "SUMMARY_DIM", "SUMMARY_FEATURES", "TOKEN_DIM", "TOKEN_FEATURES", "TOKEN_HIGH", "TOKEN_INDEX",
    "TOKEN_LOW", "VALUE_SLICE", "encode_weeks", "summarize_history",
]
