"""Versioned synthetic datasets: families, the schedules they lived with, and their feedback.

``generate_datasets`` writes, for one ``version`` and ``seed``::

    <root>/raw/<version>/families.parquet     questionnaire answers (NA = missing), age, split
    <root>/raw/<version>/feedback.parquet     one row per (family, schedule): parameters + feedback
    <root>/processed/<version>/{train,val,test}.parquet
                                              model inputs: profile features, parameters, schedule
                                              summary features and the raw feedback columns
    <root>/synthetic/<version>/truth.parquet  the simulator's hidden scores and traits (evaluation only)
    <root>/data_card_<version>.json           generator version, seed, row counts, summary statistics

Splits are by family: every schedule of a family lands in the same split.
The same seed gives byte-identical tables.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from brightpath.child import grade_band_index, grade_for_age
from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.features import PROFILE_FEATURES, profile_features
from brightpath.questionnaire import CATEGORY_NAMES, ITEM_KEYS
from brightpath.schedule import N_PARAMS, PARAM_NAMES, SUMMARY_FEATURES, params_to_unit, summarize_params, unit_to_params
from brightpath.feedback import FEEDBACK_COLUMNS
from brightpath.simulator import (
    SIMULATOR_VERSION,
    Families,
    generate_feedback,
    sample_families,
    true_scores,
)

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
ScheduleMix = Literal["logged", "off_distribution"]

# Where the logged schedules come from: the expert's own, small and large edits of it
# (families adjusting), and a share of fully random weeks (the product's exploration arm).
LOGGED_MIX = {"perturb_0.2": 0.5, "perturb_0.5": 0.3, "uniform": 0.2}


def sample_schedule_params(
    families: Families, per_family: int, rng: np.random.Generator, mix: ScheduleMix = "logged"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Schedule parameters for each family.

    Args:
        mix: ``"logged"`` — the first schedule is the expert rule's, the rest are
            perturbations of it or random weeks (``LOGGED_MIX``): what a product
            log would contain. ``"off_distribution"`` — far from the expert rule:
            half uniform over the whole box, half large perturbations (sd 0.8 in
            unit scale); what an exploring policy visits.

    Returns:
        ``(family_index [n*per_family], schedule_index [n*per_family], params [n*per_family, N_PARAMS])``.
    """
    n = len(families)
    expert_unit = params_to_unit(expert_params(families.answers, families.child_age).astype(np.float64))
    family_index = np.repeat(np.arange(n), per_family)
    schedule_index = np.tile(np.arange(per_family), n)
    base = expert_unit[family_index]
    uniform = rng.uniform(-1.0, 1.0, base.shape)
    if mix == "logged":
        kind = rng.choice(len(LOGGED_MIX), size=len(base), p=list(LOGGED_MIX.values()))
        sd = np.array([0.2, 0.5, 0.0])[kind][:, None]
        unit = np.where(kind[:, None] == 2, uniform, base + rng.normal(0.0, 1.0, base.shape) * sd)
        unit[schedule_index == 0] = base[schedule_index == 0]
    elif mix == "off_distribution":
        far = base + rng.normal(0.0, 0.8, base.shape)
        unit = np.where(rng.random((len(base), 1)) < 0.5, uniform, far)
    else:
        raise ValueError(f"mix: expected 'logged' or 'off_distribution', got {mix!r}")
    return family_index, schedule_index, unit_to_params(unit)


def schedule_table(families: Families, family_index: np.ndarray, params: np.ndarray) -> pd.DataFrame:
    """Model-input columns for schedules: profile features, parameters and summary features."""
    fam = families.take(family_index)
    profile = profile_features(fam.answers, fam.child_age)
    summaries = summarize_params(params, fam.grade_band)
    table = {"family_id": fam.family_id, "age": fam.age, "grade_band": fam.grade_band}
    table.update({name: profile[:, i].astype(np.float32) for i, name in enumerate(PROFILE_FEATURES)})
    table.update({f"answer_{k}": fam.answers[:, i] for i, k in enumerate(ITEM_KEYS)})
    table.update({f"param_{name}": params[:, i] for i, name in enumerate(PARAM_NAMES)})
    table.update({f"summary_{name}": summaries[:, i] for i, name in enumerate(SUMMARY_FEATURES)})
    return pd.DataFrame(table)


