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

A version names one dataset: the card's ``generator`` section (simulator version, seed, sizes,
split fractions, schedule mix) is its identity. ``generate_datasets`` writes a version once:
parallel writers of one root (the jobs of a sweep on a fresh clone) take a lock file
``<root>/.dataset-<version>.lock``, so the second waits for the first and then returns the
dataset it wrote; every directory is written aside and renamed into place, and the card last, so
a dataset whose card exists is complete, and a killed writer leaves nothing that looks complete.
Writing a version again with other settings (another seed, say) raises ``DatasetConflictError``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from brightpath.child import grade_band_index, grade_for_age
from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.export import atomic_directory_write
from brightpath.features import PROFILE_FEATURES, profile_features
from brightpath.feedback import FEEDBACK_COLUMNS
from brightpath.questionnaire import CATEGORY_NAMES, ITEM_KEYS
from brightpath.schedule import (
    N_PARAMS,
    PARAM_NAMES,
    SUMMARY_FEATURES,
    params_to_unit,
    summarize_params,
    unit_to_params,
)
from brightpath.simulator import SIMULATOR_VERSION, Families, generate_feedback, sample_families, true_scores

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


class DatasetConflictError(ValueError):
    """A dataset version exists with other generation settings than a run asks for.

    Attributes:
        card_path: the existing version's data card.
        differences: ``{setting: (on disk, asked for)}``.
    """

    def __init__(self, card_path: Path, version: str, differences: Mapping[str, tuple[object, object]]):
        self.card_path = Path(card_path)
        self.differences = dict(differences)
        listed = "; ".join(f"{key} {old!r} (asked for {new!r})" for key, (old, new) in self.differences.items())
        super().__init__(
            f"{card_path}: dataset {version!r} was generated with {listed}. A version names one dataset: choose "
            f"another version or data directory, or delete this version's files to generate it again"
        )


def generator_settings(
    *, n_families: int, schedules_per_family: int, val_fraction: float, test_fraction: float, seed: int
) -> dict:
    """A dataset's identity, as its card's ``generator`` section records it."""
    return {
        "simulator_version": SIMULATOR_VERSION,
        "seed": int(seed),
        "n_families": int(n_families),
        "schedules_per_family": int(schedules_per_family),
        "schedule_mix": dict(LOGGED_MIX),
        "val_fraction": float(val_fraction),
        "test_fraction": float(test_fraction),
    }


def card_path(root: Path, version: str) -> Path:
    """``<root>/data_card_<version>.json``."""
    return Path(root) / f"data_card_{version}.json"


def read_card(root: Path, version: str) -> dict | None:
    """The card of a complete dataset ``version`` under ``root`` (with ``files["data_card"]``), else None.

    Complete: the card exists (it is written last) and so does every file it lists.
    """
    path = card_path(root, version)
    try:
        card = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    files = card.get("files", {})
    if not files or not all((Path(root) / rel).is_file() for rel in files):
        return None
    card["files"] = {rel: str(Path(root) / rel) for rel in files}
    card["files"]["data_card"] = str(path)
    return card


def require_settings(root: Path, card: Mapping, wanted: Mapping) -> None:
    """Raise ``DatasetConflictError`` unless the card's ``generator`` settings equal ``wanted``'s keys."""
    recorded = card.get("generator", {})
    differences = {key: (recorded.get(key), value) for key, value in wanted.items() if recorded.get(key) != value}
    if differences:
        raise DatasetConflictError(card_path(root, card["version"]), card["version"], differences)


@contextlib.contextmanager
def _version_lock(root: Path, version: str) -> Iterator[None]:
    """Hold ``<root>/.dataset-<version>.lock`` (an exclusive ``flock``; released when the process dies)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".dataset-{version}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("dataset %s under %s: another process is writing it; waiting", version, root)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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

    Holds the version's lock file while it looks and writes. A complete version with the same
    settings (``generator_settings``) is returned as it is (a parallel writer made it).

    Returns:
        The data card (also written as ``data_card_<version>.json``), ``files`` naming every file.

    Raises:
        DatasetConflictError: the version exists under ``root`` with other settings.
    """
    if n_families < 3 or schedules_per_family < 1:
        raise ValueError(
            f"n_families, schedules_per_family: expected ≥ 3 and ≥ 1, got {n_families} and {schedules_per_family}"
        )
    root = Path(root)
    settings = generator_settings(
        n_families=n_families,
        schedules_per_family=schedules_per_family,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )
    with _version_lock(root, version):
        existing = read_card(root, version)
        if existing is not None:
            require_settings(root, existing, settings)
            log.info("dataset %s under %s exists with these settings; not written again", version, root)
            return existing
        return _write_datasets(root, version, settings)


