"""Benchmark: the multi-week environment rewarded by the history-aware reward model — family-weeks per second
and the reward model's share of the step time (issue 11: ≥ 60 %).

The model is ``<model_dir>/weekly_reward`` when usable (the one ``+exp=weeks`` trains against), else the
architecture at its default size (``WeeklyRewardConfig()``) trained for one epoch on 200 simulated families:
the cost of a step depends on the architecture, not on how well it was trained. Whole 8-week episodes
(resets included) with actions drawn uniformly over the box, stepped by
``envs.weeks_batch.ScheduleWeeksVectorEnv`` with one ``WeeklyRewardScorer.score_weeks`` call per step; each
timing the fastest of ``weeks_env_steps.REPEATS`` after a warm-up episode (``weeks_env_steps._episodes``).

* ``weeks_model/family_weeks_per_s`` and ``weeks_model/reward_model_time_share`` (0–1: seconds inside
  ``score_weeks`` over the episodes' seconds) at ``NUM_ENVS`` families per step (the PPO batch of
  ``+exp=weeks``), and the same at 1,024 (``..._1024``);
* ``weeks_model/oracle_family_weeks_per_s``: the same episodes with the hidden truth as reward (no model),
  for reference.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

NUM_ENVS = 256
"""Families per step of ``+exp=weeks``' default batch (``experiments.schemas.WeeksConfig.num_envs``)."""
LARGE_NUM_ENVS = 1024


def stand_in_model(directory: Path) -> Path:
    """The default-size weekly reward model trained for one epoch on 200 simulated families, exported."""
    from brightpath.reward.targets import fit_calibration
    from brightpath.reward.weekly_data import feedback_columns, simulate_logs
    from brightpath.reward.weekly_model import WeeklyRewardConfig, train_weekly_model
    from brightpath.reward.weekly_scoring import export_weekly_reward_model
    from brightpath.simulator import sample_families

    logs = simulate_logs(sample_families(200, np.random.default_rng(0)), 8, np.random.default_rng(1))
    calibration = fit_calibration(feedback_columns(logs))
    rows = logs.rows(calibration)
    trained = train_weekly_model(WeeklyRewardConfig(max_epochs=1), rows, rows.take(np.arange(200)), seed=0)
    return export_weekly_reward_model(trained.model, trained.preprocessing, directory, model_version="benchmark")


def run(quick: bool = False) -> dict[str, float]:
    from brightpath.errors import ModelLoadError
    from brightpath.export import default_model_dir
    from brightpath.reward.weekly_scoring import MODEL_KIND, WeeklyRewardScorer
    from experiments.benchmarks.weeks_env_steps import _episodes

    sizes = (64,) if quick else (NUM_ENVS, LARGE_NUM_ENVS)
    episodes = 1 if quick else 2
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            scorer, exported = WeeklyRewardScorer(default_model_dir() / MODEL_KIND), 1.0
        except ModelLoadError:
            scorer, exported = WeeklyRewardScorer(stand_in_model(Path(tmp) / MODEL_KIND)), 0.0
        for num_envs in sizes:
            suffix = "" if num_envs == sizes[0] else f"_{num_envs}"
            _, model, share = _episodes(num_envs, episodes, reward_model=scorer)
            _, oracle, _ = _episodes(num_envs, episodes, reward_source="oracle")
            metrics.update(
                {
                    f"weeks_model/family_weeks_per_s{suffix}": model,
                    f"weeks_model/reward_model_time_share{suffix}": share,
                    f"weeks_model/oracle_family_weeks_per_s{suffix}": oracle,
                    f"weeks_model/num_envs{suffix}": float(num_envs),
                }
            )
    metrics["weeks_model/used_exported_model"] = exported
    return metrics
