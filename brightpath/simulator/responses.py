"""What a family reports after a week: the simulated feedback (``feedback.FEEDBACK_COLUMNS``).

Stars, Likert responses, a free-text comment, completion, adherence and
adjustments, all noisy and with realistic non-response, generated from the hidden
truth (``simulator.truth``) and the family's hidden traits.
"""

from __future__ import annotations

import numpy as np

from brightpath.child import daily_learning_minutes
from brightpath.feedback import LIKERT_MAX, LIKERT_MIN
from brightpath.schedule.summary import SUMMARY_INDEX as _F
from brightpath.simulator.population import Families
from brightpath.simulator.truth import COMPONENTS, ideal_block_minutes, true_components, true_scores

_PRAISE = {
    "block": [
        "the block lengths are just right",
        "lessons are the right length for {child}",
        "blocks fit {child}'s focus",
    ],
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
    return (
        "great"
        if satisfaction > 0.8
        else "good"
        if satisfaction > 0.65
        else "mixed"
        if satisfaction > 0.5
        else ("poor" if satisfaction > 0.35 else "awful")
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
        too_long = s[_F["block_minutes"]] > ideal_block_minutes(families.take([i]))[0]
        return "shorten_blocks" if too_long else "lengthen_blocks"
    if best_gap_component == "load":
        too_much = s[_F["learning_minutes_per_day"]] > daily_learning_minutes(families.age[i])
        return "reduce_load" if too_much else "add_load"
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


def _on_likert_scale(score: np.ndarray) -> np.ndarray:
    """A 0–1 score as the nearest Likert answer, ``LIKERT_MIN``–``LIKERT_MAX``."""
    return np.clip(np.round(LIKERT_MIN + (LIKERT_MAX - LIKERT_MIN) * score), LIKERT_MIN, LIKERT_MAX)


def generate_feedback(families: Families, summaries: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One week of feedback per (family, schedule) row.

    Returns a column dict (``feedback.FEEDBACK_COLUMNS``):
        stars: float 1–5 or NaN (no response); likert_*: float 1–5 or NaN;
        comment: str or None; completion_rate, adherence: float 0–1 (NaN when the
        family did not use the app that week); n_adjustments: int ≥ 0;
        adjustment_kind: one of ``feedback.ADJUSTMENT_KINDS``.

    Non-response is realistic: families with a very good or very bad week answer
    more often; each Likert item and the comment are skipped independently.
    """
    n = len(families)
    truth = true_scores(families, summaries)
    components = true_components(families, summaries)
    sat = truth["satisfaction"]
    perceived = np.clip(sat + families.leniency + rng.normal(0.0, 0.06, n), 0.0, 1.0)

    def likert(score, sd=0.1):
        return _on_likert_scale(np.clip(score + families.leniency + rng.normal(0.0, sd, n), 0, 1))

    responds = rng.random(n) < families.responsiveness * (0.75 + 0.5 * np.abs(sat - 0.5))
    stars = np.where(responds, _on_likert_scale(perceived), np.nan)
    out: dict[str, np.ndarray] = {"stars": stars}
    for name, score in (
        ("satisfaction", sat),
        ("engagement", truth["engagement"]),
        ("effectiveness", truth["effectiveness"]),
    ):
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
        [
            "none" if out["n_adjustments"][i] == 0 else _adjustment(names[worst[i]], families, summaries, i)
            for i in range(n)
        ],
        dtype=object,
    )
    return out
