"""Measurement: the seed's expert rule against the oracle on 1,000 random families.

The foundation issue's bar: the expert's mean true satisfaction is at most 90 % of
the per-family optimum (the oracle), so a learned generator has room to win.
"""

from __future__ import annotations

import time

import numpy as np

from brightpath.expert import expert_params
from brightpath.oracle import oracle_search
from brightpath.schedule import N_PARAMS, summarize_params, unit_to_params
from brightpath.simulator import sample_families, true_scores


def run(quick: bool = False) -> dict[str, float]:
    n = 100 if quick else 1_000
    rng = np.random.default_rng(2026)
    families = sample_families(n, rng)
    expert = true_scores(
        families, summarize_params(expert_params(families.answers, families.child_age), families.grade_band)
    )["satisfaction"]
    random = true_scores(
        families, summarize_params(unit_to_params(rng.uniform(-1, 1, (n, N_PARAMS))), families.grade_band)
    )["satisfaction"]
    started = time.perf_counter()
    oracle = oracle_search(families, rng)
    seconds = time.perf_counter() - started
    return {
        "truth/families": n,
        "truth/expert_mean": float(expert.mean()),
        "truth/random_mean": float(random.mean()),
        "truth/oracle_mean": float(oracle.satisfaction.mean()),
        "truth/expert_to_oracle": float(expert.mean() / oracle.satisfaction.mean()),
        "truth/expert_to_oracle_per_family_mean": float(np.mean(expert / oracle.satisfaction)),
        "perf/oracle_seconds": seconds,
    }
