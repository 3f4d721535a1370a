"""Actor and value networks of the PPO generator, chosen by ``model=mlp|transformer`` (and ``weeks_*``).

Both models are standard TF-Agents networks (``ActorDistributionNetwork`` with a
diagonal Normal head, ``ValueNetwork``); they differ in how an observation is encoded:

* ``mlp``: the observation vector straight into fully connected layers.
* ``transformer``: ``FeatureTokenEncoder``, self-attention over *feature tokens*,
  as the networks' ``preprocessing_layers``, then the fully connected layers. Each of
  the 18 observation features becomes a token ``value · w_f + e_f`` (a learned value
  embedding and a learned feature-id embedding), so attention can relate, say, the
  rotation score to the expert's block length; the tokens are mean-pooled.

The agent normalises observations before they reach either network. The multi-week
task's models (``weeks_mlp``, ``weeks_transformer``, ``weeks_rnn``) are in
``agents.weeks_networks``; ``build_networks`` builds them too.
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)

# isort: on
import functools
import math

import tensorflow as tf
from tf_agents.networks import actor_distribution_network, normal_projection_network, value_network

from agents.config import MODELS, EncoderConfig, NetworkConfig


def transformer_blocks(num_layers: int, d_model: int, num_heads: int, ff_dim: int) -> list[tuple]:
    """The layers of ``num_layers`` pre-LayerNorm Transformer encoder blocks (attention, then a GELU
    feed-forward of ``ff_dim`` units, each with a residual), for ``apply_transformer_blocks``."""
    return [
        (
            tf.keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_ln_attention"),
            tf.keras.layers.MultiHeadAttention(num_heads, d_model // num_heads, name=f"block{i}_attention"),
            tf.keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{i}_ln_ffn"),
            tf.keras.layers.Dense(ff_dim, activation="gelu", name=f"block{i}_ffn_in"),
            tf.keras.layers.Dense(d_model, name=f"block{i}_ffn_out"),
        )
        for i in range(num_layers)
    ]


def apply_transformer_blocks(blocks: list[tuple], x, attention_mask=None, training=False):
    """Run tokens ``x`` ``[N, T, d_model]`` through ``transformer_blocks``' layers; ``attention_mask``
    (bool, broadcastable to ``[N, T, T]``) hides keys from the queries."""
    for ln_attention, attention, ln_ffn, ffn_in, ffn_out in blocks:
        h = ln_attention(x)
        x = x + attention(h, h, attention_mask=attention_mask, training=training)
        x = x + ffn_out(ffn_in(ln_ffn(x)))
    return x


class FeatureTokenEncoder(tf.keras.layers.Layer):
    """Self-attention over one token per input feature, pooled to a vector.

    Input ``[batch, num_features]`` (normalised observations); output ``[batch, d_model]``.
    Pre-norm Transformer encoder blocks (Vaswani et al. 2017; pre-norm after Xiong et
    al. 2020, stabler without warm-up): ``x + MHA(LN(x))`` then ``x + FFN(LN(x))``,
    a final LayerNorm, then the mean over tokens.

    Args:
        num_features: tokens per input (the observation size), ≥ 1.
        d_model: token width, divisible by ``num_heads``.
        num_heads: attention heads.
        ff_dim: hidden width of each block's feed-forward network.
        num_layers: encoder blocks, ≥ 1.
    """

    def __init__(
        self, num_features: int, d_model: int = 32, num_heads: int = 4, ff_dim: int = 64, num_layers: int = 1, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if num_features < 1 or num_layers < 1:
            raise ValueError(f"num_features, num_layers: expected ≥ 1, got {num_features} and {num_layers}")
        if d_model % num_heads:
            raise ValueError(f"d_model: expected a multiple of num_heads={num_heads}, got {d_model}")
        self.num_features, self.d_model, self.num_heads = int(num_features), int(d_model), int(num_heads)
        self.ff_dim, self.num_layers = int(ff_dim), int(num_layers)
        self.blocks = transformer_blocks(self.num_layers, self.d_model, self.num_heads, self.ff_dim)
        self.final_norm = tf.keras.layers.LayerNormalization(epsilon=1e-5, name="final_ln")

    def build(self, input_shape) -> None:
        if input_shape[-1] != self.num_features:
            raise ValueError(f"FeatureTokenEncoder: expected {self.num_features} features, got shape {input_shape}")
        # One initializer instance per weight: an unseeded instance repeats its values.
        std = 1.0 / math.sqrt(self.d_model)
        self.value_embedding = self.add_weight(
            name="value_embedding",
            shape=(self.num_features, self.d_model),
            initializer=tf.keras.initializers.RandomNormal(stddev=std),
        )
        self.feature_embedding = self.add_weight(
            name="feature_embedding",
            shape=(self.num_features, self.d_model),
            initializer=tf.keras.initializers.RandomNormal(stddev=std),
        )
        super().build(input_shape)

    def call(self, inputs, training=False):
        x = tf.cast(inputs, self.compute_dtype)[..., None] * self.value_embedding + self.feature_embedding
        x = apply_transformer_blocks(self.blocks, x, training=training)
        return tf.reduce_mean(self.final_norm(x), axis=-2)

    def get_config(self) -> dict:
        # TF-Agents copies preprocessing layers with from_config(get_config()).
        return {
            **super().get_config(),
            "num_features": self.num_features,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "num_layers": self.num_layers,
        }


def build_networks(observation_spec, action_spec, config: NetworkConfig):
    """``(actor_net, value_net)`` for the observation and action specs (TF-Agents tensor specs).

    The actor's head is a diagonal Normal with a state-independent, learned standard
    deviation (softplus of a bias initialised so it starts at ``init_action_std``) and a
    tanh-squashed mean inside the action bounds, as in TF-Agents' PPO examples.
    """
    num_features = int(observation_spec.shape[-1])
    projection = functools.partial(
        normal_projection_network.NormalProjectionNetwork,
        state_dependent_std=False,
        init_means_output_factor=config.init_means_output_factor,
        std_bias_initializer_value=_softplus_inverse(config.init_action_std),
        scale_distribution=False,
    )
    if config.name.startswith("weeks_"):
        from agents.weeks_networks import build_weeks_networks

        return build_weeks_networks(observation_spec, action_spec, config, projection)

    def encoder():
        if config.name == "mlp":
            return None
        size = config.encoder
        return FeatureTokenEncoder(num_features, size.d_model, size.num_heads, size.ff_dim, size.num_layers)

    return feedforward_networks(observation_spec, action_spec, config, projection, encoder)


def feedforward_networks(observation_spec, action_spec, config: NetworkConfig, projection, encoder):
    """``(actor_net, value_net)``: TF-Agents' feed-forward actor and value networks, each with its own
    ``encoder()`` as preprocessing layer (None: the raw observation), tanh hidden layers of
    ``config.actor_fc_layers`` / ``config.value_fc_layers``, and the actor's head built by ``projection``."""
    actor = actor_distribution_network.ActorDistributionNetwork(
        observation_spec,
        action_spec,
        preprocessing_layers=encoder(),
        fc_layer_params=tuple(config.actor_fc_layers),
        activation_fn=tf.keras.activations.tanh,
        continuous_projection_net=projection,
        name=f"{config.name}_actor",
    )
    value = value_network.ValueNetwork(
        observation_spec,
        preprocessing_layers=encoder(),
        fc_layer_params=tuple(config.value_fc_layers),
        activation_fn=tf.keras.activations.tanh,
        name=f"{config.name}_value",
    )
    return actor, value


def _softplus_inverse(y: float) -> float:
    return float(y + math.log(-math.expm1(-y)))


__all__ = ["MODELS", "EncoderConfig", "FeatureTokenEncoder", "NetworkConfig", "build_networks", "feedforward_networks"]
