"""Temporal features from the seed plan (day of week, time of day, season) and the school-year calendar.

Each periodic quantity is encoded as a point on the unit circle, ``(sin, cos)``
of its phase, so the end of a cycle sits next to its start: Friday is as close
to Monday as Monday is to Tuesday (the school week wraps over the weekend),
23:59 is next to 00:00 and December next to January. These feature arrays are
float32 with a trailing axis of size 2 and unit norm.

The school-year calendar (``school_weeks``, ``week_context``) says what a week's
date means for a home-schooling family: which week of the school year it is, how
many weeks remain before the next holiday, whether it is the first week back, how
dark the mornings are. ``week_features`` turns that into the observable date
features of the multi-week environment; ``brightpath.simulator.truth`` reads the
same ``WeekContext`` for the hidden temporal effects.
"""

from __future__ import annotations

import datetime
import functools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, fields
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
    is_sequence = isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    if is_sequence and any(isinstance(item, datetime.date) for item in value):
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


# --- The school-year calendar ------------------------------------------------------------------
#
# A US-style home-school year of 36 five-day weeks, each week named by the date of its Monday
# (``numpy.datetime64[D]``). The rules, for the school year that starts in August of year Y:
#
# ==================  ====================================================================
# period              rule
# ==================  ====================================================================
# first week          the first Monday on or after 25 August (Y)
# Thanksgiving break  the week of the fourth Thursday of November (one week)
# winter break        the weeks whose Monday falls from 20 December to 2 January (two weeks)
# spring break        the week whose Monday falls from 15 to 21 March (one week)
# last week           the 36th school week (late May, Y + 1); the summer break follows
# ==================  ====================================================================
#
# A *term* is a run of school weeks between two breaks. The summer counts as a break, so the
# year's first week is a "first week back" and its last week a "last week before a break".

SCHOOL_YEAR_FIRST_MONDAY_FROM = (8, 25)
"""(month, day): the school year starts on the first Monday on or after it."""
WINTER_BREAK_MONDAYS = ((12, 20), (1, 2))
"""Weeks whose Monday falls in this (month, day) range, inclusive, are the winter break."""
SPRING_BREAK_MONDAYS = ((3, 15), (3, 21))
"""The week whose Monday falls in this (month, day) range, inclusive, is the spring break."""
SCHOOL_WEEKS_PER_YEAR = 36
"""School weeks of a school year (the usual 180 school days); the summer break follows the last."""
DARKEST_DAY_OF_YEAR = 355
"""21 December, the winter solstice: the darkest mornings of the school year (northern hemisphere)."""
DAYS_PER_YEAR = 365.25


def _monday_on_or_after(day: datetime.date) -> datetime.date:
    return day + datetime.timedelta(days=(7 - day.weekday()) % 7)


def _thanksgiving_monday(year: int) -> datetime.date:
    first = datetime.date(year, 11, 1)
    fourth_thursday = first + datetime.timedelta(days=(3 - first.weekday()) % 7 + 21)
    return fourth_thursday - datetime.timedelta(days=3)


