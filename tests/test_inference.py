"""``brightpath.inference``: the seed plan's generator test, verbatim, the fallback behaviour of
CONTRACTS §3, and what the backend API loads."""

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from brightpath import ScheduleGeneratorModel, ValidationError
from brightpath.inference import generate_schedule
from brightpath.schedule import json_to_layout


def test_generator_model_prediction():
    """Test that the generator model produces valid predictions."""
    # Create a test user profile
    user_data = {
        "q1": 4,
        "q2": 2,
        "q3": 5,
        "q4": 1,
        "q5": 3,  # Flexibility vs. Structure
        "q6": 3,
        "q7": 4,
        "q8": 2,
        "q9": 5,
        "q10": 3,  # Subject Rotation
        "q11": 5,
        "q12": 2,
        "q13": 3,
        "q14": 4,
        "q15": 1,  # Time Management
        "q16": 2,
        "q17": 5,
        "q18": 3,
        "q19": 4,
        "q20": 2,  # Long-Term Scheduling
        "q21": 4,
        "q22": 3,
        "q23": 5,
        "q24": 2,
        "q25": 4,  # Prioritization
        "child_age": 8,
    }

    # Initialize model
    model = ScheduleGeneratorModel()

    # Generate schedule
    schedule = model.predict(user_data)

    # Validate schedule structure
    assert "meta" in schedule
    assert "days" in schedule
    assert len(schedule["days"]) == 5  # 5 days of the week

    # Validate schedule parameters
    assert 0 <= schedule["meta"]["structure_level"] <= 1
    assert 15 <= schedule["meta"]["block_duration_minutes"] <= 60
    assert 2 <= schedule["meta"]["breaks_frequency"] <= 5

    # Validate daily schedule
    day = schedule["days"][0]
    assert "day" in day
    assert "day_name" in day
    assert "blocks" in day
    assert len(day["blocks"]) > 0

    # Validate blocks
    block = day["blocks"][0]
    assert "type" in block
    assert "start_time" in block
    if block["type"] == "subject":
        assert "subject" in block
        assert "duration_minutes" in block


SEED_USER = {f"q{i}": (i % 5) + 1 for i in range(1, 26)} | {"child_age": 8}


def test_without_a_model_the_expert_rule_writes_the_schedule_and_says_so():
    schedule = ScheduleGeneratorModel().predict(SEED_USER)
    assert schedule["meta"]["source"] == "expert"
    json.dumps(schedule)  # plain JSON types only
    json_to_layout(schedule)  # valid by the validator's rules
    assert schedule["meta"]["family"]["child_age"] == 8


def test_missing_model_dir_falls_back_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="brightpath.inference"):
        model = ScheduleGeneratorModel(tmp_path / "nowhere")
    assert model.source == "fallback"
    assert str(tmp_path / "nowhere") in caplog.text
    assert model.predict(SEED_USER)["meta"]["source"] == "fallback"


def test_corrupt_model_dir_falls_back(tmp_path):
    model_dir = tmp_path / "generator"
    model_dir.mkdir()
    (model_dir / "saved_model.pb").write_bytes(b"not a protobuf")
    (model_dir / "brightpath_model.json").write_text('{"source": "ppo", "model_version": "x"}')
    model = ScheduleGeneratorModel(model_dir)
    assert model.source == "fallback"
    assert "corrupt" in str(model.load_error)
    assert model.predict(SEED_USER)["meta"]["source"] == "fallback"


def test_generate_schedule_without_trained_models_uses_the_expert(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIGHTPATH_MODEL_DIR", str(tmp_path / "models"))
    assert generate_schedule(SEED_USER)["meta"]["source"] == "expert"


def test_invalid_user_data_raises_validation_error_naming_the_field():
    with pytest.raises(ValidationError, match="q3"):
        ScheduleGeneratorModel().predict({**SEED_USER, "q3": 6})


def test_the_backend_api_loads_numpy_only_and_never_the_simulator():
    """CONTRACTS §3: a Django view or a Celery task imports the API without the training stack.

    Writing a schedule with the rule loads NumPy and nothing else outside the standard library
    (TensorFlow comes only with a SavedModel; ``test_reward_task`` covers that path), and the
    feedback schema comes from ``brightpath.feedback``, not from the synthetic simulator."""
    script = textwrap.dedent("""
        import json, sys
        import brightpath
        from brightpath.inference import ScheduleGeneratorModel, evaluate_schedule, generate_schedule
        assert brightpath.ScheduleGeneratorModel is ScheduleGeneratorModel
        ScheduleGeneratorModel().predict({"q1": 4, "child_age": 8})
        loaded = {m.split(".")[0] for m in sys.modules}
        # Names with a leading underscore are import machinery (setuptools' hooks, __main__).
        outside = sorted(m for m in loaded - set(sys.stdlib_module_names) if not m.startswith("_"))
        ours = sorted(m for m in sys.modules if m.startswith("brightpath."))
        print(json.dumps({"outside": outside, "ours": ours}))
    """)
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["outside"] == ["brightpath", "numpy"]
    assert "brightpath.feedback" in loaded["ours"]
    assert not [m for m in loaded["ours"] if m.startswith(("brightpath.simulator", "brightpath.reward"))]
