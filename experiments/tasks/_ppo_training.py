"""What the PPO-training tasks (``ppo``, ``weeks``) share: training under the run's checkpoint.

Checkpoints live in ``<paths.checkpoint_dir>/<run_name>/`` next to the MLflow run id
(``mlflow_run_id.txt``). ``resume=true`` continues from the last checkpoint (``experiments.train``
reopens the MLflow run), reproducing exactly what an uninterrupted run computes; iterations after
the last checkpoint are computed (and logged) again. ``resume=false`` starts over and deletes that
run name's old checkpoints.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from experiments.schemas import RunConfig
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

RUN_ID_FILE = "mlflow_run_id.txt"


def train_under_checkpoint(
    config: RunConfig, tracker: Tracker, tf_env, learner, callbacks: Sequence = ()
) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Train ``learner`` on ``tf_env`` from the run's checkpoint (see the module docstring) with ``callbacks``
    and a progress bar named after the run.

    Returns:
        The metric history (``agents.training.train_ppo``) and ``perf/train_seconds`` (this process's
        training, s) and ``perf/env_steps_per_s`` (environment steps it ran per second).
    """
    from agents.checkpoint import TrainingCheckpoint, run_checkpoint_dir
    from agents.training import ProgressBar, train_ppo

    directory = run_checkpoint_dir(config.paths.checkpoint_dir, config.run_name)
    checkpoint = TrainingCheckpoint(
        directory, learner, tf_env.pyenv, max_to_keep=config.agent.checkpoints_to_keep, resume=config.resume
    )
    _record_run_id(directory, tracker, resume=config.resume)
    started = time.perf_counter()
    history = train_ppo(learner, tf_env, checkpoint=checkpoint, callbacks=[*callbacks, ProgressBar(config.run_name)])
    seconds = time.perf_counter() - started
    steps_run = history[-1]["env_steps"] - checkpoint.restored_env_steps
    return history, {"perf/train_seconds": seconds, "perf/env_steps_per_s": steps_run / seconds}


def _record_run_id(directory: Path, tracker: Tracker, *, resume: bool) -> None:
    """Keep the MLflow run id next to the checkpoints (a resumed run says if they belong to another)."""
    run_id_file = directory / RUN_ID_FILE
    if resume and run_id_file.exists() and tracker.run_id and run_id_file.read_text().strip() != tracker.run_id:
        log.warning(
            "resume: the checkpoint in %s belongs to MLflow run %s, but run %s is open; continuing the "
            "checkpoint, logging to the open run",
            directory,
            run_id_file.read_text().strip(),
            tracker.run_id,
        )
    if tracker.run_id:
        run_id_file.write_text(tracker.run_id + "\n")
