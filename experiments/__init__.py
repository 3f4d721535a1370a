"""Hydra entry points that wire the domain library, environments and agents into runs.

``python -m experiments.train +exp=<name>`` is the one command line; ``experiments.tasks``
holds what each experiment does and ``experiments.tracking`` how it is recorded.

Importing this package (every ``python -m experiments.…`` does, first) prepares the process:
Keras 2 for TF-Agents, headless plots, and no third-party console noise
(``brightpath.console.quiet_third_party``), all before TensorFlow can load.
"""

import os

# TF-Agents needs Keras 2 (tf-keras); set before anything can import TensorFlow.
# brightpath does the same; repeating it here keeps the entry point safe on its own.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# Runs are headless: figures are written to files and logged, never shown.
os.environ.setdefault("MPLBACKEND", "Agg")

from brightpath.console import quiet_third_party  # noqa: E402  (after the environment above)

quiet_third_party()
