"""Fitting reward models: validation split, early stopping, per-epoch hook, determinism.

Every model trains the same way (``train_reward_model``)::

    for epoch in 1..max_epochs:
        one round of fitting      (attention: one pass of Adam steps over length-bucketed batches;
                                   gbr: ``trees_per_round`` more trees per target; mlp: one partial_fit pass)
        train_loss, val_loss      (weighted MSE against the observed targets)
        on_epoch(epoch, metrics)  (the experiment logs curves here; this library never imports MLflow)
        keep the best weights; stop after ``patience`` epochs without a better val_loss
    restore the best weights

The loss is the weighted mean squared error ``Σ w (y − ŷ)² / Σ w`` over rows and the
three targets, with the weights of ``targets.feedback_targets`` (rows with more
feedback count more; a target with no feedback counts 0).

Same seed, same data, same config → the same model: NumPy draws come from
``np.random.default_rng(seed)``, scikit-learn gets ``random_state`` from the seed, and
TensorFlow runs with its global seed set and op determinism on.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.reward.inputs import Preprocessing, RewardData, RewardInputs
from brightpath.reward.models import (
    AttentionConfig,
    BaselineModel,
    GBRConfig,
    MLPConfig,
    ModelConfig,
    build_attention_model,
    new_gbr,
    new_mlp,
    predict_attention,
)
from brightpath.reward.targets import N_TARGETS, Targets

log = logging.getLogger(__name__)

EpochCallback = Callable[[int, Mapping[str, float]], None]
"""``on_epoch(epoch, {"train_loss": ..., "val_loss": ..., "seconds": ...})``, epochs counted from 1."""
BUCKET_BATCHES = 32
"""Batches drawn together and sorted by week length, so a batch pads its tokens to similar lengths."""


@dataclass
class History:
    """What happened in training.

    Attributes:
        epochs: one dict per epoch (``train_loss``, ``val_loss``, ``seconds``).
        best_epoch: the epoch whose weights were kept (1-based).
        best_val_loss: its validation loss.
        stopped_early: True if patience ran out before ``max_epochs``.
        seconds: wall time of the whole fit.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    seconds: float = 0.0


@dataclass
class TrainedRewardModel:
    """A fitted reward model with what it needs to be used and saved.

    Attributes:
        name: ``"attention"``, ``"gbr"`` or ``"mlp"``.
        model: the Keras model (attention) or a ``models.BaselineModel``.
        config: the model's config dataclass.
        preprocessing: normalisation fitted on the training split.
        history: the training curves.
    """

    name: str
    model: Any
    config: ModelConfig
    preprocessing: Preprocessing
    history: History

    def predict(self, inputs: RewardInputs) -> np.ndarray:
        """Scores float32 ``[B, 3]`` in [0, 1], columns in ``targets.TARGET_NAMES`` order."""
        if self.name == "attention":
            return predict_attention(self.model, inputs)
        return self.model.predict(inputs)


def weighted_mse(predictions: np.ndarray, targets: Targets) -> float:
    """``Σ w (y − ŷ)² / Σ w`` over rows and targets; NaN if no row has any weight."""
    weights = targets.weights.astype(np.float64)
    total = weights.sum()
    if total <= 0:
        return math.nan
    error = np.nan_to_num(targets.values - predictions, nan=0.0) ** 2
    return float((weights * error).sum() / total)


def fit_with_early_stopping(
    run_epoch: Callable[[int], float],
    validation_loss: Callable[[], float],
    snapshot: Callable[[], Any],
    restore: Callable[[Any], None],
    *,
    max_epochs: int,
    patience: int,
    on_epoch: EpochCallback | None = None,
) -> History:
    """The loop shared by every model (module docstring).

    Args:
        run_epoch: ``run_epoch(epoch) -> train_loss``: one round of fitting.
        validation_loss: the current model's loss on the validation split.
        snapshot: a copy of the current weights; ``restore(copy)`` puts them back.
        max_epochs, patience: at most this many rounds; stop after ``patience`` without improvement.
        on_epoch: called after every epoch with its metrics.
    """
    history = History()
    started = time.perf_counter()
    best = None
    for epoch in range(1, max_epochs + 1):
        tick = time.perf_counter()
        train_loss = float(run_epoch(epoch))
        val_loss = float(validation_loss())
        metrics = {"train_loss": train_loss, "val_loss": val_loss, "seconds": time.perf_counter() - tick}
        history.epochs.append(metrics)
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        if val_loss < history.best_val_loss:
            history.best_epoch, history.best_val_loss, best = epoch, val_loss, snapshot()
        elif epoch - history.best_epoch >= patience:
            history.stopped_early = epoch < max_epochs
            break
    if best is not None:
        restore(best)
    history.seconds = time.perf_counter() - started
    log.info(
        "trained %d epochs in %.1f s; best epoch %d, val loss %.5f",
        len(history.epochs),
        history.seconds,
        history.best_epoch,
        history.best_val_loss,
    )
    return history


