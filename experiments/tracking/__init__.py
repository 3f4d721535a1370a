"""MLflow plumbing for experiment runs (CONTRACTS.md §7), split by job:

``runs``     the run lifecycle: ``start_run`` (new, resumed, child of a run, sweep jobs grouped
             under one parent), ``find_run_to_resume``
``sweeps``   Hydra callbacks of a sweep's launching process: ``SweepParentRun`` (opens and ends the
             sweep's parent run), ``OptunaBestTrial`` (writes and logs an Optuna search's best config)
``tracker``  ``Tracker``, the only thing tasks record through (metrics, params, tags, figures, files)
``params``   the resolved config flattened into params
``git``      the checkout's commit and dirty flag
``models``   models that live in MLflow (``runs:/``, ``models:/``, the latest finished run of a task)

Checkpoint locations live with the checkpoints (``agents.checkpoint.run_checkpoint_dir``).
"""

from experiments.tracking.git import git_state
from experiments.tracking.params import MAX_PARAM_VALUE_CHARS, TRUNCATED, config_params, resolved_config
from experiments.tracking.runs import find_run_to_resume, job_overrides, start_run
from experiments.tracking.sweeps import OptunaBestTrial, SweepParentRun
from experiments.tracking.tracker import Tracker

__all__ = [
    "MAX_PARAM_VALUE_CHARS",
    "TRUNCATED",
    "OptunaBestTrial",
    "SweepParentRun",
    "Tracker",
    "config_params",
    "find_run_to_resume",
    "git_state",
    "job_overrides",
    "resolved_config",
    "start_run",
]
