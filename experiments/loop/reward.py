"""Refreshing the reward model on every feedback row in the store (step 3 of a round).

The training data is the store's ``feedback_frame`` (each rated week with its family's
questionnaire), never the simulator: the week is laid out again from its stored parameters
(``schedule.build_layouts``) and the feedback read as targets with a calibration fitted on the
training families (``reward.targets.fit_calibration``, method ``loop.reward_calibration``).
Families are split into training and validation by a hash of their key (``VAL_FRACTION``), so
a family stays on one side as the store grows, and the split does not depend on row order.

Warm start (``loop.reward_warm_start``) continues from the champion reward model's weights
(kept next to its SavedModel, ``WEIGHTS_FILE``) for ``loop.reward_warm_epochs`` epochs; otherwise
the ``reward_model`` group's model is trained from scratch. Either is published as a new
version of registry model ``reward`` without promoting it: it is promoted with the generator it
trained, when that generator passes the gate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brightpath.child import grade_band_index
from brightpath.questionnaire import ITEM_KEYS
from brightpath.schedule import PARAM_NAMES, build_layouts

log = logging.getLogger(__name__)

VAL_FRACTION = 0.15
"""Share of families whose feedback validates (early stopping) instead of training."""
WEIGHTS_FILE = "keras_weights.npz"
"""In a reward version published by the loop: the Keras weights a warm start continues from
(``brightpath.reward.training.AttentionWeights``)."""


def validation_families(keys: pd.Series, fraction: float = VAL_FRACTION) -> np.ndarray:
    """True for rows whose family (``family_key``) validates: the first bytes of its key's sha256 below ``fraction``."""

    def draw(key: str) -> float:
        return int.from_bytes(hashlib.sha256(str(key).encode()).digest()[:8], "big") / 2.0**64

    return np.array([draw(k) < fraction for k in keys], dtype=bool)


def reward_inputs(frame: pd.DataFrame):
    """``RewardInputs`` of stored weeks: layouts from the stored parameters, the families' answers and ages."""
    from brightpath.reward.inputs import build_inputs

    bands = grade_band_index(frame["grade"].to_numpy(np.int64))
    params = frame[list(PARAM_NAMES)].to_numpy(np.float64)
    return build_inputs(
        build_layouts(params, bands),
        frame[list(ITEM_KEYS)].to_numpy(np.float32),
        frame["child_age"].to_numpy(np.float32),
        bands,
    )


@dataclasses.dataclass(frozen=True)
class RewardRefresh:
    """A refreshed reward model.

    Attributes:
        trained: the fitted model (``brightpath.reward.training.TrainedRewardModel``).
        calibration: the feedback calibration its targets were read with.
        n_train, n_val: feedback rows it trained and validated on.
        feedback_through: the latest ``received_at`` among them (what "new feedback" counts after).
        warm_started: whether it continued from earlier weights.
    """

    trained: Any
    calibration: Any
    n_train: int
    n_val: int
    feedback_through: str
    warm_started: bool


def refresh(
    feedback: pd.DataFrame,
    model_config,
    *,
    method: str,
    seed: int,
    warm_start=None,
    warm_epochs: int | None = None,
    on_epoch=None,
) -> RewardRefresh:
    """Train a reward model on ``feedback`` (``Store.feedback_frame()``; module docstring).

    Args:
        model_config: the ``reward_model`` group (``AttentionConfig``).
        method: the calibration method (``reward.targets.CALIBRATION_METHODS``).
        warm_start: ``AttentionWeights`` to continue from, or None (from scratch).
        warm_epochs: epochs of a warm start (its ``max_epochs``).
        on_epoch: per-epoch hook of the training loop.
    """
    from brightpath.reward.inputs import RewardData
    from brightpath.reward.targets import feedback_targets, fit_calibration
    from brightpath.reward.training import train_reward_model

    val = validation_families(feedback["family_key"])
    train_rows, val_rows = feedback[~val].reset_index(drop=True), feedback[val].reset_index(drop=True)
    calibration = fit_calibration(train_rows, method)
    data = {
        name: RewardData(reward_inputs(rows), feedback_targets(rows, calibration))
        for name, rows in (("train", train_rows), ("val", val_rows))
    }
    config = model_config if warm_start is None else dataclasses.replace(model_config, max_epochs=warm_epochs)
    trained = train_reward_model(
        config, data["train"], data["val"], seed=seed, on_epoch=on_epoch, warm_start=warm_start
    )
    through = pd.to_datetime(feedback["received_at"], utc=True).max()
    log.info(
        "reward model: %d training and %d validation rows, %s, best val loss %.5f (epoch %d)",
        len(train_rows),
        len(val_rows),
        "warm start" if warm_start is not None else "from scratch",
        trained.history.best_val_loss,
        trained.history.best_epoch,
    )
    return RewardRefresh(
        trained, calibration, len(train_rows), len(val_rows), through.isoformat(), warm_start is not None
    )


def publish(model_dir: Path, refreshed: RewardRefresh, *, model_version: str, metadata: dict[str, Any]) -> int:
    """Publish the refreshed model as a new (unpromoted) version of registry model ``reward``, with its
    Keras weights for the next warm start; returns the version."""
    from brightpath import registry
    from brightpath.reward.scoring import export_reward_model
    from brightpath.reward.training import AttentionWeights

    trained = refreshed.trained

    def write(directory: Path) -> None:
        export_reward_model(
            trained.model, trained.preprocessing, directory, model_version=model_version, metadata=metadata
        )
        AttentionWeights.of(trained).save(directory / WEIGHTS_FILE)

    return registry.publish(model_dir, "reward", write, metadata, promote=False)


__all__ = [
    "RewardRefresh",
    "VAL_FRACTION",
    "WEIGHTS_FILE",
    "publish",
    "refresh",
    "reward_inputs",
    "validation_families",
]
