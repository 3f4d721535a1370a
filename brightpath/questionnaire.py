"""The onboarding questionnaire: validate a family's ``user_data`` and turn it into arrays.

A family answers 25 Likert items (1 = strongly disagree … 5 = strongly agree),
five per preference category, and says how old the child is (``child_age``)
or when the child was born (``birth_date``). ``parse_user_data`` checks one
such mapping against CONTRACTS §1 and returns a ``FamilyInput``;
``answers_to_array`` does the same for a batch and returns the arrays the
generator SavedModel's ``serving_default`` signature takes (CONTRACTS §6):
``answers`` float32 ``[batch, 25]`` with ``MISSING`` (0) for an unanswered
item, and ``child_age`` float32 ``[batch]`` in years.

Missing answers stay ``MISSING`` here; the documented default for them is
applied by whoever turns answers into features, so the raw array always says
what the family actually answered.

Every problem is reported as ``brightpath.errors.ValidationError`` naming the
field and the value received, never as a KeyError, TypeError or NumPy error.
"""

from __future__ import annotations

import datetime
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brightpath.child import MAX_AGE, MIN_AGE, ChildProfile, grade_for_age
from brightpath.errors import ValidationError

N_ITEMS = 25
LIKERT_MIN = 1
LIKERT_MAX = 5
MISSING = 0
"""Code for an unanswered item in answer arrays (CONTRACTS §6)."""

ITEM_KEYS: tuple[str, ...] = tuple(f"q{i}" for i in range(1, N_ITEMS + 1))

CATEGORIES: dict[str, tuple[str, ...]] = {
    # High = the family prefers flexibility over a fixed structure.
    "flexibility": ITEM_KEYS[0:5],
    # High = the family likes switching subjects often during the day.
    "rotation": ITEM_KEYS[5:10],
    # High = strong time management: early, punctual starts.
    "time_management": ITEM_KEYS[10:15],
    # High = the family plans weeks and months ahead.
    "long_term": ITEM_KEYS[15:20],
    # High = core subjects (math, reading) come first.
    "prioritization": ITEM_KEYS[20:25],
}
"""Questionnaire items by preference category, in the seed plan's order."""

CATEGORY_NAMES: tuple[str, ...] = tuple(CATEGORIES)

MIN_GRADE = 0
MAX_GRADE = 12
GRADE_TOLERANCE = 2
"""How far (in grades) a given grade may sit from the usual grade for the child's age."""

BIRTH_DATE_AGE_TOLERANCE = 1
"""Largest difference in years allowed between ``child_age`` and the age from ``birth_date``."""

OPTIONAL_KEYS: tuple[str, ...] = (
    "preferences",
    "child_age",
    "birth_date",
    "grade",
    "constraints",
    "child_name",
    "family_id",
)
ALLOWED_KEYS: tuple[str, ...] = ITEM_KEYS + OPTIONAL_KEYS
"""Every top-level key ``parse_user_data`` accepts."""

_ITEM_INDEX = {key: i for i, key in enumerate(ITEM_KEYS)}
_INT_STRING = re.compile(r"[+-]?[0-9]+")
_LIKERT_EXPECTED = f"an integer Likert answer {LIKERT_MIN}-{LIKERT_MAX} (or None when unanswered)"
_AGE_EXPECTED = f"an integer age in years, {MIN_AGE}-{MAX_AGE}"


@dataclass(frozen=True, eq=False)
class FamilyInput:
    """One family's validated questionnaire.

    Attributes:
        answers: float32 array of shape ``(25,)``: Likert answers 1–5 for
            ``q1`` … ``q25`` in order, ``MISSING`` (0.0) where unanswered.
            Read-only.
        child: the child's profile (age 5–18, grade 0–12).
        constraints: free-form constraint strings given by the family, in order.
    """

    answers: np.ndarray
    child: ChildProfile
    constraints: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        try:
            answers = np.array(self.answers, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValidationError("answers", self.answers, f"a numeric array of shape ({N_ITEMS},)") from None
        if answers.shape != (N_ITEMS,):
            raise ValidationError("answers", self.answers, f"a numeric array of shape ({N_ITEMS},)")
        valid = (answers == MISSING) | (
            (answers >= LIKERT_MIN) & (answers <= LIKERT_MAX) & (answers == np.round(answers))
        )
        if not bool(np.all(valid)):
            bad = int(np.argmin(valid))
            raise ValidationError(f"answers[{bad}]", self.answers[bad], f"{_LIKERT_EXPECTED}; {MISSING} for missing")
        if not isinstance(self.child, ChildProfile):
            raise ValidationError("child", self.child, "a brightpath.child.ChildProfile")
        constraints = _parse_constraints(self.constraints, "constraints")
        answers.setflags(write=False)
        object.__setattr__(self, "answers", answers)
        object.__setattr__(self, "constraints", constraints)

    @property
    def missing_mask(self) -> np.ndarray:
        """Bool array of shape ``(25,)``, True where the item was not answered."""
        return self.answers == MISSING

    @property
    def child_age(self) -> int:
        """The child's age in whole years, 5–18."""
        return int(self.child.age)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FamilyInput):
            return NotImplemented
        return (
            np.array_equal(self.answers, other.answers)
            and self.child == other.child
            and self.constraints == other.constraints
        )

    def __hash__(self) -> int:
        return hash((self.answers.tobytes(), self.child, self.constraints))