def train_reward_model(
    config: ModelConfig,
    train: RewardData,
    val: RewardData,
    *,
    seed: int,
    on_epoch: EpochCallback | None = None,
    warm_start: AttentionWeights | None = None,
) -> TrainedRewardModel:
    """Fit the model that ``config`` describes on ``train``, stopping early on ``val``.

    Args:
        config: ``AttentionConfig``, ``GBRConfig`` or ``MLPConfig`` (``models.model_config``).
        train, val: the training and validation splits (families do not overlap).
        seed: every random draw of the fit derives from it.
        on_epoch: per-epoch hook (``EpochCallback``).
        warm_start: attention only: start from these weights (and keep their normalisation,
            which the weights were learned against) instead of a fresh initialisation; the
            continual-learning refresh of ``experiments.loop`` uses it. Its ``model_config``
            must equal ``config``'s architecture.

    Raises:
        ValidationError: ``warm_start`` with a model other than attention, or with another architecture.
    """
    if warm_start is not None:
        if not isinstance(config, AttentionConfig):
            raise ValidationError("warm_start", config.name, "an attention reward model (only its weights warm-start)")
        if _architecture(warm_start.config) != _architecture(config):
            raise ValidationError(
                "warm_start.config",
                _architecture(warm_start.config),
                f"the architecture being trained, {_architecture(config)}",
            )
    preprocessing = warm_start.preprocessing if warm_start is not None else Preprocessing.fit(train.inputs)
    if isinstance(config, AttentionConfig):
        model, history = _train_attention(
            config, preprocessing, train, val, seed, on_epoch, None if warm_start is None else warm_start.weights
        )
        return TrainedRewardModel("attention", model, config, preprocessing, history)
    if isinstance(config, GBRConfig):
        model, history = _train_gbr(config, preprocessing, train, val, seed, on_epoch)
        return TrainedRewardModel("gbr", model, config, preprocessing, history)
    if isinstance(config, MLPConfig):
        model, history = _train_mlp(config, preprocessing, train, val, seed, on_epoch)
        return TrainedRewardModel("mlp", model, config, preprocessing, history)
    raise TypeError(f"config: expected AttentionConfig, GBRConfig or MLPConfig, got {type(config).__name__}")


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of row indices: shuffled, then sorted by length within pools of
    ``BUCKET_BATCHES`` batches, then the batch order shuffled again."""
    order = rng.permutation(len(lengths))
    pool = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), pool):
        part = order[start : start + pool]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


@dataclass(frozen=True)
class AttentionWeights:
    """What warm-starts an attention reward model: its weights, normalisation and config.

    Attributes:
        weights: ``model.get_weights()`` of a model built by ``build_attention_model(config, preprocessing)``.
        preprocessing: the normalisation those weights were learned with.
        config: the model's config (its architecture must match the model trained from it).
    """

    weights: list[np.ndarray]
    preprocessing: Preprocessing
    config: AttentionConfig

    @classmethod
    def of(cls, trained: TrainedRewardModel) -> AttentionWeights:
        """The weights of a trained attention model."""
        return cls([np.asarray(w) for w in trained.model.get_weights()], trained.preprocessing, trained.config)

    def save(self, path: str | os.PathLike) -> Path:
        """Write to ``path`` (``.npz``: the weight arrays in order, the normalisation and config as JSON)."""
        path = Path(path)
        meta = json.dumps({"preprocessing": self.preprocessing.to_dict(), "config": dataclasses.asdict(self.config)})
        np.savez(path, meta=np.array(meta), **{f"w{i:04d}": w for i, w in enumerate(self.weights)})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> AttentionWeights:
        """Read what ``save`` wrote.

        Raises:
            ModelLoadError: the file is missing or not such an archive (naming it).
        """
        from brightpath.errors import ModelLoadError

        try:
            with np.load(Path(path)) as archive:
                meta = json.loads(str(archive["meta"]))
                weights = [archive[key] for key in sorted(k for k in archive.files if k.startswith("w"))]
            config = AttentionConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()})
            return cls(weights, Preprocessing.from_dict(meta["preprocessing"]), config)
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise ModelLoadError(Path(path), f"not attention reward-model weights ({exc})") from exc


def _architecture(config: AttentionConfig) -> dict[str, Any]:
    """The fields of an ``AttentionConfig`` that shape its weights."""
    return {k: getattr(config, k) for k in ("d_model", "num_heads", "num_layers", "ff_dim", "head_units")}


def fit_keras_reward_model(
    model, input_specs, config, train, val, rng: np.random.Generator, on_epoch=None, initial_weights=None
) -> History:
    """Fit a Keras reward model (the attention model, the weekly one) on ``train``'s observed targets and
    stop early on ``val``: weighted MSE over the observed targets, length-bucketed batches of
    ``config.batch_size``, Adam with ``config.learning_rate`` cosine-decayed to zero over
    ``config.max_epochs``, ``config.patience``, the best epoch's weights kept.

    Args:
        model: a built Keras model whose ``score`` method takes ``input_specs``-shaped inputs.
        input_specs: the ``tf.TensorSpec`` dict of the model's inputs (the train step's signature).
        rng: shuffles the batches (the caller seeds it, and TensorFlow, before building the model).
        initial_weights: start from these weights (a warm start) instead of the fresh initialisation.
    """
    import tensorflow as tf

    steps_per_epoch = len(bucketed_batches(train.inputs.lengths, config.batch_size, np.random.default_rng(0)))
    # Cosine decay to zero over max_epochs: late epochs take small steps, so the
    # validation loss settles instead of bouncing around its best value.
    schedule = tf.keras.optimizers.schedules.CosineDecay(config.learning_rate, config.max_epochs * steps_per_epoch)
    optimizer = tf.keras.optimizers.Adam(schedule)
    target_spec = tf.TensorSpec([None, N_TARGETS], tf.float32)

    @tf.function(input_signature=[input_specs, target_spec, target_spec])
    def train_step(inputs, values, weights):
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            loss = tf.reduce_sum(weights * tf.square(values - predictions)) / tf.maximum(tf.reduce_sum(weights), 1e-6)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss, tf.reduce_sum(weights)

    values = np.nan_to_num(train.targets.values, nan=0.0)
    weights = train.targets.weights
    lengths = train.inputs.lengths

    def run_epoch(epoch: int) -> float:
        total, mass = 0.0, 0.0
        for index in bucketed_batches(lengths, config.batch_size, rng):
            loss, batch_mass = train_step(train.inputs.take(index).as_dict(), values[index], weights[index])
            total += float(loss) * float(batch_mass)
            mass += float(batch_mass)
        return total / max(mass, 1e-12)

    model(train.inputs.take(np.arange(min(2, len(train)))).as_dict())  # create the weights before snapshots
    if initial_weights is not None:
        model.set_weights(initial_weights)
    return fit_with_early_stopping(
        run_epoch,
        lambda: weighted_mse(predict_attention(model, val.inputs), val.targets),
        model.get_weights,
        model.set_weights,
        max_epochs=config.max_epochs,
        patience=config.patience,
        on_epoch=on_epoch,
    )


def _train_attention(config: AttentionConfig, preprocessing, train, val, seed, on_epoch, initial_weights=None):
    from brightpath.reproducibility import seed_everything
    from brightpath.reward.inputs import tensor_specs

    seed_everything(seed, with_tensorflow=True)
    rng = np.random.default_rng(seed)
    model = build_attention_model(config, preprocessing)
    history = fit_keras_reward_model(model, tensor_specs(), config, train, val, rng, on_epoch, initial_weights)
    return model, history


def _train_gbr(config: GBRConfig, preprocessing, train, val, seed, on_epoch):
    model = BaselineModel("gbr", new_gbr(config, seed), preprocessing)
    features = model.features(train.inputs)
    rounds = max(1, config.max_trees // config.trees_per_round)

    def run_epoch(epoch: int) -> float:
        for j, estimator in enumerate(model.estimators):
            observed = train.targets.weights[:, j] > 0
            estimator.n_estimators += config.trees_per_round
            estimator.fit(
                features[observed], train.targets.values[observed, j], sample_weight=train.targets.weights[observed, j]
            )
        return weighted_mse(model.predict(train.inputs), train.targets)

    def restore(best):
        model.estimators = best

    history = fit_with_early_stopping(
        run_epoch,
        lambda: weighted_mse(model.predict(val.inputs), val.targets),
        lambda: copy.deepcopy(model.estimators),
        restore,
        max_epochs=rounds,
        patience=config.patience,
        on_epoch=on_epoch,
    )
    return model, history


def _train_mlp(config: MLPConfig, preprocessing, train, val, seed, on_epoch):
    model = BaselineModel("mlp", [new_mlp(config, seed)], preprocessing)
    features = model.features(train.inputs)
    # One network predicts all three targets, so a row needs a value for each: a target the
    # family gave no feedback on takes the mean of the row's other targets, and the row's
    # weight is the mean of its target weights.
    values = train.targets.values.astype(np.float64)
    row_mean = np.nanmean(np.where(train.targets.weights > 0, values, np.nan), axis=1)
    keep = np.isfinite(row_mean)
    values = np.where(np.isnan(values), row_mean[:, None], values)[keep]
    weights = train.targets.weights.mean(axis=1)[keep]
    features = features[keep]

    def run_epoch(epoch: int) -> float:
        model.estimators[0].partial_fit(features, values, sample_weight=weights)
        return weighted_mse(model.predict(train.inputs), train.targets)

    def restore(best):
        model.estimators = best

    history = fit_with_early_stopping(
        run_epoch,
        lambda: weighted_mse(model.predict(val.inputs), val.targets),
        lambda: copy.deepcopy(model.estimators),
        restore,
        max_epochs=config.max_epochs,
        patience=config.patience,
        on_epoch=on_epoch,
    )
    return model, history


__all__ = [
    "AttentionWeights",
    "EpochCallback",
    "History",
    "TrainedRewardModel",
    "bucketed_batches",
    "fit_keras_reward_model",
    "fit_with_early_stopping",
    "train_reward_model",
    "weighted_mse",
]
