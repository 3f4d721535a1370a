"""Exceptions that BrightPath raises for bad input and unusable model files.

Both name what was wrong and where, so a caller (a Django view, a Hydra run)
can show the message to a person as it is.
"""

from __future__ import annotations

from typing import Any


class ValidationError(ValueError):
    """Invalid user input: a questionnaire answer, a child's age, a schedule.

    Attributes:
        field: dotted path of the offending field (``"q3"``, ``"days[2].blocks[0].start_time"``).
        value: the value received, as given.
    """

    def __init__(self, field: str, value: Any, expected: str):
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: expected {expected}, got {value!r} ({type(value).__name__})")


class ModelLoadError(RuntimeError):
    """A model directory is missing, incomplete or corrupt.

    Attributes:
        path: the directory or file that could not be used.
    """

    def __init__(self, path: Any, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot load model from {self.path}: {reason}")
