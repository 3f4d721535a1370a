"""Task ``ppo``: train the PPO schedule generator against the reward model (``+exp=ppo``).

    python -m experiments.train +exp=ppo                          # MLP policy, seed 0
    python -m experiments.train +exp=ppo model=transformer seed=3
    python -m experiments.train +exp=ppo resume=true              # continue after a kill
    python -m experiments.train -m +exp=ppo model=mlp,transformer seed=0,1,2

The loop, per iteration: collect one decision for each of ``env.num_envs`` fresh families
(one reward-model call), subtract the optional KL penalty towards the expert rule, run
PPO's minibatch epochs, log, and checkpoint every ``agent.checkpoint_interval``
iterations. Then export the greedy policy (``<paths.model_dir>/generator`` for the
backend, ``<paths.model_dir>/policy`` for research; both logged to MLflow) and evaluate
the exported generator, the expert rule and the oracle on the same held-out families.

MLflow metrics per iteration (step = environment steps so far):
``charts/episodic_return`` (mean reward of the collected decisions: the reward-model
score), ``charts/true_satisfaction`` (the simulator's hidden score of the same weeks),
``charts/proxy_true_gap``, ``charts/reference_kl`` (mean log π − log π_ref),
``charts/action_std``, ``losses/policy``, ``losses/value``, ``losses/entropy``,
``losses/approx_kl``, ``losses/clip_fraction``, ``perf/env_steps_per_s`` (decisions per
second of the whole iteration), ``perf/collect_steps_per_s`` (of collection alone),
``perf/reward_model_time_share`` (share of the iteration spent inside the reward
model, 0–1). Final metrics are ``eval/...`` (see ``evaluate``) and ``perf/...``.

Checkpoints (TF-Agents ``Checkpointer``: agent with optimiser and normalisers, policy,
global step, iteration, the action-noise generator, the environment's RNG and the
metric history) live in ``<paths.checkpoint_dir>/<run_name>/``, next to the MLflow run
id. ``resume=true`` reopens that MLflow run (``experiments.train``) and continues from
the last checkpoint, reproducing exactly what an uninterrupted run computes; iterations
after the last checkpoint are computed (and logged) again. ``resume=false`` starts over
and deletes that run name's old checkpoints.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from experiments.tracking import Tracker, run_checkpoint_dir

log = logging.getLogger(__name__)

USES_TENSORFLOW = True
"""``experiments.train`` seeds TensorFlow for this task."""
RUN_ID_FILE = "mlflow_run_id.txt"
TF_CHECKPOINT_SUBDIR = "tf"
FAMILY_SOURCES = ("population", "train")
"""``env.families``: fresh simulated families, or the dataset's train split."""
HISTORY_METRICS = ("charts/episodic_return", "charts/true_satisfaction", "charts/reference_kl",
                   "losses/approx_kl", "charts/action_std")
"""Per-iteration metrics kept in the checkpoint for the learning-curve plot."""


@dataclass
class Setup:
    """What a run trains: the batched environment, the agent, its learner, the reward model."""

    tf_env: Any
    py_env: Any
    agent: Any
    learner: Any
    reward_dir: Path | None


def run(cfg: DictConfig, tracker: Tracker) -> dict[str, float]:
    """Train, export and evaluate the PPO generator; return ``eval/...`` and ``perf/...`` metrics."""
    started = time.perf_counter()
    # TF-Agents' checkpointer reports every save and shard at INFO through absl; keep the log readable.
    logging.getLogger("absl").setLevel(logging.WARNING)
    ppo_config, network_config = check_config(cfg)
    reward_dir = reward_model_dir(cfg)
    reward_seconds = time.perf_counter() - started
    setup = build(cfg, reward_dir, ppo_config, network_config)
    checkpoint = RunCheckpoint(cfg, setup, tracker)
    train_started = time.perf_counter()
    history = train(cfg, setup, checkpoint, tracker)
    train_seconds = time.perf_counter() - train_started
    decisions = (setup.learner.config.num_iterations - checkpoint.start_iteration) * int(cfg.env.num_envs)
    generator_dir = export(cfg, setup, tracker)
    eval_started = time.perf_counter()
    metrics = evaluate(cfg, setup, generator_dir, tracker)
    _log_plots(tracker, history, metrics)
    metrics.update({
        "perf/reward_model_setup_seconds": reward_seconds,
        "perf/train_seconds": train_seconds,
        "perf/env_steps_per_s": decisions / train_seconds,
        "perf/eval_seconds": time.perf_counter() - eval_started,
        "perf/total_seconds": time.perf_counter() - started,
    })
    return metrics


