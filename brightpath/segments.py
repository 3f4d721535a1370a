"""Family segments: the kinds of family a comparison is repeated within.

A segment is a labelling of families from what their questionnaire shows (never
hidden traits): the child's grade band, and high/low preference per
questionnaire category. ``level_sort_key`` orders a segment's levels for reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brightpath.child import GRADE_BANDS, grade_band_index, grade_for_age
from brightpath.features import category_scores
from brightpath.questionnaire import CATEGORY_NAMES

PREFERENCE_THRESHOLD = 0.5
"""A category's composite score above this (the neutral answer, 3 of 5) is 'high'; at or below it,
'low' (a skipped section scores the neutral default, so it counts as low)."""


def family_segments(answers: np.ndarray, child_age: np.ndarray) -> dict[str, np.ndarray]:
    """Segment labels per family from what the questionnaire shows (never hidden traits).

    Returns:
        ``{"age_band": grade band ("K-2", "3-5", "6-8", "9-12"), "<category>": "high"|"low"
        for each questionnaire category}``, each an object array ``[n]``.
    """
    answers = np.asarray(answers, np.float32)
    age = np.asarray(child_age, np.float64).reshape(-1)
    out = {"age_band": np.array(GRADE_BANDS, dtype=object)[grade_band_index(grade_for_age(np.round(age)))]}
    scores, _ = category_scores(answers)
    for j, name in enumerate(CATEGORY_NAMES):
        out[name] = np.where(scores[:, j] > PREFERENCE_THRESHOLD, "high", "low").astype(object)
    return out


def level_sort_key(level: Any) -> tuple[int, str]:
    """Grade bands youngest first, then 'low' before 'high', then anything else alphabetically."""
    known = (*GRADE_BANDS, "low", "high")
    return (known.index(level), "") if level in known else (len(known), str(level))


__all__ = ["PREFERENCE_THRESHOLD", "family_segments", "level_sort_key"]
