"""BrightPath ML: learning weekly homeschool schedules that families are happy with.

The package is the domain and models library: questionnaire and child profile,
schedule parameters and Schedule JSON, the ground-truth family simulator, the
rule-based expert generator and the inference API the Django backend calls.

Importing it sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow can be imported,
because TF-Agents 0.19 needs Keras 2 (``tf_keras``) under TensorFlow 2.21.
TensorFlow itself is imported lazily, only by the code that needs it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from brightpath.errors import ModelLoadError, ValidationError  # noqa: E402

__version__ = "0.1.0"

__all__ = ["ModelLoadError", "ScheduleGeneratorModel", "ValidationError", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import brightpath` stays cheap for data jobs (the inference module loads on first use).
    if name == "ScheduleGeneratorModel":
        from brightpath.inference import ScheduleGeneratorModel

        return ScheduleGeneratorModel
    raise AttributeError(f"module 'brightpath' has no attribute {name!r}")
