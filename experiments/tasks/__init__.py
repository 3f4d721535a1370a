"""Experiment tasks: one module per value of ``task``, run by ``experiments.train``.

Each module exposes::

    run(config: experiments.schemas.RunConfig, tracker: experiments.tracking.Tracker) -> dict[str, float]
    CONFIG_GROUPS: tuple[str, ...]     the config groups it reads (checked before the run starts)
    check(config) -> None              optional: what only this task can check, before any work

``run`` turns the config into objects (through ``experiments.artifacts`` for datasets, models
and generators), calls the library, logs per-step metrics, plots and artifacts through
``tracker``, and returns its final metrics (namespaced names such as
``eval/true_satisfaction``); the entry point logs those again under ``final/`` and hands one
to a sweeper when ``optimize_metric`` names it. Tasks never import each other or an entry point.

The entry point checks the config, imports the task module, then seeds every RNG from
``config.seed``. A task that uses TensorFlow should import it at module level or set
``USES_TENSORFLOW = True`` so TensorFlow is seeded too; the data task does neither and stays
TensorFlow-free.

To add a task: create ``experiments/tasks/<name>.py`` with ``run`` and ``CONFIG_GROUPS``, and a
``configs/exp/<name>.yaml`` that sets ``task: <name>`` and selects those groups.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def available() -> list[str]:
    """Names of the task modules in this package, sorted (private ``_x`` modules excluded)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> ModuleType:
    """Import the task module ``experiments.tasks.<name>``.

    Raises:
        ValueError: ``name`` is not one of ``available()``.
        TypeError: the module has no callable ``run``.
    """
    names = available()
    if name not in names:
        raise ValueError(f"task: unknown task {name!r}; available tasks: {', '.join(names) or '(none)'}")
    module = importlib.import_module(f"{__name__}.{name}")
    if not callable(getattr(module, "run", None)):
        raise TypeError(f"task {name!r}: {module.__file__} defines no run(cfg, tracker) function")
    return module
