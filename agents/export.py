"""Export a trained PPO policy as the backend's generator SavedModel (CONTRACTS §6) and as a TF-Agents policy
(``save_policy`` / ``load_policy``); and a multi-week policy as the weekly generator (``export_weekly_generator``).

The generator's ``serving_default`` takes raw answers and ages; inside the graph it
builds the environment's observation with the very functions the environment uses
(``envs.schedule_env.observation`` over ``brightpath.tf_namespace``: profile features
and the expert reference), lets the policy normalise it with its stored statistics,
takes the deterministic actor mean, and maps it to schedule parameters
(``brightpath.export.export_generator``). Loading it needs TensorFlow only.

The weekly generator's ``serving_default`` (``WEEKLY_SIGNATURE``) also takes the family's
history: the weeks it lived (their parameters, feedback, adjustment kind and date features,
padded to the episode length with a mask) and the next week's date features. The graph
encodes the weeks into tokens and builds the ``BrightPath/ScheduleWeeks-v0`` observation with
the environment's own definitions (``brightpath.history.encode_tokens``,
``summarize_history``, ``envs.weeks_env.observation_layout``); a recurrent policy is run over
the weeks from its initial state, as in an episode.
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
    save_serving_model,
    write_metadata,
)
from brightpath.tf_namespace import tf_namespace
from envs.schedule_env import REFERENCE_SLICE, observation

POLICY_KIND = "policy"
WEEKLY_GENERATOR_KIND = "weekly_generator"
"""``kind`` of the weekly generator in ``brightpath_model.json``, and its registry name."""
WEEKLY_SIGNATURE = (
    "serving_default(answers f32[B,25], child_age f32[B], history_params f32[B,W,7], history_feedback f32[B,W,8], "
    "history_adjustment_kind i32[B,W], history_week f32[B,W,8], history_mask f32[B,W], next_week f32[B,8]) "
    "-> {<parameter>: f32[B]}"
)


def unit_action_fn(policy):
    """``(answers [B,25], child_age [B]) -> [B, 7]`` deterministic actions in [-1, 1] of a greedy TF-Agents policy."""

    # Traced as plain graph code: AutoGraph-converting TF-Agents' policy stack costs ~9 s and
    # changes nothing (it has no data-dependent Python control flow).
    @tf.autograph.experimental.do_not_convert
    def actions(answers, child_age):
        obs = tf.cast(observation(answers, child_age, xp=tf_namespace()), tf.float32)
        batch = tf.shape(obs)[:1]
        time_step = ts.TimeStep(
            step_type=tf.fill(batch, ts.StepType.FIRST),
            reward=tf.zeros(batch, tf.float32),
            discount=tf.ones(batch, tf.float32),
            observation=obs,
        )
        action = policy.action(time_step).action
        return tf.clip_by_value(action, -1.0, 1.0)

    return actions


def export_ppo_generator(
    policy, directory: Path, *, model_version: str, metadata: Mapping[str, Any] | None = None
) -> Path:
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
    return export_generator(
        unit_action_fn(policy),
        {"policy_variables": list(policy.variables())},
        Path(directory),
        source="ppo",
        model_version=model_version,
        metadata=metadata,
    )


def save_policy(
    policy,
    directory: Path,
    train_step: tf.Variable | None = None,
    *,
    model_version: str,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save a TF-Agents policy with ``PolicySaver`` to ``directory`` (atomically), for research use.

    ``brightpath_model.json`` records ``kind: "policy"``, ``source: "ppo"``, ``model_version`` and
    ``metadata``; ``load_policy`` reads it back.
    """
    saver = policy_saver.PolicySaver(policy, batch_size=None, train_step=train_step)

    def write(tmp: Path) -> None:
        saver.save(str(tmp))
        write_metadata(
            tmp, {"kind": POLICY_KIND, "source": "ppo", "model_version": model_version, **dict(metadata or {})}
        )

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


