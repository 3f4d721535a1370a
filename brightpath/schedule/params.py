"""Schedule parameters: the handful of numbers a generator decides, with their ranges.

``PARAM_SPECS`` gives each parameter's inclusive range, rounding step and meaning;
``ScheduleParams`` is one decision; ``clip_params``, ``params_to_unit`` and
``unit_to_params`` convert raw and normalised ([-1, 1]) vectors, for NumPy and,
through the ``xp`` array namespace, inside an exported TensorFlow graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from typing import NamedTuple

import numpy as np


class ParamSpec(NamedTuple):
    """One schedule parameter: name, inclusive range, rounding step (0 = continuous), meaning."""

    name: str
    low: float
    high: float
    step: float
    doc: str


PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("structure_level", 0.0, 1.0, 0.0, "how alike the days are; 1 = same start and order daily"),
    ParamSpec("block_duration_minutes", 15, 60, 5, "length of one subject block, minutes"),
    ParamSpec("breaks_frequency", 2, 5, 1, "a break after every N subject blocks"),
    ParamSpec("start_hour", 7, 10, 1, "hour the school day starts (24 h clock)"),
    ParamSpec("daily_learning_minutes", 60, 300, 5, "planned subject minutes per day"),
    ParamSpec("subject_rotation", 0.0, 1.0, 0.0, "0 = long same-subject runs, 1 = switch every block"),
    ParamSpec("break_duration_minutes", 5, 20, 5, "length of one short break, minutes"),
)
PARAM_NAMES: tuple[str, ...] = tuple(spec.name for spec in PARAM_SPECS)
N_PARAMS = len(PARAM_SPECS)
_LOW = np.array([s.low for s in PARAM_SPECS], dtype=np.float64)
_HIGH = np.array([s.high for s in PARAM_SPECS], dtype=np.float64)
_STEP = np.array([s.step for s in PARAM_SPECS], dtype=np.float64)


@dataclass(frozen=True)
class ScheduleParams:
    """A generator's decision. Ranges and units are in ``PARAM_SPECS``."""

    structure_level: float
    block_duration_minutes: int
    breaks_frequency: int
    start_hour: int
    daily_learning_minutes: int
    subject_rotation: float
    break_duration_minutes: int

    @classmethod
    def from_vector(cls, vector: Sequence[float]) -> ScheduleParams:
        """Snap a raw vector (any real numbers) into range and onto each parameter's step."""
        v = clip_params(np.asarray(vector, dtype=np.float64).reshape(N_PARAMS))
        return cls(*(float(x) if s.step == 0 else int(round(x)) for x, s in zip(v, PARAM_SPECS)))

    @classmethod
    def from_unit(cls, unit: Sequence[float]) -> ScheduleParams:
        """From a normalised vector in [-1, 1] per parameter (a policy's action)."""
        return cls.from_vector(unit_to_params(np.asarray(unit, dtype=np.float64)))

    def to_vector(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)

    def to_unit(self) -> np.ndarray:
        return params_to_unit(self.to_vector())

    def as_dict(self) -> dict[str, float | int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def clip_params(vectors, xp=np):
    """Clip ``[..., N_PARAMS]`` raw parameter vectors into range and round the stepped ones.

    ``xp`` is the array namespace: NumPy, or ``tf_namespace.tf_namespace()`` inside an
    exported TensorFlow graph, so both share this one definition.
    """
    low, high, step = (xp.asarray(a, dtype=vectors.dtype) for a in (_LOW, _HIGH, _STEP))
    v = xp.clip(vectors, low, high)
    stepped = step > 0
    safe_step = xp.where(stepped, step, xp.ones_like(step))
    rounded = xp.clip(low + xp.round((v - low) / safe_step) * safe_step, low, high)
    return xp.where(stepped, rounded, v)


def params_to_unit(vectors, xp=np):
    """Map parameter vectors linearly onto [-1, 1] per parameter (no rounding)."""
    low, high = (xp.asarray(a, dtype=vectors.dtype) for a in (_LOW, _HIGH))
    return 2.0 * (vectors - low) / (high - low) - 1.0


def unit_to_params(unit, xp=np):
    """Inverse of ``params_to_unit`` followed by ``clip_params``: always a valid parameter vector."""
    low, high = (xp.asarray(a, dtype=unit.dtype) for a in (_LOW, _HIGH))
    return clip_params(low + (xp.clip(unit, -1.0, 1.0) + 1.0) / 2.0 * (high - low), xp)