def family_splits(n: int, val_fraction: float, test_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A split name per family (``SPLITS``), shuffled; fractions in [0, 1) summing below 1."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction + test_fraction: expected fractions in [0, 1) summing below 1, "
            f"got {val_fraction} and {test_fraction}"
        )
    order = rng.permutation(n)
    n_test, n_val = int(round(n * test_fraction)), int(round(n * val_fraction))
    split = np.empty(n, dtype=object)
    split[order[:n_test]] = "test"
    split[order[n_test : n_test + n_val]] = "val"
    split[order[n_test + n_val :]] = "train"
    return split


def generate_datasets(
    root: Path,
    *,
    n_families: int,
    schedules_per_family: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    version: str,
) -> dict:
    """Simulate families, schedules and feedback and write the versioned datasets (module docstring).

    Returns:
        The data card (also written as ``data_card_<version>.json``).
    """
    if n_families < 3 or schedules_per_family < 1:
        raise ValueError(
            f"n_families, schedules_per_family: expected ≥ 3 and ≥ 1, got {n_families} and {schedules_per_family}"
        )
    started = time.perf_counter()
    root = Path(root)
    rng = np.random.default_rng(seed)
    families = sample_families(n_families, rng)
    split = family_splits(n_families, val_fraction, test_fraction, rng)
    family_index, schedule_index, params = sample_schedule_params(families, schedules_per_family, rng)
    inputs = schedule_table(families, family_index, params)
    inputs.insert(1, "schedule_id", schedule_index)
    inputs.insert(2, "split", split[family_index])
    summaries = inputs[[f"summary_{s}" for s in SUMMARY_FEATURES]].to_numpy()
    fam = families.take(family_index)
    feedback = pd.DataFrame(generate_feedback(fam, summaries, rng))
    truth = true_scores(fam, summaries)

    raw_families = pd.DataFrame({"family_id": families.family_id, "split": split, "child_age": families.age})
    for i, key in enumerate(ITEM_KEYS):
        raw_families[key] = pd.array(np.where(families.answers[:, i] > 0, families.answers[:, i], np.nan)).astype("Int8")
    raw_feedback = pd.concat([inputs[["family_id", "schedule_id", "split"]],
                              inputs[[f"param_{p}" for p in PARAM_NAMES]], feedback], axis=1)
    hidden = pd.DataFrame({"family_id": fam.family_id, "schedule_id": schedule_index})
    hidden = hidden.assign(**{f"true_{k}": v for k, v in truth.items()})
    traits = pd.DataFrame({"family_id": families.family_id,
                           **{f"latent_{c}": families.preferences[:, i] for i, c in enumerate(CATEGORY_NAMES)},
                           "attention_factor": families.attention_factor,
                           "chronotype_hours": families.chronotype_hours, "leniency": families.leniency,
                           "responsiveness": families.responsiveness})
    hidden = hidden.merge(traits, on="family_id", how="left")
    processed = pd.concat([inputs, feedback], axis=1)

    files: dict[str, str] = {}

    def write(frame: pd.DataFrame, rel: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
        files[rel] = str(path)

    write(raw_families, f"raw/{version}/families.parquet")
    write(raw_feedback, f"raw/{version}/feedback.parquet")
    write(hidden, f"synthetic/{version}/truth.parquet")
    for name in SPLITS:
        write(processed[processed["split"] == name].reset_index(drop=True), f"processed/{version}/{name}.parquet")

    row_counts = {"families": n_families, "schedules": len(processed)}
    row_counts.update({f"{name}_rows": int((processed["split"] == name).sum()) for name in SPLITS})
    row_counts.update({f"{name}_families": int((split == name).sum()) for name in SPLITS})
    card = {
        "name": "brightpath-synthetic",
        "version": version,
        "generator": {"simulator_version": SIMULATOR_VERSION, "seed": seed, "n_families": n_families,
                      "schedules_per_family": schedules_per_family, "schedule_mix": LOGGED_MIX,
                      "val_fraction": val_fraction, "test_fraction": test_fraction},
        "row_counts": row_counts,
        "files": files,
        "summary": {
            "child_age_mean": float(families.age.mean()),
            "missing_answer_rate": float((families.answers == 0).mean()),
            "true_satisfaction_mean": float(truth["satisfaction"].mean()),
            "true_satisfaction_expert_mean": float(truth["satisfaction"][schedule_index == 0].mean()),
            "stars_response_rate": float(feedback["stars"].notna().mean()),
            "stars_mean": float(feedback["stars"].mean()) if feedback["stars"].notna().any() else None,
            "comment_rate": float(feedback["comment"].notna().mean()),
            "n_adjustments_mean": float(feedback["n_adjustments"].mean()),
        },
        "columns": {"feedback": list(FEEDBACK_COLUMNS), "params": list(PARAM_NAMES),
                    "summary": list(SUMMARY_FEATURES), "profile": list(PROFILE_FEATURES)},
        "seconds": round(time.perf_counter() - started, 3),
    }
    card_path = root / f"data_card_{version}.json"
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True))
    card["files"]["data_card"] = str(card_path)
    log.info("wrote %d schedules for %d families to %s", len(processed), n_families, root)
    return card