def check_config(cfg: DictConfig):
    """``(PPOConfig, NetworkConfig)`` from the ``agent`` and ``model`` groups, after checking every
    value this task reads, so a bad one fails before a reward model or a policy is trained.

    Raises:
        experiments.config_check.ConfigError: naming the offending keys.
    """
    from dataclasses import fields

    from agents.networks import NetworkConfig
    from agents.ppo import PPOConfig
    from envs.schedule_env import REWARD_SOURCES
    from experiments.config_check import ConfigError

    try:
        ppo_config = PPOConfig(**{f.name: cfg.agent[f.name] for f in fields(PPOConfig)})
        network_config = NetworkConfig(**OmegaConf.to_container(cfg.model, resolve=True))
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from None
    problems = []
    if cfg.env.reward_source not in REWARD_SOURCES:
        problems.append(f"env.reward_source: expected one of {REWARD_SOURCES}, got {cfg.env.reward_source!r}")
    if cfg.env.families not in FAMILY_SOURCES:
        problems.append(f"env.families: expected one of {FAMILY_SOURCES}, got {cfg.env.families!r}")
    if int(cfg.env.num_envs) < 1 or int(cfg.env.num_envs) % ppo_config.minibatch_size:
        problems.append(f"env.num_envs: expected a positive multiple of agent.minibatch_size="
                        f"{ppo_config.minibatch_size}, got {cfg.env.num_envs}")
    for key in ("checkpoint_interval", "checkpoints_to_keep"):
        if int(cfg.agent[key]) < 1:
            problems.append(f"agent.{key}: expected an integer ≥ 1, got {cfg.agent[key]}")
    if int(cfg.eval.n_families) < 2:
        problems.append(f"eval.n_families: expected an integer ≥ 2, got {cfg.eval.n_families}")
    if problems:
        raise ConfigError("; ".join(problems))
    return ppo_config, network_config


def reward_model_dir(cfg: DictConfig) -> Path | None:
    """The reward SavedModel to train against: ``env.reward_model_dir``, else ``<model_dir>/reward``
    (trained and exported first when missing); None with ``env.reward_source=oracle``."""
    if cfg.env.reward_source == "oracle":
        return None
    if cfg.env.reward_model_dir:
        return Path(str(cfg.env.reward_model_dir))
    from experiments.tasks.reward import ensure_reward_model

    return Path(ensure_reward_model(cfg))


def build(cfg: DictConfig, reward_dir: Path | None, ppo_config, network_config) -> Setup:
    """The batched environment, the networks chosen by ``model``, the agent and its learner."""
    import tensorflow as tf

    from agents.adapter import schedule_tf_environment
    from agents.networks import build_networks
    from agents.ppo import PPOLearner, make_agent
    from brightpath.reproducibility import seed_everything

    # Training a reward model first (a fresh clone) draws from TensorFlow's global RNG;
    # seeding again here gives the same networks whether or not that happened.
    seed_everything(int(cfg.seed), with_tensorflow=True)

    tf_env = schedule_tf_environment(
        int(cfg.env.num_envs), seed=int(cfg.seed), reward_source=str(cfg.env.reward_source),
        reward_model=reward_dir, families=_training_families(cfg),
        reward_weights=OmegaConf.to_container(cfg.env.reward_weights, resolve=True),
    )
    actor, value = build_networks(tf_env.observation_spec(), tf_env.action_spec(), network_config)
    global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    agent = make_agent(tf_env.time_step_spec(), tf_env.action_spec(), actor, value, ppo_config,
                       batch_size=int(cfg.env.num_envs), train_step_counter=global_step)
    learner = PPOLearner(agent, ppo_config, seed=int(cfg.seed), jit_compile=network_config.jit_compile)
    return Setup(tf_env, tf_env.pyenv, agent, learner, reward_dir)


def _training_families(cfg: DictConfig):
    if cfg.env.families == "population":
        return None
    from brightpath.datasets import load_families
    from experiments.tasks.data import ensure_dataset

    return load_families(ensure_dataset(cfg), str(cfg.data.version), "train")


