"""Versioned datasets: determinism, family-level splits, data card."""

import json

import numpy as np
import pandas as pd
import pytest

from brightpath.datasets import family_splits, generate_datasets, load_families, load_split, sample_schedule_params
from brightpath.expert import expert_params
from brightpath.simulator import sample_families


def _generate(root, seed=0):
    return generate_datasets(
        root, n_families=60, schedules_per_family=3, val_fraction=0.2, test_fraction=0.2, seed=seed, version="vt"
    )


def test_datasets_are_written_with_a_card(tmp_path):
    card = _generate(tmp_path)
    for rel in (
        "raw/vt/families.parquet",
        "raw/vt/feedback.parquet",
        "synthetic/vt/truth.parquet",
        "processed/vt/train.parquet",
        "processed/vt/val.parquet",
        "processed/vt/test.parquet",
    ):
        assert (tmp_path / rel).exists(), rel
    on_disk = json.loads((tmp_path / "data_card_vt.json").read_text())
    counts = on_disk["row_counts"]
    assert counts["schedules"] == 180 == sum(counts[f"{s}_rows"] for s in ("train", "val", "test"))
    assert on_disk["generator"]["seed"] == 0 and card["version"] == "vt"
    assert 0 < on_disk["summary"]["true_satisfaction_mean"] < 1


def test_no_family_crosses_splits(tmp_path):
    _generate(tmp_path)
    ids = {s: set(load_split(tmp_path, "vt", s)["family_id"]) for s in ("train", "val", "test")}
    assert not ids["train"] & ids["val"] and not ids["train"] & ids["test"] and not ids["val"] & ids["test"]
    assert len(ids["test"]) == 12 and len(ids["val"]) == 12


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    _generate(tmp_path / "a", seed=5)
    _generate(tmp_path / "b", seed=5)
    _generate(tmp_path / "c", seed=6)
    a, b, c = (pd.read_parquet(tmp_path / x / "raw/vt/feedback.parquet") for x in "abc")
    pd.testing.assert_frame_equal(a, b)
    assert not a["stars"].equals(c["stars"])


def test_hidden_truth_is_kept_apart_and_reloadable(tmp_path):
    _generate(tmp_path)
    train = load_split(tmp_path, "vt", "train")
    assert not any(col.startswith(("true_", "latent_")) for col in train.columns)
    test_families = load_families(tmp_path, "vt", "test")
    assert len(test_families) == 12 and np.isfinite(test_families.preferences).all()


def test_missing_dataset_error_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="processed/v9/train.parquet"):
        load_split(tmp_path, "v9", "train")


def test_logged_schedules_start_from_the_expert():
    fam = sample_families(20, np.random.default_rng(0))
    family_index, schedule_index, params = sample_schedule_params(fam, 4, np.random.default_rng(1))
    first = params[schedule_index == 0]
    np.testing.assert_allclose(first, expert_params(fam.answers, fam.child_age))
    assert np.abs(params[schedule_index > 0] - params[schedule_index > 0][:1]).sum() > 0


def test_bad_split_fractions_are_rejected():
    with pytest.raises(ValueError, match="val_fraction"):
        family_splits(10, 0.6, 0.5, np.random.default_rng(0))
