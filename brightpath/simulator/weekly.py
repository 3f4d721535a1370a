"""Living one school week: the hidden truth of a dated week and the feedback a family gives after it.

The multi-week world (``BrightPath/ScheduleWeeks-v0``, ``brightpath.adaptive``) asks one
question of the simulator per week: *this family lived this schedule in this school
week; how did it really go, and what did it tell us?* ``live_week`` answers it from the
separate pieces: the schedule's layout and summary (``brightpath.schedule``), the hidden
truth with the week's temporal effects (``simulator.truth``, ``context``), and the
feedback (``generate_week_feedback``). The one-shot ``simulator.generate_feedback`` is
untouched; this is its weekly sibling, built so feedback carries information about the
hidden traits the way real feedback would, and no more:

=====================  =========================================================================
signal                 how it is generated (constants below)
=====================  =========================================================================
survey answers         stars and three Likert items as in ``generate_feedback`` (perceived
                       satisfaction + the family's leniency + noise, rounded to 1–5). A share of
                       families never answers (``population.SILENT_SHARE``, 15 %); the others answer a
                       week with probability responsiveness · (0.75 + 0.5·|satisfaction − 0.5|) ·
                       0.97^(weeks already lived) (survey fatigue), so families skip weeks; each
                       Likert item is skipped with probability 0.15
comment                written in 60 % of answered surveys, from the one-shot comment templates:
                       its tone follows the perceived satisfaction; the praise names the week's
                       best component and the complaint its worst only 70 % of the time, otherwise
                       another component at random (comments are noisy); ``sentiment`` is what the
                       reward model's VADER reading of the text gives (``reward.targets``)
completion, adherence  as in ``generate_feedback``; recorded only in weeks the family used the app
                       (95 %), NaN otherwise
adjustments            recorded in weeks the family used the app: the count is Poisson with mean
                       6·(1 − satisfaction)^1.5; the kind says which component the family changed
                       and in which *direction* (never by how much): the component is drawn with
                       probability ∝ its pain², pain = weight · −log(component score); the
                       direction is the sign of the family's perceived gap to its hidden ideal
                       (``truth.ideals``, this week's), perceived with noise
                       (``DIRECTION_NOISE``), so near the ideal the direction is a coin flip.
                       Break length has no adjustment kind in the app: it is never the kind.
=====================  =========================================================================

Nothing here couples weeks except survey fatigue, which acts on response rates only:
the truth of a week depends on (family, week date, schedule) alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from brightpath.feedback import ADJUSTMENT_KINDS, FEEDBACK_COLUMNS
from brightpath.schedule import N_PARAMS, clip_params, layouts_for, summarize_many
from brightpath.schedule.summary import SUMMARY_INDEX as _F
from brightpath.simulator.population import Families, SurveyHabits
from brightpath.simulator.responses import _CHILDREN, _COMPLAINT, _OPENERS, _PRAISE, _on_likert_scale
from brightpath.simulator.truth import (
    COMPONENTS,
    IDEAL_FEATURES,
    component_weights,
    ideals,
    true_components,
    true_scores,
)
from brightpath.temporal import WeekContext

APP_USE_RATE = 0.95
"""Probability a family uses the app in a week (completion, adherence and adjustments are recorded)."""
SURVEY_FATIGUE = 0.97
"""Each week already lived multiplies a family's chance of answering the survey by this."""
LIKERT_SKIP_RATE = 0.15
"""Probability one Likert item of an answered survey is left blank."""
COMMENT_RATE = 0.6
"""Probability an answered survey carries a comment."""
COMMENT_ON_TOPIC = 0.7
"""Probability a comment's praise (complaint) is about the week's best (worst) component."""
SECOND_SENTENCE_RATE = 0.4
"""Probability a comment adds the other side ("Only thing: …", "At least …")."""
ADJUSTMENT_RATE_SCALE = 6.0
"""Mean number of adjustments in a week of satisfaction 0 (falls as (1 − satisfaction)^1.5)."""

