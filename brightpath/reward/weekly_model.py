"""The history-aware reward model: a week's satisfaction given its schedule, the family, the date and the
feedback history so far.

The one-shot attention model (``reward.models``) reads one week and the questionnaire. A
questionnaire cannot say how long the child really concentrates, when the family really
wants to start, or how generously it rates; the weeks it has lived can. This sibling model
reads them too (``reward.weekly_data.WeeklyRewardInputs``)::

    the week's blocks ──► block attention with a profile context token (as the one-shot model) ──┐
    engineered features (summary, profile), the week's date, its parameters ───────────────────┤
    each lived week: [its token (parameters, date, feedback, flags, adjustment kind),            │
                      this week's parameters − that week's, weeks ago] ──► MLP ──► week vectors  │
        attention pooling (query: this week and the family; padding masked) + masked mean ─────┤
                                                                                               ▼
                                                  MLP ──► satisfaction, engagement, effectiveness

The difference between this week's parameters and a lived week's is what lets it read
feedback as a family means it: "shorter blocks" after 40-minute blocks says a week of 30
is better and one of 50 worse; four stars for a week close to this one say this one is
liked. Trained on feedback from simulated multi-week logs only (``reward.weekly_data``),
never the hidden truth. All normalisation is inside the model, so the exported graph
(``reward.weekly_scoring``) takes raw inputs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.features import N_PROFILE_FEATURES
from brightpath.history import TOKEN_DIM
from brightpath.reward.inputs import Preprocessing, tensor_specs
from brightpath.reward.models import N_DAY_IDS, N_SUBJECT_IDS, _attention_classes, predict_attention
from brightpath.reward.targets import N_TARGETS
from brightpath.reward.training import History, fit_keras_reward_model
from brightpath.reward.weekly_data import WeeklyRewardData, WeeklyRewardInputs
from brightpath.schedule import N_PARAMS
from brightpath.temporal import N_WEEK_FEATURES

WEEKS_AGO_CAP = 8
"""A lived week's age is read as ``min(weeks ago, 8) / 8``."""


@dataclass
class WeeklyRewardConfig:
    """Size of the history-aware reward model and how it is trained (``weeks.reward_model``).

    The week's block encoder keeps the one-shot model's measured sizes (``models.AttentionConfig``:
    d_model 8, 2 heads, ff 16, head (256, 256, 128), dropout 0.2, Adam 2e-3 with cosine decay).

    Attributes:
        d_model, num_heads, num_layers, ff_dim: the block encoder, as ``AttentionConfig``.
        history_units: width of each lived week's vector (a multiple of ``history_heads``).
        history_heads: heads of the attention pooling over the lived weeks.
        head_units, dropout, learning_rate, batch_size, max_epochs, patience: as ``AttentionConfig``.
    """

    d_model: int = 8
    num_heads: int = 2
    num_layers: int = 1
    ff_dim: int = 16
    history_units: int = 64
    history_heads: int = 2
    head_units: tuple[int, ...] = (256, 256, 128)
    dropout: float = 0.2
    learning_rate: float = 0.002
    batch_size: int = 256
    max_epochs: int = 20
    patience: int = 6

    def __post_init__(self) -> None:
        for key in (
            "d_model",
            "num_heads",
            "num_layers",
            "ff_dim",
            "history_units",
            "history_heads",
            "batch_size",
            "max_epochs",
            "patience",
        ):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"weeks.reward_model.{key}", value, "a positive integer")
        for key, heads in (("d_model", self.num_heads), ("history_units", self.history_heads)):
            if getattr(self, key) % heads:
                raise ValidationError(f"weeks.reward_model.{key}", getattr(self, key), f"a multiple of {heads} heads")
        units = self.head_units
        if (
            isinstance(units, (str, bytes))
            or not isinstance(units, (list, tuple))
            or not units
            or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units)
        ):
            raise ValidationError("weeks.reward_model.head_units", units, "a non-empty list of positive integers")
        self.head_units = tuple(units)
        if not 0 <= self.dropout < 1:
            raise ValidationError("weeks.reward_model.dropout", self.dropout, "a rate in [0, 1)")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValidationError("weeks.reward_model.learning_rate", self.learning_rate, "a positive number")


