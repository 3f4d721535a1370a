"""Cyclical temporal features: brightpath.temporal."""
from __future__ import annotations

import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.temporal import (
    DAY_NAMES,
    SEASONS,
    day_of_week_features,
    season_features,
    season_of,
    time_of_day_features,
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
