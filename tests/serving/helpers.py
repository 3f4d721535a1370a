"""Helpers shared by the service tests: the seed's answers and registry ``write_fn``s for tiny real models.

``tiny_generator(bias, version)`` writes a generator SavedModel with the CONTRACTS §6 signature
whose every parameter sits at ``bias`` of its range (-1 low … 1 high), so two versions are
told apart by their schedules as well as their ``model_version``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from serving.schemas import SEED_PREFERENCES

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_FAMILY = {"preferences": SEED_PREFERENCES, "child_age": 8}
"""The seed plan's answers with the age of its unit test."""
__all__ = ["REPO_ROOT", "SEED_FAMILY", "SEED_PREFERENCES", "copy_of", "tiny_generator"]


def tiny_generator(bias: float, version: str):
    """A registry ``write_fn`` exporting a constant-policy generator SavedModel (``source: "ppo"``)."""

    def write(directory: Path) -> None:
        import tensorflow as tf

        from brightpath.export import export_generator
        from brightpath.schedule import N_PARAMS

        offset = tf.Variable(tf.fill([N_PARAMS], float(bias)))

        def unit_action_fn(answers, child_age):
            return tf.zeros_like(answers[:, :1]) + offset[None, :]

        export_generator(unit_action_fn, {"offset": offset}, directory, source="ppo", model_version=version)

    return write


def copy_of(source: Path):
    """A registry ``write_fn`` that copies an exported model directory."""

    def write(directory: Path) -> None:
        shutil.copytree(source, directory, dirs_exist_ok=True)

    return write
