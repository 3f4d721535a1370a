"""The oracle: near-optimal schedule parameters per family, found by searching the hidden truth.

It is the ceiling every learned generator is compared with. It cheats on
purpose: it reads the simulator's hidden satisfaction, which no deployed
generator can. Search: a shared random design over the whole parameter box
(plus the expert rule's choice, so the oracle is never worse than it), then a
few rounds of per-family local random search with shrinking steps.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.schedule import N_PARAMS, params_to_unit, summarize_params, unit_to_params
from brightpath.simulator import Families, true_scores
from brightpath.temporal import WeekContext


@dataclass(frozen=True)
class OracleResult:
    """Best parameters found per family (``[n, N_PARAMS]``) and their true satisfaction (``[n]``)."""

    params: np.ndarray
    satisfaction: np.ndarray


@dataclass
class OracleConfig:
    """The oracle's search budget: how hard ``oracle_search`` looks.

    The defaults take about 3.5 s per 1,000 families on 2 cores under load, 23 s when the weeks
    were laid out one at a time (``oracle/search_seconds`` of ``experiments/benchmarks/env_steps.py``).

    Attributes:
        n_random: shared random candidates over the whole parameter box (≥ 1); their layouts
            are built once per grade band.
        n_rounds: local refinement rounds (≥ 0); the step shrinks from 0.3 to ~0.04 (unit scale).
        n_local: perturbations per family per round (≥ 1).
        chunk: families scored at once in the global stage (≥ 1); bounds memory, never results.
    """

    n_random: int = 768
    n_rounds: int = 4
    n_local: int = 48
    chunk: int = 256

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            lowest = 0 if f.name == "n_rounds" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lowest:
                raise ValidationError(f.name, value, f"an integer ≥ {lowest}")


def oracle_search(
    families: Families,
    rng: np.random.Generator,
    config: OracleConfig | None = None,
    *,
    context: WeekContext | None = None,
    **budget: int,
) -> OracleResult:
    """Search each family's hidden satisfaction for near-optimal parameters.

    Args:
        families: the families to plan for.
        rng: randomness for the search design.
        config: the search budget; None: ``OracleConfig()``.
        budget: ``OracleConfig`` fields to change, e.g. ``n_random=256``.
        context: the school week each family lives (``temporal.WeekContext``, aligned): the
            search then maximises that week's satisfaction, temporal effects included (the
            per-week oracle, ``brightpath.adaptive.weekly_oracle``). None (default): a week
            without a date, exactly the one-shot oracle.
    """
    config = replace(config or OracleConfig(), **budget)
    n_random, n_rounds, n_local, chunk = config.n_random, config.n_rounds, config.n_local, config.chunk
    n = len(families)
    bands = np.unique(families.grade_band)
    candidates = unit_to_params(rng.uniform(-1.0, 1.0, (n_random, N_PARAMS)))
    band_summaries = {int(b): summarize_params(candidates, np.full(n_random, b)) for b in bands}
    best = expert_params(families.answers, families.child_age).astype(np.float64)
    best_score = true_scores(families, summarize_params(best, families.grade_band), context)["satisfaction"]
    for lo in range(0, n, chunk):
        idx = np.arange(lo, min(lo + chunk, n))
        sub = families.take(np.repeat(idx, n_random))
        summaries = np.concatenate([band_summaries[int(families.grade_band[i])] for i in idx])
        sub_context = None if context is None else context.take(np.repeat(idx, n_random))
        scores = true_scores(sub, summaries, sub_context)["satisfaction"].reshape(len(idx), n_random)
        top = scores.argmax(axis=1)
        better = scores[np.arange(len(idx)), top] > best_score[idx]
        best[idx[better]] = candidates[top[better]]
        best_score[idx[better]] = scores[np.arange(len(idx)), top][better]
    for step in np.geomspace(0.3, 0.04, n_rounds):
        unit = params_to_unit(best)[:, None, :] + rng.normal(0.0, step, (n, n_local, N_PARAMS))
        trial = unit_to_params(unit).reshape(n * n_local, N_PARAMS)
        rep = np.repeat(np.arange(n), n_local)
        rep_context = None if context is None else context.take(rep)
        scores = true_scores(families.take(rep), summarize_params(trial, families.grade_band[rep]), rep_context)[
            "satisfaction"
        ]
        scores = scores.reshape(n, n_local)
        top = scores.argmax(axis=1)
        better = scores[np.arange(n), top] > best_score
        best[better] = trial.reshape(n, n_local, N_PARAMS)[better, top[better]]
        best_score[better] = scores[np.arange(n), top][better]
    return OracleResult(params=best, satisfaction=best_score)