def weekly_tensor_specs() -> dict:
    """``tf.TensorSpec`` of each input (``reward.weekly_scoring.INPUT_NAMES``): any batch, block and history size."""
    import tensorflow as tf

    return {
        **tensor_specs(),
        "params": tf.TensorSpec([None, N_PARAMS], tf.float32, name="params"),
        "week_features": tf.TensorSpec([None, N_WEEK_FEATURES], tf.float32, name="week_features"),
        "history": tf.TensorSpec([None, None, TOKEN_DIM], tf.float32, name="history"),
        "history_mask": tf.TensorSpec([None, None], tf.float32, name="history_mask"),
    }


def build_weekly_model(config: WeeklyRewardConfig, preprocessing: Preprocessing):
    """A new, untrained history-aware reward model (a ``tf.keras.Model``; module docstring).

    Called on a dict of ``weekly_tensor_specs`` tensors (``WeeklyRewardInputs.as_dict()``) it
    returns float32 ``[B, 3]`` scores in [0, 1] (``targets.TARGET_NAMES`` order). Weights are
    initialised from TensorFlow's global seed.
    """
    return _weekly_classes().WeeklyRewardModel(config, preprocessing)


@functools.lru_cache(maxsize=1)
def _weekly_classes():
    """Define the Keras class on first use, so importing this module does not load TensorFlow."""
    import tensorflow as tf

    from brightpath.schedule import params_to_unit
    from brightpath.tf_namespace import tf_namespace

    layers = tf.keras.layers
    block_class = _attention_classes().TransformerBlock

    class WeeklyRewardModel(tf.keras.Model):
        """See ``build_weekly_model``."""

        def __init__(self, config: WeeklyRewardConfig, preprocessing: Preprocessing):
            super().__init__(name="weekly_reward")
            self.config = config
            self.preprocessing = preprocessing
            d = config.d_model
            self.type_embedding = self.add_weight("type_embedding", [4, d], initializer="uniform")
            self.subject_embedding = self.add_weight("subject_embedding", [N_SUBJECT_IDS, d], initializer="uniform")
            self.day_embedding = self.add_weight("day_embedding", [N_DAY_IDS, d], initializer="uniform")
            self.time_projection = layers.Dense(d)
            self.context_projection = layers.Dense(d)
            self.blocks = [
                block_class(d, config.num_heads, config.ff_dim, 0.0, name=f"block_{i}")
                for i in range(config.num_layers)
            ]
            self.final_norm = layers.LayerNormalization(epsilon=1e-5)
            units = config.history_units
            self.week_in = layers.Dense(units, activation="gelu", name="week_in")
            self.week_out = layers.Dense(units, name="week_out")
            self.query = layers.Dense(units, name="history_query")
            self.pool = layers.MultiHeadAttention(
                config.history_heads, units // config.history_heads, name="history_pool"
            )
            self.head = [layers.Dense(u, activation="gelu") for u in config.head_units]
            self.head_dropout = layers.Dropout(config.dropout)
            self.scores = layers.Dense(N_TARGETS, activation="sigmoid")

        def call(self, inputs, training=False):
            xp = tf_namespace()
            tokens = tf.cast(inputs["tokens"], tf.float32)
            mask = tf.cast(inputs["mask"], tf.float32)
            flat = self.preprocessing.flat_features(
                tf.cast(inputs["summary"], tf.float32),
                tf.cast(inputs["answers"], tf.float32),
                tf.cast(inputs["child_age"], tf.float32),
                xp,
            )
            table = tf.reshape(
                self.type_embedding[:, None, None]
                + self.subject_embedding[None, :, None]
                + self.day_embedding[None, None, :],
                [-1, self.config.d_model],
            )
            ids = tf.cast(tf.round(tokens[..., :3]), tf.int32)
            x = tf.gather(table, (ids[..., 0] * N_SUBJECT_IDS + ids[..., 1]) * N_DAY_IDS + ids[..., 2])
            x = x + self.time_projection(self.preprocessing.standardise_times(tokens[..., 3:], xp))
            x = tf.concat([self.context_projection(flat[:, -N_PROFILE_FEATURES:])[:, None, :], x], axis=1)
            keys = tf.concat([tf.ones_like(mask[:, :1]), mask], axis=1)
            for block in self.blocks:
                x = block(x, tf.cast(keys[:, None, :], tf.bool), training=training)
            x = self.final_norm(x)
            pooled = tf.reduce_sum(x[:, 1:] * mask[..., None], axis=1) / tf.maximum(
                tf.reduce_sum(mask, axis=1, keepdims=True), 1.0
            )

            # The lived weeks, each read against this week.
            unit = params_to_unit(tf.cast(inputs["params"], tf.float32), xp)
            date = tf.cast(inputs["week_features"], tf.float32)
            history = tf.cast(inputs["history"], tf.float32)
            lived = tf.cast(inputs["history_mask"], tf.float32)
            count = tf.reduce_sum(lived, axis=1, keepdims=True)  # [B, 1]
            slot = tf.cast(tf.range(tf.shape(lived)[1]), tf.float32)[None, :]
            weeks_ago = tf.minimum(count - slot, float(WEEKS_AGO_CAP)) / WEEKS_AGO_CAP * lived
            difference = (unit[:, None, :] - history[..., :N_PARAMS]) * lived[..., None]
            weeks = self.week_out(self.week_in(tf.concat([history, difference, weeks_ago[..., None]], axis=-1)))
            query = self.query(tf.concat([flat, date, unit], axis=-1))[:, None, :]
            attended = self.pool(query, weeks, attention_mask=tf.cast(lived[:, None, :], tf.bool), training=training)[
                :, 0
            ]
            any_lived = tf.cast(count > 0, tf.float32)
            mean = tf.reduce_sum(weeks * lived[..., None], axis=1) / tf.maximum(count, 1.0)
            h = tf.concat(
                [x[:, 0], pooled, flat, date, unit, attended * any_lived, mean, count / WEEKS_AGO_CAP], axis=-1
            )
            for dense in self.head:
                h = self.head_dropout(dense(h), training=training)
            return self.scores(h)

        def get_config(self):
            return {"config": dataclasses.asdict(self.config), "preprocessing": self.preprocessing.to_dict()}

        @classmethod
        def from_config(cls, config):
            return cls(WeeklyRewardConfig(**config["config"]), Preprocessing.from_dict(config["preprocessing"]))

        @tf.function(input_signature=[weekly_tensor_specs()])
        def score(self, inputs):
            """Graph-compiled inference on any batch, block and history size: ``[B, 3]``."""
            return self(inputs, training=False)

    return SimpleNamespace(WeeklyRewardModel=WeeklyRewardModel)