def load_split(root: Path, version: str, split: str) -> pd.DataFrame:
    """Read ``processed/<version>/<split>.parquet``; a clear error if the dataset is missing."""
    path = Path(root) / "processed" / version / f"{split}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no dataset; run `python -m experiments.train +exp=data` first")
    return pd.read_parquet(path)


def load_families(root: Path, version: str, split: str | None = None) -> Families:
    """The simulated families of a dataset, hidden traits included (for evaluation and the simulator).

    Args:
        split: one of ``SPLITS`` to keep only that split's families; ``None`` for all.
    """
    base = Path(root)
    raw_path = base / "raw" / version / "families.parquet"
    truth_path = base / "synthetic" / version / "truth.parquet"
    for path in (raw_path, truth_path):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no dataset; run `python -m experiments.train +exp=data` first")
    raw = pd.read_parquet(raw_path)
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        raw = raw[raw["split"] == split]
    traits = pd.read_parquet(truth_path).drop_duplicates("family_id").set_index("family_id").loc[raw["family_id"]]
    age = raw["child_age"].to_numpy(np.int64)
    return Families(
        family_id=raw["family_id"].to_numpy(np.int64),
        preferences=traits[[f"latent_{c}" for c in CATEGORY_NAMES]].to_numpy(np.float64),
        age=age,
        grade_band=grade_band_index(grade_for_age(age)).astype(np.int64),
        attention_factor=traits["attention_factor"].to_numpy(np.float64),
        chronotype_hours=traits["chronotype_hours"].to_numpy(np.float64),
        leniency=traits["leniency"].to_numpy(np.float64),
        responsiveness=traits["responsiveness"].to_numpy(np.float64),
        answers=raw[list(ITEM_KEYS)].astype("float32").fillna(0.0).to_numpy(np.float32),
    )


HELD_OUT_STREAM = 1
"""Second entry of the seed sequence ``[seed, HELD_OUT_STREAM]`` the top-up families of
``held_out_families`` are drawn from: a stream of their own, apart from the dataset's."""


def held_out_families(
    root: Path, version: str, n_families: int, *, split: str = "test", seed: int = 0
) -> tuple[Families, dict[str, int]]:
    """The first ``n_families`` families of a dataset's ``split``, hidden traits included (for evaluation).

    When the split holds fewer families than asked for, the rest are drawn fresh from the
    family simulator with ``np.random.default_rng([seed, HELD_OUT_STREAM])`` and ids after the
    dataset's, so they are held out too and the same seed gives the same families.

    Args:
        root: the dataset root (``generate_datasets``' ``root``).
        version: the dataset version.
        n_families: how many families (≥ 2).
        split: one of ``SPLITS``.
        seed: seeds the top-up families.

    Returns:
        ``(families, {"split_families": k, "fresh_families": n_families - k})``.

    Raises:
        ValidationError: ``n_families`` below 2.
        FileNotFoundError: no dataset ``version`` under ``root``.
    """
    if isinstance(n_families, bool) or not isinstance(n_families, (int, np.integer)) or n_families < 2:
        raise ValidationError("n_families", n_families, "an integer ≥ 2")
    families = load_families(root, version, split)
    n_split = min(len(families), int(n_families))
    families = families.take(np.arange(n_split))
    n_fresh = int(n_families) - n_split
    if n_fresh:
        first_id = int(load_families(root, version).family_id.max()) + 1
        extra = sample_families(n_fresh, np.random.default_rng([int(seed), HELD_OUT_STREAM]), first_id=first_id)
        families = Families(**{f.name: np.concatenate([getattr(families, f.name), getattr(extra, f.name)])
                               for f in dataclasses.fields(Families)})
        log.info("split %r has %d families; %d more drawn fresh from the simulator", split, n_split, n_fresh)
    return families, {"split_families": n_split, "fresh_families": n_fresh}


__all__ = [
    "HELD_OUT_STREAM", "LOGGED_MIX", "N_PARAMS", "SPLITS", "family_splits", "generate_datasets", "held_out_families",
    "load_families", "load_split", "sample_schedule_params", "schedule_table",
]
