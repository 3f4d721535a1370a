"""Property-based tests over every public entry point (CONTRACTS §1–§3, issue 8 item 6).

``brightpath.ScheduleGeneratorModel.predict`` (the expert rule, a real exported generator, a
missing or corrupt model directory), ``brightpath.inference.generate_schedule`` and
``brightpath.inference.evaluate_schedule`` (with a tiny exported reward model) receive
generated family input, schedules and feedback — valid, empty, malformed, every feedback field
present, absent, None, empty or malformed in any combination. Each call either returns a valid
result or raises ``ValidationError`` naming a field of the input; nothing else escapes.
``TALLY`` counts every generated input by entry point and outcome (``pytest -s`` prints it).
"""

from __future__ import annotations

import collections
import copy
import datetime
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brightpath import ScheduleGeneratorModel, ValidationError
from brightpath.errors import ModelLoadError
from brightpath.feedback import ADJUSTMENT_KINDS, FEEDBACK_COLUMNS
from brightpath.inference import evaluate_schedule, generate_schedule
from brightpath.questionnaire import ALLOWED_KEYS, ITEM_KEYS
from brightpath.schedule import N_PARAMS, json_to_layout

TALLY: collections.Counter = collections.Counter()
"""``(entry point, outcome)`` → inputs; the outcome is ``"ok"`` or the exception's type name."""
FAMILY_FIELDS = frozenset(ALLOWED_KEYS) | {"user_data", "reference_date"}
SCHEDULE_FIELDS = frozenset({"schedule", "meta", "days", "feedback"}) | FAMILY_FIELDS
SCORES = ("satisfaction", "engagement", "effectiveness")
RUN = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- strategies -----------------------------------------------------------------------------

junk = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.binary(max_size=4),
    st.lists(st.integers(-9, 9), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(-9, 9), max_size=2),
    st.complex_numbers(allow_nan=True),
    st.builds(np.float64, st.floats(allow_nan=True)),
    st.builds(np.int64, st.integers(-99, 99)),
    st.just(np.array([1.0, 2.0])),
    st.dates(),
    st.just(object()),
    st.none(),
)
empty = st.sampled_from(["", [], {}, (), b""])
likert = st.one_of(
    st.integers(1, 5),
    st.integers(1, 5).map(str),
    st.integers(1, 5).map(float),
    st.builds(np.int64, st.integers(1, 5)),
    st.none(),
)
answer = st.one_of(likert, likert, likert, st.sampled_from([0, 6, -1, 3.5, "4.0", " 2 ", "five", True]), junk)
birth_date = st.one_of(
    st.dates(datetime.date(2000, 1, 1), datetime.date(2024, 12, 31)).map(datetime.date.isoformat),
    st.dates(datetime.date(2000, 1, 1), datetime.date(2024, 12, 31)),
    st.text(max_size=12),
    junk,
)
child = st.fixed_dictionaries(
    {},
    optional={
        "child_age": st.one_of(
            st.integers(5, 18), st.integers(5, 18), st.integers(5, 18).map(str), st.integers(-5, 40), junk
        ),
        "birth_date": birth_date,
        "grade": st.one_of(st.integers(0, 12), st.integers(-3, 20), junk),
        "constraints": st.one_of(st.lists(st.text(max_size=12), max_size=3), junk),
        "child_name": st.one_of(st.text(max_size=12), junk),
        "family_id": st.one_of(st.text(max_size=8), st.integers(0, 10**6), junk),
    },
)
ABSENT = object()
ANSWER_CHOICES = (ABSENT, None, 1, 2, 3, 4, 5, "3", 4.0)


@st.composite
def answers(draw):
    """The 25 items, each a valid answer or absent, then up to three replaced by anything (``answer``)."""
    code = draw(st.integers(0, len(ANSWER_CHOICES) ** len(ITEM_KEYS) - 1))  # one draw for all 25 (fast)
    items = {}
    for key in ITEM_KEYS:
        code, choice = divmod(code, len(ANSWER_CHOICES))
        if ANSWER_CHOICES[choice] is not ABSENT:
            items[key] = ANSWER_CHOICES[choice]
    return {**items, **draw(st.dictionaries(st.sampled_from(ITEM_KEYS), answer, max_size=3))}