class RunCheckpoint:
    """Checkpoints of one run name under ``<paths.checkpoint_dir>/<run_name>/`` (see the module docstring).

    Creating it with ``resume=false`` deletes that directory's old checkpoints; with
    ``resume=true`` it restores the latest one, if any (``start_iteration``, ``history``).
    """

    def __init__(self, cfg: DictConfig, setup: Setup, tracker: Tracker) -> None:
        import tensorflow as tf
        from tf_agents.utils import common

        self.directory = run_checkpoint_dir(cfg)
        self.setup = setup
        if not cfg.resume and self.directory.exists():
            log.info("resume=false: removing old checkpoints in %s", self.directory)
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        run_id_file = self.directory / RUN_ID_FILE
        if cfg.resume and run_id_file.exists() and tracker.run_id and run_id_file.read_text().strip() != tracker.run_id:
            log.warning("resume: the checkpoint in %s belongs to MLflow run %s, but run %s is open; "
                        "continuing the checkpoint, logging to the open run", self.directory,
                        run_id_file.read_text().strip(), tracker.run_id)
        if tracker.run_id:
            run_id_file.write_text(tracker.run_id + "\n")
        self.iteration = tf.Variable(0, dtype=tf.int64, trainable=False, name="iteration")
        self.state = tf.Variable("", dtype=tf.string, trainable=False, name="run_state")
        agent = setup.agent
        self.checkpointer = common.Checkpointer(
            ckpt_dir=str(self.directory / TF_CHECKPOINT_SUBDIR),
            max_to_keep=int(cfg.agent.checkpoints_to_keep),
            agent=agent, policy=agent.policy, global_step=agent.train_step_counter,
            iteration=self.iteration, action_noise=setup.learner.rng, run_state=self.state,
        )
        self.history: list[dict[str, float]] = []
        self.start_iteration = 0
        if self.checkpointer.checkpoint_exists:
            saved = json.loads(self.state.numpy().decode())
            setup.py_env.set_state(saved["env"])
            self.history = saved["history"]
            self.start_iteration = int(self.iteration.numpy())
            log.info("resume: continuing from iteration %d (%s)", self.start_iteration, self.directory)
        elif cfg.resume:
            log.info("resume: no checkpoint in %s; starting from iteration 0", self.directory)

    def save(self, iteration: int) -> None:
        """Checkpoint the state after ``iteration`` completed iterations."""
        self.iteration.assign(iteration)
        self.state.assign(json.dumps({"env": self.setup.py_env.get_state(), "history": self.history}))
        self.checkpointer.save(global_step=self.setup.agent.train_step_counter)


def train(cfg: DictConfig, setup: Setup, checkpoint: RunCheckpoint, tracker: Tracker) -> list[dict[str, float]]:
    """The PPO loop (module docstring): collect, penalise, update, log, checkpoint. Returns the metric history."""
    from tqdm.auto import tqdm

    from agents import reference_kl

    num_envs = int(cfg.env.num_envs)
    n_iterations = setup.learner.config.num_iterations
    beta, sigma = float(cfg.agent.reference_kl.beta), float(cfg.agent.reference_kl.sigma)
    interval = int(cfg.agent.checkpoint_interval)
    rewards = setup.py_env.gym_env.unwrapped.rewards
    history = checkpoint.history
    bar = tqdm(range(checkpoint.start_iteration, n_iterations), initial=checkpoint.start_iteration,
               total=n_iterations, desc=str(cfg.run_name), unit="it", mininterval=1.0)
    for iteration in bar:
        started = time.perf_counter()
        model_seconds = rewards.model_seconds
        batch = setup.learner.collect(setup.tf_env)
        collect_seconds = time.perf_counter() - started
        shaped = reference_kl.penalise(batch.experience, beta, sigma)
        metrics = setup.learner.update(shaped.experience)
        seconds = time.perf_counter() - started
        true = np.asarray(batch.info["true_satisfaction"])
        proxy = np.asarray(batch.info["proxy_satisfaction"])
        metrics.update({
            "charts/episodic_return": float(batch.reward.mean()),
            "charts/true_satisfaction": float(true.mean()),
            "charts/proxy_true_gap": float(proxy.mean() - true.mean()),
            "charts/reference_kl": float(np.mean(shaped.log_ratio.numpy())),
            "charts/penalised_return": float(np.mean(shaped.experience.reward.numpy()[:, 0])),
            "perf/env_steps_per_s": num_envs / seconds,
            "perf/collect_steps_per_s": num_envs / collect_seconds,
            "perf/reward_model_time_share": (rewards.model_seconds - model_seconds) / seconds,
            "perf/iteration_seconds": seconds,
        })
        env_steps = (iteration + 1) * num_envs
        tracker.log_metrics(metrics, step=env_steps)
        history.append({"env_steps": env_steps, **{k: metrics[k] for k in HISTORY_METRICS}})
        bar.set_postfix(ret=f"{metrics['charts/episodic_return']:.3f}", true=f"{true.mean():.3f}")
        if (iteration + 1) % interval == 0 or iteration + 1 == n_iterations:
            checkpoint.save(iteration + 1)
    bar.close()
    return history


