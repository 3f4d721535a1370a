"""Family input validation (CONTRACTS §1): brightpath.questionnaire."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.child import ChildProfile
from brightpath.errors import ValidationError
from brightpath.questionnaire import (
    CATEGORIES,
    CATEGORY_NAMES,
    ITEM_KEYS,
    MISSING,
    N_ITEMS,
    FamilyInput,
    answers_to_array,
    normalise_likert,
    parse_user_data,
)

REF = datetime.date(2024, 6, 15)

SEED_EXAMPLE = {
    "q1": 4, "q2": 2, "q3": 5, "q4": 1, "q5": 3,  # Flexibility vs. Structure
    "q6": 3, "q7": 4, "q8": 2, "q9": 5, "q10": 3,  # Subject Rotation
    "q11": 5, "q12": 2, "q13": 3, "q14": 4, "q15": 1,  # Time Management
    "q16": 2, "q17": 5, "q18": 3, "q19": 4, "q20": 2,  # Long-Term Scheduling
    "q21": 4, "q22": 3, "q23": 5, "q24": 2, "q25": 4,  # Prioritization
    "child_age": 8,
}  # fmt: skip

FAST = settings(max_examples=200, deadline=None)


def with_age(**items):
    return {"child_age": 10, **items}


def assert_rejected(user_data, field, bad_value, *, reference_date=REF):
    """Parse, expect a ValidationError on ``field`` whose message shows ``field`` and ``repr(bad_value)``."""
    with pytest.raises(ValidationError) as info:
        parse_user_data(user_data, reference_date=reference_date)
    error = info.value
    assert error.field == field
    assert field in str(error)
    assert repr(bad_value) in str(error)
    return error


# --- constants -------------------------------------------------------------------------------------


def test_item_keys_and_categories_cover_the_questionnaire_in_order():
    assert N_ITEMS == 25
    assert tuple(f"q{i}" for i in range(1, 26)) == ITEM_KEYS
    assert CATEGORY_NAMES == ("flexibility", "rotation", "time_management", "long_term", "prioritization")
    assert sum(CATEGORIES.values(), ()) == ITEM_KEYS
    assert CATEGORIES["time_management"] == ("q11", "q12", "q13", "q14", "q15")
    assert MISSING == 0


# --- valid input -----------------------------------------------------------------------------------


def test_seed_example_parses():
    family = parse_user_data(SEED_EXAMPLE, reference_date=REF)
    assert isinstance(family, FamilyInput)
    expected = [SEED_EXAMPLE[k] for k in ITEM_KEYS]
    np.testing.assert_array_equal(family.answers, expected)
    assert family.answers.dtype == np.float32
    assert family.answers.shape == (25,)
    assert not family.missing_mask.any()
    assert family.child_age == 8
    assert family.child == ChildProfile.from_age(8)
    assert family.constraints == ()


def test_missing_items_are_zero_and_masked():
    family = parse_user_data(with_age(q1=5, q7=None, q25=1), reference_date=REF)
    assert family.answers[0] == 5 and family.answers[24] == 1
    assert family.answers[6] == MISSING
    mask = np.ones(25, dtype=bool)
    mask[[0, 24]] = False
    np.testing.assert_array_equal(family.missing_mask, mask)
    assert family.missing_mask.dtype == bool


def test_no_answers_at_all_is_allowed():
    family = parse_user_data({"child_age": 5}, reference_date=REF)
    assert family.missing_mask.all()
    assert (family.answers == 0).all()


@pytest.mark.parametrize("value", ["4", " 4 ", "4\n", "+4", 4.0, np.int64(4), np.int8(4), np.float32(4.0)])
def test_integer_like_values_are_accepted(value):
    family = parse_user_data(with_age(q3=value), reference_date=REF)
    assert family.answers[2] == 4.0


def test_answers_array_is_read_only():
    family = parse_user_data(SEED_EXAMPLE, reference_date=REF)
    with pytest.raises(ValueError):
        family.answers[0] = 1


def test_family_input_equality_and_hash():
    a = parse_user_data(SEED_EXAMPLE, reference_date=REF)
    b = parse_user_data(dict(SEED_EXAMPLE), reference_date=REF)
    assert a == b and hash(a) == hash(b)
    assert a != parse_user_data({**SEED_EXAMPLE, "q1": 1}, reference_date=REF)


def test_preferences_nested_mapping_is_merged():
    preferences = {k: v for k, v in SEED_EXAMPLE.items() if k.startswith("q")}
    family = parse_user_data({"preferences": preferences, "child_age": 8}, reference_date=REF)
    np.testing.assert_array_equal(family.answers, parse_user_data(SEED_EXAMPLE, reference_date=REF).answers)


def test_preferences_and_top_level_items_combine():
    family = parse_user_data({"preferences": {"q2": 2}, "q1": 1, "child_age": 8}, reference_date=REF)
    assert family.answers[:3].tolist() == [1, 2, 0]


def test_item_given_twice_is_rejected():
    assert_rejected({"preferences": {"q2": 2}, "q2": 3, "child_age": 8}, "q2", 2)


def test_bad_value_inside_preferences_names_the_nested_field():
    assert_rejected({"preferences": {"q2": 7}, "child_age": 8}, "preferences.q2", 7)


def test_unknown_key_inside_preferences_is_rejected():
    assert_rejected({"preferences": {"q26": 3}, "child_age": 8}, "preferences.q26", 3)


def test_preferences_must_be_a_mapping():
    assert_rejected({"preferences": [1, 2, 3], "child_age": 8}, "preferences", [1, 2, 3])


def test_optional_extras_are_accepted():
    family = parse_user_data(
        {
            **SEED_EXAMPLE,
            "grade": 4,
            "constraints": ["no classes Friday afternoon", "co-op on Tuesdays"],
            "child_name": "Ada",
            "family_id": 17,
        },
        reference_date=REF,
    )
    assert family.child.grade == 4
    assert family.constraints == ("no classes Friday afternoon", "co-op on Tuesdays")
    assert parse_user_data({**SEED_EXAMPLE, "family_id": "fam-17"}, reference_date=REF).child_age == 8


def test_grade_defaults_to_usual_grade_for_age():
    assert parse_user_data({"child_age": 5}, reference_date=REF).child.grade == 0
    assert parse_user_data({"child_age": 8}, reference_date=REF).child.grade == 3
    assert parse_user_data({"child_age": 18}, reference_date=REF).child.grade == 12


@pytest.mark.parametrize("grade", [1, 5, "2", 0 + 1.0])
def test_grade_within_two_of_usual_is_accepted(grade):
    assert parse_user_data({"child_age": 8, "grade": grade}, reference_date=REF).child.grade == int(float(grade))


@pytest.mark.parametrize("grade", [0, 6, 13, -1, True, 2.5, "three", [3]])
def test_grade_outside_range_or_not_integer_is_rejected(grade):
    assert_rejected({"child_age": 8, "grade": grade}, "grade", grade)


@pytest.mark.parametrize(
    ("constraints", "field", "bad"),
    [
        ("no Fridays", "constraints", "no Fridays"),
        (["ok", 3], "constraints[1]", 3),
        ({"a": 1}, "constraints", {"a": 1}),
    ],
)
def test_bad_constraints_are_rejected(constraints, field, bad):
    assert_rejected({"child_age": 8, "constraints": constraints}, field, bad)


@pytest.mark.parametrize(("key", "value"), [("child_name", 42), ("family_id", True), ("family_id", 1.5)])
def test_bad_optional_extras_are_rejected(key, value):
    assert_rejected({"child_age": 8, key: value}, key, value)


# --- invalid Likert values -------------------------------------------------------------------------

INVALID_LIKERT = [
    True,
    False,
    np.bool_(True),
    2.5,
    4.000001,
    float("nan"),
    float("inf"),
    float("-inf"),
    0,
    6,
    -1,
    10**30,
    "abc",
    "",
    "   ",
    "4.0",
    "2.5",
    "0",
    "6",
    "four",
    [4],
    (4,),
    {"value": 4},
    np.array([4]),
    np.array(4),
    b"4",
    object(),
]


@pytest.mark.parametrize("value", INVALID_LIKERT, ids=[repr(v)[:20] for v in INVALID_LIKERT])
def test_invalid_likert_values_are_rejected(value):
    error = assert_rejected(with_age(q7=value), "q7", value)
    assert isinstance(error, ValueError)
    assert error.value is value


def test_error_message_names_field_and_value():
    with pytest.raises(ValidationError, match=r"q12: expected .*1-5.*got 9 \(int\)"):
        parse_user_data(with_age(q12=9), reference_date=REF)


def test_errors_never_surface_as_other_exception_types():
    for bad in (None, 5, "q1=4", [("q1", 4)], np.zeros(25)):
        with pytest.raises(ValidationError) as info:
            parse_user_data(bad, reference_date=REF)
        assert info.value.field == "user_data"


def test_non_string_key_is_rejected():
    with pytest.raises(ValidationError) as info:
        parse_user_data({1: 4, "child_age": 8}, reference_date=REF)
    assert info.value.field == "user_data"
    assert "1" in str(info.value)


@pytest.mark.parametrize("key", ["q0", "q26", "Q1", "age", "childAge", "q1 ", ""])
def test_unknown_keys_are_rejected(key):
    error = assert_rejected(with_age(**{key: 3}), key, 3)
    assert "child_age" in error.expected and "q25" in error.expected


# --- child age and birth date ----------------------------------------------------------------------


def test_age_or_birth_date_is_required():
    error = assert_rejected({"q1": 3}, "child_age", None)
    assert "birth_date" in str(error)
    assert_rejected({"q1": 3, "child_age": None, "birth_date": None}, "child_age", None)


@pytest.mark.parametrize("age", [5, 18, "9", " 12 ", 7.0, np.int32(11)])
def test_child_age_accepts_integers_5_to_18(age):
    assert parse_user_data({"child_age": age}, reference_date=REF).child_age == int(float(age))


@pytest.mark.parametrize("age", [4, 19, 0, -8, True, 8.5, float("nan"), "eight", "", [8], {"years": 8}])
def test_child_age_rejects_bad_values(age):
    assert_rejected({"child_age": age}, "child_age", age)


@pytest.mark.parametrize(
    ("reference", "age"),
    [
        (datetime.date(2024, 3, 9), 8),  # the day before the 9th birthday
        (datetime.date(2024, 3, 10), 9),  # the birthday itself
        (datetime.date(2024, 3, 11), 9),  # the day after
        (datetime.date(2024, 12, 31), 9),
        (datetime.date(2025, 1, 1), 9),
    ],
)
def test_age_from_birth_date_around_the_birthday(reference, age):
    family = parse_user_data({"birth_date": "2015-03-10"}, reference_date=reference)
    assert family.child_age == age


def test_birth_date_accepts_date_and_datetime_objects():
    assert parse_user_data({"birth_date": datetime.date(2015, 3, 10)}, reference_date=REF).child_age == 9
    assert parse_user_data({"birth_date": datetime.datetime(2015, 3, 10, 14, 30)}, reference_date=REF).child_age == 9
    assert parse_user_data({"birth_date": " 2015-03-10 "}, reference_date=REF).child_age == 9


def test_reference_date_may_be_a_datetime():
    family = parse_user_data({"birth_date": "2015-03-10"}, reference_date=datetime.datetime(2024, 3, 10, 0, 1))
    assert family.child_age == 9


def test_leap_day_birthday_counts_from_first_of_march_in_common_years():
    assert parse_user_data({"birth_date": "2016-02-29"}, reference_date=datetime.date(2023, 2, 28)).child_age == 6
    assert parse_user_data({"birth_date": "2016-02-29"}, reference_date=datetime.date(2023, 3, 1)).child_age == 7
    assert parse_user_data({"birth_date": "2016-02-29"}, reference_date=datetime.date(2024, 2, 29)).child_age == 8


def test_birth_date_defaults_to_today():
    today = datetime.date.today()
    birth = datetime.date(today.year - 10, 1, 1)
    assert parse_user_data({"birth_date": birth}).child_age == 10


def test_age_limits_from_birth_date():
    assert parse_user_data({"birth_date": "2019-06-15"}, reference_date=REF).child_age == 5
    assert_rejected({"birth_date": "2019-06-16"}, "birth_date", "2019-06-16")  # 4 until tomorrow
    assert parse_user_data({"birth_date": "2005-06-16"}, reference_date=REF).child_age == 18
    assert_rejected({"birth_date": "2005-06-15"}, "birth_date", "2005-06-15")  # 19 today


@pytest.mark.parametrize(
    "birth_date",
    ["2030-01-01", "2024-06-16", "not a date", "", "2015-02-30", "15/03/2015", 20150310, True, 2015.0, ["2015-03-10"]],
)
def test_bad_birth_dates_are_rejected(birth_date):
    assert_rejected({"birth_date": birth_date}, "birth_date", birth_date)


@pytest.mark.parametrize("stated", [8, 9, 10])
def test_birth_date_and_age_may_differ_by_one_year(stated):
    family = parse_user_data({"birth_date": "2015-03-10", "child_age": stated}, reference_date=REF)
    assert family.child_age == 9  # the age at the reference date


@pytest.mark.parametrize("stated", [7, 11])
def test_birth_date_and_age_disagreeing_are_rejected(stated):
    error = assert_rejected({"birth_date": "2015-03-10", "child_age": stated}, "birth_date", "2015-03-10")
    assert str(stated) in str(error)


def test_bad_reference_date_is_a_validation_error():
    with pytest.raises(ValidationError) as info:
        parse_user_data({"birth_date": "2015-03-10"}, reference_date="2024-06-15")
    assert info.value.field == "reference_date"


# --- FamilyInput built directly --------------------------------------------------------------------


def test_family_input_validates_its_fields():
    child = ChildProfile.from_age(8)
    assert FamilyInput(answers=[3] * 25, child=child).answers.dtype == np.float32
    with pytest.raises(ValidationError):
        FamilyInput(answers=np.ones(24), child=child)
    with pytest.raises(ValidationError):
        FamilyInput(answers=np.full(25, 2.5), child=child)
    with pytest.raises(ValidationError):
        FamilyInput(answers=np.ones(25), child=8)
    with pytest.raises(ValidationError):
        FamilyInput(answers=np.ones(25), child=child, constraints="x")


# --- normalise_likert ------------------------------------------------------------------------------


def test_normalise_likert_maps_1_to_5_onto_0_to_1():
    np.testing.assert_allclose(normalise_likert(np.array([1, 2, 3, 4, 5])), [0, 0.25, 0.5, 0.75, 1])
    assert normalise_likert(np.array([1, 5])).dtype == np.float32
    assert normalise_likert(np.array([1.0, 5.0])).dtype == np.float64
    assert normalise_likert(np.full((2, 25), 3.0, dtype=np.float32)).shape == (2, 25)


# --- answers_to_array ------------------------------------------------------------------------------


def test_answers_to_array_stacks_rows():
    answers, ages = answers_to_array([SEED_EXAMPLE, {"child_age": 12, "q25": 5}], reference_date=REF)
    assert answers.shape == (2, 25) and answers.dtype == np.float32
    assert ages.tolist() == [8.0, 12.0] and ages.dtype == np.float32
    assert answers[1, 24] == 5 and answers[1, :24].sum() == 0


def test_answers_to_array_empty_batch():
    answers, ages = answers_to_array([], reference_date=REF)
    assert answers.shape == (0, 25) and ages.shape == (0,)


def test_answers_to_array_names_the_row():
    rows = [SEED_EXAMPLE] * 3 + [{**SEED_EXAMPLE, "q7": 9}]
    with pytest.raises(ValidationError) as info:
        answers_to_array(rows, reference_date=REF)
    assert info.value.field == "[3].q7"
    assert "[3].q7" in str(info.value) and "9" in str(info.value)


def test_answers_to_array_row_not_a_mapping():
    with pytest.raises(ValidationError) as info:
        answers_to_array([SEED_EXAMPLE, "oops"], reference_date=REF)
    assert info.value.field == "[1]"


@pytest.mark.parametrize("batch", [SEED_EXAMPLE, "abc", 3, None])
def test_answers_to_array_needs_a_list(batch):
    with pytest.raises(ValidationError) as info:
        answers_to_array(batch, reference_date=REF)
    assert info.value.field == "user_data_list"


# --- properties ------------------------------------------------------------------------------------

answer_dicts = st.dictionaries(st.sampled_from(ITEM_KEYS), st.integers(1, 5) | st.none())


@FAST
@given(items=answer_dicts, age=st.integers(5, 18), as_string=st.booleans())
def test_any_subset_of_valid_answers_round_trips(items, age, as_string):
    user_data = {k: (f" {v} " if as_string and v is not None else v) for k, v in items.items()}
    family = parse_user_data({**user_data, "child_age": age}, reference_date=REF)
    expected = np.array([items.get(k) or 0 for k in ITEM_KEYS], dtype=np.float32)
    np.testing.assert_array_equal(family.answers, expected)
    np.testing.assert_array_equal(family.missing_mask, [items.get(k) is None for k in ITEM_KEYS])
    assert family.child_age == age


@FAST
@given(key=st.sampled_from(ITEM_KEYS), value=st.integers().filter(lambda v: not 1 <= v <= 5))
def test_any_integer_outside_1_to_5_is_rejected(key, value):
    for bad in (value, str(value)):
        error = assert_rejected(with_age(**{key: bad}), key, bad)
        assert error.value == bad


@FAST
@given(
    key=st.sampled_from(ITEM_KEYS),
    value=st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not math.isfinite(v) or not v.is_integer()),
)
def test_any_float_with_a_fraction_is_rejected(key, value):
    assert_rejected(with_age(**{key: value}), key, value)


@FAST
@given(
    birth=st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2024, 12, 31)),
    reference=st.dates(min_value=datetime.date(2010, 1, 1), max_value=datetime.date(2035, 12, 31)),
)
def test_birth_date_age_matches_calendar_arithmetic(birth, reference):
    years = reference.year - birth.year - ((reference.month, reference.day) < (birth.month, birth.day))
    user_data = {"birth_date": birth.isoformat()}
    if birth <= reference and 5 <= years <= 18:
        assert parse_user_data(user_data, reference_date=reference).child_age == years
    else:
        assert_rejected(user_data, "birth_date", birth.isoformat(), reference_date=reference)
