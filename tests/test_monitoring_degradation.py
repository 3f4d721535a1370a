"""Degradation of observed satisfaction: the trend per version and window, alerts only on
significant drops of a minimum size, robustness to any input, and — over repeated draws of
families — a false-alarm rate of drift and degradation alerts together of at most 5 % on an
unchanged population, with a broken model version detected."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.monitoring.degradation import (
    OBSERVED_METRICS,
    TREND_COLUMNS,
    DegradationConfig,
    detect_degradation,
    observed_scores,
    satisfaction_trend,
    windows_of,
)
from brightpath.monitoring.drift import family_drift
from brightpath.schedule import summarize_params
from brightpath.simulator import generate_feedback, sample_families

FAST = DegradationConfig(n_bootstrap=100)
COHORT = 300
REPETITIONS = 200
# Alarms among REPETITIONS of a monitor whose true false-alarm rate were 5 % are Binomial(200, 0.05):
# mean 10, sd 3.1; a count beyond mean + 3.5 sd has probability < 0.05 % under that rate.
FALSE_ALARM_LIMIT = int(REPETITIONS * 0.05 + 3.5 * math.sqrt(REPETITIONS * 0.05 * 0.95))


def _frame(windows: dict[int, np.ndarray], version: str = "1", metric: str = "stars") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "window": np.concatenate([np.full(len(v), w) for w, v in windows.items()]),
            "model_version": version,
            metric: np.clip(np.concatenate(list(windows.values())), 0.0, 1.0),
        }
    )


# ---------------------------------------------------------------------------
# Trend and tests
# ---------------------------------------------------------------------------


def test_the_trend_is_the_mean_and_standard_error_per_window_version_and_metric():
    frame = pd.DataFrame(
        {
            "round": [2, 1, 1, 1, 2, 2],
            "model_version": ["1", "1", "1", "2", "2", "2"],
            "stars": [0.5, 0.25, 0.75, np.nan, 1.0, 0.0],
            "completion_rate": [0.9, 0.8, 0.6, 0.7, np.nan, np.nan],
        }
    )
    trend = satisfaction_trend(frame, ("stars", "completion_rate"), window_column="round")
    assert list(trend.columns) == list(TREND_COLUMNS)
    rows = {(r.window, r.model_version, r.metric): r for r in trend.itertuples()}
    assert rows[(1, "1", "stars")].n == 2 and rows[(1, "1", "stars")].mean == 0.5
    assert rows[(1, "1", "stars")].sem == pytest.approx(np.std([0.25, 0.75], ddof=1) / math.sqrt(2))
    assert rows[(1, "2", "completion_rate")].n == 1 and math.isnan(rows[(1, "2", "completion_rate")].sem)
    assert (1, "2", "stars") not in rows and (2, "2", "completion_rate") not in rows  # nothing observed
    assert trend["window"].tolist() == sorted(trend["window"].tolist())


def test_a_significant_drop_alerts_and_names_version_metric_and_window():
    rng = np.random.default_rng(0)
    frame = _frame({1: rng.normal(0.70, 0.15, 400), 2: rng.normal(0.70, 0.15, 400), 3: rng.normal(0.62, 0.15, 400)})
    report = detect_degradation(frame, ("stars",), config=FAST)
    (test,) = report.tests
    assert test.reference_windows == ("1", "2") and test.recent_windows == ("3",)
    assert test.degraded and test.p_holm < 0.025 and test.difference == pytest.approx(-0.08, abs=0.02)
    assert test.ci_low < test.difference < test.ci_high < 0
    (alert,) = report.alerts()
    assert (alert.kind, alert.severity, alert.metric) == ("satisfaction_degradation", "critical", "stars")
    assert alert.labels == {"model_version": "1", "window": "3"}
    json.dumps(report.to_dict())


def test_noise_a_rise_and_a_significant_but_tiny_drop_stay_quiet():
    rng = np.random.default_rng(1)
    rise = _frame({1: rng.normal(0.6, 0.15, 300), 2: rng.normal(0.7, 0.15, 300)})
    assert not detect_degradation(rise, ("stars",), config=FAST).degraded
    # 40,000 rows per window make a 0.01 drop highly significant; it is below min_drop (0.02).
    tiny = _frame({1: rng.normal(0.70, 0.15, 40_000), 2: rng.normal(0.69, 0.15, 40_000)})
    (test,) = detect_degradation(tiny, ("stars",), config=FAST).tests
    assert test.p_holm < 1e-6 and not test.degraded
    (test,) = detect_degradation(tiny, ("stars",), config=DegradationConfig(min_drop=0.005, n_bootstrap=100)).tests
    assert test.degraded


def test_each_version_is_compared_with_its_own_earlier_windows_and_holm_covers_all_tests():
    rng = np.random.default_rng(2)
    old = _frame({1: rng.normal(0.7, 0.15, 200), 2: rng.normal(0.7, 0.15, 200), 3: rng.normal(0.7, 0.15, 200)})
    new = _frame({3: rng.normal(0.5, 0.15, 200)}, version="2")  # launched in window 3, much worse, one window
    report = detect_degradation(pd.concat([old, new]), ("stars",), config=FAST)
    by_version = {t.model_version: t for t in report.tests}
    assert by_version["1"].tested and not by_version["1"].degraded
    assert not by_version["2"].tested and "single window" in by_version["2"].note
    first_only = detect_degradation(old, ("stars",), config=DegradationConfig(reference_windows=1, n_bootstrap=100))
    assert first_only.tests[0].reference_windows == ("1",)
    sparse = _frame({1: rng.normal(0.7, 0.15, 10), 2: rng.normal(0.2, 0.15, 10)})
    (test,) = detect_degradation(sparse, ("stars",), config=FAST).tests
    assert not test.tested and "fewer than 20" in test.note


def test_observed_scores_read_feedback_as_the_reward_model_does():
    feedback = {
        "stars": [5.0, 1.0, np.nan],
        "likert_satisfaction": [3.0, np.nan, 4.0],
        "completion_rate": [0.8, 0.1, np.nan],
        "comment": ["Love it!", None, None],
    }
    scores = observed_scores(feedback)
    assert list(scores.columns) == list(OBSERVED_METRICS)
    np.testing.assert_allclose(scores["stars"], [1.0, 0.0, np.nan])
    np.testing.assert_allclose(scores["likert_satisfaction"], [0.5, np.nan, 0.75])
    np.testing.assert_allclose(scores["completion_rate"], [0.8, 0.1, np.nan])
    with pytest.raises(ValidationError) as info:
        observed_scores({"stars": [6.0]})
    assert info.value.field == "stars"


def test_timestamps_fall_into_windows():
    times = ["2025-03-01T08:00:00Z", "2025-03-01T23:59:00Z", "2025-03-02T00:01:00Z"]
    windows = windows_of(times, "D")
    assert windows.nunique() == 2 and windows.iloc[0] == windows.iloc[1] < windows.iloc[2]
    with pytest.raises(ValidationError) as info:
        windows_of(times, "fortnightly-ish")
    assert info.value.field == "frequency"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: detect_degradation([1, 2]), "frame"),
        (lambda: detect_degradation(pd.DataFrame({"stars": [0.5]})), "frame['window']"),
        (lambda: detect_degradation(pd.DataFrame({"window": [1], "stars": ["good"]}), ("stars",)), "frame['stars']"),
        (lambda: detect_degradation(pd.DataFrame({"window": [1], "stars": [np.inf]}), ("stars",)), "frame['stars']"),
        (lambda: detect_degradation(pd.DataFrame({"window": [1], "stars": [4.0]}), ("stars",)), "frame['stars']"),
        (
            lambda: detect_degradation(pd.DataFrame({"window": [1, "b"], "stars": [0.1, 0.2]}), ("stars",)),
            "frame['window']",
        ),
        (lambda: detect_degradation(pd.DataFrame({"window": [1]}), ("stars",)), "frame['stars']"),
        (lambda: detect_degradation(pd.DataFrame({"window": [1], "stars": [0.1]}), "stars"), "metrics"),
        (lambda: DegradationConfig(alpha=0.0), "degradation.alpha"),
        (lambda: DegradationConfig(min_drop=-0.1), "degradation.min_drop"),
        (lambda: DegradationConfig(recent_windows=0), "degradation.recent_windows"),
    ],
)
def test_bad_input_raises_a_validation_error_naming_the_field(call, field):
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field == field


@st.composite
def _scores_frame(draw):
    n = draw(st.integers(1, 60))
    values = st.one_of(st.just(float("nan")), st.floats(0.0, 1.0), st.floats(allow_nan=False, allow_infinity=False))
    return pd.DataFrame(
        {
            "window": draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
            "model_version": draw(st.lists(st.sampled_from(["1", "2", None]), min_size=n, max_size=n)),
            "stars": draw(st.lists(values, min_size=n, max_size=n)),
        }
    )


@settings(max_examples=100, deadline=None)
@given(frame=_scores_frame(), min_rows=st.integers(2, 5))
def test_any_finite_scores_give_a_report_or_an_error_naming_the_column(frame, min_rows):
    config = DegradationConfig(min_rows=min_rows, n_bootstrap=100)
    try:
        report = detect_degradation(frame, ("stars",), config=config)
    except ValueError as err:
        assert isinstance(err, ValidationError) and err.field == "frame['stars']"
        assert not frame["stars"].between(0.0, 1.0).all()
        return
    json.dumps(report.to_dict())
    for test in report.tests:
        assert test.degraded == (test.tested and test.p_holm < config.alpha and -test.difference >= config.min_drop)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=60), windows=st.integers(2, 4))
def test_the_same_scores_in_every_window_never_alert(values, windows):
    frame = _frame(dict.fromkeys(range(windows), np.array(values)))
    report = detect_degradation(frame, ("stars",), config=DegradationConfig(min_rows=2, n_bootstrap=100))
    assert not report.degraded and report.alerts() == []


# ---------------------------------------------------------------------------
# Repeated draws from the simulator
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served_rounds():
    """Families for every repetition, fresh from ``sample_families`` (two windows of ``COHORT`` per
    repetition), and the weeks the expert rule writes them (the champion at round 0)."""
    families = sample_families(REPETITIONS * 2 * COHORT, np.random.default_rng(40))
    summaries = summarize_params(expert_params(families.answers, families.child_age), families.grade_band)
    return families, summaries


def _observed(families, summaries, rng, window_of_row) -> pd.DataFrame:
    scores = observed_scores(generate_feedback(families, summaries, rng))
    return scores.assign(window=window_of_row, model_version="1")


def test_drift_and_degradation_false_alarm_rate_on_an_unchanged_population_is_at_most_5_percent(served_rounds):
    """Each repetition: two windows of 300 fresh families served by the same model, with fresh
    feedback noise; the second window's profiles are checked for drift against 2,000 training
    families."""
    families, summaries = served_rounds
    rng = np.random.default_rng(41)
    training = sample_families(2000, rng)
    window = np.repeat([1, 2], COHORT)
    drift_alarms = degradation_alarms = alarms = 0
    for r in range(REPETITIONS):
        index = np.arange(2 * COHORT * r, 2 * COHORT * (r + 1))
        cohort = families.take(index)
        degradation = detect_degradation(_observed(cohort, summaries[index], rng, window), config=FAST)
        recent = cohort.take(np.arange(COHORT, 2 * COHORT))
        drift = family_drift(training.answers, training.child_age, recent.answers, recent.child_age)
        drift_alarms += bool(drift.alerts())
        degradation_alarms += bool(degradation.alerts())
        alarms += bool(drift.alerts() or degradation.alerts())
    print(
        f"false alarms over {REPETITIONS} unchanged rounds: {alarms} "
        f"(drift {drift_alarms}, degradation {degradation_alarms})"
    )
    assert alarms <= FALSE_ALARM_LIMIT, f"{alarms} of {REPETITIONS} unchanged rounds raised an alert"


def test_a_model_version_that_mixes_up_families_is_detected(served_rounds):
    """The recent window's model serves a third of its families another family's week (the
    kind of bug that joins schedules to the wrong user): true satisfaction falls ~0.07."""
    families, summaries = served_rounds
    rng = np.random.default_rng(42)
    window = np.repeat([1, 2], COHORT)
    repetitions, detected = 60, 0
    for r in range(repetitions):
        index = np.arange(2 * COHORT * r, 2 * COHORT * (r + 1))
        served = summaries[index].copy()
        mixed = COHORT + rng.choice(COHORT, COHORT // 3, replace=False)
        served[mixed] = served[rng.permutation(mixed)]
        report = detect_degradation(_observed(families.take(index), served, rng, window), config=FAST)
        detected += report.degraded
    print(f"broken version detected in {detected}/{repetitions} rounds")
    assert detected >= 0.9 * repetitions
