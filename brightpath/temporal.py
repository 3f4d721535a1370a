"""Temporal features from the seed plan: day of week, time of day and season.

Each periodic quantity is encoded as a point on the unit circle, ``(sin, cos)``
of its phase, so the end of a cycle sits next to its start: Friday is as close
to Monday as Monday is to Tuesday (the school week wraps over the weekend),
23:59 is next to 00:00 and December next to January. All feature arrays are
float32 with a trailing axis of size 2 and unit norm.
"""
from __future__ import annotations

import datetime
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from brightpath.errors import ValidationError

DAY_NAMES: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
DAYS_PER_WEEK = len(DAY_NAMES)
"""School days in a week; the day-of-week cycle has this period."""

MINUTES_PER_DAY = 24 * 60
MONTHS_PER_YEAR = 12

SEASONS: tuple[str, ...] = ("winter", "spring", "summer", "autumn")
_SEASON_OF_MONTH: tuple[str, ...] = (
    "winter", "winter",                 # January, February
    "spring", "spring", "spring",       # March–May
    "summer", "summer", "summer",       # June–August
    "autumn", "autumn", "autumn",       # September–November
    "winter",                           # December
)  # fmt: skip
"""Meteorological seasons of the northern hemisphere, indexed by month - 1."""


def day_of_week_features(day: Any) -> np.ndarray:
    """Cyclical encoding of a school day.

    Args:
        day: day index 0 = Monday … 4 = Friday, a scalar or an array of any
            shape; fractional values in [0, 5) (e.g. 2.5 = midway through
            Wednesday-to-Thursday) are allowed.

    Returns:
        float32 array of shape ``[..., 2]``: ``(sin, cos)`` of ``2π·day/5``,
        each in [-1, 1].
    """
    days = _finite_array(day, "day", low=0.0, high=DAYS_PER_WEEK, expected="a day index 0 (Monday) - 4 (Friday)")
    return _unit_circle(days / DAYS_PER_WEEK)


def time_of_day_features(minutes_since_midnight: Any) -> np.ndarray:
    """Cyclical encoding of a clock time over a 24-hour cycle.

    Args:
        minutes_since_midnight: minutes in [0, 1440), a scalar or an array of
            any shape (8:30 is 510).

    Returns:
        float32 array of shape ``[..., 2]``: ``(sin, cos)`` of
        ``2π·minutes/1440``; midnight is ``(0, 1)``, 6:00 is ``(1, 0)``.
    """
    minutes = _finite_array(
        minutes_since_midnight,
        "minutes_since_midnight",
        low=0.0,
        high=MINUTES_PER_DAY,
        expected=f"minutes since midnight in [0, {MINUTES_PER_DAY})",
    )
    return _unit_circle(minutes / MINUTES_PER_DAY)


def season_of(date: datetime.date | int) -> str:
    """Northern-hemisphere meteorological season of a date or a month (1–12).

    December–February is ``"winter"``, March–May ``"spring"``, June–August
    ``"summer"``, September–November ``"autumn"``.
    """
    if not isinstance(date, (datetime.date, numbers.Number, np.generic)):
        raise ValidationError("date", date, "a single datetime.date or month 1-12")
    return _SEASON_OF_MONTH[int(_months(date, "date")) - 1]


def season_features(date_or_month: Any) -> np.ndarray:
    """Cyclical encoding of the month of the year.

    Args:
        date_or_month: a ``datetime.date``, a month 1–12, or a sequence/array
            of either.

    Returns:
        float32 array of shape ``[..., 2]``: ``(sin, cos)`` of
        ``2π·(month - 1)/12``; January is ``(0, 1)``, July ``(0, -1)``.
    """
    months = _months(date_or_month, "date_or_month")
    return _unit_circle((months - 1) / MONTHS_PER_YEAR)


def _unit_circle(phase: np.ndarray) -> np.ndarray:
    """``(sin, cos)`` of ``2π·phase`` stacked on a new last axis, as float32."""
    angle = 2.0 * np.pi * phase
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1).astype(np.float32)


def _finite_array(values: Any, name: str, *, low: float, high: float, expected: str) -> np.ndarray:
    """float64 array of real numbers in ``[low, high)``, or a ValidationError naming ``name``."""
    try:
        array = np.asarray(values)
        if array.dtype.kind not in "iuf":
            raise ValueError
        array = array.astype(np.float64)
    except (TypeError, ValueError):
        raise ValidationError(name, values, expected) from None
    if not bool(np.all(np.isfinite(array) & (array >= low) & (array < high))):
        raise ValidationError(name, values, expected)
    return array


def _months(value: Any, name: str) -> np.ndarray:
    """Month numbers 1–12 as a float64 array, from dates, months, or sequences of either."""
    expected = "a datetime.date, a month 1-12, or a sequence of either"
    if isinstance(value, datetime.date):
        return np.asarray(float(value.month))
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if any(isinstance(item, datetime.date) for item in value):
            if not all(isinstance(item, datetime.date) for item in value):
                raise ValidationError(name, value, expected)
            return np.array([float(item.month) for item in value])
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "iuf":
            raise ValueError
        array = array.astype(np.float64)
    except (TypeError, ValueError):
        raise ValidationError(name, value, expected) from None
    if not bool(np.all(np.isfinite(array) & (array == np.round(array)) & (array >= 1) & (array <= MONTHS_PER_YEAR))):
        raise ValidationError(name, value, expected)
    return array
