"""The on-disk model registry: numbered versions, an atomically swapped champion link, pins,
adoption of a pre-registry model directory, and numbers that stay unique under concurrent publishers."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath import registry
from brightpath.errors import ModelLoadError
from brightpath.export import METADATA_FILE, read_metadata


def fake_model(tag: str):
    """A write_fn that writes a stand-in model (a payload file and its metadata)."""

    def write(directory: Path) -> None:
        (directory / "payload.txt").write_text(tag)
        (directory / METADATA_FILE).write_text(json.dumps({"kind": "generator", "model_version": tag}))

    return write


def payload(path: Path) -> str:
    return (path / "payload.txt").read_text()


def test_publish_numbers_versions_and_promotes_by_default(tmp_path):
    assert registry.publish(tmp_path, "generator", fake_model("a"), {"run_id": "r1"}) == 1
    assert registry.publish(tmp_path, "generator", fake_model("b")) == 2
    version, path = registry.resolve(tmp_path, "generator")
    assert (version, payload(path)) == (2, "b")
    assert path == tmp_path / "versions" / "generator" / "2"
    assert os.readlink(tmp_path / "generator") == "versions/generator/2"  # relative: the root can move
    first = read_metadata(registry.version_path(tmp_path, "generator", 1))
    assert first["run_id"] == "r1" and first["model_version"] == "a"
    assert first["registry"]["name"] == "generator" and first["registry"]["version"] == 1


def test_the_stable_path_still_reads_as_a_model_directory(tmp_path):
    registry.publish(tmp_path, "reward", fake_model("a"))
    assert payload(tmp_path / "reward") == "a"
    assert read_metadata(tmp_path / "reward")["model_version"] == "a"


def test_a_challenger_is_published_without_moving_the_champion(tmp_path):
    registry.publish(tmp_path, "generator", fake_model("champion"))
    assert registry.publish(tmp_path, "generator", fake_model("challenger"), promote=False) == 2
    assert registry.resolve(tmp_path, "generator")[0] == 1
    registry.promote(tmp_path, "generator", 2)
    assert registry.resolve(tmp_path, "generator")[0] == 2
    assert [(p["version"], p["previous"]) for p in registry.promotions(tmp_path, "generator")] == [(1, None), (2, 1)]


def test_a_pin_is_served_whatever_is_promoted(tmp_path):
    for tag in ("a", "b", "c"):
        registry.publish(tmp_path, "generator", fake_model(tag))
    version, path = registry.resolve(tmp_path, "generator", pinned=1)
    assert (version, payload(path)) == (1, "a")
    with pytest.raises(registry.ModelNotFoundError, match="pinned version 7"):
        registry.resolve(tmp_path, "generator", pinned=7)


def test_a_resolved_directory_survives_the_next_promotion(tmp_path):
    registry.publish(tmp_path, "generator", fake_model("old"))
    _, held = registry.resolve(tmp_path, "generator")
    registry.publish(tmp_path, "generator", fake_model("new"))
    assert payload(held) == "old"
    assert payload(registry.resolve(tmp_path, "generator")[1]) == "new"


def test_nothing_promoted_is_a_clear_error(tmp_path):
    with pytest.raises(registry.ModelNotFoundError, match="no version of 'generator' has been promoted"):
        registry.resolve(tmp_path, "generator")
    registry.publish(tmp_path, "generator", fake_model("a"), promote=False)
    with pytest.raises(registry.ModelNotFoundError):
        registry.resolve(tmp_path, "generator")
    with pytest.raises(registry.ModelNotFoundError, match="version 5"):
        registry.promote(tmp_path, "generator", 5)
    assert isinstance(registry.ModelNotFoundError("x", "y"), ModelLoadError)


def test_a_failed_write_publishes_nothing_and_keeps_the_champion(tmp_path):
    registry.publish(tmp_path, "generator", fake_model("good"))

    def broken(directory: Path) -> None:
        (directory / "half-written").write_text("x")
        raise RuntimeError("export failed")

    with pytest.raises(RuntimeError, match="export failed"):
        registry.publish(tmp_path, "generator", broken)
    assert registry.list_versions(tmp_path, "generator") == [1]
    assert payload(registry.resolve(tmp_path, "generator")[1]) == "good"
    assert sorted(p.name for p in (tmp_path / "versions" / "generator").iterdir()) == [".lock", "1", "promotions.jsonl"]


def test_a_legacy_directory_is_served_then_adopted_as_a_version(tmp_path):
    legacy = tmp_path / "generator"
    legacy.mkdir()
    fake_model("legacy")(legacy)
    assert registry.resolve(tmp_path, "generator") == (None, legacy)
    assert registry.publish(tmp_path, "generator", fake_model("new")) == 2
    assert payload(registry.version_path(tmp_path, "generator", 1)) == "legacy"
    assert registry.resolve(tmp_path, "generator")[0] == 2
    registry.promote(tmp_path, "generator", 1)  # roll back to the adopted model
    assert payload(tmp_path / "generator") == "legacy"


def test_a_link_pointing_elsewhere_is_reported(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink("elsewhere", tmp_path / "generator")
    with pytest.raises(ModelLoadError, match="not into versions/generator"):
        registry.resolve(tmp_path, "generator")


@pytest.mark.parametrize("name", ["", "../etc", "Generator", "a/b", "x" * 65, ".lock"])
def test_names_that_could_escape_the_root_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="model name"):
        registry.resolve(tmp_path, name)


@pytest.mark.parametrize("version", [0, -1, True, "1"])
def test_versions_are_positive_integers(tmp_path, version):
    with pytest.raises(ValueError, match="model version"):
        registry.version_path(tmp_path, "generator", version)


def _publish_many(root: str, tag: str, count: int) -> list[int]:
    return [registry.publish(root, "generator", fake_model(f"{tag}-{i}")) for i in range(count)]


def test_concurrent_publishers_never_share_a_number(tmp_path):
    with multiprocessing.get_context("fork").Pool(4) as pool:  # fork: the test is about the lock, not imports
        results = pool.starmap(_publish_many, [(str(tmp_path), f"p{i}", 3) for i in range(4)])
    numbers = sorted(n for result in results for n in result)
    assert numbers == list(range(1, 13))
    tags = {payload(registry.version_path(tmp_path, "generator", n)) for n in numbers}
    assert len(tags) == 12  # every version holds what its own publisher wrote
    assert registry.resolve(tmp_path, "generator")[0] in numbers


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.one_of(st.tuples(st.just("publish"), st.booleans()), st.tuples(st.just("promote"), st.integers(1, 6))),
        max_size=12,
    )
)
def test_the_champion_is_always_the_last_promoted_version(tmp_path_factory, operations):
    root = tmp_path_factory.mktemp("registry")
    expected = None
    for op, argument in operations:
        if op == "publish":
            version = registry.publish(root, "reward", fake_model("x"), promote=argument)
            expected = version if argument else expected
        elif argument in registry.list_versions(root, "reward"):
            registry.promote(root, "reward", argument)
            expected = argument
    if expected is None:
        with pytest.raises(registry.ModelNotFoundError):
            registry.resolve(root, "reward")
    else:
        assert registry.resolve(root, "reward")[0] == expected == registry.champion_version(root, "reward")