nested = st.dictionaries(st.sampled_from(ITEM_KEYS), answer, max_size=6)
unknown_keys = st.dictionaries(st.one_of(st.text(max_size=6), st.integers(), st.none()), junk, min_size=1, max_size=2)


@st.composite
def user_data(draw):
    """Family input: mostly a mapping close to CONTRACTS §1, sometimes with nested ``preferences``,
    unknown keys, or not a mapping at all."""
    shape = draw(st.sampled_from(["flat", "flat", "flat", "nested", "unknown", "not_a_mapping"]))
    if shape == "not_a_mapping":
        return draw(st.one_of(junk, empty, st.lists(answers(), max_size=2)))
    data = {**draw(answers()), **draw(child)}
    if shape == "nested":
        data["preferences"] = draw(st.one_of(nested, nested, junk, empty))
    if shape == "unknown":
        data.update(draw(unknown_keys))
    return data


reference_dates = st.one_of(
    st.none(),
    st.none(),
    st.dates(datetime.date(2020, 1, 1), datetime.date(2030, 1, 1)),
    st.datetimes(datetime.datetime(2020, 1, 1), datetime.datetime(2030, 1, 1)),
    junk,
)

FEEDBACK_STATES = ("absent", "valid", "none", "empty", "malformed")


def feedback_value(column: str, state: str) -> st.SearchStrategy:
    """A value of one feedback column in one state (``absent`` is handled by the caller)."""
    if state == "none":
        return st.none()
    if state == "empty":
        return empty
    if column == "comment":
        valid, malformed = st.text(max_size=40), st.one_of(st.integers(), st.floats(), st.lists(st.text(), max_size=2))
    elif column == "adjustment_kind":
        valid = st.sampled_from(ADJUSTMENT_KINDS)
        malformed = st.one_of(st.text(max_size=10).filter(lambda s: s not in ADJUSTMENT_KINDS), st.integers())
    elif column in ("completion_rate", "adherence"):
        valid = st.floats(0.0, 1.0)
        malformed = st.one_of(st.floats(1.0001, 1e6), st.floats(-1e6, -0.0001), st.just(math.nan), st.text(max_size=4))
    elif column == "n_adjustments":
        valid = st.one_of(st.integers(0, 50), st.integers(0, 50).map(float))
        malformed = st.one_of(st.integers(-50, -1), st.just(math.inf), st.text(max_size=4), st.booleans())
    else:  # stars and the three Likert items
        valid = st.one_of(st.integers(1, 5), st.floats(1.0, 5.0))
        malformed = st.one_of(
            st.integers(-5, 0), st.integers(6, 100), st.just(math.nan), st.text(max_size=4), st.booleans()
        )
    return valid if state == "valid" else st.one_of(malformed, junk)


@st.composite
def feedback(draw):
    """None (no feedback), a non-mapping, or a mapping whose columns are each absent, valid,
    None, empty or malformed independently, sometimes with an unknown key."""
    shape = draw(st.sampled_from(["columns", "columns", "columns", "columns", "none", "not_a_mapping", "unknown"]))
    if shape == "none":
        return None
    if shape == "not_a_mapping":
        return draw(st.one_of(junk.filter(lambda v: v is not None), st.lists(st.integers(), max_size=2)))
    data = {}
    for column in FEEDBACK_COLUMNS:
        state = draw(st.sampled_from(FEEDBACK_STATES))
        if state != "absent":
            data[column] = draw(feedback_value(column, state))
    if shape == "unknown":
        data[draw(st.text(max_size=8).filter(lambda k: k not in FEEDBACK_COLUMNS))] = draw(junk)
    return data


