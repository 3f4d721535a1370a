"""Reward-model inputs: what the models see of a schedule and of the family it is for.

Per schedule (``RewardInputs``), the raw, un-normalised arrays that are also the
exported SavedModel's signature (``brightpath.reward.scoring``):

=============  ========================  =====================================================
name           dtype, shape              meaning
=============  ========================  =====================================================
``tokens``     float32 ``[B, T, 5]``     one token per block (``schedule.encode_layouts``):
                                         type 1–3, subject 0–6, day 0–4, start (hours),
                                         duration (hours); zeros past the week's last block
``mask``       float32 ``[B, T]``        1 for real blocks, 0 for padding
``summary``    float32 ``[B, 18]``       ``schedule.SUMMARY_FEATURES`` (structure, subject
                                         distribution, breaks, daily load), raw units
``answers``    float32 ``[B, 25]``       questionnaire, Likert 1–5, 0 for missing
``child_age``  float32 ``[B]``           years, 5–18
=============  ========================  =====================================================

``Preprocessing`` holds the normalisation statistics, fitted on the training split
and stored with every model, and computes the engineered feature vector
(``FLAT_FEATURES``: the summary features, logarithms of the lengths and loads, and
``features.profile_features``, standardised) with one definition for NumPy (the
scikit-learn baselines) and TensorFlow (inside the exported graph).

``RewardData`` pairs inputs with the observed targets (``targets``) and, for
evaluation only, the simulator's hidden truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.features import PROFILE_FEATURES, profile_features
from brightpath.questionnaire import N_ITEMS
from brightpath.reward.targets import TARGET_NAMES, FeedbackCalibration, Targets, feedback_targets
from brightpath.schedule import (
    N_SUMMARY,
    N_TOKEN_FEATURES,
    SUMMARY_FEATURES,
    LayoutBatch,
    build_layouts,
    encode_layouts,
    summarize_many,
)

INPUT_NAMES: tuple[str, ...] = ("tokens", "mask", "summary", "answers", "child_age")
LOG_SUMMARY_FEATURES: tuple[str, ...] = (
    "block_minutes",
    "learning_minutes_per_day",
    "subject_blocks_per_day",
    "minutes_between_pauses",
)
"""Summary quantities also given as logarithms: a family feels a block 10 minutes too long
relative to the length it wants (20 vs 30 minutes is not 50 vs 60), and a log turns such
ratios into differences a linear layer can form."""
_LOG_INDEX = [SUMMARY_FEATURES.index(name) for name in LOG_SUMMARY_FEATURES]
FLAT_FEATURES: tuple[str, ...] = (
    tuple(f"summary_{s}" for s in SUMMARY_FEATURES)
    + tuple(f"log_{s}" for s in LOG_SUMMARY_FEATURES)
    + ("log_child_age",)
    + PROFILE_FEATURES  # last, so a model can slice the profile off the end
)
"""Names of the columns of ``Preprocessing.flat_features``."""
N_FLAT_FEATURES = len(FLAT_FEATURES)
CONTINUOUS_TOKEN_COLUMNS = (3, 4)
"""Token columns that are quantities (start hour, duration hours) rather than ids; standardised."""
MIN_STD = 1e-3
"""Floor of a fitted standard deviation, so a constant feature maps to 0 instead of dividing by 0."""


@dataclass(frozen=True)
class RewardInputs:
    """Model inputs of ``B`` schedules (see the module docstring for the arrays)."""

    tokens: np.ndarray
    mask: np.ndarray
    summary: np.ndarray
    answers: np.ndarray
    child_age: np.ndarray

    def __len__(self) -> int:
        return len(self.summary)

    @property
    def lengths(self) -> np.ndarray:
        """Blocks per schedule, int64 ``[B]``."""
        return self.mask.sum(axis=1).astype(np.int64)

    def take(self, index) -> RewardInputs:
        """The schedules at ``index``, tokens padded only to the longest of them."""
        index = np.asarray(index)
        mask = self.mask[index]
        width = max(int(mask.sum(axis=1).max(initial=0)), 1)
        return RewardInputs(
            self.tokens[index, :width], mask[:, :width], self.summary[index], self.answers[index], self.child_age[index]
        )

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def build_inputs(
    layouts: LayoutBatch | Sequence[np.ndarray], answers: np.ndarray, child_age: np.ndarray, grade_band: np.ndarray
) -> RewardInputs:
    """Inputs for schedules given as layouts (``schedule.build_layouts``/``build_layout``/``json_to_layout``).

    Args:
        layouts: a ``schedule.LayoutBatch`` of ``B`` weeks (read as it is), or ``B`` int32
            layouts ``[n_blocks, 5]`` (joined once).
        answers: float32 ``[B, 25]`` Likert 1–5, 0 for missing.
        child_age: ``[B]`` years.
        grade_band: int ``[B]`` index into ``child.GRADE_BANDS`` (for requirement coverage).

    Raises:
        ValidationError: the arrays do not line up, naming the one that does not.
    """
    layouts = LayoutBatch.from_layouts(layouts)
    n = len(layouts)
    answers = np.asarray(answers, dtype=np.float32)
    child_age = np.asarray(child_age, dtype=np.float32).reshape(-1)
    grade_band = np.asarray(grade_band).reshape(-1)
    if answers.shape != (n, N_ITEMS):
        raise ValidationError("answers", f"<array of shape {answers.shape}>", f"shape ({n}, {N_ITEMS})")
    for name, values in (("child_age", child_age), ("grade_band", grade_band)):
        if values.shape != (n,):
            raise ValidationError(name, f"<array of shape {values.shape}>", f"shape ({n},), one per layout")
    tokens, mask = encode_layouts(layouts)
    summary = summarize_many(layouts, grade_band).astype(np.float32)
    return RewardInputs(tokens, mask, summary, answers, child_age)


def inputs_from_table(frame: Any) -> RewardInputs:
    """Inputs for the rows of a processed dataset table (``datasets.load_split``): layouts from ``param_*``."""
    from brightpath.questionnaire import ITEM_KEYS
    from brightpath.schedule import PARAM_NAMES

    params = frame[[f"param_{name}" for name in PARAM_NAMES]].to_numpy(np.float64)
    bands = frame["grade_band"].to_numpy(np.int64)
    answers = frame[[f"answer_{k}" for k in ITEM_KEYS]].to_numpy(np.float32)
    return build_inputs(build_layouts(params, bands), answers, frame["age"].to_numpy(np.float32), bands)


CHUNK_SIZE = 256
"""Schedules per forward pass when scoring. Chunks are cut from length-sorted schedules, so each
pads its tokens only to its own longest week. Measured with ``experiments/benchmarks/reward_scoring.py``:
a PPO step's 1,024 weeks score at ~3,800/s as one chunk (all padded to the longest week) and
~11,000/s in chunks of 256; 10,000 weeks score about equally fast with chunks of 128–1,024."""


def length_chunks(lengths: np.ndarray, chunk: int = CHUNK_SIZE) -> list[np.ndarray]:
    """Indices of ``lengths`` sorted by length and cut into chunks of at most ``chunk``.

    Schedules of similar length share a chunk, so a chunk's tokens pad to little more
    than its own longest week instead of the longest in the whole batch.
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i : i + chunk] for i in range(0, len(order), max(int(chunk), 1))]


