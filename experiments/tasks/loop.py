"""Task ``loop``: the continuous-improvement loop (``+exp=loop``; issue 10).

    python -m experiments.train +exp=loop                         # 3 rounds after the bootstrap
    python -m experiments.train +exp=loop resume=true             # continue after a crash, or
    python -m experiments.train +exp=loop loop.rounds=4 resume=true   # run one more round
    python -m experiments.train +exp=loop loop.database_url=postgresql+psycopg://...   # another store

Wiring only; the rounds are ``experiments.loop.runner.Loop`` (serve → feedback → monitor → reward
refresh → PPO retrain → A/B gate → promote, then the research view and the dashboard). The store is
``loop.database_url``, else ``$BRIGHTPATH_DATABASE_URL``, else ``<paths.root>/brightpath.db``; the
models go to the registry under ``paths.model_dir`` (what the service and ``brightpath.inference``
serve) and to the MLflow Model Registry. ``reports/loop.md`` (under ``paths.reports_dir``) is the
research view; the dashboard is ``<paths.reports_dir>/loop/dashboard.html`` and an MLflow artifact.
"""

from __future__ import annotations

import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)
from experiments.schemas import RunConfig
from experiments.tracking import Tracker

CONFIG_GROUPS = ("data", "env", "model", "agent", "reward_model", "eval", "loop")
USES_TENSORFLOW = True
"""``experiments.train`` seeds TensorFlow for this task."""


def check(config: RunConfig) -> None:
    """The loop trains the attention reward model (the one that exports a SavedModel) with the model as reward."""
    from brightpath.reward.models import AttentionConfig

    if not isinstance(config.reward_model, AttentionConfig):
        raise ValueError(
            f"reward_model: the loop refreshes the attention reward model, got {config.reward_model.name!r}"
        )
    if config.env.reward_source != "model":
        raise ValueError(
            "env.reward_source: the loop trains against its reward model (model), got "
            f"{config.env.reward_source!r}; loop.oracle_reference measures the truth-rewarded PPO"
        )


def run(config: RunConfig, tracker: Tracker) -> dict[str, float]:
    """Run the loop's rounds (resuming what a crash left) and write its report; return its final metrics."""
    from experiments.loop.runner import Loop

    return Loop(config, tracker).run()