def _write_datasets(root: Path, version: str, settings: Mapping) -> dict:
    """Generate the dataset ``settings`` describe and write it (the version's lock is held)."""
    started = time.perf_counter()
    n_families, seed = settings["n_families"], settings["seed"]
    rng = np.random.default_rng(seed)
    families = sample_families(n_families, rng)
    split = family_splits(n_families, settings["val_fraction"], settings["test_fraction"], rng)
    family_index, schedule_index, params = sample_schedule_params(families, settings["schedules_per_family"], rng)
    inputs = schedule_table(families, family_index, params)
    inputs.insert(1, "schedule_id", schedule_index)
    inputs.insert(2, "split", split[family_index])
    summaries = inputs[[f"summary_{s}" for s in SUMMARY_FEATURES]].to_numpy()
    fam = families.take(family_index)
    feedback = pd.DataFrame(generate_feedback(fam, summaries, rng))
    truth = true_scores(fam, summaries)

    raw_families = pd.DataFrame({"family_id": families.family_id, "split": split, "child_age": families.age})
    for i, key in enumerate(ITEM_KEYS):
        answered = np.where(families.answers[:, i] > 0, families.answers[:, i], np.nan)
        raw_families[key] = pd.array(answered).astype("Int8")
    raw_feedback = pd.concat(
        [inputs[["family_id", "schedule_id", "split"]], inputs[[f"param_{p}" for p in PARAM_NAMES]], feedback], axis=1
    )
    hidden = pd.DataFrame({"family_id": fam.family_id, "schedule_id": schedule_index})
    hidden = hidden.assign(**{f"true_{k}": v for k, v in truth.items()})
    traits = pd.DataFrame(
        {
            "family_id": families.family_id,
            **{f"latent_{c}": families.preferences[:, i] for i, c in enumerate(CATEGORY_NAMES)},
            "attention_factor": families.attention_factor,
            "chronotype_hours": families.chronotype_hours,
            "leniency": families.leniency,
            "responsiveness": families.responsiveness,
        }
    )
    hidden = hidden.merge(traits, on="family_id", how="left")
    processed = pd.concat([inputs, feedback], axis=1)

    tables = {
        "raw": {"families": raw_families, "feedback": raw_feedback},
        "synthetic": {"truth": hidden},
        "processed": {name: processed[processed["split"] == name].reset_index(drop=True) for name in SPLITS},
    }
    # A leftover of a killed writer (no card) is replaced; the old card goes first, so no
    # reader takes the new directories for the old dataset meanwhile.
    card_path(root, version).unlink(missing_ok=True)
    files: dict[str, str] = {}
    for kind, frames in tables.items():

        def write(directory: Path, frames: dict[str, pd.DataFrame] = frames) -> None:
            for name, frame in frames.items():
                frame.to_parquet(directory / f"{name}.parquet", index=False)

        atomic_directory_write(root / kind / version, write)
        files.update(
            {f"{kind}/{version}/{name}.parquet": str(root / kind / version / f"{name}.parquet") for name in frames}
        )

    row_counts = {"families": n_families, "schedules": len(processed)}
    row_counts.update({f"{name}_rows": int((processed["split"] == name).sum()) for name in SPLITS})
    row_counts.update({f"{name}_families": int((split == name).sum()) for name in SPLITS})
    card = {
        "name": "brightpath-synthetic",
        "version": version,
        "generator": dict(settings),
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
        "columns": {
            "feedback": list(FEEDBACK_COLUMNS),
            "params": list(PARAM_NAMES),
            "summary": list(SUMMARY_FEATURES),
            "profile": list(PROFILE_FEATURES),
        },
        "seconds": round(time.perf_counter() - started, 3),
    }
    final = card_path(root, version)
    with tempfile.NamedTemporaryFile("w", dir=root, prefix=f".{final.name}-", delete=False) as handle:
        handle.write(json.dumps(card, indent=2, sort_keys=True))
    os.replace(handle.name, final)
    card["files"]["data_card"] = str(final)
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
        families = Families(
            **{
                f.name: np.concatenate([getattr(families, f.name), getattr(extra, f.name)])
                for f in dataclasses.fields(Families)
            }
        )
        log.info("split %r has %d families; %d more drawn fresh from the simulator", split, n_split, n_fresh)
    return families, {"split_families": n_split, "fresh_families": n_fresh}


__all__ = [
    "HELD_OUT_STREAM",
    "LOGGED_MIX",
    "N_PARAMS",
    "SPLITS",
    "DatasetConflictError",
    "card_path",
    "family_splits",
    "generate_datasets",
    "generator_settings",
    "held_out_families",
    "load_families",
    "load_split",
    "read_card",
    "require_settings",
    "sample_schedule_params",
    "schedule_table",
]
