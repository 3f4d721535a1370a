"""Experiment tasks: one module per value of ``cfg.task``, run by ``experiments.train``.

Each module exposes::

    run(cfg: omegaconf.DictConfig, tracker: experiments.tracking.Tracker) -> dict[str, float]

It does the work (train, evaluate, export, generate data), logs per-step metrics,
plots and artifacts through ``tracker``, and returns its final metrics (namespaced
names such as ``eval/true_satisfaction``); the entry point logs those again under
``final/`` and hands one to a sweeper when ``optimize_metric`` names it.

The entry point validates the config, imports the task module, then seeds every RNG
from ``cfg.seed``. A task that uses TensorFlow should import it at module level or set
``USES_TENSORFLOW = True`` so TensorFlow is seeded too; the data task does neither
and stays TensorFlow-free.

To add a task: create ``experiments/tasks/<name>.py`` with ``run`` and a
``configs/exp/<name>.yaml`` that sets ``task: <name>``.
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