def tensor_specs() -> dict:
    """``tf.TensorSpec`` of each input (``INPUT_NAMES``): any batch size and token count."""
    import tensorflow as tf

    return {
        "tokens": tf.TensorSpec([None, None, N_TOKEN_FEATURES], tf.float32, name="tokens"),
        "mask": tf.TensorSpec([None, None], tf.float32, name="mask"),
        "summary": tf.TensorSpec([None, N_SUMMARY], tf.float32, name="summary"),
        "answers": tf.TensorSpec([None, N_ITEMS], tf.float32, name="answers"),
        "child_age": tf.TensorSpec([None], tf.float32, name="child_age"),
    }


@dataclass(frozen=True)
class RewardData:
    """Rows to train or evaluate on: inputs, observed targets and, for evaluation only, hidden truth.

    Attributes:
        truth: the simulator's true scores ``{"satisfaction": [n], ...}``, or None (training data).
    """

    inputs: RewardInputs
    targets: Targets
    truth: dict[str, np.ndarray] | None = None

    def __post_init__(self):
        if len(self.inputs) != len(self.targets):
            raise ValueError(f"inputs and targets: {len(self.inputs)} and {len(self.targets)} rows, expected equal")

    def __len__(self) -> int:
        return len(self.inputs)


def data_from_table(frame: Any, calibration: FeedbackCalibration, truth_table: Any = None) -> RewardData:
    """``RewardData`` of a processed split (``datasets.load_split``): layouts, feedback targets and,
    when ``truth_table`` (``synthetic/<version>/truth.parquet``) is given, hidden truth."""
    truth = None
    if truth_table is not None:
        keys = ["family_id", "schedule_id"]
        columns = [f"true_{t}" for t in TARGET_NAMES]
        merged = frame[keys].merge(truth_table[keys + columns], on=keys, how="left", validate="one_to_one")
        if merged[columns].isna().any().any():
            raise ValueError("truth_table: some (family_id, schedule_id) rows of the split have no hidden truth")
        truth = {t: merged[f"true_{t}"].to_numpy(np.float64) for t in TARGET_NAMES}
    return RewardData(inputs_from_table(frame), feedback_targets(frame, calibration), truth)


