"""Satisfaction by family segment: an under-served segment is flagged (Holm across levels),
equal segments are not, small levels are listed untested, bad input names the argument."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.monitoring.segments_report import segment_report
from brightpath.segments import family_segments
from brightpath.simulator import sample_families


@pytest.fixture(scope="module")
def families():
    return sample_families(1500, np.random.default_rng(50))


def test_an_under_served_age_band_is_flagged_and_named(families):
    rng = np.random.default_rng(51)
    segments = family_segments(families.answers, families.child_age)
    scores = np.clip(rng.normal(0.65, 0.15, len(families)), 0, 1)
    scores[segments["age_band"] == "9-12"] -= 0.1
    scores[rng.random(len(families)) < 0.4] = np.nan  # families that gave no feedback
    report = segment_report(scores, segments, n_bootstrap=200)
    assert [(r.segment, r.level) for r in report.worst()] == [("age_band", "9-12")]
    row = report.worst()[0]
    assert row.gap == pytest.approx(-0.1, abs=0.03) and row.p_holm < 0.05 and row.ci_low < row.mean < row.ci_high
    assert report.n == int(np.isfinite(scores).sum())
    (alert,) = report.alerts()
    assert (alert.kind, alert.labels) == ("segment_underserved", {"segment": "age_band", "level": "9-12"})
    levels = [r.level for r in report.rows if r.segment == "age_band"]
    assert levels == ["K-2", "3-5", "6-8", "9-12"]  # youngest first
    json.dumps(report.to_dict())


def test_equal_segments_flag_nothing_and_min_gap_holds_back_small_gaps(families):
    rng = np.random.default_rng(52)
    segments = family_segments(families.answers, families.child_age)
    scores = np.clip(rng.normal(0.65, 0.15, len(families)), 0, 1)
    assert segment_report(scores, segments, n_bootstrap=200).worst() == []
    scores[segments["flexibility"] == "high"] -= 0.04
    assert segment_report(scores, segments, n_bootstrap=200).worst()
    assert segment_report(scores, segments, min_gap=0.06, n_bootstrap=200).worst() == []


def test_small_levels_are_listed_not_tested():
    scores = np.r_[np.full(30, 0.7), np.full(3, 0.1)]
    labels = np.r_[np.full(30, "common"), np.full(3, "rare")]
    report = segment_report(scores + np.linspace(0, 0.01, 33), {"kind": labels}, n_bootstrap=200)
    rare = next(r for r in report.rows if r.level == "rare")
    assert rare.n == 3 and not rare.tested and not rare.flagged


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan"))), min_size=1, max_size=80),
    seed=st.integers(0, 5),
)
def test_any_scores_and_labels_give_a_report(scores, seed):
    labels = np.random.default_rng(seed).choice(["a", "b", "c"], len(scores))
    report = segment_report(scores, {"s": labels}, min_size=2, n_bootstrap=100)
    json.dumps(report.to_dict())
    assert all(not r.flagged or (r.tested and r.gap < 0) for r in report.rows)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scores": [0.5, 1.5], "segments": {"s": ["a", "b"]}}, "scores"),
        ({"scores": ["x", 0.5], "segments": {"s": ["a", "b"]}}, "scores"),
        ({"scores": [0.5, 0.5], "segments": {"s": ["a"]}}, "segments['s']"),
        ({"scores": [0.5, 0.5], "segments": {"s": ["a", None]}}, "segments['s']"),
        ({"scores": [0.5, 0.5], "segments": ["a", "b"]}, "segments"),
        ({"scores": [0.5, 0.5], "segments": {"s": ["a", "b"]}, "alpha": 1.0}, "alpha"),
        ({"scores": [0.5, 0.5], "segments": {"s": ["a", "b"]}, "min_size": 1}, "min_size"),
    ],
)
def test_bad_input_raises_a_validation_error_naming_the_argument(kwargs, field):
    with pytest.raises(ValidationError) as info:
        segment_report(**kwargs)
    assert info.value.field == field
