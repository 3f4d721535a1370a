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

import functools

import numpy as np

from brightpath.feedback import ADJUSTMENT_KINDS, LIKERT_MAX, LIKERT_MIN
from brightpath.schedule import N_PARAMS, PARAM_NAMES
from brightpath.simulator.weekly import WeekFeedback
from brightpath.temporal import N_WEEK_FEATURES, WEEK_FEATURE_HIGH, WEEK_FEATURE_LOW, WEEK_FEATURES

FEEDBACK_VALUES: tuple[str, ...] = (
    "stars",
    "likert_satisfaction",
    "likert_engagement",
    "likert_effectiveness",
    "sentiment",
    "completion_rate",
    "adherence",
    "adjustments",
)
"""Feedback values of a token, each 0–1 (0 when not observed)."""
OBSERVED_FLAGS: tuple[str, ...] = (
    "stars_observed",
    "likert_satisfaction_observed",
    "likert_engagement_observed",
    "likert_effectiveness_observed",
    "comment_observed",
    "app_used",
)
"""Which signals were observed: stars, each Likert item, a comment (→ sentiment), app use (→ completion,
adherence, adjustments)."""
ADJUSTMENT_CAP = 10
"""Adjustment counts are clipped here before scaling to 0–1."""

TOKEN_FEATURES: tuple[str, ...] = (
    tuple(f"param_{name}" for name in PARAM_NAMES)
    + WEEK_FEATURES
    + FEEDBACK_VALUES
    + OBSERVED_FLAGS
    + tuple(f"kind_{kind}" for kind in ADJUSTMENT_KINDS)
    + ("lived",)
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
    np.float32
)
TOKEN_HIGH = np.concatenate([np.ones(N_PARAMS), WEEK_FEATURE_HIGH, np.ones(TOKEN_DIM - DATE_SLICE.stop)]).astype(
    np.float32
)

# Which flag each feedback value waits for (stars … sentiment: their own; completion, adherence,
# adjustments: app use).
_VALUE_FLAG = (0, 1, 2, 3, 4, 5, 5, 5)

SUMMARY_FEATURES: tuple[str, ...] = (
    ("weeks_lived",)
    + tuple(f"mean_{name}" for name in FEEDBACK_VALUES)
    + tuple(f"share_{flag}" for flag in OBSERVED_FLAGS)
    + tuple(f"share_kind_{kind}" for kind in ADJUSTMENT_KINDS)
)
"""The running summary (``summarize_history``), each 0–1: ``weeks_lived`` (lived weeks / capacity);
``mean_<value>`` the mean of a feedback value over the weeks it was observed (0 before any);
``share_<flag>`` the share of lived weeks it was observed; ``share_kind_<kind>`` the share of
weeks with app use whose main adjustment was that kind."""
SUMMARY_DIM = len(SUMMARY_FEATURES)


FEEDBACK_INPUTS: tuple[str, ...] = (
    "stars",
    "likert_satisfaction",
    "likert_engagement",
    "likert_effectiveness",
    "sentiment",
    "completion_rate",
    "adherence",
    "n_adjustments",
)
"""The raw feedback of a lived week that ``encode_tokens`` reads, in natural units: stars and the Likert
items 1–5, the comment's sentiment 0–1 (``simulator.weekly.comment_sentiment``: the reward model's
VADER reading), completion and adherence 0–1, the adjustment count ≥ 0; NaN where not observed."""
_INPUT_LOW = np.array([LIKERT_MIN] * 4 + [0.0] * 4)
_INPUT_HIGH = np.array([LIKERT_MAX] * 4 + [1.0] * 3 + [ADJUSTMENT_CAP])


def feedback_inputs(feedback: WeekFeedback) -> np.ndarray:
    """``float64 [n, 8]`` the ``FEEDBACK_INPUTS`` of ``n`` weeks' feedback (NaN where not observed)."""
    return np.column_stack(
        [
            feedback.stars,
            feedback.likert_satisfaction,
            feedback.likert_engagement,
            feedback.likert_effectiveness,
            feedback.sentiment,
            feedback.completion_rate,
            feedback.adherence,
            feedback.n_adjustments,
        ]
    )


