"""Reward models: a Keras attention model over a week's blocks, and the seed's scikit-learn baselines.

All three map ``RewardInputs`` (``brightpath.reward.inputs``) to three scores in
[0, 1]: satisfaction, engagement, effectiveness (``targets.TARGET_NAMES``).

``attention`` (``build_attention_model``; tf.keras under ``TF_USE_LEGACY_KERAS``)::

    block tokens ──► type + subject + day embeddings + linear(start, duration) ─┐
    profile (questionnaire scores, age) ──► linear ──► context token ──────────┤ prepended
                                                                              ▼
                   num_layers × [pre-norm multi-head self-attention (padding keys masked)
                                 + pre-norm feed-forward], final layer norm
                                                                              ▼
         [context token ‖ masked mean of block tokens ‖ engineered features] ──► MLP ──► 3 sigmoids

The engineered features are ``Preprocessing.flat_features`` (schedule summary and
profile, standardised); all normalisation happens inside the model, so the
exported graph takes raw inputs.

``gbr`` and ``mlp``: scikit-learn ``GradientBoostingRegressor`` (one per target)
and ``MLPRegressor`` (one network, three outputs) on the same flat features, the
seed plan's phase-1 models.

TensorFlow is imported only when an attention model is built, so the baselines
run without it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.features import N_PROFILE_FEATURES
from brightpath.reward.inputs import CHUNK_SIZE, Preprocessing, RewardInputs, length_chunks, tensor_specs
from brightpath.reward.targets import N_TARGETS, TARGET_NAMES

MODEL_NAMES: tuple[str, ...] = ("attention", "gbr", "mlp")


@dataclass
class AttentionConfig:
    """Size of the attention model and how it is trained (the ``reward_model=attention`` schema).

    The sizes were chosen on the default dataset (4,000 families, seed 0) by validation loss,
    by the 2-core training budget (a fresh clone's default PPO run trains this model first)
    and by scoring speed (PPO scores 1,024 weeks per step). Measured, 20 epochs, seed 0: test /
    off-distribution Spearman with the hidden satisfaction, training seconds, scoring speed
    (exported, 10,000 weeks, shared 2-core box)::

        d_model 32, ff_dim 64, head (256, 256, 128), gelu FFN: 0.948 / 0.935, 124 s
        d_model 32, ff_dim 64, head (128, 64),       gelu FFN: 0.946 / 0.931,  82 s
        d_model 16, ff_dim 32, head (256, 256, 128), relu FFN: 0.950 / 0.935,  64 s, 16,700/s
        d_model  8, ff_dim 16, head (256, 256, 128), relu FFN: 0.949 / 0.935,  46 s, 18,500/s  <- defaults

    Args:
        name: ``"attention"`` (the config group's option name).
        d_model: token width, a multiple of ``num_heads``.
        num_heads: attention heads; each attends with ``d_model / num_heads`` dimensions.
        num_layers: transformer blocks (≥ 1); one block already sees the whole week.
        ff_dim: hidden width of each block's feed-forward layer (2 × d_model; Vaswani et al.
            2017 use 4×).
        head_units: hidden widths of the output MLP over [context token, pooled blocks,
            engineered features].
        dropout: dropout rate in [0, 1) after each hidden layer of the output MLP; 0.2 lowered
            the best validation loss (0.0069 vs 0.0071 without).
        attention_dropout: dropout rate in [0, 1) on attention weights and after the attention
            and feed-forward layers of each block; off: a random mask per token doubled the
            CPU epoch time.
        learning_rate: Adam step size at the start of the cosine decay to zero over ``max_epochs``.
        batch_size: schedules per gradient step.
        max_epochs: passes over the training split at most (the cosine schedule spans them);
            the best epoch was 19 of 20 above.
        patience: epochs without a better validation loss before stopping early.
    """

    name: str = "attention"
    d_model: int = 8
    num_heads: int = 2
    num_layers: int = 1
    ff_dim: int = 16
    head_units: tuple[int, ...] = (256, 256, 128)
    dropout: float = 0.2
    attention_dropout: float = 0.0
    learning_rate: float = 0.002
    batch_size: int = 256
    max_epochs: int = 20
    patience: int = 6

    def __post_init__(self):
        _check_name(self, "attention")
        self.head_units = _check_units(self, "head_units")
        _check_positive(self, ("d_model", "num_heads", "num_layers", "ff_dim", "batch_size", "max_epochs", "patience"))
        if self.d_model % self.num_heads:
            raise ValidationError("reward_model.d_model", self.d_model, f"a multiple of num_heads={self.num_heads}")
        _check_rate(self, "dropout")
        _check_rate(self, "attention_dropout")
        _check_positive_number(self, "learning_rate")


@dataclass
class GBRConfig:
    """One ``GradientBoostingRegressor`` per target, grown ``trees_per_round`` trees at a time with
    early stopping on the validation families (the ``reward_model=gbr`` schema; the seed plan's phase 1).

    Args:
        name: ``"gbr"``.
        max_trees: trees per target at most.
        trees_per_round: trees added between two validation checks (one point of the
            ``reward/val_loss`` curve, one 'epoch').
        learning_rate: shrinkage of each tree; the seed plan's 0.1.
        max_depth: depth of each tree; 4 beat the seed's 3 on validation loss (interactions of
            schedule and family need depth).
        subsample: share of rows each tree sees, in (0, 1]; 0.8 is stochastic gradient boosting
            (Friedman 2002).
        min_samples_leaf: smallest leaf; 20 keeps single noisy ratings from getting their own leaf.
        patience: rounds without a better validation loss before stopping.
    """

    name: str = "gbr"
    max_trees: int = 600
    trees_per_round: int = 25
    learning_rate: float = 0.1
    max_depth: int = 4
    subsample: float = 0.8
    min_samples_leaf: int = 20
    patience: int = 3

    def __post_init__(self):
        _check_name(self, "gbr")
        _check_positive(self, ("max_trees", "trees_per_round", "max_depth", "min_samples_leaf", "patience"))
        _check_positive_number(self, "learning_rate")
        _check_positive_number(self, "subsample")
        if self.subsample > 1:
            raise ValidationError("reward_model.subsample", self.subsample, "a share in (0, 1]")


@dataclass
class MLPConfig:
    """A scikit-learn ``MLPRegressor`` with three outputs, trained one epoch at a time (``partial_fit``)
    with early stopping on the validation families (the ``reward_model=mlp`` schema; the seed plan's
    phase-1 'neural_network').

    Args:
        name: ``"mlp"``.
        hidden_layer_sizes: hidden widths; the seed plan's ``hidden_layers`` (128, 64).
        activation: ``relu``, ``tanh``, ``logistic`` or ``identity`` (scikit-learn's names).
        alpha: L2 penalty ≥ 0 (scikit-learn's default 1e-4).
        learning_rate: Adam step size (scikit-learn's default 1e-3).
        batch_size: rows per gradient step.
        max_epochs, patience: as for the attention model.
    """

    name: str = "mlp"
    hidden_layer_sizes: tuple[int, ...] = (128, 64)
    activation: str = "relu"
    alpha: float = 0.0001
    learning_rate: float = 0.001
    batch_size: int = 256
    max_epochs: int = 60
    patience: int = 8

    def __post_init__(self):
        _check_name(self, "mlp")
        self.hidden_layer_sizes = _check_units(self, "hidden_layer_sizes")
        _check_positive(self, ("batch_size", "max_epochs", "patience"))
        if self.activation not in ("relu", "tanh", "logistic", "identity"):
            raise ValidationError("reward_model.activation", self.activation, "relu, tanh, logistic or identity")
        _check_positive_number(self, "learning_rate")
        if not _is_number(self.alpha) or self.alpha < 0:
            raise ValidationError("reward_model.alpha", self.alpha, "a number ≥ 0")


_CONFIGS = {"attention": AttentionConfig, "gbr": GBRConfig, "mlp": MLPConfig}
ModelConfig = AttentionConfig | GBRConfig | MLPConfig


def model_config(name: str, values: Mapping[str, Any] | None = None) -> ModelConfig:
    """The config of reward model ``name``: its dataclass defaults updated with ``values``
    (a ``reward_model`` mapping; keys it leaves out keep their defaults).

    Raises:
        ValidationError: an unknown model name, an unknown key or a bad value, naming it as
            ``reward_model.<key>`` (as every check of these dataclasses does).
    """
    if name not in _CONFIGS:
        raise ValidationError("reward_model.name", name, f"one of {', '.join(MODEL_NAMES)}")
    cls = _CONFIGS[name]
    known = [f.name for f in dataclasses.fields(cls)]
    values = dict(values or {})
    unknown = [key for key in values if key not in known]
    if unknown:
        raise ValidationError(
            f"reward_model.{unknown[0]}", values[unknown[0]], f"a setting of the {name} model: {', '.join(known)}"
        )
    return cls(**{"name": name, **values})


def _check_name(config, expected: str) -> None:
    if config.name != expected:
        raise ValidationError("reward_model.name", config.name, f"{expected!r} ({type(config).__name__})")


def _check_positive(config, names):
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValidationError(f"reward_model.{name}", value, "a positive integer")


def _check_units(config, name) -> tuple[int, ...]:
    """The layer widths ``name`` as a tuple (OmegaConf hands lists over), after checking them."""
    units = getattr(config, name)
    if (
        isinstance(units, (str, bytes))
        or not isinstance(units, (list, tuple))
        or not units
        or any(isinstance(u, bool) or not isinstance(u, (int, np.integer)) or u < 1 for u in units)
    ):
        raise ValidationError(f"reward_model.{name}", units, "a non-empty list of positive integers")
    return tuple(int(u) for u in units)


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_positive_number(config, name):
    value = getattr(config, name)
    if not _is_number(value) or value <= 0:
        raise ValidationError(f"reward_model.{name}", value, "a positive number")


def _check_rate(config, name):
    value = getattr(config, name)
    if not _is_number(value) or not 0 <= value < 1:
        raise ValidationError(f"reward_model.{name}", value, "a rate in [0, 1)")


# ---------------------------------------------------------------------------
# Attention model (TensorFlow)
# ---------------------------------------------------------------------------

N_TYPE_IDS, N_SUBJECT_IDS, N_DAY_IDS = 4, 7, 5  # pad/subject/break/lunch; none + 6 subjects; Mon–Fri


def build_attention_model(config: AttentionConfig, preprocessing: Preprocessing):
    """A new, untrained attention reward model (a ``tf.keras.Model``).

    Called on a dict of ``inputs.INPUT_NAMES`` tensors (raw, as ``RewardInputs.as_dict()``)
    it returns float32 ``[B, 3]`` scores in [0, 1], columns in ``TARGET_NAMES`` order.
    Weights are initialised from TensorFlow's global seed (``tf.keras.utils.set_random_seed``).
    """
    return _attention_classes().RewardAttentionModel(config, preprocessing)


@functools.lru_cache(maxsize=1)
def _attention_classes():
    """Define the Keras classes on first use, so importing this module does not load TensorFlow."""
    import tensorflow as tf

    from brightpath.tf_namespace import tf_namespace

    layers = tf.keras.layers

    class TransformerBlock(layers.Layer):
        """Pre-norm self-attention over the tokens (padding keys masked) and a feed-forward layer."""

        def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float, **kwargs):
            super().__init__(**kwargs)
            self.attention_norm = layers.LayerNormalization(epsilon=1e-5)
            self.attention = layers.MultiHeadAttention(num_heads, key_dim=d_model // num_heads, dropout=dropout)
            self.ff_norm = layers.LayerNormalization(epsilon=1e-5)
            # relu, not gelu: as good on validation loss and cheaper per token on CPU.
            self.ff_hidden = layers.Dense(ff_dim, activation="relu")
            self.ff_out = layers.Dense(d_model)
            self.dropout = layers.Dropout(dropout)

        def call(self, x, attention_mask, training=False):
            h = self.attention_norm(x)
            x = x + self.dropout(
                self.attention(h, h, attention_mask=attention_mask, training=training), training=training
            )
            h = self.ff_norm(x)
            return x + self.dropout(self.ff_out(self.ff_hidden(h)), training=training)

    class RewardAttentionModel(tf.keras.Model):
        """See ``build_attention_model``."""

        def __init__(self, config: AttentionConfig, preprocessing: Preprocessing):
            super().__init__(name="reward_attention")
            self.config = config
            self.preprocessing = preprocessing
            d = config.d_model
            # "uniform": U(-0.05, 0.05), tf.keras Embedding's default initialiser.
            self.type_embedding = self.add_weight("type_embedding", [N_TYPE_IDS, d], initializer="uniform")
            self.subject_embedding = self.add_weight("subject_embedding", [N_SUBJECT_IDS, d], initializer="uniform")
            self.day_embedding = self.add_weight("day_embedding", [N_DAY_IDS, d], initializer="uniform")
            self.time_projection = layers.Dense(d)
            self.context_projection = layers.Dense(d)
            self.blocks = [
                TransformerBlock(d, config.num_heads, config.ff_dim, config.attention_dropout, name=f"block_{i}")
                for i in range(config.num_layers)
            ]
            self.final_norm = layers.LayerNormalization(epsilon=1e-5)
            self.head = [layers.Dense(units, activation="gelu") for units in config.head_units]
            self.head_dropout = layers.Dropout(config.dropout)
            self.scores = layers.Dense(N_TARGETS, activation="sigmoid")

        def call(self, inputs, training=False):
            tokens = tf.cast(inputs["tokens"], tf.float32)
            mask = tf.cast(inputs["mask"], tf.float32)
            flat = self.preprocessing.flat_features(
                tf.cast(inputs["summary"], tf.float32),
                tf.cast(inputs["answers"], tf.float32),
                tf.cast(inputs["child_age"], tf.float32),
                tf_namespace(),
            )
            # type + subject + day embeddings, summed: gathered in one step from the table of
            # all 4·7·5 sums (same parameters and result, a third of the memory traffic).
            table = tf.reshape(
                self.type_embedding[:, None, None]
                + self.subject_embedding[None, :, None]
                + self.day_embedding[None, None, :],
                [-1, self.config.d_model],
            )
            ids = tf.cast(tf.round(tokens[..., :3]), tf.int32)
            token_id = (ids[..., 0] * N_SUBJECT_IDS + ids[..., 1]) * N_DAY_IDS + ids[..., 2]
            x = tf.gather(table, token_id) + self.time_projection(
                self.preprocessing.standardise_times(tokens[..., 3:], tf_namespace())
            )
            # The family's profile is token 0: every block attends to who the week is for.
            context = self.context_projection(flat[:, -N_PROFILE_FEATURES:])[:, None, :]
            x = tf.concat([context, x], axis=1)
            keys = tf.concat([tf.ones_like(mask[:, :1]), mask], axis=1)
            attention_mask = tf.cast(keys[:, None, :], tf.bool)  # [B, 1, 1+T]: same for every query
            for block in self.blocks:
                x = block(x, attention_mask, training=training)
            x = self.final_norm(x)
            pooled = tf.reduce_sum(x[:, 1:] * mask[..., None], axis=1) / tf.maximum(
                tf.reduce_sum(mask, axis=1, keepdims=True), 1.0
            )
            h = tf.concat([x[:, 0], pooled, flat], axis=-1)
            for dense in self.head:
                h = self.head_dropout(dense(h), training=training)
            return self.scores(h)

        def get_config(self):
            return {"config": dataclasses.asdict(self.config), "preprocessing": self.preprocessing.to_dict()}

        @classmethod
        def from_config(cls, config):
            return cls(model_config("attention", config["config"]), Preprocessing.from_dict(config["preprocessing"]))

        @tf.function(input_signature=[tensor_specs()])
        def score(self, inputs):
            """Graph-compiled inference on any batch size and token count: ``[B, 3]``."""
            return self(inputs, training=False)

    return SimpleNamespace(TransformerBlock=TransformerBlock, RewardAttentionModel=RewardAttentionModel)


def predict_attention(model, inputs: RewardInputs, chunk: int = CHUNK_SIZE) -> np.ndarray:
    """Scores ``[B, 3]`` of an in-memory attention model, in length-sorted chunks (little padding)."""
    out = np.zeros((len(inputs), N_TARGETS), dtype=np.float32)
    for index in length_chunks(inputs.lengths, chunk):
        out[index] = model.score(inputs.take(index).as_dict()).numpy()
    return out


# ---------------------------------------------------------------------------
# scikit-learn baselines
# ---------------------------------------------------------------------------


@dataclass
class BaselineModel:
    """A scikit-learn reward model on ``Preprocessing.flat_features``.

    Attributes:
        name: ``"gbr"`` or ``"mlp"``.
        estimators: one regressor per target (``gbr``) or one three-output regressor (``mlp``).
        preprocessing: the fitted normalisation.
    """

    name: str
    estimators: list
    preprocessing: Preprocessing

    def features(self, inputs: RewardInputs) -> np.ndarray:
        return self.preprocessing.flat_features(inputs.summary, inputs.answers, inputs.child_age)

    def predict(self, inputs: RewardInputs) -> np.ndarray:
        """Scores float32 ``[B, 3]`` clipped to [0, 1] (regressors can overshoot), ``TARGET_NAMES`` order."""
        features = self.features(inputs)
        columns = [np.asarray(e.predict(features)).reshape(len(features), -1) for e in self.estimators]
        return np.clip(np.concatenate(columns, axis=1), 0.0, 1.0).astype(np.float32)


def new_gbr(config: GBRConfig, seed: int) -> list:
    """Untrained warm-startable ``GradientBoostingRegressor`` s, one per target, ``n_estimators`` 0."""
    from sklearn.ensemble import GradientBoostingRegressor

    return [
        GradientBoostingRegressor(
            n_estimators=0,
            learning_rate=config.learning_rate,
            max_depth=config.max_depth,
            subsample=config.subsample,
            min_samples_leaf=config.min_samples_leaf,
            warm_start=True,
            random_state=seed + j,
        )
        for j in range(len(TARGET_NAMES))
    ]


def new_mlp(config: MLPConfig, seed: int):
    """An untrained ``MLPRegressor`` for ``partial_fit`` epochs."""
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        hidden_layer_sizes=config.hidden_layer_sizes,
        activation=config.activation,
        alpha=config.alpha,
        learning_rate_init=config.learning_rate,
        batch_size=config.batch_size,
        random_state=seed,
        shuffle=True,
    )


__all__ = [
    "AttentionConfig",
    "BaselineModel",
    "GBRConfig",
    "MLPConfig",
    "MODEL_NAMES",
    "ModelConfig",
    "build_attention_model",
    "model_config",
    "new_gbr",
    "new_mlp",
    "predict_attention",
]
