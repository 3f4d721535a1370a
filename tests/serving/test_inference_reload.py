"""``brightpath.inference`` with default paths follows the registry: a newly promoted model is
used by the next call, without a restart; nothing promoted means the expert rule."""

from __future__ import annotations

import os

from brightpath import registry
from brightpath.inference import evaluate_schedule, generate_schedule
from tests.serving.helpers import SEED_PREFERENCES, copy_of, tiny_generator

FAMILY = {"preferences": SEED_PREFERENCES, "child_age": 8}


def test_generate_schedule_serves_the_promoted_generator_and_picks_up_the_next(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIGHTPATH_MODEL_DIR", str(tmp_path))
    assert generate_schedule(FAMILY)["meta"]["source"] == "expert"

    registry.publish(tmp_path, "generator", tiny_generator(-0.5, "gen-a"))
    first = generate_schedule(FAMILY)["meta"]
    assert (first["source"], first["model_version"]) == ("ppo", "gen-a")

    registry.publish(tmp_path, "generator", tiny_generator(0.5, "gen-b"))
    second = generate_schedule(FAMILY)["meta"]
    assert second["model_version"] == "gen-b"
    assert second["block_duration_minutes"] > first["block_duration_minutes"]

    registry.promote(tmp_path, "generator", 1)  # a rollback is picked up the same way
    assert generate_schedule(FAMILY)["meta"]["model_version"] == "gen-a"


def test_a_champion_link_to_a_missing_version_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIGHTPATH_MODEL_DIR", str(tmp_path))
    os.symlink("versions/generator/9", tmp_path / "generator")
    assert generate_schedule(FAMILY)["meta"]["source"] == "fallback"


def test_evaluate_schedule_scores_with_the_promoted_reward_model(tmp_path, monkeypatch, reward_model_files):
    monkeypatch.setenv("BRIGHTPATH_MODEL_DIR", str(tmp_path))
    schedule = generate_schedule(FAMILY)
    registry.publish(tmp_path, "reward", copy_of(reward_model_files))
    assert evaluate_schedule(schedule)["model_version"] == "tiny-reward-1"
    registry.publish(tmp_path, "reward", copy_of(reward_model_files), {"model_version": "tiny-reward-2"})
    assert evaluate_schedule(schedule)["model_version"] == "tiny-reward-2"