def export(cfg: DictConfig, setup: Setup, tracker: Tracker) -> Path:
    """Export the generator to ``<model_dir>/generator`` and the policy to ``<model_dir>/policy``; log both."""
    from agents.export import export_ppo_generator, save_policy
    from brightpath.export import GENERATOR_SUBDIR, POLICY_SUBDIR

    model_dir = Path(str(cfg.paths.model_dir))
    version = tracker.run_id or f"{cfg.run_name}-untracked"
    metadata = {
        "model": str(cfg.model.name), "seed": int(cfg.seed), "run_name": str(cfg.run_name),
        "env_steps": int(cfg.agent.num_iterations) * int(cfg.env.num_envs),
        "reward_source": str(cfg.env.reward_source),
        "reward_model": str(setup.reward_dir) if setup.reward_dir else None,
    }
    generator_dir = export_ppo_generator(setup.agent.policy, model_dir / GENERATOR_SUBDIR, model_version=version,
                                         metadata=metadata)
    policy_dir = save_policy(setup.agent.policy, model_dir / POLICY_SUBDIR, setup.agent.train_step_counter)
    tracker.log_artifacts(generator_dir, "generator")
    tracker.log_artifacts(policy_dir, "policy")
    return generator_dir


def evaluate(cfg: DictConfig, setup: Setup, generator_dir: Path, tracker: Tracker) -> dict[str, float]:
    """The exported generator, the expert rule and the oracle on the same held-out families.

    Returns ``eval/true_satisfaction`` (mean, with ``_ci95_low``/``_ci95_high``: the
    percentile-bootstrap 95 % CI of ``brightpath.stats.bootstrap_ci``, as in the results table), ``eval/proxy_satisfaction`` and ``eval/proxy_true_gap`` (reward
    model minus truth on the same weeks: how much the policy over-optimised the proxy;
    absent with the oracle reward), ``eval/pct_of_oracle``, ``eval/invalid_rate``,
    ``eval/ms_per_family``, ``eval/export_max_unit_diff`` (largest difference between the
    exported graph's and the in-process policy's snapped parameters, action units; 0 when
    the graph computes exactly what the policy saw in training), and the same
    for ``eval/expert_...`` plus ``eval/oracle_true_satisfaction`` and
    ``eval/improvement_over_expert``.
    """
    from brightpath.evaluation import evaluate_generator
    from brightpath.generators import ExpertGenerator, OracleGenerator, SavedModelGenerator
    from brightpath.schedule import params_to_unit, unit_to_params
    from envs.schedule_env import family_observation
    from experiments.evaluate import held_out_families

    families, origin = held_out_families(cfg, int(cfg.eval.n_families), split=str(cfg.eval.split),
                                         seed=int(cfg.eval.family_seed))
    tracker.log_params({f"eval.{k}": v for k, v in origin.items()})
    scorer = setup.py_env.gym_env.unwrapped.rewards.scorer
    min_coverage = float(cfg.eval.min_coverage)
    ppo = evaluate_generator(SavedModelGenerator(generator_dir, name=f"ppo-{cfg.model.name}"), families,
                             scorer=scorer, min_coverage=min_coverage)
    expert = evaluate_generator(ExpertGenerator(), families, scorer=scorer, min_coverage=min_coverage)
    oracle_search = OmegaConf.to_container(cfg.eval.oracle, resolve=True)
    oracle = evaluate_generator(OracleGenerator(families, seed=int(cfg.eval.family_seed), **oracle_search),
                                families, scorer=None, min_coverage=min_coverage)
    in_process = setup.learner.greedy_actions(family_observation(families))
    oracle_mean = float(oracle.true_satisfaction.mean())
    metrics = {
        **_summary("eval/", ppo, oracle_mean, seed=int(cfg.seed)),
        **_summary("eval/expert_", expert, oracle_mean, seed=int(cfg.seed)),
        "eval/oracle_true_satisfaction": oracle_mean,
        "eval/improvement_over_expert": float(ppo.true_satisfaction.mean() - expert.true_satisfaction.mean()),
        "eval/export_max_unit_diff": float(np.max(np.abs(params_to_unit(ppo.params)
                                                         - params_to_unit(unit_to_params(in_process))))),
        "eval/n_families": float(len(families)),
    }
    tracker.log_dict({"metrics": metrics, "families": origin, "generator_dir": str(generator_dir)},
                     "eval/summary.json")
    tracker.log_figure(_distribution_figure({"PPO": ppo, "expert": expert, "oracle": oracle}), "eval_distributions")
    log.info("held-out true satisfaction: PPO %.4f (%.1f%% of oracle), expert %.4f, oracle %.4f",
             metrics["eval/true_satisfaction"], metrics["eval/pct_of_oracle"],
             metrics["eval/expert_true_satisfaction"], oracle_mean)
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


def _log_plots(tracker: Tracker, history: list[dict[str, float]], metrics: dict[str, float]) -> None:
    from matplotlib.figure import Figure

    if not history:
        return
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
    tracker.log_figure(fig, "learning_curve")
