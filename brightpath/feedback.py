"""The feedback schema: what a family can tell us about a week, and the check of one feedback mapping.

The simulator writes these columns (``brightpath.simulator.responses``) and the
inference API reads them (``brightpath.inference.evaluate_schedule``); both import
them from here, so neither depends on the other.

=========================  ============================================================
column                     value (None, or NaN in a table, when the family said nothing)
=========================  ============================================================
``stars``                  rating of the week, Likert ``LIKERT_MIN``–``LIKERT_MAX`` (1–5)
``likert_satisfaction``    survey item, 1–5
``likert_engagement``      survey item, 1–5
``likert_effectiveness``   survey item, 1–5
``comment``                free text
``completion_rate``        share of the planned blocks done, 0–1
``adherence``              share of the week run as planned, 0–1
``n_adjustments``          changes the family made to the week, ≥ 0
``adjustment_kind``        the main change, one of ``ADJUSTMENT_KINDS``
=========================  ============================================================

Feedback uses the questionnaire's Likert scale (``questionnaire.LIKERT_MIN``/``LIKERT_MAX``).
``parse_feedback`` checks the keys and the type of every value of one mapping;
the numeric ranges are checked where the values are read
(``brightpath.reward.targets.feedback_signals``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from brightpath.errors import ValidationError
from brightpath.questionnaire import LIKERT_MAX, LIKERT_MIN

FEEDBACK_COLUMNS: tuple[str, ...] = (
    "stars",
    "likert_satisfaction",
    "likert_engagement",
    "likert_effectiveness",
    "comment",
    "completion_rate",
    "adherence",
    "n_adjustments",
    "adjustment_kind",
)
ADJUSTMENT_KINDS: tuple[str, ...] = (
    "none",
    "shorten_blocks",
    "lengthen_blocks",
    "reduce_load",
    "add_load",
    "add_break",
    "fewer_breaks",
    "move_start_earlier",
    "move_start_later",
    "fix_start_time",
    "mix_subjects",
    "group_subjects",
    "keep_days_alike",
    "vary_days",
    "finish_earlier",
    "add_missing_subjects",
)


def parse_feedback(feedback: Any) -> dict[str, list]:
    """One week's feedback as one-row columns (``{column: [value]}``), the type of every value checked.

    Args:
        feedback: a mapping with any subset of ``FEEDBACK_COLUMNS``: ``comment`` text,
            ``adjustment_kind`` one of ``ADJUSTMENT_KINDS``, the others finite numbers;
            None for a missing value.

    Raises:
        ValidationError: not a mapping (field ``feedback``), an unknown key or a value of the
            wrong type (field ``feedback.<key>``).
    """
    if not isinstance(feedback, Mapping):
        raise ValidationError("feedback", feedback, f"a mapping with any of {', '.join(FEEDBACK_COLUMNS)}")
    # Every column is present, None where the family said nothing: empty feedback is a row that says nothing.
    columns: dict[str, list] = {column: [None] for column in FEEDBACK_COLUMNS}
    for key, value in feedback.items():
        if key not in FEEDBACK_COLUMNS:
            raise ValidationError(f"feedback.{key}", value, f"a known key, one of {', '.join(FEEDBACK_COLUMNS)}")
        if key == "comment":
            if value is not None and not isinstance(value, str):
                raise ValidationError("feedback.comment", value, "text or None")
        elif key == "adjustment_kind":
            if value is not None and (not isinstance(value, str) or value not in ADJUSTMENT_KINDS):
                raise ValidationError("feedback.adjustment_kind", value, f"one of {', '.join(ADJUSTMENT_KINDS)}")
        elif value is not None and not _is_finite_number(value):
            raise ValidationError(f"feedback.{key}", value, "a finite number or None")
        columns[key] = [value]
    return columns


def _is_finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond float range
        return False


__all__ = ["ADJUSTMENT_KINDS", "FEEDBACK_COLUMNS", "LIKERT_MAX", "LIKERT_MIN", "parse_feedback"]
