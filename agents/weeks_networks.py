"""Actor and value networks for the multi-week task (``BrightPath/ScheduleWeeks-v0``), chosen by ``model=weeks_*``.

The flat weeks observation has named parts (``envs.weeks_env.observation_layout``: profile,
reference, now, base, summary, last, history, history_mask); each model reads the parts
that suit it, through its preprocessing layer, and is otherwise a standard TF-Agents network
with the same diagonal Normal head as the one-step models (``agents.networks``):

* ``weeks_mlp``: a fixed summary (``ObservationParts`` of ``MLP_PARTS``: the family, the
  expert's proposal, the coming week's date, last week's parameters, the running summary of
  the feedback and the token of the week just lived) into fully connected layers.
* ``weeks_transformer``: ``WeekHistoryEncoder``, self-attention over one token per lived week
  (its parameters, date and feedback, ``brightpath.history``) with a context token for the
  family and the coming week, then fully connected layers.
* ``weeks_rnn``: TF-Agents' ``ActorDistributionRnnNetwork`` / ``ValueRnnNetwork`` (an LSTM)
  reading ``RNN_PARTS`` each week (the family, the coming week and the token of the week just
  lived): its state carries the history, step by step.

The observation reaches the networks raw: the weeks agent leaves PPO's observation
normaliser off (``configs/agent/weeks_ppo.yaml``), because the history mask must stay 0/1
and every part is already on a 0–1 or −1–1 scale.
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)

# isort: on
import math

import tensorflow as tf

from agents.networks import apply_transformer_blocks, feedforward_networks, transformer_blocks
from brightpath.history import TOKEN_DIM
from envs.weeks_env import observation_layout, observation_size

MLP_PARTS: tuple[str, ...] = ("profile", "reference", "now", "base", "summary", "last")
"""What ``weeks_mlp`` reads: the fixed-size parts of the observation."""
CONTEXT_PARTS: tuple[str, ...] = ("profile", "reference", "now", "base", "summary")
"""What ``weeks_transformer``'s context token is made of (the history tokens are the others)."""
RNN_PARTS: tuple[str, ...] = ("profile", "reference", "now", "base", "last")
"""What ``weeks_rnn`` reads each week; its LSTM state holds the earlier weeks."""


def weeks_of(observation_dim: int) -> int:
    """The episode length W whose flat observation has ``observation_dim`` values (111 + 47·W).

    Raises:
        ValueError: no W gives that size.
    """
    for weeks in range(1, 37):
        if observation_size(weeks) == int(observation_dim):
            return weeks
    raise ValueError(f"observation size {observation_dim}: not a ScheduleWeeks-v0 observation (111 + 47·weeks)")


