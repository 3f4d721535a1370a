"""The ground-truth family simulator: who the families are, what they truly like, what they tell us.

Like RecSim, the person is kept apart from the system that serves them. Three
separate, individually testable pieces:

1. ``sample_families`` — the population: hidden true preferences (correlated
   across the five questionnaire categories), the child's age, hidden traits a
   questionnaire cannot see (attention, chronotype, rating leniency), and the
   noisy, partly missing questionnaire answers the family would give.
2. ``true_scores`` — the hidden satisfaction, engagement and effectiveness in
   [0, 1] of a family with a schedule (read through the schedule's summary
   features, ``schedule.SUMMARY_FEATURES``). Only evaluation may look at it.
3. ``generate_feedback`` — what the family reports after a week: stars, Likert
   responses, a free-text comment, completion, adherence and adjustments, all
   noisy and with realistic non-response.

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

from dataclasses import dataclass, fields

import numpy as np

from brightpath.child import (
    GRADE_BANDS,
    MAX_AGE,
    MIN_AGE,
    attention_span_minutes,
    daily_learning_minutes,
    grade_band_index,
    grade_for_age,
)
from brightpath.questionnaire import CATEGORY_NAMES, N_ITEMS
from brightpath.schedule import SUMMARY_FEATURES

SIMULATOR_VERSION = "1.0"

N_CATEGORIES = len(CATEGORY_NAMES)
ITEMS_PER_CATEGORY = N_ITEMS // N_CATEGORIES

# Correlation of latent preferences (order: flexibility, rotation, time management,
# long-term, prioritization): flexible families plan less and keep looser time;
# planners prioritise.
_PREFERENCE_CORRELATION = np.array(
    [
        [1.0, 0.3, -0.3, -0.4, -0.1],
        [0.3, 1.0, 0.0, -0.1, 0.0],
        [-0.3, 0.0, 1.0, 0.3, 0.2],
        [-0.4, -0.1, 0.3, 1.0, 0.3],
        [-0.1, 0.0, 0.2, 0.3, 1.0],
    ]
)
# Home-schooled children skew young: weight falls 4 % per year of age.
_AGE_WEIGHTS = 1.0 - 0.04 * np.arange(MAX_AGE - MIN_AGE + 1)
ITEM_NOISE = 0.12  # sd of one Likert item around the latent score (0–1 units)
ITEM_MISSING_RATE = 0.05
CATEGORY_SKIP_RATE = 0.03  # a family leaves a whole section blank


@dataclass(frozen=True)
class Families:
    """A batch of simulated families. Arrays share the leading dimension.

    Attributes:
        family_id: int64 identifiers, unique in a dataset.
        preferences: float64 ``[n, 5]`` hidden true category scores in 0–1 (``CATEGORY_NAMES``).
        age: int64 child age in years, 5–18.
        grade_band: int64 index into ``child.GRADE_BANDS``.
        attention_factor: hidden multiplier of the typical attention span (~0.8–1.25).
        chronotype_hours: hidden shift of the ideal start hour, hours (sd 0.35).
        leniency: hidden bias of the family's ratings, 0–1 units (sd 0.05).
        responsiveness: probability the family answers a feedback survey, 0–1.
        answers: float32 ``[n, 25]`` observed Likert answers, 0 where missing.
    """

    family_id: np.ndarray
    preferences: np.ndarray
    age: np.ndarray
    grade_band: np.ndarray
    attention_factor: np.ndarray
    chronotype_hours: np.ndarray
    leniency: np.ndarray
    responsiveness: np.ndarray
    answers: np.ndarray

    def __len__(self) -> int:
        return len(self.family_id)

    def take(self, index) -> "Families":
        """The families at ``index`` (an int array, possibly with repeats)."""
        return Families(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def child_age(self) -> np.ndarray:
        return self.age.astype(np.float32)


def sample_families(n: int, rng: np.random.Generator, *, first_id: int = 0) -> Families:
    """Draw ``n`` families from the synthetic population (see the module docstring)."""
    z = rng.multivariate_normal(np.zeros(N_CATEGORIES), _PREFERENCE_CORRELATION, size=n)
    preferences = 1.0 / (1.0 + np.exp(-1.7 * z))  # roughly uniform marginals on (0, 1)
    age = rng.choice(np.arange(MIN_AGE, MAX_AGE + 1), size=n, p=_AGE_WEIGHTS / _AGE_WEIGHTS.sum())
    item_scores = np.repeat(preferences, ITEMS_PER_CATEGORY, axis=1) + rng.normal(0.0, ITEM_NOISE, (n, N_ITEMS))
    answers = np.clip(np.round(1.0 + 4.0 * item_scores), 1, 5)
    missing = rng.random((n, N_ITEMS)) < ITEM_MISSING_RATE
    missing |= np.repeat(rng.random((n, N_CATEGORIES)) < CATEGORY_SKIP_RATE, ITEMS_PER_CATEGORY, axis=1)
    answers[missing] = 0.0
    return Families(
        family_id=np.arange(first_id, first_id + n, dtype=np.int64),
        preferences=preferences,
        age=age.astype(np.int64),
        grade_band=grade_band_index(grade_for_age(age)).astype(np.int64),
        attention_factor=np.exp(rng.normal(0.0, 0.12, n)),
        chronotype_hours=rng.normal(0.0, 0.35, n),
        leniency=rng.normal(0.0, 0.05, n),
        responsiveness=rng.beta(4.0, 2.0, n),
        answers=answers.astype(np.float32),
    )


COMPONENTS: tuple[str, ...] = (
    "block", "load", "pauses", "break_length", "start", "steadiness", "switching", "regularity", "end", "coverage",
)
_ENGAGEMENT = ("block", "pauses", "break_length", "switching", "end")
_EFFECTIVENESS = ("coverage", "load", "block", "regularity")
_F = {name: i for i, name in enumerate(SUMMARY_FEATURES)}


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


# ---------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------

ADJUSTMENT_KINDS: tuple[str, ...] = (
    "none", "shorten_blocks", "lengthen_blocks", "reduce_load", "add_load", "add_break", "fewer_breaks",
    "move_start_earlier", "move_start_later", "fix_start_time", "mix_subjects", "group_subjects",
    "keep_days_alike", "vary_days", "finish_earlier", "add_missing_subjects",
)

_PRAISE = {
    "block": ["the block lengths are just right", "lessons are the right length for {child}", "blocks fit {child}'s focus"],
    "load": ["the amount of work each day feels right", "a good daily workload", "the day is nicely balanced"],
    "pauses": ["breaks come exactly when {child} needs them", "the rhythm of work and rest works well"],
    "break_length": ["breaks are a good length", "the breaks are well sized"],
    "start": ["the start time suits our mornings", "starting at this hour works for us"],
    "steadiness": ["a steady start every day helps", "we like the consistent start"],
    "switching": ["the mix of subjects keeps {child} interested", "subject changes are well paced"],
    "regularity": ["the weekly rhythm suits our family", "the balance of routine and variety is great"],
    "end": ["we finish at a sensible time", "the afternoons stay free"],
    "coverage": ["all the subjects are covered", "nothing in the curriculum gets skipped"],
}
_COMPLAINT = {
    "block": ["the blocks don't match {child}'s attention span", "lesson length is a constant struggle"],
    "load": ["the daily workload is off for {child}", "the amount of schoolwork each day is wrong for us"],
    "pauses": ["breaks come at the wrong moments", "too long without a pause, or too many stops"],
    "break_length": ["the breaks are badly sized", "break times never feel right"],
    "start": ["the start time fights our mornings", "we can never start at that hour"],
    "steadiness": ["the start time jumps around too much", "changing start times confuse everyone"],
    "switching": ["the subject switching is frustrating", "the order of subjects drives {child} crazy"],
    "regularity": ["the week feels chaotic", "the week is too rigid for us"],
    "end": ["the day drags on far too late", "we finish exhausted and late"],
    "coverage": ["some subjects are barely covered", "we keep falling behind on required subjects"],
}
_OPENERS = {
    "great": ["Love it!", "Fantastic week.", "This is wonderful.", "Really happy with this.", "Best schedule so far."],
    "good": ["Pretty good overall.", "Works well for us.", "Good week.", "Mostly happy.", "Nice schedule."],
    "mixed": ["It's okay.", "Mixed feelings.", "Some parts work.", "Not bad, not great.", "Decent, with issues."],
    "poor": ["Not working for us.", "Disappointing week.", "This was hard.", "Frustrating schedule.", "Not great."],
    "awful": ["Terrible week.", "This schedule is awful.", "Total disaster.", "We hated it.", "Completely unworkable."],
}
_CHILDREN = ("my son", "my daughter", "our kid", "the kids", "my child")


def _tone(satisfaction: float) -> str:
    return "great" if satisfaction > 0.8 else "good" if satisfaction > 0.65 else "mixed" if satisfaction > 0.5 else (
        "poor" if satisfaction > 0.35 else "awful"
    )


def _comment(rng: np.random.Generator, perceived: float, best: str, worst: str) -> str:
    child = _CHILDREN[rng.integers(len(_CHILDREN))]
    tone = _tone(perceived)
    parts = [_OPENERS[tone][rng.integers(5)]]
    praise = _PRAISE[best][rng.integers(len(_PRAISE[best]))].format(child=child)
    complaint = _COMPLAINT[worst][rng.integers(len(_COMPLAINT[worst]))].format(child=child)
    if tone in ("great", "good"):
        parts.append(praise[0].upper() + praise[1:] + ".")
        if rng.random() < 0.4:
            parts.append(f"Only thing: {complaint}.")
    else:
        parts.append(complaint[0].upper() + complaint[1:] + ("!" if tone == "awful" else "."))
        if rng.random() < 0.4:
            parts.append(f"At least {praise}.")
    return " ".join(parts)


def _adjustment(best_gap_component: str, families: Families, summaries: np.ndarray, i: int) -> str:
    s = summaries[i]
    if best_gap_component == "block":
        return "shorten_blocks" if s[_F["block_minutes"]] > ideal_block_minutes(families.take([i]))[0] else "lengthen_blocks"
    if best_gap_component == "load":
        return "reduce_load" if s[_F["learning_minutes_per_day"]] > daily_learning_minutes(families.age[i]) else "add_load"
    if best_gap_component == "pauses":
        return "add_break" if s[_F["minutes_between_pauses"]] > 60 else "fewer_breaks"
    if best_gap_component == "break_length":
        return "add_break"
    if best_gap_component == "start":
        return "move_start_later" if families.preferences[i, 2] < 0.5 else "move_start_earlier"
    if best_gap_component == "steadiness":
        return "fix_start_time"
    if best_gap_component == "switching":
        return "mix_subjects" if families.preferences[i, 1] > 0.5 else "group_subjects"
    if best_gap_component == "regularity":
        return "keep_days_alike" if families.preferences[i, 0] < 0.5 else "vary_days"
    if best_gap_component == "end":
        return "finish_earlier"
    return "add_missing_subjects"


FEEDBACK_COLUMNS: tuple[str, ...] = (
    "stars", "likert_satisfaction", "likert_engagement", "likert_effectiveness", "comment",
    "completion_rate", "adherence", "n_adjustments", "adjustment_kind",
)


def generate_feedback(families: Families, summaries: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One week of feedback per (family, schedule) row.

    Returns a column dict (``FEEDBACK_COLUMNS``):
        stars: float 1–5 or NaN (no response); likert_*: float 1–5 or NaN;
        comment: str or None; completion_rate, adherence: float 0–1 (NaN when the
        family did not use the app that week); n_adjustments: int ≥ 0;
        adjustment_kind: one of ``ADJUSTMENT_KINDS``.

    Non-response is realistic: families with a very good or very bad week answer
    more often; each Likert item and the comment are skipped independently.
    """
    n = len(families)
    truth = true_scores(families, summaries)
    components = true_components(families, summaries)
    sat = truth["satisfaction"]
    perceived = np.clip(sat + families.leniency + rng.normal(0.0, 0.06, n), 0.0, 1.0)

    def likert(score, sd=0.1):
        return np.clip(np.round(1.0 + 4.0 * np.clip(score + families.leniency + rng.normal(0.0, sd, n), 0, 1)), 1, 5)

    responds = rng.random(n) < families.responsiveness * (0.75 + 0.5 * np.abs(sat - 0.5))
    stars = np.where(responds, np.clip(np.round(1.0 + 4.0 * perceived), 1, 5), np.nan)
    out: dict[str, np.ndarray] = {"stars": stars}
    for name, score in (("satisfaction", sat), ("engagement", truth["engagement"]),
                        ("effectiveness", truth["effectiveness"])):
        out[f"likert_{name}"] = np.where(responds & (rng.random(n) > 0.15), likert(score), np.nan)
    names = list(COMPONENTS)
    stacked = np.stack([components[k] for k in names], axis=1)
    best, worst = stacked.argmax(axis=1), stacked.argmin(axis=1)
    writes = responds & (rng.random(n) < 0.6)
    out["comment"] = np.array(
        [_comment(rng, perceived[i], names[best[i]], names[worst[i]]) if writes[i] else None for i in range(n)],
        dtype=object,
    )
    uses_app = rng.random(n) > 0.05
    out["completion_rate"] = np.where(
        uses_app, np.clip(0.3 + 0.65 * truth["engagement"] + rng.normal(0.0, 0.06, n), 0.0, 1.0), np.nan
    )
    out["adherence"] = np.where(uses_app, np.clip(0.25 + 0.7 * sat + rng.normal(0.0, 0.07, n), 0.0, 1.0), np.nan)
    out["n_adjustments"] = rng.poisson(6.0 * (1.0 - sat) ** 1.5)
    out["adjustment_kind"] = np.array(
        ["none" if out["n_adjustments"][i] == 0 else _adjustment(names[worst[i]], families, summaries, i)
         for i in range(n)],
        dtype=object,
    )
    return out


__all__ = [
    "ADJUSTMENT_KINDS", "COMPONENTS", "FEEDBACK_COLUMNS", "Families", "GRADE_BANDS", "SIMULATOR_VERSION",
    "generate_feedback", "ideal_block_minutes", "sample_families", "true_components", "true_scores",
]
