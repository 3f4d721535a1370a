"""Task ``ppo``: train the PPO schedule generator against the reward model (``+exp=ppo``).

    python -m experiments.train +exp=ppo                          # MLP policy, seed 0
    python -m experiments.train +exp=ppo model=transformer seed=3
    python -m experiments.train +exp=ppo resume=true              # continue after a kill
    python -m experiments.train -m +exp=ppo model=mlp,transformer seed=0,1,2

Wiring only; the algorithm is ``agents.training.train_ppo``:

1. the reward model (``experiments.artifacts.reward_model``: ``env.reward_model_uri``, else the
   registry's champion, else one trained now as a child run; none with ``env.reward_source=oracle``);
2. the batched environment (``agents.adapter.schedule_tf_environment``), the networks, agent and
   learner (``agents.training.build_learner``), the checkpoint (``agents.checkpoint``);
3. the training loop, its per-iteration metrics logged to MLflow at step = environment steps
   so far (names in ``agents.training``), plus ``perf/reward_model_time_share`` (share of the
   iteration spent inside the reward model, 0–1); a progress bar;
4. the greedy policy published and promoted as registry models ``generator`` (the backend's
   SavedModel, CONTRACTS §6) and ``policy`` (TF-Agents ``PolicySaver``, for research), both
   logged to MLflow;
5. the exported generator, the expert rule and the oracle (cached) on the same held-out
   families (``eval/...``, see ``evaluate``), a learning curve and the distributions.

Checkpoints and ``resume=true``: ``experiments.tasks._ppo_training`` (shared with the weeks task).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from experiments import artifacts
from experiments.schemas import RunConfig
from experiments.tasks._ppo_training import train_under_checkpoint
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

CONFIG_GROUPS = ("data", "env", "model", "agent", "reward_model", "eval")
USES_TENSORFLOW = True
"""``experiments.train`` seeds TensorFlow for this task."""
GENERATOR_MODEL, POLICY_MODEL = "generator", "policy"
"""Registry names of the exported generator and policy."""


def check(config: RunConfig) -> None:
    """Only the attention reward model exports the SavedModel the environment scores with."""
    from brightpath.reward.models import AttentionConfig

    if (
        config.env.reward_source == "model"
        and config.env.reward_model_uri is None
        and not isinstance(config.reward_model, AttentionConfig)
    ):
        raise ValueError(
            f"reward_model: expected attention (only it exports the SavedModel the environment "
            f"scores with), got {config.reward_model.name!r}"
        )


def run(config: RunConfig, tracker: Tracker) -> dict[str, float]:
    """Train, export and evaluate the PPO generator; return ``eval/...`` and ``perf/...`` metrics."""
    from agents.adapter import schedule_tf_environment
    from agents.training import build_learner

    started = time.perf_counter()
    scorer = None
    if config.env.reward_source == "model":
        scorer = artifacts.TimedScorer(artifacts.reward_model(config, tracker, config.env.reward_model_uri))
    reward_seconds = time.perf_counter() - started

    env = config.env
    tf_env = schedule_tf_environment(
        env.num_envs,
        seed=config.seed,
        reward_source=env.reward_source,
        reward_model=scorer,
        families=artifacts.training_families(config) if env.families == "train" else None,
        reward_weights=dict(env.reward_weights),
    )
    learner = build_learner(tf_env, config.model, config.agent, seed=config.seed)
    history, train_perf = train_under_checkpoint(config, tracker, tf_env, learner, [MetricsLogger(tracker, scorer)])

    generator_dir = export(config, learner, tracker, scorer)
    eval_started = time.perf_counter()
    metrics = evaluate(config, learner, generator_dir, scorer, tracker)
    tracker.log_figure(_learning_curve(history, metrics), "learning_curve")
    metrics.update(
        {
            "perf/reward_model_setup_seconds": reward_seconds,
            **train_perf,
            "perf/eval_seconds": time.perf_counter() - eval_started,
            "perf/total_seconds": time.perf_counter() - started,
        }
    )
    return metrics


class MetricsLogger:
    """Logs each iteration's metrics to MLflow at step = environment steps, plus the reward model's
    share of the iteration (``perf/reward_model_time_share``, 0 with the oracle reward)."""

    def __init__(self, tracker: Tracker, scorer: artifacts.TimedScorer | None) -> None:
        self.tracker = tracker
        self.scorer = scorer
        self._scorer_seconds = 0.0

    def on_train_begin(self, start_iteration: int, num_iterations: int) -> None:
        self._scorer_seconds = self.scorer.seconds if self.scorer is not None else 0.0

    def on_iteration(self, iteration: int, env_steps: int, metrics: dict[str, float]) -> None:
        scorer_seconds = self.scorer.seconds if self.scorer is not None else 0.0
        share = (scorer_seconds - self._scorer_seconds) / metrics["perf/iteration_seconds"]
        self._scorer_seconds = scorer_seconds
        self.tracker.log_metrics({**metrics, "perf/reward_model_time_share": share}, step=env_steps)

    def on_train_end(self) -> None:
        pass


def export(config: RunConfig, learner, tracker: Tracker, scorer) -> Path:
    """Publish and promote the greedy policy as registry models ``generator`` and ``policy``; log both.

    Returns:
        The new generator version's directory.
    """
    from agents.export import export_ppo_generator, save_policy

    version = artifacts.model_version(config, tracker)
    metadata = artifacts.model_metadata(
        config,
        tracker,
        model=config.model.name,
        env_steps=config.agent.num_iterations * config.env.num_envs,
        reward_source=config.env.reward_source,
        reward_model=str(scorer.scorer.model_dir) if scorer is not None else None,
    )
    policy = learner.agent.policy
    _, generator_dir = artifacts.publish(
        config, GENERATOR_MODEL, lambda path: export_ppo_generator(policy, path, model_version=version), metadata
    )
    _, policy_dir = artifacts.publish(
        config,
        POLICY_MODEL,
        lambda path: save_policy(policy, path, learner.agent.train_step_counter, model_version=version),
        metadata,
    )
    tracker.log_artifacts(generator_dir, "generator")
    tracker.log_artifacts(policy_dir, "policy")
    return generator_dir


def evaluate(config: RunConfig, learner, generator_dir: Path, scorer, tracker: Tracker) -> dict[str, float]:
    """The exported generator, the expert rule and the oracle on the same held-out families.

    Returns ``eval/true_satisfaction`` (mean, with ``_ci95_low``/``_ci95_high``: the
    percentile-bootstrap 95 % CI of ``brightpath.stats.bootstrap_ci``, as in the results table),
    ``eval/proxy_satisfaction`` and ``eval/proxy_true_gap`` (reward model minus truth on the same
    weeks: how much the policy over-optimised the proxy; absent with the oracle reward),
    ``eval/pct_of_oracle``, ``eval/invalid_rate``, ``eval/ms_per_family``,
    ``eval/export_max_unit_diff`` (largest difference between the exported graph's and the
    in-process policy's snapped parameters, action units; 0 when the graph computes exactly what
    the policy saw in training), and the same for ``eval/expert_...`` plus
    ``eval/oracle_true_satisfaction`` and ``eval/improvement_over_expert``.
    """
    from brightpath.generators import ExpertGenerator, SavedModelGenerator
    from brightpath.schedule import params_to_unit, unit_to_params
    from envs.schedule_env import family_observation

    spec = config.eval
    families, origin = artifacts.held_out_families(config, spec.n_families, split=spec.split, seed=spec.family_seed)
    tracker.log_params({f"eval.{k}": v for k, v in origin.items()})
    ppo_generator = SavedModelGenerator(generator_dir, name=f"ppo-{config.model.name}")
    oracle_generator = artifacts.oracle_generator(config, families, seed=spec.family_seed, oracle_config=spec.oracle)
    ppo = artifacts.evaluate(ppo_generator, families, scorer=scorer, min_coverage=spec.min_coverage)
    expert = artifacts.evaluate(ExpertGenerator(), families, scorer=scorer, min_coverage=spec.min_coverage)
    oracle = artifacts.evaluate(oracle_generator, families, min_coverage=spec.min_coverage)
    in_process = learner.greedy_actions(family_observation(families))
    oracle_mean = float(oracle.true_satisfaction.mean())
    metrics = {
        **_summary("eval/", ppo, oracle_mean, seed=config.seed),
        **_summary("eval/expert_", expert, oracle_mean, seed=config.seed),
        "eval/oracle_true_satisfaction": oracle_mean,
        "eval/improvement_over_expert": float(ppo.true_satisfaction.mean() - expert.true_satisfaction.mean()),
        "eval/export_max_unit_diff": float(
            np.max(np.abs(params_to_unit(ppo.params) - params_to_unit(unit_to_params(in_process))))
        ),
        "eval/n_families": float(len(families)),
    }
    tracker.log_dict({"metrics": metrics, "families": origin, "generator_dir": str(generator_dir)}, "eval/summary.json")
    tracker.log_figure(_distribution_figure({"PPO": ppo, "expert": expert, "oracle": oracle}), "eval_distributions")
    log.info(
        "held-out true satisfaction: PPO %.4f (%.1f%% of oracle), expert %.4f, oracle %.4f",
        metrics["eval/true_satisfaction"],
        metrics["eval/pct_of_oracle"],
        metrics["eval/expert_true_satisfaction"],
        oracle_mean,
    )
    return metrics


def _summary(prefix: str, evaluation, oracle_mean: float, *, seed: int) -> dict[str, float]:
    from brightpath.stats import bootstrap_ci

    true = evaluation.true_satisfaction
    low, high = bootstrap_ci(true, seed=seed)
    out = {
        f"{prefix}true_satisfaction": float(true.mean()),
        f"{prefix}true_satisfaction_ci95_low": low,
        f"{prefix}true_satisfaction_ci95_high": high,
        f"{prefix}pct_of_oracle": 100.0 * float(true.mean()) / oracle_mean,
        f"{prefix}invalid_rate": evaluation.invalid_rate,
        f"{prefix}ms_per_family": evaluation.ms_per_family,
    }
    if evaluation.proxy_satisfaction is not None:
        out[f"{prefix}proxy_satisfaction"] = float(evaluation.proxy_satisfaction.mean())
        out[f"{prefix}proxy_true_gap"] = float(evaluation.proxy_satisfaction.mean() - true.mean())
    return out


def _distribution_figure(evaluations: dict[str, Any]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 3.5))
    ax = fig.subplots()
    bins = np.linspace(0.0, 1.0, 41)
    for label, evaluation in evaluations.items():
        true = evaluation.true_satisfaction
        ax.hist(true, bins=bins, histtype="step", linewidth=1.5, label=f"{label} (mean {true.mean():.3f})")
    ax.set_xlabel("true satisfaction (hidden simulator score, 0-1)")
    ax.set_ylabel("held-out families")
    ax.legend(loc="upper left")
    return fig


def _learning_curve(history: list[dict[str, float]], metrics: dict[str, float]):
    from matplotlib.figure import Figure

    steps = [h["env_steps"] for h in history]
    fig = Figure(figsize=(6.5, 3.5))
    ax = fig.subplots()
    ax.plot(steps, [h["charts/episodic_return"] for h in history], label="reward (reward model, training batch)")
    ax.plot(steps, [h["charts/true_satisfaction"] for h in history], label="true satisfaction (training batch)")
    for name, style in (("eval/expert_true_satisfaction", ":"), ("eval/oracle_true_satisfaction", "--")):
        label = name.split("/")[1].replace("_", " ") + " (held out)"
        ax.axhline(metrics[name], linestyle=style, color="grey", label=label)
    ax.set_xlabel("environment steps (decisions)")
    ax.set_ylabel("score (0-1)")
    ax.legend(loc="lower right", fontsize=8)
    return fig