def weekly_observations(answers, child_age, tokens, history_mask, next_week, weeks: int, lived=None):
    """Flat ``BrightPath/ScheduleWeeks-v0`` observations ``float32 [B, obs]`` inside a graph, as
    ``envs.weeks_env.WeekObservations`` builds them.

    Args:
        answers, child_age: raw questionnaires ``[B, 25]`` and ages ``[B]``.
        tokens: ``[B, W, TOKEN_DIM]`` the lived weeks' tokens (``brightpath.history.encode_tokens``).
        history_mask: ``[B, W]`` 1 for a lived week (lived weeks first).
        next_week: ``[B, 8]`` the date features of the week to plan.
        weeks: the episode length W.
        lived: a Python int ``t``: the observation before week ``t`` of an episode that lived these
            weeks (tokens after ``t`` hidden, the date of week ``t`` from its token while ``t`` is
            below the weeks lived); None: before the week after the last lived one.
    """
    import tensorflow as tf

    from brightpath.history import DATE_SLICE, PARAM_SLICE, TOKEN_DIM, summarize_history
    from envs.weeks_env import OBSERVATION_PARTS

    xp = tf_namespace()
    family = tf.cast(observation(answers, child_age, xp=xp), tf.float32)
    mask = tf.cast(history_mask, tf.float32)
    tokens = tf.cast(tokens, tf.float32) * mask[..., None]
    now = tf.cast(next_week, tf.float32)
    if lived is not None:
        if lived < weeks:  # week `lived` itself was lived: its date is in its token
            now = tf.where((mask[:, lived] > 0)[:, None], tokens[:, lived, DATE_SLICE], now)
        mask = mask * tf.cast(tf.range(weeks) < lived, tf.float32)[None, :]
        tokens = tokens * mask[..., None]
    count = tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)  # weeks lived before the week to plan
    last = tf.gather(tokens, tf.maximum(count - 1, 0), batch_dims=1) * tf.cast(count > 0, tf.float32)[:, None]
    base = tf.where((count > 0)[:, None], last[:, PARAM_SLICE], family[:, REFERENCE_SLICE])
    progress = tf.cast(count, tf.float32) / float(max(weeks - 1, 1))
    parts = {
        "profile": family[:, : REFERENCE_SLICE.start],
        "reference": family[:, REFERENCE_SLICE],
        "now": tf.concat([now, progress[:, None]], axis=1),
        "base": base,
        "summary": summarize_history(tokens, weeks, xp),
        "last": last,
        "history": tf.reshape(tokens, [-1, weeks * TOKEN_DIM]),
        "history_mask": mask,
    }
    return tf.concat([parts[name] for name in OBSERVATION_PARTS], axis=1)


def weekly_unit_action_fn(policy, weeks: int, action_mode: str):
    """The weekly generator's computation: raw history in, the next week's parameters in action units out.

    ``(answers, child_age, history_params, history_feedback, history_adjustment_kind, history_week,
    history_mask, next_week) -> [B, 7]`` in [-1, 1]; a stateless policy reads one observation, a
    recurrent one is unrolled over the W weeks (its state from the lived weeks' observations) and its
    action at the week after the last lived one is taken.
    """
    import tensorflow as tf

    from brightpath.history import encode_tokens
    from brightpath.schedule import params_to_unit
    from envs.weeks_env import ADJUST_STEP, observation_layout

    recurrent = bool(tf.nest.flatten(policy.policy_state_spec))
    xp = tf_namespace()

    @tf.autograph.experimental.do_not_convert
    def actions(
        answers, child_age, history_params, history_feedback, history_kind, history_week, history_mask, next_week
    ):
        mask = tf.cast(history_mask, tf.float32)
        tokens = encode_tokens(
            params_to_unit(tf.cast(history_params, tf.float32), xp),
            history_week,
            tf.cast(history_feedback, tf.float32),
            tf.cast(history_kind, tf.int32),
            xp,
        )
        tokens = tokens * mask[..., None]
        batch = tf.shape(mask)[:1]
        count = tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)

        def act(obs, state, first: bool):
            time_step = ts.TimeStep(
                step_type=tf.fill(batch, ts.StepType.FIRST if first else ts.StepType.MID),
                reward=tf.zeros(batch, tf.float32),
                discount=tf.ones(batch, tf.float32),
                observation=obs,
            )
            return policy.action(time_step, state)

        if recurrent:
            state = policy.get_initial_state(batch[0])
            steps, observations = [], []
            for week in range(weeks):
                obs = weekly_observations(answers, child_age, tokens, mask, next_week, weeks, lived=week)
                step = act(obs, state, week == 0)
                steps.append(step.action)
                observations.append(obs)
                state = step.state
            index = tf.minimum(count, weeks - 1)
            action = tf.gather(tf.stack(steps, axis=1), index, batch_dims=1)
            obs = tf.gather(tf.stack(observations, axis=1), index, batch_dims=1)
        else:
            obs = weekly_observations(answers, child_age, tokens, mask, next_week, weeks)
            action = act(obs, policy.get_initial_state(batch[0]), True).action
        action = tf.clip_by_value(tf.cast(action, tf.float32), -1.0, 1.0)
        if action_mode == "adjust":
            base = obs[:, observation_layout(weeks)["base"]]
            return tf.clip_by_value(base + ADJUST_STEP * action, -1.0, 1.0)
        return action

    return actions


