"""Cyclical temporal features: brightpath.temporal."""

from __future__ import annotations

import datetime
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.temporal import (
    DAY_NAMES,
    N_WEEK_FEATURES,
    SCHOOL_WEEKS_PER_YEAR,
    SEASONS,
    WEEK_FEATURE_HIGH,
    WEEK_FEATURE_LOW,
    WEEK_FEATURES,
    day_of_week_features,
    draw_start_weeks,
    following_school_weeks,
    morning_darkness,
    school_weeks,
    season_features,
    season_of,
    time_of_day_features,
    week_context,
    week_features,
)

FAST = settings(max_examples=200, deadline=None)


def distance(a, b):
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def test_day_names():
    assert DAY_NAMES == ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def test_day_of_week_shapes_and_dtype():
    assert day_of_week_features(0).shape == (2,)
    assert day_of_week_features(np.arange(5)).shape == (5, 2)
    assert day_of_week_features(np.zeros((3, 4), dtype=int)).shape == (3, 4, 2)
    assert day_of_week_features([0, 1]).dtype == np.float32
    np.testing.assert_allclose(day_of_week_features(0), [0.0, 1.0], atol=1e-7)


def test_friday_is_next_to_monday():
    monday, tuesday, wednesday, _, friday = day_of_week_features(np.arange(5))
    assert distance(friday, monday) < distance(monday, wednesday)
    assert distance(friday, monday) == pytest.approx(distance(monday, tuesday), abs=1e-6)


def test_consecutive_days_are_equally_spaced():
    features = day_of_week_features(np.arange(6) % 5)
    steps = [distance(features[i], features[i + 1]) for i in range(5)]
    np.testing.assert_allclose(steps, steps[0], atol=1e-6)


@pytest.mark.parametrize("day", [-1, 5, 7, float("nan"), float("inf"), "Monday", True, [0, 9], [[0], [1, 2]], None])
def test_bad_days_are_rejected(day):
    with pytest.raises(ValidationError) as info:
        day_of_week_features(day)
    assert info.value.field == "day"