ADJUSTMENT_DIRECTIONS: dict[str, tuple[str, str]] = {
    "block": ("shorten_blocks", "lengthen_blocks"),
    "load": ("reduce_load", "add_load"),
    "pauses": ("add_break", "fewer_breaks"),
    "start": ("move_start_earlier", "move_start_later"),
    "steadiness": ("fix_start_time", "fix_start_time"),
    "switching": ("group_subjects", "mix_subjects"),
    "regularity": ("vary_days", "keep_days_alike"),
    "end": ("finish_earlier", "finish_earlier"),
    "coverage": ("add_missing_subjects", "add_missing_subjects"),
}
"""Component → (the kind when the week is above the family's ideal, the kind when below).

"Above" compares the summary feature of ``truth.IDEAL_FEATURES``: blocks longer than ideal →
``shorten_blocks``; more subject minutes between pauses than ideal → ``add_break``; a later
start than ideal → ``move_start_earlier``; more switching → ``group_subjects``; more regular
days → ``vary_days``. Steadiness, the end of the day and coverage hurt in one direction only."""
ADJUSTABLE_COMPONENTS: tuple[str, ...] = tuple(ADJUSTMENT_DIRECTIONS)
DIRECTION_NOISE: dict[str, float] = {
    "block": 0.08,
    "load": 0.08,
    "pauses": 0.10,
    "start": 0.25,
    "switching": 0.08,
    "regularity": 0.08,
}
"""sd of the family's perception of its gap to the ideal: log-ratio units for block, load and
pauses (0.08 ≈ 8 %), hours for the start, shares for switching and regularity."""
_LOG_RATIO_GAPS = ("block", "load", "pauses")

TONES: tuple[str, ...] = ("great", "good", "mixed", "poor", "awful")
_TONE_FLOORS = (0.8, 0.65, 0.5, 0.35)  # perceived satisfaction above a floor reaches that tone (responses._tone)
_N_OPENERS = 5
_N_VARIANTS = 3
_NO_SECOND = len(COMPONENTS)
N_COMMENT_CODES = len(TONES) * _N_OPENERS * len(COMPONENTS) * _N_VARIANTS * (len(COMPONENTS) + 1) * _N_VARIANTS
"""Distinct comment templates (``WeekFeedback.comment_code`` is in 0 … N_COMMENT_CODES − 1)."""
_PRAISE_COUNTS = np.array([len(_PRAISE[c]) for c in COMPONENTS])
_COMPLAINT_COUNTS = np.array([len(_COMPLAINT[c]) for c in COMPONENTS])
_KIND_INDEX = {kind: i for i, kind in enumerate(ADJUSTMENT_KINDS)}


def _encode(tone, opener, main, main_variant, second, second_variant):
    return (
        (((tone * _N_OPENERS + opener) * len(COMPONENTS) + main) * _N_VARIANTS + main_variant) * (len(COMPONENTS) + 1)
        + second
    ) * _N_VARIANTS + second_variant


def _decode(code: int) -> tuple[int, int, int, int, int, int]:
    code, second_variant = divmod(int(code), _N_VARIANTS)
    code, second = divmod(code, len(COMPONENTS) + 1)
    code, main_variant = divmod(code, _N_VARIANTS)
    code, main = divmod(code, len(COMPONENTS))
    tone, opener = divmod(code, _N_OPENERS)
    return tone, opener, main, main_variant, second, second_variant


def comment_text(code: int, child_phrase: int) -> str:
    """The comment of template ``code`` naming the child by phrase ``child_phrase`` (as ``responses._comment``)."""
    tone, opener, main, main_variant, second, second_variant = _decode(code)
    child = _CHILDREN[child_phrase]
    good = tone <= 1
    first_bank, second_bank = (_PRAISE, _COMPLAINT) if good else (_COMPLAINT, _PRAISE)
    sentence = first_bank[COMPONENTS[main]][main_variant].format(child=child)
    parts = [
        _OPENERS[TONES[tone]][opener],
        sentence[0].upper() + sentence[1:] + ("!" if TONES[tone] == "awful" else "."),
    ]
    if second != _NO_SECOND:
        other = second_bank[COMPONENTS[second]][second_variant].format(child=child)
        parts.append(f"Only thing: {other}." if good else f"At least {other}.")
    return " ".join(parts)


def writable_comment_codes() -> np.ndarray:
    """Every template the generator can write (each sentence's variant exists in its bank), int64, sorted."""
    codes = []
    for tone in range(len(TONES)):
        first, second = (_PRAISE_COUNTS, _COMPLAINT_COUNTS) if tone <= 1 else (_COMPLAINT_COUNTS, _PRAISE_COUNTS)
        for opener in range(_N_OPENERS):
            for main in range(len(COMPONENTS)):
                for main_variant in range(first[main]):
                    codes.append(_encode(tone, opener, main, main_variant, _NO_SECOND, 0))
                    codes.extend(
                        _encode(tone, opener, main, main_variant, other, variant)
                        for other in range(len(COMPONENTS))
                        for variant in range(second[other])
                    )
    return np.array(codes, dtype=np.int64)


