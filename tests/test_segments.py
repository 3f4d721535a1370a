"""Family segments: labels from what the questionnaire shows, and the order a report lists them in."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brightpath.child import GRADE_BANDS
from brightpath.features import category_scores
from brightpath.questionnaire import CATEGORY_NAMES
from brightpath.segments import PREFERENCE_THRESHOLD, family_segments, level_sort_key


def test_age_bands_follow_the_grade_of_the_childs_age():
    ages = np.array([5, 7, 8, 10, 11, 13, 14, 18], dtype=np.float32)
    segments = family_segments(np.full((len(ages), 25), 3.0, np.float32), ages)
    assert segments["age_band"].tolist() == ["K-2", "K-2", "3-5", "3-5", "6-8", "6-8", "9-12", "9-12"]
    assert segments["age_band"].dtype == object


def test_a_category_is_high_only_above_the_neutral_answer_and_a_skipped_section_is_low():
    answers = np.stack([np.full(25, 5.0), np.full(25, 1.0), np.full(25, 3.0), np.zeros(25)]).astype(np.float32)
    answers[0, :5] = 4.0  # flexibility 0.75: still high
    answers[1, 5:10] = 0.0  # rotation skipped: the neutral default, which is not above the threshold
    segments = family_segments(answers, np.full(4, 9.0))
    assert set(segments) == {"age_band", *CATEGORY_NAMES}
    for name in CATEGORY_NAMES:
        assert segments[name].tolist() == ["high", "low", "low", "low"], name


@settings(max_examples=50, deadline=None)
@given(
    answers=arrays(
        np.float32, st.tuples(st.integers(1, 12), st.just(25)), elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    ),
    data=st.data(),
)
def test_labels_agree_with_the_category_scores(answers, data):
    ages = np.array(data.draw(st.lists(st.integers(5, 18), min_size=len(answers), max_size=len(answers))))
    segments = family_segments(answers, ages)
    scores, _ = category_scores(answers)
    for j, name in enumerate(CATEGORY_NAMES):
        assert segments[name].tolist() == ["high" if s > PREFERENCE_THRESHOLD else "low" for s in scores[:, j]]
    assert set(segments["age_band"]) <= set(GRADE_BANDS)


def test_levels_sort_youngest_band_first_then_low_before_high_then_the_rest():
    levels = ["zeta", "high", "9-12", "low", "K-2", "alpha", "6-8", "3-5"]
    assert sorted(levels, key=level_sort_key) == ["K-2", "3-5", "6-8", "9-12", "low", "high", "alpha", "zeta"]