def test_time_of_day_landmarks():
    np.testing.assert_allclose(time_of_day_features(0), [0.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(time_of_day_features(6 * 60), [1.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(time_of_day_features(12 * 60), [0.0, -1.0], atol=1e-7)
    late, midnight, noon = time_of_day_features([23 * 60 + 59, 0, 12 * 60])
    assert distance(late, midnight) < distance(midnight, noon)


@pytest.mark.parametrize("minutes", [-1, 1440, 10_000, float("nan"), "08:30"])
def test_bad_times_are_rejected(minutes):
    with pytest.raises(ValidationError) as info:
        time_of_day_features(minutes)
    assert info.value.field == "minutes_since_midnight"


@pytest.mark.parametrize(
    ("month", "season"),
    [(12, "winter"), (1, "winter"), (2, "winter"), (3, "spring"), (5, "spring"), (6, "summer"), (8, "summer"),
     (9, "autumn"), (11, "autumn")],
)  # fmt: skip
def test_season_of_month(month, season):
    assert season_of(month) == season
    assert season_of(datetime.date(2024, month, 15)) == season
    assert season_of(datetime.datetime(2024, month, 1, 9, 0)) == season


def test_every_month_has_a_season():
    assert {season_of(m) for m in range(1, 13)} == set(SEASONS)


@pytest.mark.parametrize("bad", [0, 13, 2.5, "March", None, [1, 2], True])
def test_season_of_rejects_bad_input(bad):
    with pytest.raises(ValidationError):
        season_of(bad)


def test_season_features_accepts_dates_months_and_sequences():
    january, july = season_features([datetime.date(2024, 1, 31), datetime.date(2024, 7, 1)])
    np.testing.assert_allclose(january, [0.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(july, [0.0, -1.0], atol=1e-7)
    np.testing.assert_allclose(season_features(datetime.date(2024, 4, 1)), season_features(4))
    assert season_features(np.arange(1, 13)).shape == (12, 2)
    december, jan, june = season_features([12, 1, 6])
    assert distance(december, jan) < distance(jan, june)


@pytest.mark.parametrize("bad", [0, 13, 1.5, "May", [datetime.date(2024, 1, 1), 3], None])
def test_season_features_rejects_bad_input(bad):
    with pytest.raises(ValidationError) as info:
        season_features(bad)
    assert info.value.field == "date_or_month"


@FAST
@given(days=st.lists(st.floats(0, 5, exclude_max=True), min_size=1, max_size=20))
def test_day_features_have_unit_norm(days):
    norms = np.linalg.norm(day_of_week_features(days), axis=-1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)


@FAST
@given(minutes=st.lists(st.integers(0, 1439), min_size=1, max_size=20))
def test_time_features_have_unit_norm(minutes):
    features = time_of_day_features(np.array(minutes))
    assert features.shape == (len(minutes), 2)
    np.testing.assert_allclose(np.linalg.norm(features, axis=-1), 1.0, atol=1e-6)


@FAST
@given(date=st.dates())
def test_season_features_have_unit_norm_and_match_the_month(date):
    features = season_features(date)
    assert features.shape == (2,)
    assert np.linalg.norm(features) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(features, season_features(date.month))
    assert season_of(date) in SEASONS


# --- the school-year calendar ------------------------------------------------------------------


@pytest.mark.parametrize("year", range(1995, 2060))
def test_every_school_year_has_36_weeks_of_mondays_from_late_august_to_late_may(year):
    weeks = school_weeks(year)
    assert len(weeks) == SCHOOL_WEEKS_PER_YEAR == 36
    days = [w.astype(datetime.date) for w in weeks]
    assert all(d.weekday() == 0 for d in days)
    assert all(b > a for a, b in itertools.pairwise(days))
    assert days[0] == min(
        d for d in (datetime.date(year, 8, 25) + datetime.timedelta(i) for i in range(7)) if d.weekday() == 0
    )
    assert days[-1].month == 5 and days[-1].year == year + 1
    gaps = sorted((b - a).days for a, b in itertools.pairwise(days) if (b - a).days > 7)
    assert gaps == [14, 14, 21]  # Thanksgiving and spring: one week off; winter: two


def test_the_2025_breaks_fall_where_a_family_expects_them():
    weeks = set(school_weeks(2025).astype(str))
    for holiday in ("2025-11-24", "2025-12-22", "2025-12-29", "2026-03-16"):  # Thanksgiving, winter ×2, spring
        assert holiday not in weeks
    for school in ("2025-08-25", "2025-11-17", "2025-12-15", "2026-01-05", "2026-03-23", "2026-05-25"):
        assert school in weeks


def test_weeks_around_breaks_are_counted():
    context = week_context(["2025-11-10", "2025-11-17", "2025-12-01", "2026-01-05", "2026-01-12", "2026-05-25"])
    np.testing.assert_array_equal(context.weeks_until_break, [2, 1, 3, 10, 9, 1])
    np.testing.assert_array_equal(context.weeks_since_break, [12, 13, 1, 1, 2, 10])
    np.testing.assert_array_equal(context.term_week, [11, 12, 13, 16, 17, 35])
    assert context.month.tolist() == [11, 11, 12, 1, 1, 5]
    whole_year = week_context(school_weeks(2030))
    # Within a term one count rises by one a week as the other falls; their sum is the term's length + 1.
    term = np.cumsum(whole_year.weeks_since_break == 1)
    length = whole_year.weeks_until_break + whole_year.weeks_since_break - 1
    for t in np.unique(term):
        assert len(set(length[term == t].tolist())) == 1 and length[term == t][0] == (term == t).sum()
    assert term[-1] == 4  # autumn, December, winter, spring terms


@pytest.mark.parametrize("bad", ["2025-11-24", "2025-08-26", "2025-07-07", "not a date", 20251201, [["2025-12-01"]]])
def test_week_context_rejects_what_is_not_a_school_week(bad):
    with pytest.raises(ValidationError) as info:
        week_context(bad)
    assert info.value.field == "mondays"


def test_following_weeks_skip_breaks_and_must_fit_in_the_year():
    weeks = following_school_weeks(["2025-12-08", "2025-08-25"], 4).astype(str)
    assert weeks[0].tolist() == ["2025-12-08", "2025-12-15", "2026-01-05", "2026-01-12"]
    assert weeks[1].tolist() == ["2025-08-25", "2025-09-01", "2025-09-08", "2025-09-15"]
    with pytest.raises(ValidationError) as info:
        following_school_weeks(["2026-05-11"], 4)
    assert info.value.field == "start_dates"
    with pytest.raises(ValidationError):
        following_school_weeks(["2025-12-08"], 0)


def test_drawn_starts_leave_the_whole_episode_in_the_school_year():
    starts = draw_start_weeks(2000, 8, np.random.default_rng(0), 2025)
    index = week_context(starts).term_week
    assert index.min() == 0 and index.max() == SCHOOL_WEEKS_PER_YEAR - 8
    assert following_school_weeks(starts, 8).shape == (2000, 8)


def test_morning_darkness_peaks_at_the_winter_solstice_and_vanishes_in_summer_months():
    assert morning_darkness(355) == pytest.approx(1.0)
    assert float(morning_darkness(35)) == pytest.approx(0.71, abs=0.02)  # early February
    assert np.all(morning_darkness(np.arange(85, 260)) < 0.02)  # late March to mid September


@FAST
@given(week=st.integers(0, SCHOOL_WEEKS_PER_YEAR - 1), year=st.integers(2000, 2050))
def test_week_features_stay_in_their_documented_bounds(week, year):
    features = week_features(week_context(school_weeks(year)[week : week + 1]))
    assert features.shape == (1, N_WEEK_FEATURES) == (1, len(WEEK_FEATURES)) and features.dtype == np.float32
    assert np.all(features >= WEEK_FEATURE_LOW) and np.all(features <= WEEK_FEATURE_HIGH)
    named = dict(zip(WEEK_FEATURES, features[0]))
    context = week_context(school_weeks(year)[week : week + 1])
    assert named["last_week_before_break"] == float(context.weeks_until_break[0] == 1)
    assert named["first_week_back"] == float(context.weeks_since_break[0] == 1)
    assert named["year_progress"] == pytest.approx(week / 35)