@functools.cache
def _sentiment_table() -> np.ndarray:
    """The reward model's reading of every writable template, NaN elsewhere (about 11,500 texts read
    by VADER once per process, about half a second)."""
    from brightpath.reward.targets import sentiment_scores

    table = np.full(N_COMMENT_CODES, np.nan)
    codes = writable_comment_codes()
    table[codes] = sentiment_scores([comment_text(code, 0) for code in codes.tolist()])
    table.flags.writeable = False
    return table


def comment_sentiment(codes: np.ndarray) -> np.ndarray:
    """The reward model's reading of comments (``reward.targets.sentiment_scores``: VADER, 0–1) by template.

    VADER reads the same value whichever phrase names the child (none is in its lexicon and
    all are two words), so one lookup table over templates serves every family: the step's
    sentiment is an array lookup, not a text analysis. ``codes``: int ``[n]``, −1 for no
    comment (→ NaN).
    """
    codes = np.asarray(codes, dtype=np.int64)
    return np.where(codes >= 0, _sentiment_table()[np.maximum(codes, 0)], np.nan)


@dataclass(frozen=True)
class WeekFeedback:
    """What families report after one week, arrays aligned ``[n]``; NaN (or −1 for codes) = not observed.

    Attributes:
        stars, likert_satisfaction, likert_engagement, likert_effectiveness: float64 1–5.
        comment_code: int64 template of the comment (``comment_text``), −1 for none.
        child_phrase: int64 how the comment names the child.
        completion_rate, adherence: float64 0–1 (NaN when the app was not used).
        n_adjustments: float64 ≥ 0 (NaN when the app was not used).
        adjustment_kind: int64 index into ``feedback.ADJUSTMENT_KINDS`` (0 = "none"), −1 when
            the app was not used.
    """

    stars: np.ndarray
    likert_satisfaction: np.ndarray
    likert_engagement: np.ndarray
    likert_effectiveness: np.ndarray
    comment_code: np.ndarray
    child_phrase: np.ndarray
    completion_rate: np.ndarray
    adherence: np.ndarray
    n_adjustments: np.ndarray
    adjustment_kind: np.ndarray

    def __len__(self) -> int:
        return len(self.stars)

    def take(self, index) -> WeekFeedback:
        return WeekFeedback(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def sentiment(self) -> np.ndarray:
        """float64 0–1: the comment's sentiment as the reward model reads it; NaN without a comment."""
        return comment_sentiment(self.comment_code)

    @property
    def app_used(self) -> np.ndarray:
        """bool: the family used the app this week (completion, adherence, adjustments recorded)."""
        return self.adjustment_kind >= 0

    def comments(self) -> np.ndarray:
        """object ``[n]``: each comment's text, None without one."""
        return np.array(
            [
                comment_text(c, p) if c >= 0 else None
                for c, p in zip(self.comment_code.tolist(), self.child_phrase.tolist())
            ],
            dtype=object,
        )

    def columns(self) -> dict[str, np.ndarray]:
        """The feedback as ``feedback.FEEDBACK_COLUMNS`` columns (the one-shot format; kind None when unrecorded)."""
        kinds = np.array([ADJUSTMENT_KINDS[k] if k >= 0 else None for k in self.adjustment_kind.tolist()], dtype=object)
        out: dict[str, Any] = {
            name: getattr(self, name) for name in FEEDBACK_COLUMNS if name not in ("comment", "adjustment_kind")
        }
        out["comment"] = self.comments()
        out["adjustment_kind"] = kinds
        return {name: out[name] for name in FEEDBACK_COLUMNS}

    def row(self, i: int) -> dict[str, Any]:
        """Family ``i``'s feedback as one mapping of plain values (None when not observed), as
        ``feedback.parse_feedback`` accepts it."""
        columns = self.columns()
        out: dict[str, Any] = {}
        for name in FEEDBACK_COLUMNS:
            value = columns[name][i]
            if isinstance(value, (float, np.floating)):
                value = None if np.isnan(value) else float(value)
            out[name] = value
        return out


def _gaps(summaries: np.ndarray, ideal: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The family's perceived gap of the week to its ideal, > 0 = above (``DIRECTION_NOISE``)."""
    n = len(summaries)
    gaps = {}
    for name, sd in DIRECTION_NOISE.items():
        value = summaries[:, _F[IDEAL_FEATURES[name]]]
        gap = np.log(np.maximum(value, 1e-6) / ideal[name]) if name in _LOG_RATIO_GAPS else value - ideal[name]
        gaps[name] = gap + rng.normal(0.0, sd, n)
    return gaps


def _adjustment_kinds(
    families: Families,
    summaries: np.ndarray,
    components: dict[str, np.ndarray],
    ideal: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """int64 ``[n]`` the kind (``ADJUSTMENT_KINDS`` index) of each week's main adjustment."""
    n = len(families)
    weights = component_weights(families)
    pain = np.stack([weights[c] * -np.log(0.02 + components[c]) for c in ADJUSTABLE_COMPONENTS], axis=1)
    # Gumbel-max: the component is drawn with probability ∝ pain².
    logits = 2.0 * np.log(np.maximum(pain, 1e-12)) + rng.gumbel(size=(n, len(ADJUSTABLE_COMPONENTS)))
    chosen = logits.argmax(axis=1)
    gaps = _gaps(summaries, ideal, rng)
    kinds = np.zeros(n, dtype=np.int64)
    for j, name in enumerate(ADJUSTABLE_COMPONENTS):
        rows = chosen == j
        above, below = ADJUSTMENT_DIRECTIONS[name]
        if name in gaps:
            kinds[rows] = np.where(gaps[name][rows] > 0, _KIND_INDEX[above], _KIND_INDEX[below])
        else:
            kinds[rows] = _KIND_INDEX[above]
    return kinds


def _topic(rng: np.random.Generator, on_topic: np.ndarray) -> np.ndarray:
    """The component a comment sentence is about: ``on_topic`` with probability ``COMMENT_ON_TOPIC``,
    else one of the other components at random."""
    n = len(on_topic)
    other = (on_topic + rng.integers(1, len(COMPONENTS), n)) % len(COMPONENTS)
    return np.where(rng.random(n) < COMMENT_ON_TOPIC, on_topic, other)


def _comment_codes(rng: np.random.Generator, perceived: np.ndarray, best: np.ndarray, worst: np.ndarray) -> np.ndarray:
    n = len(perceived)
    tone = sum((perceived <= floor).astype(np.int64) for floor in _TONE_FLOORS)
    good = tone <= 1
    praise, complaint = _topic(rng, best), _topic(rng, worst)
    main = np.where(good, praise, complaint)
    second = np.where(good, complaint, praise)
    main_count = np.where(good, _PRAISE_COUNTS[main], _COMPLAINT_COUNTS[main])
    second_count = np.where(good, _COMPLAINT_COUNTS[second], _PRAISE_COUNTS[second])
    main_variant = (rng.random(n) * main_count).astype(np.int64)
    second_variant = (rng.random(n) * second_count).astype(np.int64)
    has_second = rng.random(n) < SECOND_SENTENCE_RATE
    second = np.where(has_second, second, _NO_SECOND)
    second_variant = np.where(has_second, second_variant, 0)
    return _encode(tone, rng.integers(0, _N_OPENERS, n), main, main_variant, second, second_variant)


def generate_week_feedback(
    families: Families,
    habits: SurveyHabits,
    summaries: np.ndarray,
    context: WeekContext | None,
    weeks_lived: int | np.ndarray,
    rng: np.random.Generator,
    *,
    truth: dict[str, np.ndarray] | None = None,
) -> WeekFeedback:
    """One week of feedback per family (see the module docstring), vectorised over families.

    Args:
        families, habits: ``n`` families and their survey habits, aligned.
        summaries: ``[n, N_SUMMARY]`` the week each family lived (``schedule.summarize_many``).
        context: the school week (``temporal.WeekContext``, aligned) or None for no date.
        weeks_lived: weeks each family lived before this one in the episode (survey fatigue), ≥ 0.
        truth: ``true_scores`` of these weeks when already computed (saves recomputing them).
    """
    n = len(families)
    if len(habits) != n or len(summaries) != n:
        raise ValueError(f"habits, summaries: expected {n} rows (one per family), got {len(habits)}, {len(summaries)}")
    if truth is None:
        truth = true_scores(families, summaries, context)
    components = true_components(families, summaries, context)
    ideal = ideals(families, context)
    sat = truth["satisfaction"]
    perceived = np.clip(sat + families.leniency + rng.normal(0.0, 0.06, n), 0.0, 1.0)

    def likert(score):
        return _on_likert_scale(np.clip(score + families.leniency + rng.normal(0.0, 0.1, n), 0.0, 1.0))

    fatigue = SURVEY_FATIGUE ** np.asarray(weeks_lived, dtype=np.float64)
    answers = ~habits.silent & (rng.random(n) < families.responsiveness * (0.75 + 0.5 * np.abs(sat - 0.5)) * fatigue)
    out: dict[str, np.ndarray] = {"stars": np.where(answers, _on_likert_scale(perceived), np.nan)}
    for name in ("satisfaction", "engagement", "effectiveness"):
        out[f"likert_{name}"] = np.where(answers & (rng.random(n) >= LIKERT_SKIP_RATE), likert(truth[name]), np.nan)
    stacked = np.stack([components[k] for k in COMPONENTS], axis=1)
    codes = _comment_codes(rng, perceived, stacked.argmax(axis=1), stacked.argmin(axis=1))
    writes = answers & (rng.random(n) < COMMENT_RATE)
    uses_app = rng.random(n) < APP_USE_RATE
    completion = np.clip(0.3 + 0.65 * truth["engagement"] + rng.normal(0.0, 0.06, n), 0.0, 1.0)
    adherence = np.clip(0.25 + 0.7 * sat + rng.normal(0.0, 0.07, n), 0.0, 1.0)
    count = rng.poisson(ADJUSTMENT_RATE_SCALE * (1.0 - sat) ** 1.5).astype(np.float64)
    kinds = np.where(count > 0, _adjustment_kinds(families, summaries, components, ideal, rng), 0)
    return WeekFeedback(
        stars=out["stars"],
        likert_satisfaction=out["likert_satisfaction"],
        likert_engagement=out["likert_engagement"],
        likert_effectiveness=out["likert_effectiveness"],
        comment_code=np.where(writes, codes, -1),
        child_phrase=habits.child_phrase.astype(np.int64),
        completion_rate=np.where(uses_app, completion, np.nan),
        adherence=np.where(uses_app, adherence, np.nan),
        n_adjustments=np.where(uses_app, count, np.nan),
        adjustment_kind=np.where(uses_app, kinds, -1).astype(np.int64),
    )


@dataclass(frozen=True)
class LivedWeek:
    """One week lived by ``n`` families.

    Attributes:
        params: float64 ``[n, N_PARAMS]`` the schedule parameters (``schedule.PARAM_NAMES`` units).
        layouts: the weeks they lay out (``schedule.layouts_for``; ``layouts[i]`` is family ``i``'s).
        summaries: float64 ``[n, N_SUMMARY]``.
        true: the hidden ``satisfaction``, ``engagement``, ``effectiveness`` of the dated week, ``[n]`` each.
        feedback: what the families reported (``WeekFeedback``).
    """

    params: np.ndarray
    layouts: Any
    summaries: np.ndarray
    true: dict[str, np.ndarray]
    feedback: WeekFeedback


def live_week(
    families: Families,
    habits: SurveyHabits,
    context: WeekContext | None,
    params: np.ndarray,
    weeks_lived: int | np.ndarray,
    rng: np.random.Generator,
) -> LivedWeek:
    """Families live one school week with the schedules ``params`` lays out: its truth and feedback.

    Args:
        families, habits: ``n`` families and their survey habits.
        context: the school week each family lives (``temporal.WeekContext``, aligned).
        params: ``[n, N_PARAMS]`` raw parameter vectors (snapped into range, as ``layouts_for`` does).
        weeks_lived: weeks lived before this one in the episode (survey fatigue).
        rng: the feedback's randomness.
    """
    params = clip_params(np.asarray(params, dtype=np.float64).reshape(len(families), N_PARAMS))
    layouts = layouts_for(params, families.grade_band)
    summaries = summarize_many(layouts, families.grade_band)
    truth = true_scores(families, summaries, context)
    feedback = generate_week_feedback(families, habits, summaries, context, weeks_lived, rng, truth=truth)
    return LivedWeek(params=params, layouts=layouts, summaries=summaries, true=truth, feedback=feedback)