class ObservationParts(tf.keras.layers.Layer):
    """The named parts ``parts`` of flat weeks observations ``[N, obs]``, joined in that order: ``[N, sum of sizes]``.

    Args:
        weeks: the episode length the observation was built for.
        parts: names among ``envs.weeks_env.OBSERVATION_PARTS``.
    """

    def __init__(self, weeks: int, parts: tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        layout = observation_layout(int(weeks))
        unknown = [part for part in parts if part not in layout]
        if unknown:
            raise ValueError(f"parts: unknown observation parts {unknown}; expected some of {list(layout)}")
        self.weeks, self.parts = int(weeks), tuple(parts)
        self._slices = [layout[part] for part in self.parts]

    def call(self, inputs):
        return tf.concat([inputs[..., part] for part in self._slices], axis=-1)

    def get_config(self) -> dict:
        # TF-Agents copies preprocessing layers with from_config(get_config()).
        return {**super().get_config(), "weeks": self.weeks, "parts": list(self.parts)}


class WeekHistoryEncoder(tf.keras.layers.Layer):
    """Self-attention over the lived weeks, pooled to a vector: ``[N, obs] -> [N, 2·d_model]``.

    Tokens: one per history slot, ``Dense(token) + week-slot embedding``, and a context token
    ``Dense(CONTEXT_PARTS)`` in front (the family, the expert's proposal, the coming week, last
    week's parameters, the feedback summary), so every week is read in the light of who the
    family is and what comes next. Padding slots (``history_mask`` 0) are masked as keys.
    Pre-norm encoder blocks (Xiong et al. 2020) as ``agents.networks.FeatureTokenEncoder``;
    the output is the context token's final state and the masked mean of the week tokens.

    Args:
        weeks: the episode length (history slots).
        d_model, num_heads, ff_dim, num_layers: as ``agents.config.EncoderConfig``.
    """

    def __init__(
        self, weeks: int, d_model: int = 32, num_heads: int = 4, ff_dim: int = 64, num_layers: int = 1, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if d_model % num_heads:
            raise ValueError(f"d_model: expected a multiple of num_heads={num_heads}, got {d_model}")
        self.weeks, self.d_model, self.num_heads = int(weeks), int(d_model), int(num_heads)
        self.ff_dim, self.num_layers = int(ff_dim), int(num_layers)
        layout = observation_layout(self.weeks)
        self._history, self._mask = layout["history"], layout["history_mask"]
        self.context = ObservationParts(self.weeks, CONTEXT_PARTS, name="context_parts")
        self.context_projection = tf.keras.layers.Dense(self.d_model, name="context_projection")
        self.token_projection = tf.keras.layers.Dense(self.d_model, name="token_projection")
        self.blocks = transformer_blocks(self.num_layers, self.d_model, self.num_heads, self.ff_dim)
        self.final_norm = tf.keras.layers.LayerNormalization(epsilon=1e-5, name="final_ln")

    def build(self, input_shape) -> None:
        self.slot_embedding = self.add_weight(
            name="slot_embedding",
            shape=(self.weeks, self.d_model),
            initializer=tf.keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(self.d_model)),
        )
        super().build(input_shape)

    def call(self, inputs, training=False):
        inputs = tf.cast(inputs, self.compute_dtype)
        history = tf.reshape(inputs[..., self._history], [-1, self.weeks, TOKEN_DIM])
        mask = inputs[..., self._mask]
        context = self.context_projection(self.context(inputs))[:, None, :]
        x = tf.concat([context, self.token_projection(history) + self.slot_embedding], axis=1)
        keys = tf.concat([tf.ones_like(mask[:, :1]), mask], axis=1)
        attention_mask = tf.cast(keys[:, None, :], tf.bool)  # [N, 1, 1 + W]: the same for every query
        x = self.final_norm(apply_transformer_blocks(self.blocks, x, attention_mask, training=training))
        pooled = tf.reduce_sum(x[:, 1:] * mask[..., None], axis=1) / tf.maximum(
            tf.reduce_sum(mask, axis=1, keepdims=True), 1.0
        )
        return tf.concat([x[:, 0], pooled], axis=-1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "weeks": self.weeks,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "num_layers": self.num_layers,
        }


def build_weeks_networks(observation_spec, action_spec, config, projection):
    """``(actor_net, value_net)`` of a ``weeks_*`` model (module docstring) for the specs.

    Args:
        config: ``agents.config.NetworkConfig`` with ``name`` ``weeks_mlp``, ``weeks_transformer``
            or ``weeks_rnn``.
        projection: the Normal projection network factory shared with the one-step models.
    """
    from tf_agents.networks import actor_distribution_rnn_network, value_rnn_network

    weeks = weeks_of(int(observation_spec.shape[-1]))
    tanh = tf.keras.activations.tanh
    if config.name == "weeks_rnn":
        actor = actor_distribution_rnn_network.ActorDistributionRnnNetwork(
            observation_spec,
            action_spec,
            preprocessing_layers=ObservationParts(weeks, RNN_PARTS),
            input_fc_layer_params=tuple(config.actor_fc_layers),
            lstm_size=tuple(config.lstm_size),
            output_fc_layer_params=(),
            activation_fn=tanh,
            continuous_projection_net=projection,
            name="weeks_rnn_actor",
        )
        value = value_rnn_network.ValueRnnNetwork(
            observation_spec,
            preprocessing_layers=ObservationParts(weeks, RNN_PARTS),
            input_fc_layer_params=tuple(config.value_fc_layers),
            lstm_size=tuple(config.lstm_size),
            output_fc_layer_params=(),
            activation_fn=tanh,
            name="weeks_rnn_value",
        )
        return actor, value

    def encoder():
        if config.name == "weeks_mlp":
            return ObservationParts(weeks, MLP_PARTS)
        size = config.encoder
        return WeekHistoryEncoder(weeks, size.d_model, size.num_heads, size.ff_dim, size.num_layers)

    return feedforward_networks(observation_spec, action_spec, config, projection, encoder)


__all__ = [
    "CONTEXT_PARTS",
    "MLP_PARTS",
    "ObservationParts",
    "RNN_PARTS",
    "WeekHistoryEncoder",
    "build_weeks_networks",
    "weeks_of",
]
