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

Temporal effects: a week with a date (``context``, a ``temporal.WeekContext``) moves
some ideals the way a parent would recognise. Without a date (``context=None``, the
one-shot world of ``BrightPath/Schedule-v0``) every score is exactly as above.

================================  ==============================================================
effect                            size (``TemporalEffects``; constants below)
================================  ==============================================================
darker winter mornings            ideal start hour later by 0.75 h × ``morning_darkness``: +45 min
                                  at the winter solstice, about +30 min in early November and
                                  early February, 0 from late March to late September
last weeks before a holiday       ideal daily learning minutes −20 % in the last school week
                                  before a break (holidays and summer), −10 % in the week before
first weeks back                  attention span −20 % in the first school week after a break
                                  (and the year's first week), −10 % in the second: shorter
                                  ideal blocks and more frequent pauses
spring afternoons                 in May and June the day should end 30 min earlier
================================  ==============================================================

The truth of a week is a function of (family, week date, schedule) only: no effect
carries over from one week to the next, so the per-week oracle is well defined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brightpath.child import MIN_AGE, attention_span_minutes, daily_learning_minutes
from brightpath.schedule.summary import SUMMARY_INDEX as _F
from brightpath.simulator.population import Families
from brightpath.temporal import WeekContext

COMPONENTS: tuple[str, ...] = (
    "block",
    "load",
    "pauses",
    "break_length",
    "start",
    "steadiness",
    "switching",
    "regularity",
    "end",
    "coverage",
)
_ENGAGEMENT = ("block", "pauses", "break_length", "switching", "end")
_EFFECTIVENESS = ("coverage", "load", "block", "regularity")

WINTER_START_DELAY_HOURS = 0.75
"""Ideal start hour delay at the darkest mornings (``temporal.morning_darkness`` = 1), hours."""
PRE_BREAK_LOAD_CUT = (0.20, 0.10)
"""Share cut from the ideal daily learning minutes in the last and the second-to-last week before a break."""
BACK_TO_SCHOOL_ATTENTION_CUT = (0.20, 0.10)
"""Share cut from the attention span in the first and the second week after a break."""
SPRING_EARLY_END_HOURS = 0.5
"""How much earlier the day should end in ``SPRING_END_MONTHS``, hours."""
SPRING_END_MONTHS = (5, 6)
"""May and June: long light afternoons outside."""


@dataclass(frozen=True)
class TemporalEffects:
    """How a week's date moves the hidden ideals (see the module docstring), per week ``[n]``
    or scalars for a week without a date.

    Attributes:
        start_delay_hours: added to the ideal start hour, hours ≥ 0.
        load_factor: multiplies the ideal daily learning minutes, 0.8–1.
        attention_factor: multiplies the attention span (blocks and pauses), 0.8–1.
        end_earlier_hours: subtracted from the latest comfortable end of the day, hours ≥ 0.
    """

    start_delay_hours: np.ndarray | float = 0.0
    load_factor: np.ndarray | float = 1.0
    attention_factor: np.ndarray | float = 1.0
    end_earlier_hours: np.ndarray | float = 0.0


def _cut(weeks: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """``1 − cuts[k − 1]`` where ``weeks == k`` (k = 1, 2, …), else 1."""
    factor = np.ones(len(weeks))
    for k, cut in enumerate(cuts, start=1):
        factor[weeks == k] = 1.0 - cut
    return factor


def temporal_effects(context: WeekContext | None) -> TemporalEffects:
    """The ``TemporalEffects`` of dated weeks; ``None`` (no date) gives the neutral effects."""
    if context is None:
        return TemporalEffects()
    return TemporalEffects(
        start_delay_hours=WINTER_START_DELAY_HOURS * context.morning_darkness,
        load_factor=_cut(context.weeks_until_break, PRE_BREAK_LOAD_CUT),
        attention_factor=_cut(context.weeks_since_break, BACK_TO_SCHOOL_ATTENTION_CUT),
        end_earlier_hours=SPRING_EARLY_END_HOURS * np.isin(context.month, SPRING_END_MONTHS),
    )


def _check_context(families: Families, context: WeekContext | None) -> None:
    if context is not None and len(context) != len(families):
        raise ValueError(f"context: expected one week per family ({len(families)}), got {len(context)}")


def _bell(x, ideal, sd):
    return np.exp(-0.5 * ((x - ideal) / sd) ** 2)


def _log_bell(x, ideal, sd_below, sd_above):
    ratio = np.log(np.maximum(x, 1e-6) / ideal)
    return np.exp(-0.5 * (ratio / np.where(ratio > 0, sd_above, sd_below)) ** 2)


IDEAL_FEATURES: dict[str, str] = {
    "block": "block_minutes",
    "load": "learning_minutes_per_day",
    "pauses": "minutes_between_pauses",
    "break_length": "break_minutes",
    "start": "start_hour_mean",
    "switching": "switch_rate",
    "regularity": "regularity",
    "end": "end_hour_mean",
}
"""The summary feature (``schedule.SUMMARY_FEATURES``) each ideal of ``ideals`` is compared with."""


def ideals(families: Families, context: WeekContext | None = None) -> dict[str, np.ndarray]:
    """The hidden ideal of each component that has one (keys of ``IDEAL_FEATURES``), ``[n]`` each.

    Units are those of the summary feature it is compared with: minutes (block, load,
    pauses, break_length), hours on the 24 h clock (start; ``end`` is the latest
    comfortable end of the day), shares 0–1 (switching, regularity). ``context``: the
    week each family lives (``temporal.WeekContext``, aligned), or None for no date.
    """
    _check_context(families, context)
    flex, rotation, time_mgmt, long_term, priority = families.preferences.T
    age = families.age.astype(np.float64)
    effects = temporal_effects(context)
    attention = attention_span_minutes(age) * families.attention_factor * effects.attention_factor
    return {
        "block": np.clip(attention * (1.15 - 0.45 * rotation), 12.0, 60.0),
        "load": daily_learning_minutes(age) * (0.85 + 0.3 * priority) * effects.load_factor,
        "pauses": attention * (1.8 - 0.6 * rotation),
        "break_length": 15.0 - 0.4 * (age - MIN_AGE),
        "start": 7.5
        + 2.0 * (1.0 - time_mgmt)
        + families.chronotype_hours
        + 0.5 * (age >= 13)
        + effects.start_delay_hours,
        "switching": 0.2 + 0.7 * rotation,
        "regularity": np.clip(0.15 + 0.8 * (1.0 - flex) + 0.1 * (age < 8) + 0.1 * (long_term - 0.5), 0.0, 1.0),
        "end": 14.0 + 0.2 * (age - MIN_AGE) - effects.end_earlier_hours,
    }


def ideal_block_minutes(families: Families, context: WeekContext | None = None) -> np.ndarray:
    """The hidden ideal subject-block length, minutes (``context``: as ``ideals``)."""
    return ideals(families, context)["block"]


def true_components(
    families: Families, summaries: np.ndarray, context: WeekContext | None = None
) -> dict[str, np.ndarray]:
    """Each satisfaction component (``COMPONENTS``) in (0, 1] for aligned families and schedule summaries.

    ``context``: the week each family lives (``temporal.WeekContext``, aligned), whose
    temporal effects move the ideals; None (default) for a week without a date.
    """
    flex, priority = families.preferences[:, 0], families.preferences[:, 4]
    s = summaries
    ideal = ideals(families, context)
    no_breaks = s[:, _F["breaks_per_day"]] == 0
    return {
        "block": _log_bell(s[:, _F["block_minutes"]], ideal["block"], 0.35, 0.22),
        "load": _log_bell(s[:, _F["learning_minutes_per_day"]], ideal["load"], 0.30, 0.18),
        "pauses": _log_bell(s[:, _F["minutes_between_pauses"]], ideal["pauses"], 0.40, 0.40),
        "break_length": np.where(no_breaks, 1.0, _bell(s[:, _F["break_minutes"]], ideal["break_length"], 5.0)),
        "start": _bell(s[:, _F["start_hour_mean"]], ideal["start"], 0.7),
        "steadiness": np.exp(-s[:, _F["start_hour_std"]] * (3.0 * (1.0 - flex) + 0.5)),
        "switching": _bell(s[:, _F["switch_rate"]], ideal["switching"], 0.25),
        "regularity": _bell(s[:, _F["regularity"]], ideal["regularity"], 0.3),
        "end": _bell(np.maximum(s[:, _F["end_hour_mean"]] - ideal["end"], 0.0), 0.0, 1.0),
        "coverage": s[:, _F["coverage"]] ** (1.0 + 2.0 * priority),
    }


def component_weights(families: Families) -> dict[str, np.ndarray]:
    """Each component's weight (> 0, ``[n]``) in the family's satisfaction (a weighted geometric mean)."""
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


def true_scores(families: Families, summaries: np.ndarray, context: WeekContext | None = None) -> dict[str, np.ndarray]:
    """Hidden ``satisfaction``, ``engagement`` and ``effectiveness`` in [0, 1].

    Args:
        families: ``n`` families.
        summaries: ``[n, N_SUMMARY]`` schedule summaries (``schedule.summarize_many``),
            row ``i`` being the schedule family ``i`` lives with.
        context: the school week each family lives (``temporal.WeekContext``, aligned),
            whose temporal effects move the ideals; None (default): a week without a date,
            the one-shot world.
    """
    components = true_components(families, summaries, context)
    weights = component_weights(families)
    return {
        "satisfaction": _geometric_mean(components, weights, COMPONENTS),
        "engagement": _geometric_mean(components, weights, _ENGAGEMENT),
        "effectiveness": _geometric_mean(components, weights, _EFFECTIVENESS),
    }