def _in_range(day: datetime.date, bounds: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    low, high = bounds
    key = (day.month, day.day)
    if low <= high:
        return low <= key <= high
    return key >= low or key <= high  # the range wraps over New Year


def _check_school_year(school_year: Any) -> int:
    if (
        isinstance(school_year, bool)
        or not isinstance(school_year, numbers.Integral)
        or not (1900 <= int(school_year) <= 2999)
    ):
        raise ValidationError("school_year", school_year, "the calendar year (1900-2999) the school year starts in")
    return int(school_year)


@functools.lru_cache(maxsize=64)
def _calendar(school_year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mondays, weeks_until_break, weeks_since_break)`` of one school year's school weeks."""
    day = _monday_on_or_after(datetime.date(school_year, *SCHOOL_YEAR_FIRST_MONDAY_FROM))
    thanksgiving = _thanksgiving_monday(school_year)
    school: list[datetime.date] = []
    while len(school) < SCHOOL_WEEKS_PER_YEAR:
        if not (day == thanksgiving or _in_range(day, WINTER_BREAK_MONDAYS) or _in_range(day, SPRING_BREAK_MONDAYS)):
            school.append(day)
        day += datetime.timedelta(days=7)
    n = len(school)
    # A break lies before school week i when more than a week passed since the previous one.
    break_before = [True] + [(school[i] - school[i - 1]).days > 7 for i in range(1, n)]
    since = np.ones(n, dtype=np.int64)
    until = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        since[i] = 1 if break_before[i] else since[i - 1] + 1
    for i in range(n - 2, -1, -1):
        until[i] = 1 if break_before[i + 1] else until[i + 1] + 1
    return np.array(school, dtype="datetime64[D]"), until, since


def school_weeks(school_year: int) -> np.ndarray:
    """The Mondays of a school year's school weeks, breaks left out: ``datetime64[D] [36]``.

    Args:
        school_year: the calendar year the school year starts in (August), 1900–2999.
    """
    return _calendar(_check_school_year(school_year))[0].copy()


def as_days(dates: Any, name: str = "dates") -> np.ndarray:
    """A 1-D ``datetime64[D]`` array of ``dates``: ``datetime.date``s, ISO ``YYYY-MM-DD`` texts or
    ``numpy.datetime64`` values, one or a sequence. ``ValidationError`` naming ``name`` otherwise."""
    expected = "dates (datetime.date, ISO 'YYYY-MM-DD' text or numpy.datetime64), one or a 1-D sequence"
    if isinstance(dates, (datetime.date, str, np.datetime64)):
        dates = [dates]
    try:
        array = np.asarray(dates)
        if array.ndim != 1 or (
            array.dtype.kind not in "MU"
            and not (array.dtype.kind == "O" and all(isinstance(d, (datetime.date, str)) for d in array))
        ):
            raise ValueError
        days = array.astype("datetime64[D]")
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(name, dates, expected) from None
    if np.isnat(days).any():
        raise ValidationError(name, dates, expected)
    return days


def _weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday … 6 = Sunday of ``datetime64[D]`` values (1970-01-01 was a Thursday)."""
    return (days.astype(np.int64) + 3) % 7


def _calendar_year(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[Y]").astype(np.int64) + 1970


def _month_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[M]").astype(np.int64) % MONTHS_PER_YEAR + 1


def _day_of_year(days: np.ndarray) -> np.ndarray:
    return (days - days.astype("datetime64[Y]")).astype(np.int64) + 1


@dataclass(frozen=True)
class WeekContext:
    """The calendar facts of school weeks, arrays aligned ``[n]`` (``week_context`` builds it).

    Attributes:
        monday: ``datetime64[D]``, the week's Monday.
        school_year: int64, the calendar year its school year started in (August).
        term_week: int64 0–35, the week's index among its school year's school weeks.
        weeks_until_break: int64 ≥ 1, school weeks left before the next break, this one
            included: 1 = the last week before a holiday (or before the summer).
        weeks_since_break: int64 ≥ 1, school weeks since the last break, this one included:
            1 = the first week back (the year's first week too).
        day_of_year: int64 1–366 of the week's Wednesday.
    """

    monday: np.ndarray
    school_year: np.ndarray
    term_week: np.ndarray
    weeks_until_break: np.ndarray
    weeks_since_break: np.ndarray
    day_of_year: np.ndarray

    def __len__(self) -> int:
        return len(self.monday)

    def take(self, index) -> WeekContext:
        """The weeks at ``index`` (an int array, possibly with repeats)."""
        return WeekContext(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def month(self) -> np.ndarray:
        """int64 1–12, the month of the week's Wednesday."""
        return _month_of(self.monday + np.timedelta64(2, "D"))

    @property
    def morning_darkness(self) -> np.ndarray:
        """float64 0–1: how dark the week's mornings are (``morning_darkness``)."""
        return morning_darkness(self.day_of_year)


def morning_darkness(day_of_year: Any) -> np.ndarray:
    """How dark school mornings are on a day of the year, 0–1 (northern hemisphere).

    ``max(0, cos(2π·(day − 355) / 365.25))``: 1 at the winter solstice (21 December), about 0.7
    in early November and early February, 0 from the March to the September equinox.
    """
    days = _finite_array(day_of_year, "day_of_year", low=1.0, high=367.0, expected="a day of the year, 1-366")
    return np.maximum(0.0, np.cos(2.0 * np.pi * (days - DARKEST_DAY_OF_YEAR) / DAYS_PER_YEAR))


def week_context(mondays: Any) -> WeekContext:
    """The calendar facts (``WeekContext``) of school weeks given by their Mondays.

    Raises:
        ValidationError: a date that is not the Monday of a school week (field ``mondays``).
    """
    days = as_days(mondays, "mondays")
    year = _calendar_year(days) - (_month_of(days) < SCHOOL_YEAR_FIRST_MONDAY_FROM[0])
    term_week = np.zeros(len(days), dtype=np.int64)
    until = np.zeros(len(days), dtype=np.int64)
    since = np.zeros(len(days), dtype=np.int64)
    for school_year in np.unique(year):
        rows = np.flatnonzero(year == school_year)
        weeks, weeks_until, weeks_since = _calendar(int(school_year))
        index = np.clip(np.searchsorted(weeks, days[rows]), 0, len(weeks) - 1)
        wrong = weeks[index] != days[rows]
        if wrong.any():
            bad = str(days[rows][np.flatnonzero(wrong)[0]])
            raise ValidationError(
                "mondays",
                bad,
                "the Monday of a school week (temporal.school_weeks; breaks and summer are not school weeks)",
            )
        term_week[rows] = index
        until[rows] = weeks_until[index]
        since[rows] = weeks_since[index]
    return WeekContext(
        monday=days,
        school_year=year.astype(np.int64),
        term_week=term_week,
        weeks_until_break=until,
        weeks_since_break=since,
        day_of_year=_day_of_year(days + np.timedelta64(2, "D")),
    )


def following_school_weeks(start_mondays: Any, n_weeks: int) -> np.ndarray:
    """The ``n_weeks`` consecutive school weeks (breaks skipped) from each start: ``datetime64[D] [n, n_weeks]``.

    Raises:
        ValidationError: a start that is not a school week's Monday, or fewer than ``n_weeks``
            school weeks left in its school year (field ``start_dates``).
    """
    if isinstance(n_weeks, bool) or not isinstance(n_weeks, numbers.Integral) or n_weeks < 1:
        raise ValidationError("weeks", n_weeks, "an integer number of weeks ≥ 1")
    try:
        context = week_context(start_mondays)
    except ValidationError as err:
        raise ValidationError("start_dates", err.value, err.expected) from None
    late = context.term_week + n_weeks > SCHOOL_WEEKS_PER_YEAR
    if late.any():
        raise ValidationError(
            "start_dates",
            str(context.monday[np.flatnonzero(late)[0]]),
            f"a school week with at least {n_weeks} school weeks left in its school year",
        )
    out = np.empty((len(context), n_weeks), dtype="datetime64[D]")
    for school_year in np.unique(context.school_year):
        rows = np.flatnonzero(context.school_year == school_year)
        weeks = _calendar(int(school_year))[0]
        out[rows] = weeks[context.term_week[rows, None] + np.arange(n_weeks)]
    return out


def draw_start_weeks(n: int, n_weeks: int, rng: np.random.Generator, school_year: int) -> np.ndarray:
    """``n`` start Mondays drawn uniformly among the school weeks of ``school_year`` that leave
    ``n_weeks`` school weeks before the summer: ``datetime64[D] [n]``."""
    weeks = school_weeks(school_year)
    if not 1 <= n_weeks <= len(weeks):
        raise ValidationError("weeks", n_weeks, f"1-{len(weeks)} school weeks (one school year)")
    return weeks[rng.integers(0, len(weeks) - n_weeks + 1, size=n)]


WEEK_FEATURES: tuple[str, ...] = (
    "season_sin",
    "season_cos",
    "morning_darkness",
    "last_week_before_break",
    "weeks_until_break",
    "first_week_back",
    "weeks_since_break",
    "year_progress",
)
"""The observable date features of a school week (``week_features``), each documented there."""
N_WEEK_FEATURES = len(WEEK_FEATURES)
WEEK_FEATURE_LOW = np.array([-1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
WEEK_FEATURE_HIGH = np.ones(N_WEEK_FEATURES, dtype=np.float32)
TERM_HORIZON_WEEKS = 6
"""Counts of weeks to and from a break are clipped here before scaling to 0–1."""


def week_features(context: WeekContext) -> np.ndarray:
    """Date features of school weeks, float32 ``[n, N_WEEK_FEATURES]`` (``WEEK_FEATURES``):

    * ``season_sin``, ``season_cos``: ``season_features`` of the week's month, −1–1;
    * ``morning_darkness``: 0–1 (``morning_darkness``);
    * ``last_week_before_break``: 1 in the last school week before a holiday or the summer, else 0;
    * ``weeks_until_break``: ``min(weeks_until_break, 6) / 6``, 0–1;
    * ``first_week_back``: 1 in the first school week after a break (and the year's first week);
    * ``weeks_since_break``: ``min(weeks_since_break, 6) / 6``, 0–1;
    * ``year_progress``: ``term_week / 35``, 0 in the year's first week, 1 in its last.
    """
    horizon = float(TERM_HORIZON_WEEKS)
    return np.column_stack(
        [
            season_features(context.month).reshape(-1, 2),
            context.morning_darkness,
            context.weeks_until_break == 1,
            np.minimum(context.weeks_until_break, horizon) / horizon,
            context.weeks_since_break == 1,
            np.minimum(context.weeks_since_break, horizon) / horizon,
            context.term_week / (SCHOOL_WEEKS_PER_YEAR - 1.0),
        ]
    ).astype(np.float32)