def parse_user_data(user_data: Any, *, reference_date: datetime.date | None = None) -> FamilyInput:
    """Validate one family's ``user_data`` mapping (CONTRACTS §1).

    Args:
        user_data: a mapping with string keys:
            ``q1`` … ``q25`` (optional each): Likert answers, integers 1–5; a
            numeric string (``"4"``, ``" 4 "``) or an integral float (``4.0``)
            is accepted, ``None`` means unanswered. The items may also sit in a
            nested mapping under ``"preferences"`` (the seed's Celery task), but
            each item only once.
            ``child_age`` (integer 5–18) or ``birth_date`` (ISO date string or
            ``datetime.date``); one is required. When both are given they may
            differ by at most one year, and the age from ``birth_date`` is used.
            ``grade`` (optional, integer 0–12, 0 = kindergarten): defaults to
            the usual grade for the age and must lie within two grades of it.
            ``constraints`` (optional list/tuple of strings), ``child_name``
            (optional string, not used by the maths), ``family_id`` (optional
            string or integer). ``None`` for any optional key means "not given".
        reference_date: the date at which an age is computed from
            ``birth_date``; defaults to today.

    Returns:
        The validated ``FamilyInput``.

    Raises:
        ValidationError: naming the offending key and the value received.
    """
    if not isinstance(user_data, Mapping):
        raise ValidationError("user_data", user_data, "a mapping (dict) of questionnaire answers and child information")
    for key in user_data:
        if not isinstance(key, str):
            raise ValidationError("user_data", key, "string keys")
        if key not in ALLOWED_KEYS:
            raise ValidationError(key, user_data[key], f"a known key, one of {', '.join(ALLOWED_KEYS)}")

    answers = np.full(N_ITEMS, MISSING, dtype=np.float32)
    for key in ITEM_KEYS:
        if key in user_data:
            answers[_ITEM_INDEX[key]] = _parse_likert(user_data[key], key)
    preferences = user_data.get("preferences")
    if preferences is not None:
        _merge_preferences(preferences, user_data, answers)

    ref = _parse_reference_date(reference_date)
    age = _parse_age(user_data.get("child_age"), user_data.get("birth_date"), ref)
    grade = _parse_grade(user_data.get("grade"), age)
    constraints = _parse_constraints(user_data.get("constraints"), "constraints")
    _check_child_name(user_data.get("child_name"))
    _check_family_id(user_data.get("family_id"))

    return FamilyInput(answers=answers, child=ChildProfile.from_age(age, grade), constraints=constraints)


def normalise_likert(answers: Any) -> np.ndarray:
    """Map Likert answers 1–5 to 0–1 via ``(x - 1) / 4``.

    Any shape; floating inputs keep their dtype, others become float32. Values
    are not checked and ``MISSING`` is not treated specially (0 maps to -0.25),
    so mask or impute missing answers first.
    """
    array = np.asarray(answers)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
    return (array - LIKERT_MIN) / (LIKERT_MAX - LIKERT_MIN)


def answers_to_array(
    user_data_list: Any, *, reference_date: datetime.date | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a batch of ``user_data`` mappings and stack them.

    Args:
        user_data_list: a list (any iterable but a string or a mapping) of
            mappings, each as ``parse_user_data`` takes.
        reference_date: as for ``parse_user_data``, shared by every row.

    Returns:
        ``(answers, child_age)``: float32 ``[B, 25]`` Likert 1–5 with 0 for
        missing, and float32 ``[B]`` ages in years.

    Raises:
        ValidationError: with the row in the field, e.g. ``"[3].q7"``, or
            ``"[3]"`` for row 3 as a whole (not a mapping, a non-string key).
    """
    if isinstance(user_data_list, (str, bytes, Mapping)) or not isinstance(user_data_list, Iterable):
        raise ValidationError("user_data_list", user_data_list, "a list of user_data mappings")
    rows = []
    for i, user_data in enumerate(user_data_list):
        try:
            rows.append(parse_user_data(user_data, reference_date=reference_date))
        except ValidationError as error:
            where = f"[{i}]" if error.field == "user_data" else f"[{i}].{error.field}"
            raise ValidationError(where, error.value, error.expected) from None
    if not rows:
        return np.zeros((0, N_ITEMS), dtype=np.float32), np.zeros((0,), dtype=np.float32)
    answers = np.stack([row.answers for row in rows]).astype(np.float32)
    ages = np.array([row.child_age for row in rows], dtype=np.float32)
    return answers, ages


def _as_integer(value: Any) -> int | None:
    """The integer a value stands for, or None when it is not an exact integer.

    Accepts Python and NumPy integers, floats without a fraction and numeric
    integer strings (surrounding whitespace allowed); rejects booleans.
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (float, np.floating)):
        as_float = float(value)
        if not math.isfinite(as_float) or not as_float.is_integer():
            return None
        return int(as_float)
    if isinstance(value, str):
        text = value.strip()
        if not _INT_STRING.fullmatch(text):
            return None
        try:
            return int(text)
        except ValueError:  # more digits than Python's int-from-string limit
            return None
    return None


