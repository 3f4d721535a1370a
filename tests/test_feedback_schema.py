"""The feedback schema: ``parse_feedback`` accepts exactly the documented fields and types, and
anything else is a ``ValidationError`` naming the field, never another exception."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.feedback import ADJUSTMENT_KINDS, FEEDBACK_COLUMNS, LIKERT_MAX, LIKERT_MIN, parse_feedback

NUMERIC_COLUMNS = tuple(c for c in FEEDBACK_COLUMNS if c not in ("comment", "adjustment_kind"))

valid_numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.builds(np.float64, st.floats(-5, 5)),
    st.builds(np.int64, st.integers(0, 9)),
    st.builds(Fraction, st.integers(-9, 9), st.integers(1, 9)),
)
malformed = st.one_of(
    st.text(max_size=8),
    st.booleans(),
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(-math.inf),
    st.just(10**400),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.binary(max_size=4),
    st.just(np.array([1.0, 2.0])),
    st.complex_numbers(allow_nan=False),
    st.just(object()),
)
empty = st.sampled_from([None, "", [], {}])


def value_for(column: str) -> st.SearchStrategy:
    if column == "comment":
        good = st.one_of(st.none(), st.text(max_size=20))
    elif column == "adjustment_kind":
        good = st.one_of(st.none(), st.sampled_from(ADJUSTMENT_KINDS))
    else:
        good = st.one_of(st.none(), valid_numbers)
    return st.one_of(good, empty, malformed, valid_numbers, st.text(max_size=8))


def is_valid(column: str, value) -> bool:
    """The schema, written independently of the implementation."""
    if column not in FEEDBACK_COLUMNS:
        return False
    if value is None:
        return True
    if column == "comment":
        return isinstance(value, str)
    if column == "adjustment_kind":
        return isinstance(value, str) and value in ADJUSTMENT_KINDS
    if isinstance(value, (bool, np.bool_, complex)) or not isinstance(
        value, (int, float, Fraction, np.integer, np.floating)
    ):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


@st.composite
def feedback_mappings(draw):
    present = draw(st.lists(st.sampled_from(FEEDBACK_COLUMNS), unique=True))  # the others are absent
    feedback = {column: draw(value_for(column)) for column in present}
    if draw(st.integers(0, 9)) == 0:  # now and then an unknown key, last
        feedback[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in FEEDBACK_COLUMNS))] = 1
    return feedback


@settings(max_examples=2000, deadline=None)
@given(feedback_mappings())
def test_only_validation_errors_naming_the_first_bad_field_escape(feedback):
    bad = [key for key, value in feedback.items() if not is_valid(key, value)]
    if not bad:
        # Every column comes back: as given, or None where the family said nothing.
        assert parse_feedback(feedback) == {column: [feedback.get(column)] for column in FEEDBACK_COLUMNS}
        return
    with pytest.raises(ValidationError) as err:
        parse_feedback(feedback)
    assert err.value.field == f"feedback.{bad[0]}"
    assert str(err.value).startswith(f"feedback.{bad[0]}: expected ")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=10),
        st.lists(st.integers(), max_size=3),
        st.tuples(st.text(max_size=3)),
        st.binary(max_size=3),
    )
)
def test_anything_but_a_mapping_is_rejected_as_the_feedback_field(feedback):
    with pytest.raises(ValidationError) as err:
        parse_feedback(feedback)
    assert err.value.field == "feedback" and "a mapping" in str(err.value)


def test_an_empty_mapping_is_no_feedback_and_every_field_can_be_left_out():
    nothing = {column: [None] for column in FEEDBACK_COLUMNS}
    assert parse_feedback({}) == nothing
    assert parse_feedback({column: None for column in FEEDBACK_COLUMNS}) == nothing


def test_the_documented_example_passes_and_keeps_its_values():
    week = {
        "stars": LIKERT_MAX,
        "likert_satisfaction": LIKERT_MIN,
        "comment": "Works well for us.",
        "completion_rate": 0.8,
        "adherence": 1,
        "n_adjustments": 0,
        "adjustment_kind": "add_break",
    }
    assert parse_feedback(week) == {column: [week.get(column)] for column in FEEDBACK_COLUMNS}
    assert (LIKERT_MIN, LIKERT_MAX) == (1, 5)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("stars", "4", "a finite number or None"),
        ("stars", True, "a finite number or None"),
        ("adherence", float("nan"), "a finite number or None"),
        ("n_adjustments", 10**400, "a finite number or None"),
        ("comment", 3, "text or None"),
        ("adjustment_kind", "nap_more", "one of none, "),
        ("mood", "happy", "a known key, one of stars, "),
    ],
)
def test_each_kind_of_mistake_says_what_was_expected(key, value, expected):
    with pytest.raises(ValidationError, match=f"feedback.{key}: expected {expected}"):
        parse_feedback({"stars": 4, key: value})