@dataclass
class TrainedWeeklyModel:
    """A fitted history-aware reward model.

    Attributes:
        model: the Keras model; ``config``, ``preprocessing`` (fitted on the training weeks), ``history``.
    """

    model: Any
    config: WeeklyRewardConfig
    preprocessing: Preprocessing
    history: History

    def predict(self, inputs: WeeklyRewardInputs) -> np.ndarray:
        """Scores float32 ``[B, 3]`` in [0, 1], columns in ``targets.TARGET_NAMES`` order."""
        return predict_attention(self.model, inputs)


def train_weekly_model(
    config: WeeklyRewardConfig, train: WeeklyRewardData, val: WeeklyRewardData, *, seed: int, on_epoch=None
) -> TrainedWeeklyModel:
    """Fit the model on ``train``'s observed targets, stopping early on ``val`` (``reward.training``'s loop:
    weighted MSE, length-bucketed batches, cosine-decayed Adam, the best epoch's weights kept).

    Same seed, same data, same config → the same model (TensorFlow seeded, op determinism on).
    """
    from brightpath.reproducibility import seed_everything

    seed_everything(seed, with_tensorflow=True)
    rng = np.random.default_rng(seed)
    preprocessing = Preprocessing.fit(train.inputs.week)
    model = build_weekly_model(config, preprocessing)
    history = fit_keras_reward_model(model, weekly_tensor_specs(), config, train, val, rng, on_epoch)
    return TrainedWeeklyModel(model, config, preprocessing, history)


__all__ = [
    "TrainedWeeklyModel",
    "WEEKS_AGO_CAP",
    "WeeklyRewardConfig",
    "build_weekly_model",
    "train_weekly_model",
    "weekly_tensor_specs",
]