def encode_tokens(unit_params, date_features, feedback, adjustment_kind, xp=np):
    """Tokens ``float32 [..., TOKEN_DIM]`` of lived weeks from raw arrays (any leading shape).

    Args:
        unit_params: ``[..., N_PARAMS]`` the served parameters in action units (``schedule.params_to_unit``).
        date_features: ``[..., N_WEEK_FEATURES]`` the weeks' ``temporal.week_features``.
        feedback: ``[..., 8]`` the weeks' ``FEEDBACK_INPUTS`` (NaN where not observed).
        adjustment_kind: int ``[...]`` index into ``feedback.ADJUSTMENT_KINDS``; −1 when the app was
            not used (then completion, adherence and the count are unobserved too).
        xp: the array namespace: NumPy, or ``tf_namespace.tf_namespace()`` inside an exported graph
            (``agents.export``), so both encode a week with this one definition.
    """
    values = xp.asarray(feedback)
    low, high = (xp.asarray(a, dtype=values.dtype) for a in (_INPUT_LOW, _INPUT_HIGH))
    observed = ~xp.isnan(values)
    scaled = xp.where(observed, (xp.minimum(values, high) - low) / (high - low), xp.zeros_like(values))
    kind = xp.asarray(adjustment_kind)
    app = kind >= 0
    flags = xp.concatenate([observed[..., :5], app[..., None]], axis=-1)
    one_hot = (kind[..., None] == xp.asarray(np.arange(len(ADJUSTMENT_KINDS)), dtype=kind.dtype)) & app[..., None]
    as_float = functools.partial(xp.asarray, dtype=values.dtype)
    return xp.asarray(
        xp.concatenate(
            [
                as_float(unit_params),
                as_float(date_features),
                scaled,
                as_float(flags),
                as_float(one_hot),
                xp.ones_like(scaled[..., :1]),
            ],
            axis=-1,
        ),
        dtype=np.float32,
    )


def encode_weeks(unit_params: np.ndarray, date_features: np.ndarray, feedback: WeekFeedback) -> np.ndarray:
    """Tokens ``float32 [n, TOKEN_DIM]`` of ``n`` lived weeks (``TOKEN_FEATURES``).

    Args:
        unit_params: ``[n, N_PARAMS]`` the served parameters in action units (``schedule.params_to_unit``).
        date_features: ``[n, N_WEEK_FEATURES]`` the weeks' ``temporal.week_features``.
        feedback: what the families reported after those weeks.
    """
    n = len(feedback)
    return encode_tokens(
        np.asarray(unit_params, dtype=np.float64).reshape(n, N_PARAMS),
        np.asarray(date_features, dtype=np.float64).reshape(n, -1),
        feedback_inputs(feedback),
        feedback.adjustment_kind,
    )


def summarize_history(tokens, capacity: int | None = None, xp=np):
    """The running summary ``float32 [n, SUMMARY_DIM]`` (``SUMMARY_FEATURES``) of token histories.

    Args:
        tokens: ``[n, T, TOKEN_DIM]`` each family's lived weeks, padding rows all zeros.
        capacity: weeks that ``weeks_lived`` is a share of; default ``T``.
        xp: NumPy, or ``tf_namespace.tf_namespace()`` inside an exported graph.
    """
    tokens = xp.asarray(tokens, dtype=np.float64 if xp is np else np.float32)
    lived = xp.sum(tokens[:, :, LIVED_INDEX], axis=1)
    flag_counts = xp.sum(tokens[:, :, FLAG_SLICE], axis=1)
    value_sums = xp.sum(tokens[:, :, VALUE_SLICE], axis=1)
    value_counts = xp.concatenate([flag_counts[:, i : i + 1] for i in _VALUE_FLAG], axis=1)
    kind_counts = xp.sum(tokens[:, :, KIND_SLICE], axis=1)
    app_weeks = flag_counts[:, -1:]
    capacity = tokens.shape[1] if capacity is None else capacity
    return xp.asarray(
        xp.concatenate(
            [
                (lived / max(int(capacity), 1))[:, None],
                value_sums / xp.maximum(value_counts, 1.0),
                flag_counts / xp.maximum(lived, 1.0)[:, None],
                kind_counts / xp.maximum(app_weeks, 1.0),
            ],
            axis=1,
        ),
        dtype=np.float32,
    )


__all__ = [
    "ADJUSTMENT_CAP",
    "DATE_SLICE",
    "FEEDBACK_INPUTS",
    "FEEDBACK_VALUES",
    "FLAG_SLICE",
    "KIND_SLICE",
    "LIVED_INDEX",
    "OBSERVED_FLAGS",
    "PARAM_SLICE",
    "SUMMARY_DIM",
    "SUMMARY_FEATURES",
    "TOKEN_DIM",
    "TOKEN_FEATURES",
    "TOKEN_HIGH",
    "TOKEN_INDEX",
    "TOKEN_LOW",
    "VALUE_SLICE",
    "encode_tokens",
    "encode_weeks",
    "feedback_inputs",
    "summarize_history",
]
