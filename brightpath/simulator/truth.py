"""The hidden truth: how satisfied, engaged and effective a family is with a schedule.

Only evaluation may look at it; models learn from feedback (``simulator.responses``).
Scores are read through the schedule's summary features (``schedule.SUMMARY_FEATURES``).

How true satisfaction works (each effect a parent would recognise; every
component is in (0, 1], 1 = ideal):

=============  ===================================================================
component      ideal for this family (hidden truth)
=============  ===================================================================
block          block length ≈ attention span · (1.15 − 0.45·rotation); too long hurts
               more than too short. Attention span: ``child.attention_span_minutes``
               times a hidden per-child factor (±12 %).
load           daily subject minutes ≈ ``child.daily_learning_minutes`` · (0.85 + 0.3·
               prioritization); overload hurts more than underload.
pauses         subject minutes between pauses ≈ attention · (1.8 − 0.6·rotation).
break length   ≈ 15 − 0.4·(age − 5) minutes.
start          start hour ≈ 7.5 + 2·(1 − time management) + hidden chronotype
               (+0.5 h for teenagers).
steadiness     day-to-day start-time spread hurts structured families most.
switching      share of subject switches ≈ 0.2 + 0.7·rotation.
regularity     day-to-day regularity ≈ 1 − flexibility (+ young children and
               long-term planners want more).
end            the day should end by 14:00 + 0.2 h per year over 5.
coverage       weekly grade requirements met; prioritising families care more.
=============  ===================================================================

Satisfaction is the weighted geometric mean of the components, with weights that
depend on the family (a time-conscious family weighs the start hour more), so
one bad component drags the whole week down and effects interact.
Engagement (the child's side) and effectiveness (learning) are geometric means
of subsets.
"""
from __future__ import annotations

import numpy as np

from brightpath.child import MIN_AGE, attention_span_minutes, daily_learning_minutes
from brightpath.schedule.summary import SUMMARY_INDEX as _F
from brightpath.simulator.population import Families

COMPONENTS: tuple[str, ...] = (
    "block", "load", "pauses", "break_length", "start", "steadiness", "switching", "regularity", "end", "coverage",
)
_ENGAGEMENT = ("block", "pauses", "break_length", "switching", "end")
_EFFECTIVENESS = ("coverage", "load", "block", "regularity")


def _bell(x, ideal, sd):
    return np.exp(-0.5 * ((x - ideal) / sd) ** 2)


def _log_bell(x, ideal, sd_below, sd_above):
    ratio = np.log(np.maximum(x, 1e-6) / ideal)
    return np.exp(-0.5 * (ratio / np.where(ratio > 0, sd_above, sd_below)) ** 2)


def ideal_block_minutes(families: Families) -> np.ndarray:
    """The hidden ideal subject-block length, minutes."""
    rotation = families.preferences[:, 1]
    attention = attention_span_minutes(families.age) * families.attention_factor
    return np.clip(attention * (1.15 - 0.45 * rotation), 12.0, 60.0)


def true_components(families: Families, summaries: np.ndarray) -> dict[str, np.ndarray]:
    """Each satisfaction component (``COMPONENTS``) in (0, 1] for aligned families and schedule summaries."""
    flex, rotation, time_mgmt, long_term, priority = families.preferences.T
    age = families.age.astype(np.float64)
    s = summaries
    attention = attention_span_minutes(age) * families.attention_factor
    no_breaks = s[:, _F["breaks_per_day"]] == 0
    return {
        "block": _log_bell(s[:, _F["block_minutes"]], ideal_block_minutes(families), 0.35, 0.22),
        "load": _log_bell(
            s[:, _F["learning_minutes_per_day"]], daily_learning_minutes(age) * (0.85 + 0.3 * priority), 0.30, 0.18
        ),
        "pauses": _log_bell(s[:, _F["minutes_between_pauses"]], attention * (1.8 - 0.6 * rotation), 0.40, 0.40),
        "break_length": np.where(no_breaks, 1.0, _bell(s[:, _F["break_minutes"]], 15.0 - 0.4 * (age - MIN_AGE), 5.0)),
        "start": _bell(
            s[:, _F["start_hour_mean"]],
            7.5 + 2.0 * (1.0 - time_mgmt) + families.chronotype_hours + 0.5 * (age >= 13),
            0.7,
        ),
        "steadiness": np.exp(-s[:, _F["start_hour_std"]] * (3.0 * (1.0 - flex) + 0.5)),
        "switching": _bell(s[:, _F["switch_rate"]], 0.2 + 0.7 * rotation, 0.25),
        "regularity": _bell(
            s[:, _F["regularity"]],
            np.clip(0.15 + 0.8 * (1.0 - flex) + 0.1 * (age < 8) + 0.1 * (long_term - 0.5), 0.0, 1.0),
            0.3,
        ),
        "end": _bell(np.maximum(s[:, _F["end_hour_mean"]] - (14.0 + 0.2 * (age - MIN_AGE)), 0.0), 0.0, 1.0),
        "coverage": s[:, _F["coverage"]] ** (1.0 + 2.0 * priority),
    }


def _component_weights(families: Families) -> dict[str, np.ndarray]:
    flex, rotation, time_mgmt, long_term, priority = families.preferences.T
    one = np.ones(len(families))
    return {
        "block": 1.0 * one,
        "load": 1.0 * one,
        "pauses": 0.7 * one,
        "break_length": 0.3 * one,
        "start": 0.4 + 0.8 * time_mgmt,
        "steadiness": 0.3 * one,
        "switching": 0.4 + 0.8 * rotation,
        "regularity": 0.3 + 1.0 * np.abs(flex - 0.5),
        "end": 0.5 * one,
        "coverage": 0.6 + 0.8 * priority,
    }


def _geometric_mean(components: dict[str, np.ndarray], weights: dict[str, np.ndarray], names) -> np.ndarray:
    log_sum = sum(weights[k] * np.log(0.02 + components[k]) for k in names)
    total = sum(weights[k] for k in names)
    return np.clip((np.exp(log_sum / total) - 0.02) / 0.98, 0.0, 1.0)


def true_scores(families: Families, summaries: np.ndarray) -> dict[str, np.ndarray]:
    """Hidden ``satisfaction``, ``engagement`` and ``effectiveness`` in [0, 1].

    Args:
        families: ``n`` families.
        summaries: ``[n, N_SUMMARY]`` schedule summaries (``schedule.summarize_many``),
            row ``i`` being the schedule family ``i`` lives with.
    """
    components = true_components(families, summaries)
    weights = _component_weights(families)
    return {
        "satisfaction": _geometric_mean(components, weights, COMPONENTS),
        "engagement": _geometric_mean(components, weights, _ENGAGEMENT),
        "effectiveness": _geometric_mean(components, weights, _EFFECTIVENESS),
    }