def export_weekly_generator(
    policy,
    directory: Path,
    *,
    weeks: int,
    action_mode: str,
    model_version: str,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write the weekly generator SavedModel of a greedy multi-week policy to ``directory`` (atomically).

    ``serving_default`` (``WEEKLY_SIGNATURE``; loading needs TensorFlow only):

    ===========================  =================  =================================================
    input                        dtype, shape       meaning
    ===========================  =================  =================================================
    ``answers``                  f32 ``[B, 25]``    questionnaire, Likert 1–5, 0 = missing
    ``child_age``                f32 ``[B]``        years
    ``history_params``           f32 ``[B, W, 7]``  each lived week's parameters (``PARAM_NAMES`` units)
    ``history_feedback``         f32 ``[B, W, 8]``  its feedback, ``brightpath.history.FEEDBACK_INPUTS``
                                                    (stars, 3 Likert 1–5; sentiment, completion,
                                                    adherence 0–1; adjustment count), NaN = not given
    ``history_adjustment_kind``  i32 ``[B, W]``     the family's main adjustment
                                                    (``feedback.ADJUSTMENT_KINDS`` index), −1 = app unused
    ``history_week``             f32 ``[B, W, 8]``  the lived week's ``temporal.WEEK_FEATURES``
    ``history_mask``             f32 ``[B, W]``     1 for a lived week; lived weeks first, at most W − 1
    ``next_week``                f32 ``[B, 8]``     ``temporal.WEEK_FEATURES`` of the week to plan
    ===========================  =================  =================================================

    Outputs: the next week's parameters by name (``schedule.PARAM_NAMES``), float32 ``[B]``, clipped
    and rounded. ``W`` is the episode length the policy was trained for (``weeks``).

    Args:
        policy: the agent's deterministic policy (``PPOClipAgent.policy``) of a ``weeks_*`` network.
        directory: destination (a new version directory of ``brightpath.registry.publish``).
        weeks, action_mode: the environment's ``weeks`` and ``action_mode``.
        model_version: recorded in every schedule's ``meta.model_version``.
        metadata: extra entries for ``brightpath_model.json``.
    """
    import tensorflow as tf

    from brightpath.history import FEEDBACK_INPUTS
    from brightpath.questionnaire import N_ITEMS
    from brightpath.schedule import N_PARAMS, PARAM_NAMES, unit_to_params
    from brightpath.temporal import N_WEEK_FEATURES, WEEK_FEATURES

    unit_actions = weekly_unit_action_fn(policy, int(weeks), action_mode)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, N_ITEMS], tf.float32, name="answers"),
            tf.TensorSpec([None], tf.float32, name="child_age"),
            tf.TensorSpec([None, weeks, N_PARAMS], tf.float32, name="history_params"),
            tf.TensorSpec([None, weeks, len(FEEDBACK_INPUTS)], tf.float32, name="history_feedback"),
            tf.TensorSpec([None, weeks], tf.int32, name="history_adjustment_kind"),
            tf.TensorSpec([None, weeks, N_WEEK_FEATURES], tf.float32, name="history_week"),
            tf.TensorSpec([None, weeks], tf.float32, name="history_mask"),
            tf.TensorSpec([None, N_WEEK_FEATURES], tf.float32, name="next_week"),
        ]
    )
    def serve(
        answers,
        child_age,
        history_params,
        history_feedback,
        history_adjustment_kind,
        history_week,
        history_mask,
        next_week,
    ):
        unit = unit_actions(
            answers,
            child_age,
            history_params,
            history_feedback,
            history_adjustment_kind,
            history_week,
            history_mask,
            next_week,
        )
        params = unit_to_params(unit, tf_namespace())
        return {name: params[:, i] for i, name in enumerate(PARAM_NAMES)}

    return save_serving_model(
        serve,
        {"policy_variables": list(policy.variables())},
        {
            "kind": WEEKLY_GENERATOR_KIND,
            "source": "ppo",
            "model_version": model_version,
            "signature": WEEKLY_SIGNATURE,
            "weeks": int(weeks),
            "action_mode": action_mode,
            "param_names": list(PARAM_NAMES),
            "feedback_inputs": list(FEEDBACK_INPUTS),
            "week_features": list(WEEK_FEATURES),
            **dict(metadata or {}),
        },
        directory,
    )
