"""The simulated population: who the families are and what their questionnaires say.

``sample_families`` draws hidden true preferences (correlated across the five
questionnaire categories), the child's age, hidden traits a questionnaire cannot
see (attention, chronotype, rating leniency, survey responsiveness), and the
noisy, partly missing questionnaire answers the family would give.

``sample_survey_habits`` draws how a family answers the weekly feedback survey of the
multi-week world (``simulator.weekly``): a documented share never answers at all. It is
drawn separately, so ``sample_families`` and everything built on it are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from brightpath.child import MAX_AGE, MIN_AGE, grade_band_index, grade_for_age
from brightpath.questionnaire import CATEGORY_NAMES, N_ITEMS

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
SILENT_SHARE = 0.15
"""Share of families who never answer a weekly feedback survey (no stars, Likert or comment, ever);
the app still records what they do (completion, adherence, adjustments)."""
N_CHILD_PHRASES = 5
"""How many ways a parent may name the child in a comment (``simulator.responses`` phrases)."""


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

    def take(self, index) -> Families:
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


@dataclass(frozen=True)
class SurveyHabits:
    """How families answer the weekly feedback survey; hidden, fixed over a family's weeks.

    Attributes:
        silent: bool ``[n]``, the family never answers a survey (share ``SILENT_SHARE``).
        child_phrase: int64 ``[n]``, how the parent names the child in comments
            (0 to ``N_CHILD_PHRASES`` − 1: "my son", "my daughter", …).
    """

    silent: np.ndarray
    child_phrase: np.ndarray

    def __len__(self) -> int:
        return len(self.silent)

    def take(self, index) -> SurveyHabits:
        """The habits at ``index`` (an int array, possibly with repeats)."""
        return SurveyHabits(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def sample_survey_habits(n: int, rng: np.random.Generator) -> SurveyHabits:
    """Survey habits of ``n`` families (see ``SurveyHabits``)."""
    return SurveyHabits(silent=rng.random(n) < SILENT_SHARE, child_phrase=rng.integers(0, N_CHILD_PHRASES, n))