def _parse_likert(value: Any, name: str) -> float:
    if value is None:
        return float(MISSING)
    answer = _as_integer(value)
    if answer is None or not LIKERT_MIN <= answer <= LIKERT_MAX:
        raise ValidationError(name, value, _LIKERT_EXPECTED)
    return float(answer)


def _merge_preferences(preferences: Any, user_data: Mapping, answers: np.ndarray) -> None:
    if not isinstance(preferences, Mapping):
        raise ValidationError("preferences", preferences, "a mapping of questionnaire items q1-q25 to answers")
    for key in preferences:
        if not isinstance(key, str):
            raise ValidationError("preferences", key, "string keys")
        if key not in _ITEM_INDEX:
            raise ValidationError(
                f"preferences.{key}", preferences[key], f"a questionnaire item {ITEM_KEYS[0]}-{ITEM_KEYS[-1]}"
            )
        if key in user_data:
            raise ValidationError(
                key, preferences[key], f"{key} given once, at the top level or inside 'preferences' but not both"
            )
        answers[_ITEM_INDEX[key]] = _parse_likert(preferences[key], f"preferences.{key}")


def _parse_reference_date(reference_date: Any) -> datetime.date:
    if reference_date is None:
        return datetime.date.today()
    if isinstance(reference_date, datetime.datetime):
        return reference_date.date()
    if isinstance(reference_date, datetime.date):
        return reference_date
    raise ValidationError("reference_date", reference_date, "a datetime.date or None (today)")


def _age_on(birth: datetime.date, ref: datetime.date) -> int:
    """Age in whole years on ``ref``; a 29 February birthday counts from 1 March in common years."""
    return ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))


def _parse_birth_date(value: Any, ref: datetime.date) -> int:
    expected = f"an ISO date (YYYY-MM-DD) not after {ref.isoformat()} giving an age of {MIN_AGE}-{MAX_AGE}"
    if isinstance(value, datetime.datetime):
        birth = value.date()
    elif isinstance(value, datetime.date):
        birth = value
    elif isinstance(value, str):
        try:
            birth = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError("birth_date", value, expected) from None
    else:
        raise ValidationError("birth_date", value, expected)
    if birth > ref:
        raise ValidationError("birth_date", value, expected)
    age = _age_on(birth, ref)
    if not MIN_AGE <= age <= MAX_AGE:
        raise ValidationError("birth_date", value, f"{expected} (it gives {age} on {ref.isoformat()})")
    return age


def _parse_age(child_age: Any, birth_date: Any, ref: datetime.date) -> int:
    if child_age is None and birth_date is None:
        raise ValidationError("child_age", None, f"{_AGE_EXPECTED}, or a birth_date; one of the two is required")
    stated = None
    if child_age is not None:
        stated = _as_integer(child_age)
        if stated is None or not MIN_AGE <= stated <= MAX_AGE:
            raise ValidationError("child_age", child_age, _AGE_EXPECTED)
    if birth_date is None:
        return stated
    computed = _parse_birth_date(birth_date, ref)
    if stated is not None and abs(computed - stated) > BIRTH_DATE_AGE_TOLERANCE:
        raise ValidationError(
            "birth_date",
            birth_date,
            f"a birth date consistent with child_age={stated} (it gives {computed} on {ref.isoformat()})",
        )
    return computed


def _parse_grade(value: Any, age: int) -> int | None:
    if value is None:
        return None
    usual = int(grade_for_age(age))
    low, high = max(MIN_GRADE, usual - GRADE_TOLERANCE), min(MAX_GRADE, usual + GRADE_TOLERANCE)
    grade = _as_integer(value)
    if grade is None or not low <= grade <= high:
        raise ValidationError(
            "grade", value, f"an integer grade {low}-{high} (0 = kindergarten; usual grade at age {age} is {usual})"
        )
    return grade


def _parse_constraints(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ValidationError(name, value, "a list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError(f"{name}[{i}]", item, "a string")
    return tuple(value)


def _check_child_name(value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError("child_name", value, "a string")


def _check_family_id(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (str, numbers.Integral)):
        raise ValidationError("family_id", value, "a string or an integer")