VALID_FAMILIES = [
    {**{key: (i * 7 + k) % 5 + 1 for k, key in enumerate(ITEM_KEYS)}, "child_age": 5 + i % 14} for i in range(12)
]
BLOCK_FIELDS = ("type", "start_time", "duration_minutes", "subject")
block_values = st.one_of(
    st.sampled_from(["subject", "break", "lunch", "nap", "math", "reading"]),
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 30), st.integers(0, 70)),
    st.integers(-30, 300),
    junk,
)


@st.composite
def schedules(draw):
    """Schedule JSON: one the expert wrote for a valid family, then 0–3 edits (a value replaced,
    a key deleted, blocks swapped or duplicated, a day removed), or not a mapping at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(junk, empty, st.lists(st.integers(), max_size=3)))
    schedule = copy.deepcopy(_expert_schedules()[draw(st.integers(0, len(VALID_FAMILIES) - 1))])
    for _ in range(draw(st.integers(0, 3))):
        days = schedule.get("days") if isinstance(schedule, dict) else None
        edit = draw(
            st.sampled_from(
                [
                    "block",
                    "block",
                    "block",
                    "delete_block_key",
                    "swap",
                    "duplicate",
                    "day",
                    "drop_day",
                    "meta",
                    "family",
                    "answer",
                    "top",
                ]
            )
        )
        if edit in ("block", "delete_block_key", "swap", "duplicate") and _has_blocks(days):
            day = days[draw(st.integers(0, len(days) - 1))]
            if not _has_blocks([day]):
                continue
            blocks = day["blocks"]
            i = draw(st.integers(0, len(blocks) - 1))
            if edit == "block" and isinstance(blocks[i], dict):
                blocks[i][draw(st.sampled_from(BLOCK_FIELDS))] = draw(block_values)
            elif edit == "delete_block_key" and isinstance(blocks[i], dict):
                blocks[i].pop(draw(st.sampled_from(BLOCK_FIELDS)), None)
            elif edit == "swap":
                j = draw(st.integers(0, len(blocks) - 1))
                blocks[i], blocks[j] = blocks[j], blocks[i]
            else:
                blocks.insert(i, copy.deepcopy(blocks[i]))
        elif edit == "day" and isinstance(days, list) and days:
            day = days[draw(st.integers(0, len(days) - 1))]
            if isinstance(day, dict):
                day[draw(st.sampled_from(["day", "day_name", "blocks"]))] = draw(
                    st.one_of(junk, empty, st.integers(-2, 7))
                )
        elif edit == "drop_day" and isinstance(days, list) and days:
            days.pop(draw(st.integers(0, len(days) - 1)))
        elif edit == "meta" and isinstance(schedule, dict):
            schedule["meta"] = draw(st.one_of(junk, empty))
        elif edit in ("family", "answer") and isinstance(schedule.get("meta"), dict):
            family = schedule["meta"].get("family")
            if edit == "family" or not isinstance(family, dict) or not isinstance(family.get("answers"), list):
                schedule["meta"]["family"] = draw(st.one_of(junk, empty, child))
            else:
                where = draw(st.sampled_from(["answers", "child_age", "grade", "answer"]))
                if where == "answer" and family["answers"]:
                    family["answers"][draw(st.integers(0, len(family["answers"]) - 1))] = draw(answer)
                else:
                    family[where] = draw(st.one_of(junk, st.integers(-3, 20)))
        elif edit == "top" and isinstance(schedule, dict):
            schedule.pop(draw(st.sampled_from(["meta", "days"])), None)
    return schedule


def _with_keys(fields: frozenset, data) -> frozenset:
    """``fields`` plus the string keys of ``data``: an unknown key is reported under its own name."""
    return fields | {key for key in data if isinstance(key, str)} if isinstance(data, dict) else fields


def _has_blocks(days) -> bool:
    return isinstance(days, list) and any(
        isinstance(d, dict) and isinstance(d.get("blocks"), list) and d["blocks"] for d in days
    )


_EXPERT_SCHEDULES: list[dict] = []


def _expert_schedules() -> list[dict]:
    if not _EXPERT_SCHEDULES:
        model = ScheduleGeneratorModel()
        _EXPERT_SCHEDULES.extend(model.predict(family) for family in VALID_FAMILIES)
    return _EXPERT_SCHEDULES


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_root(tmp_path_factory):
    """A model root holding a real exported generator (``generator/``) and a tiny reward model (``reward/``)."""
    root = tmp_path_factory.mktemp("models")
    _export_generator(root / "generator")
    _export_reward_model(root / "reward")
    return root


def _export_generator(directory):
    """A generator SavedModel with the CONTRACTS §6 signature: one random dense layer over the profile."""
    import tensorflow as tf

    from brightpath.export import export_generator
    from brightpath.features import N_PROFILE_FEATURES, profile_features
    from brightpath.tf_namespace import tf_namespace

    tf.random.set_seed(0)
    dense = tf.keras.layers.Dense(N_PARAMS, activation="tanh")
    dense.build((None, N_PROFILE_FEATURES))
    return export_generator(
        lambda answers, age: dense(profile_features(answers, age, tf_namespace())),
        {"dense": dense},
        directory,
        source="entrypoint-test",
        model_version="t1",
    )


def _export_reward_model(directory):
    """The attention reward model at a tiny size, trained for one epoch on 30 simulated families."""
    from brightpath.reward.evaluation import simulated_set
    from brightpath.reward.models import model_config
    from brightpath.reward.scoring import export_reward_model
    from brightpath.reward.training import train_reward_model
    from brightpath.simulator import sample_families

    rng = np.random.default_rng(0)
    train, val = (simulated_set(sample_families(n, rng), rng, per_family=2, mix="logged") for n in (30, 10))
    config = model_config(
        "attention",
        {
            "d_model": 4,
            "num_heads": 1,
            "num_layers": 1,
            "ff_dim": 8,
            "head_units": [8],
            "dropout": 0.0,
            "attention_dropout": 0.0,
            "learning_rate": 0.01,
            "batch_size": 32,
            "max_epochs": 1,
            "patience": 1,
        },
    )
    trained = train_reward_model(config, train, val, seed=0)
    return export_reward_model(trained.model, trained.preprocessing, directory, model_version="entrypoint-tiny")


@pytest.fixture(scope="module")
def broken_dirs(tmp_path_factory, model_root):
    """Generator directories that cannot be used: missing, empty, a corrupt SavedModel, corrupt metadata."""
    root = tmp_path_factory.mktemp("broken")
    (root / "empty").mkdir()
    corrupt_pb = root / "corrupt_pb"
    corrupt_pb.mkdir()
    (corrupt_pb / "brightpath_model.json").write_text(json.dumps({"kind": "generator", "source": "ppo"}))
    (corrupt_pb / "saved_model.pb").write_bytes(b"\x00not a protobuf\xff" * 8)
    corrupt_json = root / "corrupt_json"
    corrupt_json.mkdir()
    (corrupt_json / "brightpath_model.json").write_text("{not json")
    (corrupt_json / "saved_model.pb").write_bytes((model_root / "generator" / "saved_model.pb").read_bytes())
    return [root / "missing", root / "empty", corrupt_pb, corrupt_json]


@pytest.fixture(scope="module", autouse=True)
def _report_tally():
    yield
    total = sum(TALLY.values())
    errors = sorted({outcome for (_, outcome) in TALLY if outcome != "ok"})
    by_entry = collections.Counter()
    for (entry, _), count in TALLY.items():
        by_entry[entry] += count
    print(
        f"\npublic entry points: {total} generated inputs ({dict(by_entry)}); exception types seen: {errors or 'none'}"
    )


# --- checks ---------------------------------------------------------------------------------


def _call(entry: str, allowed_fields: frozenset, function, *args, **kwargs):
    """Call an entry point: ``(result, None)``, or ``(None, error)`` for a ValidationError, which must
    name a field of the input. Any other exception fails the test."""
    try:
        result = function(*args, **kwargs)
    except ValidationError as err:
        TALLY[entry, type(err).__name__] += 1
        root = err.field.split(".")[0].split("[")[0]
        assert err.field in allowed_fields or root in allowed_fields, f"{entry}: ValidationError names {err.field!r}"
        assert err.field in str(err)
        return None, err
    TALLY[entry, "ok"] += 1
    return result, None


def _assert_valid_schedule(schedule: dict, source: str) -> None:
    schedule = json.loads(json.dumps(schedule))  # plain JSON types only
    json_to_layout(schedule)  # passes the validator a client's schedule meets
    assert schedule["meta"]["source"] == source


def _counted(entry: str, n: int):
    """Assert that a property test really generated at least ``n`` inputs."""
    before = sum(count for (name, _), count in TALLY.items() if name == entry)

    def check():
        after = sum(count for (name, _), count in TALLY.items() if name == entry)
        assert after - before >= n, f"{entry}: {after - before} inputs generated, expected ≥ {n}"

    return check


# --- ScheduleGeneratorModel.predict ---------------------------------------------------------

N_EXPERT, N_EXPORTED, N_BROKEN, N_GENERATE, N_EVALUATE = 2500, 1500, 1000, 1500, 3500


def test_predict_with_the_expert_rule():
    check = _counted("predict/expert", N_EXPERT)

    @settings(RUN, max_examples=N_EXPERT)
    @given(data=user_data(), reference_date=reference_dates)
    @example(data={"q1": 4, "child_age": 8}, reference_date=None)
    @example(data={"birth_date": "2016-02-29"}, reference_date=datetime.date(2025, 2, 28))
    def predict(data, reference_date):
        schedule, _ = _call(
            "predict/expert",
            _with_keys(FAMILY_FIELDS, data),
            ScheduleGeneratorModel().predict,
            data,
            reference_date=reference_date,
        )
        if schedule is not None:
            _assert_valid_schedule(schedule, "expert")

    predict()
    check()


def test_predict_with_an_exported_generator(model_root):
    model = ScheduleGeneratorModel(model_root)
    assert model.source == "entrypoint-test" and model.load_error is None
    check = _counted("predict/exported", N_EXPORTED)

    @settings(RUN, max_examples=N_EXPORTED)
    @given(data=user_data(), reference_date=reference_dates)
    def predict(data, reference_date):
        schedule, _ = _call(
            "predict/exported", _with_keys(FAMILY_FIELDS, data), model.predict, data, reference_date=reference_date
        )
        if schedule is not None:
            _assert_valid_schedule(schedule, "entrypoint-test")

    predict()
    check()


def test_predict_with_a_missing_or_corrupt_model_falls_back(broken_dirs):
    models = [ScheduleGeneratorModel(directory) for directory in broken_dirs]
    for model, directory in zip(models, broken_dirs):
        assert model.source == "fallback" and isinstance(model.load_error, ModelLoadError), directory
    check = _counted("predict/fallback", N_BROKEN)

    @settings(RUN, max_examples=N_BROKEN)
    @given(which=st.integers(0, len(models) - 1), data=user_data())
    def predict(which, data):
        schedule, _ = _call("predict/fallback", _with_keys(FAMILY_FIELDS, data), models[which].predict, data)
        if schedule is not None:
            _assert_valid_schedule(schedule, "fallback")

    predict()
    check()


def test_predict_with_another_kind_of_model_falls_back(model_root):
    model = ScheduleGeneratorModel(model_root / "reward")
    schedule = model.predict(VALID_FAMILIES[0])
    assert model.source == "fallback" and isinstance(model.load_error, ModelLoadError)
    _assert_valid_schedule(schedule, "fallback")


# --- generate_schedule ----------------------------------------------------------------------


def test_generate_schedule(model_root, broken_dirs):
    where = [model_root, model_root / "generator", *broken_dirs]
    sources = ["entrypoint-test", "entrypoint-test", *["fallback"] * len(broken_dirs)]
    check = _counted("generate_schedule", N_GENERATE)

    @settings(RUN, max_examples=N_GENERATE)
    @given(which=st.integers(0, len(where) - 1), data=user_data(), reference_date=reference_dates)
    def generate(which, data, reference_date):
        schedule, _ = _call(
            "generate_schedule",
            _with_keys(FAMILY_FIELDS, data),
            generate_schedule,
            data,
            where[which],
            reference_date=reference_date,
        )
        if schedule is not None:
            _assert_valid_schedule(schedule, sources[which])

    generate()
    check()


# --- evaluate_schedule ----------------------------------------------------------------------


def _assert_valid_scores(result: dict, feedback) -> None:
    json.dumps(result)
    for name in SCORES:
        assert isinstance(result[name], float) and 0.0 <= result[name] <= 1.0
    assert isinstance(result["model_version"], str)
    if feedback is None:
        assert "observed" not in result
        return
    for name in SCORES:
        observed = result["observed"][name]
        assert observed is None or 0.0 <= observed <= 1.0
        assert 0.0 <= result["blended"][name] <= 1.0


def test_evaluate_schedule(model_root):
    check = _counted("evaluate_schedule", N_EVALUATE)

    @settings(RUN, max_examples=N_EVALUATE)
    @given(
        schedule=schedules(),
        feedback=feedback(),
        family=st.one_of(st.none(), st.none(), st.none(), user_data()),
        reference_date=reference_dates,
    )
    def evaluate(schedule, feedback, family, reference_date):
        result, _ = _call(
            "evaluate_schedule",
            _with_keys(SCHEDULE_FIELDS, family),
            evaluate_schedule,
            schedule,
            feedback,
            model_root,
            user_data=family,
            reference_date=reference_date,
        )
        if result is not None:
            _assert_valid_scores(result, feedback)

    evaluate()
    check()


@pytest.mark.parametrize("state", FEEDBACK_STATES[1:])
@pytest.mark.parametrize("column", FEEDBACK_COLUMNS)
def test_each_feedback_field_in_each_state(model_root, column, state):
    """Every (field, state) pair at least once, alone: a malformed value is named exactly."""
    schedule = _expert_schedules()[0]

    @settings(RUN, max_examples=10)
    @given(value=feedback_value(column, state))
    def evaluate(value):
        result, error = _call(
            "evaluate_schedule/one_field", SCHEDULE_FIELDS, evaluate_schedule, schedule, {column: value}, model_root
        )
        if state in ("valid", "none"):
            assert error is None
            _assert_valid_scores(result, {column: value})
        elif error is not None:
            assert error.field == f"feedback.{column}"

    evaluate()
    with pytest.raises(ValidationError) as err:
        evaluate_schedule(schedule, {column: object()}, model_root)
    assert err.value.field == f"feedback.{column}"


def test_empty_feedback_is_no_feedback(model_root):
    schedule = _expert_schedules()[2]
    result = evaluate_schedule(schedule, {}, model_root)
    _assert_valid_scores(result, {})
    assert result["observed"] == dict.fromkeys(SCORES)


def test_evaluate_schedule_without_a_reward_model(tmp_path, broken_dirs):
    """Bad input is reported before any model loads; a good schedule names the unusable model's path."""
    schedule = _expert_schedules()[1]
    with pytest.raises(ValidationError) as err:
        evaluate_schedule({"meta": {}, "days": []}, None, tmp_path / "missing")
    assert err.value.field == "days"
    with pytest.raises(ValidationError):
        evaluate_schedule(schedule, {"stars": 9}, tmp_path / "missing")
    for directory in (tmp_path / "missing", *broken_dirs[1:4]):
        with pytest.raises(ModelLoadError) as err:
            evaluate_schedule(schedule, None, directory)
        assert str(directory) in str(err.value)
