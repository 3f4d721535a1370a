"""Export a trained PPO policy as the backend's generator SavedModel (CONTRACTS §6) and as a TF-Agents policy
(``save_policy`` / ``load_policy``).

The generator's ``serving_default`` takes raw answers and ages; inside the graph it
builds the environment's observation with the very functions the environment uses
(``envs.schedule_env.observation`` over ``brightpath.tf_namespace``: profile features
and the expert reference), lets the policy normalise it with its stored statistics,
takes the deterministic actor mean, and maps it to schedule parameters
(``brightpath.export.export_generator``). Loading it needs TensorFlow only.
"""
from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
# isort: on
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf
from tf_agents.policies import policy_saver
from tf_agents.trajectories import time_step as ts

from brightpath.errors import ModelLoadError
from brightpath.export import (
    METADATA_FILE,
    atomic_directory_write,
    export_generator,
    load_saved_model,
    read_metadata,
    write_metadata,
)
from brightpath.tf_namespace import tf_namespace
from envs.schedule_env import observation

POLICY_KIND = "policy"


def unit_action_fn(policy):
    """``(answers [B,25], child_age [B]) -> [B, 7]`` deterministic actions in [-1, 1] of a greedy TF-Agents policy."""

    # Traced as plain graph code: AutoGraph-converting TF-Agents' policy stack costs ~9 s and
    # changes nothing (it has no data-dependent Python control flow).
    @tf.autograph.experimental.do_not_convert
    def actions(answers, child_age):
        obs = tf.cast(observation(answers, child_age, xp=tf_namespace()), tf.float32)
        batch = tf.shape(obs)[:1]
        time_step = ts.TimeStep(step_type=tf.fill(batch, ts.StepType.FIRST), reward=tf.zeros(batch, tf.float32),
                                discount=tf.ones(batch, tf.float32), observation=obs)
        action = policy.action(time_step).action
        return tf.clip_by_value(action, -1.0, 1.0)

    return actions


def export_ppo_generator(policy, directory: Path, *, model_version: str,
                         metadata: Mapping[str, Any] | None = None) -> Path:
    """Write the generator SavedModel of a greedy policy (``agent.policy``) to ``directory`` (atomically).

    Only the policy's variables are attached to the SavedModel (its networks'
    weights and the observation normaliser's statistics); the serving function is
    traced over them, so no TF-Agents or Keras class is needed to load it.

    Args:
        policy: the agent's deterministic policy (``PPOClipAgent.policy``).
        directory: destination, e.g. ``<model_dir>/generator``.
        model_version: recorded in ``meta.model_version`` of every schedule (the MLflow run id).
        metadata: extra entries for ``brightpath_model.json`` (model name, evaluation figures).
    """
    return export_generator(unit_action_fn(policy), {"policy_variables": list(policy.variables())},
                            Path(directory), source="ppo", model_version=model_version, metadata=metadata)


def save_policy(policy, directory: Path, train_step: tf.Variable | None = None, *, model_version: str,
                metadata: Mapping[str, Any] | None = None) -> Path:
    """Save a TF-Agents policy with ``PolicySaver`` to ``directory`` (atomically), for research use.

    ``brightpath_model.json`` records ``kind: "policy"``, ``source: "ppo"``, ``model_version`` and
    ``metadata``; ``load_policy`` reads it back.
    """
    saver = policy_saver.PolicySaver(policy, batch_size=None, train_step=train_step)

    def write(tmp: Path) -> None:
        saver.save(str(tmp))
        write_metadata(tmp, {"kind": POLICY_KIND, "source": "ppo", "model_version": model_version,
                             **dict(metadata or {})})

    return atomic_directory_write(Path(directory), write)


def load_policy(directory: Path):
    """The TF-Agents policy saved by ``save_policy`` (a ``tf.saved_model`` with ``action``), TensorFlow only.

    Raises:
        brightpath.errors.ModelLoadError: naming the directory or its ``brightpath_model.json`` when
            it is missing, corrupt, or holds another kind of model.
    """
    directory = Path(directory)
    metadata = read_metadata(directory)
    if metadata.get("kind") != POLICY_KIND:
        raise ModelLoadError(directory / METADATA_FILE, f"expected kind {POLICY_KIND!r}, got {metadata.get('kind')!r}")
    return load_saved_model(directory)
