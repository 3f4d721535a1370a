"""The child a schedule is written for: age, grade, attention span and what the grade requires.

The figures are public rules of thumb that a parent or a curriculum guide would
quote, not measurements of one child; the family simulator perturbs them with
hidden per-child traits (``brightpath.simulator``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

MIN_AGE = 5
MAX_AGE = 18

SUBJECTS: tuple[str, ...] = ("math", "reading", "science", "social_studies", "art_music", "pe")
"""Subjects a weekly schedule rotates through, in a fixed order (token ids follow it)."""

GRADE_BANDS: tuple[str, ...] = ("K-2", "3-5", "6-8", "9-12")

# Weekly minutes per subject by grade band. Shaped after common US state
# home-school guidance: reading and math dominate early, science and social
# studies grow with the grade, PE and arts stay roughly constant.
_WEEKLY_REQUIREMENTS: dict[str, dict[str, int]] = {
    "K-2": {"math": 200, "reading": 300, "science": 75, "social_studies": 75, "art_music": 90, "pe": 120},
    "3-5": {"math": 250, "reading": 275, "science": 150, "social_studies": 125, "art_music": 90, "pe": 120},
    "6-8": {"math": 275, "reading": 250, "science": 225, "social_studies": 200, "art_music": 90, "pe": 120},
    "9-12": {"math": 300, "reading": 275, "science": 275, "social_studies": 250, "art_music": 90, "pe": 120},
}

REQUIREMENT_MATRIX = np.array(
    [[_WEEKLY_REQUIREMENTS[band][s] for s in SUBJECTS] for band in GRADE_BANDS], dtype=np.float64
)
"""Weekly required minutes, shape ``[len(GRADE_BANDS), len(SUBJECTS)]``."""


def grade_for_age(age):
    """US grade for an age in years: 0 = kindergarten (age 5) … 12 (age 17 and 18)."""
    return np.clip(np.asarray(age) - MIN_AGE, 0, 12)


def grade_band_index(grade):
    """Index into ``GRADE_BANDS`` for a grade 0–12 (scalar or array)."""
    return np.searchsorted(np.array([2, 5, 8]), np.asarray(grade), side="left")


def attention_span_minutes(age):
    """Typical sustained-attention span in minutes for an age in years.

    The common '2–3 minutes per year of age' rule, with a floor for young
    children and a ceiling for teenagers: 20 min at 5, 33 at 10, 53 at 18.
    """
    return np.clip(2.5 * np.asarray(age, dtype=np.float64) + 8.0, 10.0, 60.0)


def daily_learning_minutes(age):
    """Age-appropriate formal learning minutes per day: 90 at age 5 rising to 285 at 18."""
    return 90.0 + 15.0 * (np.asarray(age, dtype=np.float64) - MIN_AGE)


def max_block_minutes(age):
    """Longest subject block a child of this age should sit through, in minutes (15–60)."""
    return np.clip(np.round(attention_span_minutes(age) * 1.25 / 5.0) * 5.0, 15.0, 60.0)


@dataclass(frozen=True)
class ChildProfile:
    """A child's age-derived planning figures.

    Attributes:
        age: age in whole years, 5–18.
        grade: US grade 0 (K) – 12; defaults to ``grade_for_age(age)``.
    """

    age: int
    grade: int

    @classmethod
    def from_age(cls, age: int, grade: int | None = None) -> ChildProfile:
        """Profile for an age (5–18); the grade defaults to the usual grade for that age."""
        return cls(age=int(age), grade=int(grade_for_age(age)) if grade is None else int(grade))

    @property
    def grade_band(self) -> str:
        """One of ``GRADE_BANDS``."""
        return GRADE_BANDS[self.grade_band_index]

    @property
    def grade_band_index(self) -> int:
        return int(grade_band_index(self.grade))

    @property
    def attention_span_minutes(self) -> float:
        return float(attention_span_minutes(self.age))

    @property
    def daily_learning_minutes(self) -> float:
        return float(daily_learning_minutes(self.age))

    @property
    def max_block_minutes(self) -> float:
        return float(max_block_minutes(self.age))

    @property
    def weekly_requirements(self) -> Mapping[str, int]:
        """Required minutes per week for each subject of ``SUBJECTS``."""
        return MappingProxyType(_WEEKLY_REQUIREMENTS[self.grade_band])