def _stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    return values.mean(axis=0).astype(np.float32), np.maximum(values.std(axis=0), MIN_STD).astype(np.float32)


@dataclass(frozen=True)
class Preprocessing:
    """Standardisation statistics fitted on training inputs (float32 vectors).

    Attributes:
        flat_mean, flat_std: ``[N_FLAT_FEATURES]`` for ``FLAT_FEATURES``.
        token_mean, token_std: ``[2]`` for the start hour and duration of a block token.
    """

    flat_mean: np.ndarray
    flat_std: np.ndarray
    token_mean: np.ndarray
    token_std: np.ndarray

    @classmethod
    def fit(cls, inputs: RewardInputs) -> Preprocessing:
        flat_mean, flat_std = _stats(_raw_flat(inputs.summary, inputs.answers, inputs.child_age, np))
        real = inputs.mask > 0
        token_mean, token_std = _stats(inputs.tokens[real][:, list(CONTINUOUS_TOKEN_COLUMNS)])
        return cls(flat_mean, flat_std, token_mean, token_std)

    def flat_features(self, summary, answers, child_age, xp=np):
        """Standardised engineered features ``[B, N_FLAT_FEATURES]`` (``FLAT_FEATURES``).

        ``xp`` is NumPy or ``tf_namespace.tf_namespace()`` (inside the exported graph).
        """
        mean, std = (xp.asarray(a) for a in (self.flat_mean, self.flat_std))
        return (_raw_flat(summary, answers, child_age, xp) - mean) / std

    def standardise_times(self, hours, xp=np):
        """Standardise ``[..., 2]`` (start hour, duration hours) token quantities."""
        return (hours - xp.asarray(self.token_mean)) / xp.asarray(self.token_std)

    def to_dict(self) -> dict[str, list[float]]:
        return {f.name: [float(x) for x in getattr(self, f.name)] for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """Inverse of ``to_dict``; ``ValidationError`` naming a missing or malformed entry."""
        sizes = {"flat_mean": N_FLAT_FEATURES, "flat_std": N_FLAT_FEATURES, "token_mean": 2, "token_std": 2}
        values = {}
        for name, size in sizes.items():
            raw = data.get(name) if isinstance(data, Mapping) else None
            try:
                array = np.asarray(raw, dtype=np.float32)
            except (TypeError, ValueError):
                array = None
            if array is None or array.shape != (size,) or not np.all(np.isfinite(array)):
                raise ValidationError(f"preprocessing.{name}", raw, f"a list of {size} finite numbers")
            values[name] = array
        return cls(**values)


def _raw_flat(summary, answers, child_age, xp):
    logs = xp.log(
        xp.maximum(
            xp.concatenate([summary[:, i : i + 1] for i in _LOG_INDEX] + [xp.reshape(child_age, (-1, 1))], axis=-1), 1.0
        )
    )
    return xp.concatenate([summary, logs, profile_features(answers, child_age, xp)], axis=-1)


__all__ = [
    "CHUNK_SIZE",
    "FLAT_FEATURES",
    "INPUT_NAMES",
    "LOG_SUMMARY_FEATURES",
    "N_FLAT_FEATURES",
    "Preprocessing",
    "RewardData",
    "RewardInputs",
    "build_inputs",
    "data_from_table",
    "inputs_from_table",
    "length_chunks",
    "tensor_specs",
]
