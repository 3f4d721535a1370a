"""Drift of family profiles: Evidently's default tests and thresholds re-implemented on SciPy,
PSI, robustness to any input, a near-zero false-alarm rate on an unchanged population and
detection of older children and of stricter time managers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from brightpath.child import MAX_AGE
from brightpath.errors import ValidationError
from brightpath.features import PROFILE_FEATURES
from brightpath.monitoring.drift import PROFILE_COLUMN_KINDS, DriftConfig, drift_report, family_drift, profile_frame
from brightpath.simulator import sample_families

COHORT = 300
# Alarms among R repetitions of a monitor whose true false-alarm rate were 5 % are Binomial(R, 0.05);
# a count beyond mean + 3.5 sd has probability < 0.05 % under that rate (seeds are fixed).
NULL_REPETITIONS = 200
FALSE_ALARM_LIMIT = int(NULL_REPETITIONS * 0.05 + 3.5 * math.sqrt(NULL_REPETITIONS * 0.05 * 0.95))
SHIFT_REPETITIONS = 60


# ---------------------------------------------------------------------------
# Evidently's choice of test, and the scores themselves
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_reference", "kind", "values", "expected"),
    [
        (500, "num", "many", "ks"),
        (500, "num", "four", "chisquare"),
        (500, "num", "two", "z"),
        (500, "cat", "four", "chisquare"),
        (500, "cat", "two", "z"),
        (1500, "num", "many", "wasserstein"),
        (1500, "num", "four", "jensenshannon"),
        (1500, "cat", "two", "jensenshannon"),
    ],
)
def test_the_default_test_follows_evidently_by_reference_size_and_cardinality(n_reference, kind, values, expected):
    rng = np.random.default_rng(0)
    draw = {
        "many": lambda n: rng.normal(size=n),
        "four": lambda n: rng.integers(0, 4, n).astype(float),
        "two": lambda n: rng.integers(0, 2, n).astype(float),
    }[values]
    report = drift_report({"x": draw(n_reference)}, {"x": draw(200)}, {"x": kind})
    column = report.column("x")
    assert column.test == expected
    if expected in ("ks", "chisquare", "z"):
        assert (column.statistic_kind, column.threshold) == ("p_value", 0.05)
        assert column.drifted == (column.statistic < 0.05)
    else:
        assert (column.statistic_kind, column.threshold) == ("distance", 0.1)
        assert column.drifted == (column.statistic >= 0.1)


def test_scores_agree_with_scipy():
    rng = np.random.default_rng(1)
    small_ref, large_ref, current = rng.normal(size=400), rng.normal(size=3000), rng.normal(0.3, 1.1, 250)
    ks = drift_report({"x": small_ref}, {"x": current}).column("x")
    assert ks.statistic == pytest.approx(scipy.stats.ks_2samp(small_ref, current).pvalue)
    wasserstein = drift_report({"x": large_ref}, {"x": current}).column("x")
    expected = scipy.stats.wasserstein_distance(large_ref, current) / np.std(large_ref)
    assert wasserstein.statistic == pytest.approx(expected)
    assert wasserstein.drifted  # a 0.3 sd shift is 0.3 reference sds of transport

    ref_labels = rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2])
    cur_labels = rng.choice(["a", "b", "c"], 300, p=[0.4, 0.3, 0.3])
    chi = drift_report({"x": ref_labels}, {"x": cur_labels}).column("x")
    ref_counts = np.array([(ref_labels == k).sum() for k in "abc"])
    cur_counts = np.array([(cur_labels == k).sum() for k in "abc"])
    assert chi.statistic == pytest.approx(scipy.stats.chisquare(cur_counts, ref_counts * 300 / 500).pvalue)

    big_ref_labels = rng.choice(["a", "b", "c"], 2000, p=[0.5, 0.3, 0.2])
    js = drift_report({"x": big_ref_labels}, {"x": cur_labels}).column("x")
    big_counts = np.array([(big_ref_labels == k).sum() for k in "abc"])
    assert js.statistic == pytest.approx(jensenshannon(big_counts / 2000, cur_counts / 300, base=2))


def test_z_test_is_the_two_proportion_test():
    ref = np.array([0.0] * 300 + [1.0] * 200)
    cur = np.array([0.0] * 100 + [1.0] * 150)
    column = drift_report({"x": ref}, {"x": cur}).column("x")
    p1, p2, pooled = 0.4, 0.6, (200 + 150) / 750
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 500 + 1 / 250))
    assert column.test == "z"
    assert column.statistic == pytest.approx(2 * scipy.stats.norm.sf(abs(z)))
    assert column.drifted


def test_psi_is_the_textbook_sum_with_evidentlys_empty_bin_share():
    report = drift_report({"x": ["a"] * 50 + ["b"] * 50}, {"x": ["a"] * 80 + ["b"] * 20}, {"x": "cat"})
    expected = (0.5 - 0.8) * math.log(0.5 / 0.8) + (0.5 - 0.2) * math.log(0.5 / 0.2)
    assert report.column("x").psi == pytest.approx(expected)
    assert report.column("x").psi_flagged  # 0.42 ≥ 0.2
    # A value the current sample never shows counts with a 0.0001 share there.
    missing = drift_report({"x": ["a"] * 50 + ["b"] * 50}, {"x": ["a"] * 10}, {"x": "cat"}).column("x")
    assert missing.psi == pytest.approx((0.5 - 1.0) * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4))


def test_a_value_the_reference_never_showed_is_certain_chisquare_drift_without_warnings():
    with np.errstate(all="raise"):
        column = drift_report({"x": ["a", "b", "c"] * 30}, {"x": ["a", "b", "c", "d"] * 10}).column("x")
    assert (column.test, column.statistic, column.drifted) == ("chisquare", 0.0, True)


def test_dataset_drift_needs_half_of_the_columns():
    rng = np.random.default_rng(2)
    reference = pd.DataFrame({f"c{i}": rng.normal(size=2000) for i in range(4)})
    two_shifted = pd.DataFrame({f"c{i}": rng.normal(1.0 if i < 2 else 0.0, 1.0, 3000) for i in range(4)})
    one_shifted = pd.DataFrame({f"c{i}": rng.normal(1.0 if i < 1 else 0.0, 1.0, 3000) for i in range(4)})
    drifting = drift_report(reference, two_shifted)
    assert drifting.share_drifted == 0.5 and drifting.dataset_drift
    assert {a.kind for a in drifting.alerts()} == {"dataset_drift", "feature_drift"}
    quiet = drift_report(reference, one_shifted)
    assert quiet.share_drifted == 0.25 and not quiet.dataset_drift
    assert [a.labels["column"] for a in quiet.alerts()] == ["c0"]


# ---------------------------------------------------------------------------
# Any input: a report or a ValueError naming the argument; identical samples never drift
# ---------------------------------------------------------------------------

_numbers = st.floats(allow_nan=True, allow_infinity=False, width=64)
_labels = st.sampled_from(["a", "b", "c", None])


@st.composite
def _frame(draw, n_min=1):
    n = draw(st.integers(n_min, 40))
    return pd.DataFrame(
        {"x": draw(st.lists(_numbers, min_size=n, max_size=n)), "c": draw(st.lists(_labels, min_size=n, max_size=n))}
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reference=_frame(), current=_frame(), small=st.integers(1, 50))
def test_any_finite_input_gives_a_report_or_an_error_naming_the_argument(reference, current, small):
    try:
        report = drift_report(reference, current, {"x": "num", "c": "cat"}, DriftConfig(small_reference_rows=small))
    except ValueError as err:
        assert isinstance(err, ValidationError)
        assert str(err).startswith(("reference[", "current["))
        return
    json.dumps(report.to_dict())
    for column in report.columns:
        assert column.statistic >= 0.0 and (column.statistic_kind == "distance" or column.statistic <= 1.0)
        assert column.psi >= 0.0 and math.isfinite(column.psi)


@settings(max_examples=100, deadline=None)
@given(reference=_frame(n_min=2), small=st.integers(1, 50))
def test_identical_samples_never_drift(reference, small):
    reference = reference.assign(x=reference["x"].clip(-1e100, 1e100))
    try:
        report = drift_report(
            reference, reference.copy(), {"x": "num", "c": "cat"}, DriftConfig(small_reference_rows=small)
        )
    except ValidationError as err:
        assert "no usable values" in str(err)  # an all-missing column
        return
    assert report.n_drifted == 0 and not report.dataset_drift and report.alerts() == []
    assert all(c.psi == pytest.approx(0.0, abs=1e-12) for c in report.columns)


def test_identical_large_populations_never_drift():
    families = sample_families(1500, np.random.default_rng(3))
    report = family_drift(families.answers, families.child_age, families.answers, families.child_age)
    assert {c.test for c in report.columns} == {"wasserstein", "jensenshannon"}
    assert report.n_drifted == 0 and report.alerts() == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: drift_report({"x": [1.0, 2.0]}, {"y": [1.0]}), "current['x']"),
        (lambda: drift_report({"x": [1.0, 2.0]}, {"x": ["one", "two"]}, {"x": "num"}), "current['x']"),
        (lambda: drift_report({"x": [np.nan, np.inf]}, {"x": [1.0]}, {"x": "num"}), "reference['x']"),
        (lambda: drift_report({"x": [1.0]}, {"x": [1.0]}, {"x": "ordinal"}), "columns['x']"),
        (lambda: drift_report([1.0, 2.0], {"x": [1.0]}), "reference"),
        (lambda: drift_report({"x": [-1e300, 1e300]}, {"x": [1.0]}, {"x": "num"}), "reference['x']"),
        (lambda: DriftConfig(drift_share=1.5), "drift.drift_share"),
        (lambda: DriftConfig(small_reference_rows=0), "drift.small_reference_rows"),
        (lambda: profile_frame(np.ones((3, 24)), np.full(3, 9.0)), "answers"),
        (lambda: profile_frame(np.full((3, 25), 7.0), np.full(3, 9.0)), "answers"),
        (lambda: profile_frame(np.ones((3, 25)), np.full(2, 9.0)), "child_age"),
        (
            lambda: family_drift(np.ones((3, 25)), np.full(3, 9.0), np.ones((3, 25)), [9.0, "x", 9.0]),
            "current_child_age",
        ),
    ],
)
def test_bad_input_raises_a_validation_error_naming_the_field(call, field):
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field == field


def test_profile_frame_holds_the_eleven_profile_features_and_the_age():
    families = sample_families(50, np.random.default_rng(4))
    frame = profile_frame(families.answers, families.child_age)
    assert list(frame.columns) == [*PROFILE_FEATURES, "child_age"] == list(PROFILE_COLUMN_KINDS)
    assert frame["child_age"].tolist() == families.age.tolist()
    fifths = 5 * frame[[c for c in frame.columns if c.startswith("missing_")]].to_numpy()
    assert np.allclose(fifths, np.round(fifths)) and fifths.min() >= 0 and fifths.max() <= 5


# ---------------------------------------------------------------------------
# Unchanged population: no alarm; shifted population: detected
# ---------------------------------------------------------------------------


def shifted_families(n: int, rng: np.random.Generator, *, age_tilt: float = 0.0, time_management_shift: float = 0.0):
    """(answers, child_age) of ``n`` families from a shifted population, by exponential tilting.

    Families from ``sample_families`` are kept with probability ∝ exp(age_tilt · age +
    time_management_shift · z), z the latent Gaussian of the time-management preference
    (the simulator's preferences are sigmoid(1.7 z)). Tilting a standard normal by
    exp(κ z) shifts its mean by κ: stricter time managers by κ sd, the correlated latents
    by κ·ρ; the age tilt moves the age distribution towards older children.
    """
    bound = math.exp(age_tilt * MAX_AGE + time_management_shift * 3.0)  # z > 3 (0.1 %) is clipped
    answers, ages, kept = [], [], 0
    while kept < n:
        families = sample_families(4 * n, rng)
        p = families.preferences[:, 2]
        z = np.log(p / (1.0 - p)) / 1.7
        weight = np.exp(age_tilt * families.age + time_management_shift * z) / bound
        keep = rng.random(len(families)) < weight
        answers.append(families.answers[keep])
        ages.append(families.child_age[keep])
        kept += int(keep.sum())
    return np.concatenate(answers)[:n], np.concatenate(ages)[:n]


@pytest.mark.parametrize("n_reference", [800, 2000], ids=["small reference (KS, chi-square)", "large reference"])
def test_drift_false_alarm_rate_on_an_unchanged_population_is_at_most_5_percent(n_reference):
    rng = np.random.default_rng(20 + n_reference)
    reference = sample_families(n_reference, rng)
    cohorts = sample_families(NULL_REPETITIONS * COHORT, rng)
    alarms = 0
    for r in range(NULL_REPETITIONS):
        cohort = slice(r * COHORT, (r + 1) * COHORT)
        report = family_drift(reference.answers, reference.child_age, cohorts.answers[cohort], cohorts.age[cohort])
        alarms += bool(report.alerts())
    print(f"drift false alarms ({n_reference} reference families): {alarms}/{NULL_REPETITIONS}")
    assert alarms <= FALSE_ALARM_LIMIT, f"{alarms} of {NULL_REPETITIONS} unchanged cohorts raised a drift alert"


@pytest.mark.parametrize(
    ("shift", "expected_column"),
    [
        ({"age_tilt": 0.16}, "child_age"),  # mean age +2.4 years
        ({"time_management_shift": 0.6}, "score_time_management"),  # latent +0.6 sd, score +0.16
    ],
    ids=["older children", "stricter time managers"],
)
def test_a_shifted_population_is_detected(shift, expected_column):
    rng = np.random.default_rng(30)
    reference = sample_families(2000, rng)
    answers, ages = shifted_families(SHIFT_REPETITIONS * COHORT, rng, **shift)
    detected, named = 0, 0
    for r in range(SHIFT_REPETITIONS):
        cohort = slice(r * COHORT, (r + 1) * COHORT)
        alerts = family_drift(reference.answers, reference.child_age, answers[cohort], ages[cohort]).alerts()
        detected += bool(alerts)
        named += any(a.labels.get("column") == expected_column for a in alerts)
    print(f"shift {shift}: detected in {detected}/{SHIFT_REPETITIONS}, naming {expected_column} in {named}")
    assert detected >= 0.95 * SHIFT_REPETITIONS
    assert named >= 0.9 * SHIFT_REPETITIONS
