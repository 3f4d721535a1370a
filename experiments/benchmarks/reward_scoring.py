"""Benchmark: scoring 10,000 schedules through the exported reward SavedModel. Goal ≥ 20,000 schedules/s on 2 cores.

Times ``RewardScorer.score_layouts`` from a ready ``LayoutBatch`` (what the environment passes): token
encoding, summary features and the SavedModel calls, one per chunk of length-sorted
schedules. The schedules mix logged-like weeks and off-distribution ones (what PPO visits).
Uses ``<model_dir>/reward`` when it holds a usable model, else exports the attention model
at its default size (``brightpath.reward.models.AttentionConfig``) trained for one epoch
on a small simulated set: speed depends on the architecture, not on the weights.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

GOAL_SCHEDULES_PER_S = 20_000.0
REPEATS = 3
PPO_BATCH = 1024
"""Schedules per environment step of the default PPO run (``env.num_envs``)."""


def run(quick: bool = False) -> dict[str, float]:
    from brightpath.errors import ModelLoadError
    from brightpath.export import REWARD_SUBDIR, default_model_dir
    from brightpath.reward.inputs import build_inputs
    from brightpath.reward.scoring import RewardScorer

    n_families, per_family = (100, 10) if quick else (1_000, 10)
    families, layouts = _schedules(n_families, per_family, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            scorer, source = RewardScorer(default_model_dir() / REWARD_SUBDIR), 1.0
        except ModelLoadError:
            scorer, source = RewardScorer(tiny_reward_model(Path(tmp) / REWARD_SUBDIR)), 0.0
        args = (layouts, families.answers, families.child_age, families.grade_band)
        scorer.score_layouts(*args)  # warm-up: first calls trace and allocate
        total = _best_of(lambda: scorer.score_layouts(*args))
        inputs_seconds = _best_of(lambda: build_inputs(*args))
        batches = [tuple(a[i : i + PPO_BATCH] for a in args) for i in range(0, len(layouts), PPO_BATCH)]
        batched = _best_of(lambda: [scorer.score_layouts(*batch) for batch in batches])
        chunk_size = scorer.chunk_size
    n = len(layouts)
    return {
        "reward/schedules": float(n),
        "reward/schedules_per_s": n / total,
        "reward/goal_schedules_per_s": GOAL_SCHEDULES_PER_S,
        "reward/seconds": total,
        "reward/inputs_seconds": inputs_seconds,
        "reward/model_seconds": total - inputs_seconds,
        "reward/ppo_batch_schedules_per_s": n / batched,
        "reward/mean_blocks_per_week": float(np.mean(layouts.lengths)),
        "reward/chunk_size": float(chunk_size),
        "reward/used_exported_model": source,
    }


def _schedules(n_families: int, per_family: int, seed: int):
    """Families and layouts: half logged-like weeks, half off-distribution (uniform or far perturbations)."""
    from brightpath.datasets import sample_schedule_params
    from brightpath.schedule import build_layouts
    from brightpath.simulator import sample_families

    rng = np.random.default_rng(seed)
    families = sample_families(n_families, rng)
    index, params = [], []
    for mix in ("logged", "off_distribution"):
        family_index, _, mix_params = sample_schedule_params(families, per_family // 2, rng, mix=mix)
        index.append(family_index)
        params.append(mix_params)
    chosen = families.take(np.concatenate(index))
    order = rng.permutation(len(chosen))  # arrival order is random, not sorted by length
    chosen = chosen.take(order)
    return chosen, build_layouts(np.concatenate(params)[order], chosen.grade_band)


def tiny_reward_model(directory: Path) -> Path:
    """Export the attention reward model at its default size (``AttentionConfig()``, what ``+exp=ppo``
    trains) after one epoch on 200 simulated families: scoring speed depends on the size, not the weights."""
    from brightpath.reward.evaluation import simulated_set
    from brightpath.reward.models import model_config
    from brightpath.reward.scoring import export_reward_model
    from brightpath.reward.training import train_reward_model
    from brightpath.simulator import sample_families

    log.info("no reward model in the model directory; exporting one trained for one epoch")
    rng = np.random.default_rng(1)
    train, val = (simulated_set(sample_families(n, rng), rng, per_family=4, mix="logged") for n in (200, 50))
    trained = train_reward_model(model_config("attention", {"max_epochs": 1}), train, val, seed=0)
    return export_reward_model(trained.model, trained.preprocessing, directory, model_version="benchmark-tiny")


def _best_of(call) -> float:
    """Fastest of ``REPEATS`` timings, in seconds: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best
