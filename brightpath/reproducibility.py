"""One seed for every random number generator a run touches.

A run is reproducible only if every RNG it draws from starts from the run's one
``seed``: Python's ``random``, NumPy's legacy global RNG (which older code and some
libraries still use), subprocesses' string hashing, and TensorFlow's global and op
seeds. Environments are seeded separately through ``env.reset(seed=...)`` and new
NumPy code should take a ``np.random.Generator`` built from the same seed.

TensorFlow is seeded only when it is already imported or when asked to: importing it
costs about ten seconds, and the data pipeline never needs it.
"""

from __future__ import annotations

import operator
import os
import random
import sys

import numpy as np

from brightpath.errors import ValidationError

MAX_SEED = 2**32 - 1
"""NumPy's legacy RNG accepts seeds in [0, 2**32 - 1]; the same range holds everywhere."""


def seed_everything(seed: int, *, with_tensorflow: bool = False) -> None:
    """Seed Python, NumPy, subprocess hashing and (when loaded or asked for) TensorFlow.

    Args:
        seed: an integer in [0, 2**32 - 1].
        with_tensorflow: import and seed TensorFlow even if it is not imported yet.
            When False, TensorFlow is still seeded if some module already imported it
            (TF-Agents and TensorFlow Probability do).

    Seeds:
        - ``random.seed(seed)`` and ``np.random.seed(seed)``;
        - ``PYTHONHASHSEED``: read at interpreter start, so it fixes string hashing in
          subprocesses (data-loader workers, the CLI tests), not in this process;
        - TensorFlow: ``tf.keras.utils.set_random_seed`` (Python, NumPy and TF global
          seeds), ``tf.random.set_seed``, and ``tf.config.experimental.enable_op_determinism()``
          so GPU kernels pick deterministic algorithms (slower for a few ops; some raise
          instead of running nondeterministically).

    Raises:
        brightpath.errors.ValidationError: ``seed`` is not an integer in range (bools too).
    """
    if isinstance(seed, bool):
        raise ValidationError("seed", seed, f"an integer in [0, {MAX_SEED}]")
    try:
        seed = operator.index(seed)
    except TypeError:
        raise ValidationError("seed", seed, f"an integer in [0, {MAX_SEED}]") from None
    if not 0 <= seed <= MAX_SEED:
        raise ValidationError("seed", seed, f"an integer in [0, {MAX_SEED}]")

    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)

    if with_tensorflow or "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(seed)
        tf.random.set_seed(seed)
        tf.config.experimental.enable_op_determinism()
