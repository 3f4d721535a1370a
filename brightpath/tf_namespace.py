"""A NumPy-like namespace of TensorFlow ops, for code shared by NumPy and exported graphs.

``brightpath.features``, ``brightpath.expert`` and ``brightpath.schedule`` write their
preprocessing once against an array namespace ``xp``; passing ``tf_namespace()`` runs the same
code inside a ``tf.function`` (so a SavedModel contains exactly the training-time
preprocessing). Only the handful of functions that code uses are provided.
``tf.experimental.numpy`` is not used because its rounding needs the
process-wide 'NumPy behaviour' switch, which would change TF-Agents' dtype rules.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace


@functools.lru_cache(maxsize=1)
def tf_namespace() -> SimpleNamespace:
    import tensorflow as tf

    def asarray(a, dtype=None):
        return tf.constant(a, dtype=dtype) if not tf.is_tensor(a) else (a if dtype is None else tf.cast(a, dtype))

    return SimpleNamespace(
        asarray=asarray,
        clip=lambda x, lo, hi: tf.minimum(tf.maximum(x, lo), hi),
        where=tf.where,
        round=tf.round,  # half to even, as numpy.round
        floor=tf.floor,
        ones_like=tf.ones_like,
        zeros_like=tf.zeros_like,
        reshape=tf.reshape,
        sum=lambda x, axis=None: tf.reduce_sum(x, axis=axis),
        maximum=tf.maximum,
        minimum=tf.minimum,
        isnan=tf.math.is_nan,
        log=tf.math.log,
        concatenate=lambda xs, axis=0: tf.concat(xs, axis=axis),
        stack=lambda xs, axis=0: tf.stack(xs, axis=axis),
    )
