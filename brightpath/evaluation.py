"""Evaluation of a schedule generator on simulated families: hidden truth, proxy, validity, speed.

``evaluate_generator`` scores one generator on a batch of simulated families: the
hidden truth (``simulator.true_scores``, gold), optionally a reward model (proxy),
the share of invalid schedules and the batched inference time. The A/B test
(``brightpath.abtest``) and the results table compare generators through it, so
every generator is judged by one code path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from brightpath.errors import ValidationError
from brightpath.generators import Generator, schedules_from_params
from brightpath.schedule import N_PARAMS, SUMMARY_FEATURES, json_to_layout, summarize_many
from brightpath.simulator import Families, true_scores

log = logging.getLogger(__name__)

MIN_COVERAGE = 0.25
"""Default coverage check: a week meeting under a quarter of the grade's requirement-weighted
weekly minutes is not a school week (the expert rule's lowest coverage is about 0.35)."""


@runtime_checkable
class Scorer(Protocol):
    """A reward model (proxy): ``brightpath.reward.scoring.RewardScorer`` or a test double."""

    def score_layouts(self, layouts, answers, child_age, grade_band) -> Mapping[str, np.ndarray]:
        """``{"satisfaction": [n], ...}`` in [0, 1] for layouts and the families living with them."""
        ...


INVALID_REASONS: tuple[str, ...] = ("non_finite_params", "schedule_json", "missing_subject", "low_coverage")
"""Why a generated schedule counts as invalid, in the order they are checked."""


@dataclass(frozen=True)
class Evaluation:
    """One generator on one batch of families; arrays are aligned with the families.

    Attributes:
        name, source, model_version: the generator's.
        family_id: int64 ``[n]``.
        params: float64 ``[n, N_PARAMS]`` parameters as generated (NaN rows stay NaN).
        invalid_reason: object ``[n]``, None for a valid schedule, else one of ``INVALID_REASONS``.
        true_satisfaction: float64 ``[n]`` hidden satisfaction in [0, 1]; 0 for a schedule
            that cannot be built or fails JSON validation (the family gets no usable week).
        proxy_satisfaction: float64 ``[n]`` the reward model's satisfaction (same convention),
            or None without a scorer.
        seconds: wall time of the batched ``params`` call, seconds (after a warm-up call).
    """

    name: str
    source: str
    model_version: str
    family_id: np.ndarray
    params: np.ndarray
    invalid_reason: np.ndarray
    true_satisfaction: np.ndarray
    proxy_satisfaction: np.ndarray | None
    seconds: float

    @property
    def valid(self) -> np.ndarray:
        return np.array([r is None for r in self.invalid_reason], dtype=bool)

    @property
    def invalid_rate(self) -> float:
        """Share of families whose schedule is invalid, 0–1."""
        return float(1.0 - self.valid.mean()) if len(self.valid) else 0.0

    @property
    def ms_per_family(self) -> float:
        """Inference time per family, milliseconds (batched call / batch size)."""
        return 1000.0 * self.seconds / max(len(self.family_id), 1)


def coverage_problems(summaries: np.ndarray, min_coverage: float = MIN_COVERAGE) -> np.ndarray:
    """Why each built week fails the coverage checks: ``"missing_subject"`` (a subject of the grade gets
    no time), ``"low_coverage"`` (requirement-weighted coverage below ``min_coverage``), or None.

    Args:
        summaries: ``[n, N_SUMMARY]`` ``schedule.SUMMARY_FEATURES`` of the weeks (``summarize_many``).
    """
    shares = summaries[:, [j for j, f in enumerate(SUMMARY_FEATURES) if f.startswith("share_")]]
    coverage = summaries[:, SUMMARY_FEATURES.index("coverage")]
    reason = np.full(len(summaries), None, dtype=object)
    reason[(shares <= 0).any(axis=1)] = "missing_subject"
    reason[(coverage < min_coverage) & (shares > 0).all(axis=1)] = "low_coverage"
    return reason


def evaluate_generator(
    generator: Generator,
    families: Families,
    *,
    scorer: Scorer | None = None,
    min_coverage: float = MIN_COVERAGE,
    warmup_rows: int = 8,
) -> Evaluation:
    """Generate schedules for ``families`` and score them by the hidden truth (and the proxy).

    Steps: a warm-up ``params`` call on the first ``warmup_rows`` families (so a SavedModel's
    first-call tracing is not billed as inference); the timed batched ``params`` call; Schedule
    JSON for every finite row (``schedules_from_params``); validation of each JSON with
    ``schedule.json_to_layout`` (what is scored is what would be served); the coverage checks
    (every subject of the grade gets time, requirement-weighted coverage ≥ ``min_coverage``);
    the simulator's hidden satisfaction and, with ``scorer``, the reward model's.

    Args:
        min_coverage: in [0, 1]; see ``MIN_COVERAGE``.
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError(f"min_coverage: expected a share in [0, 1], got {min_coverage!r}")
    answers, child_age = families.answers, families.child_age
    n = len(families)
    if warmup_rows > 0 and n:
        generator.params(answers[:warmup_rows], child_age[:warmup_rows])
    started = time.perf_counter()
    params = np.asarray(generator.params(answers, child_age), dtype=np.float64).reshape(n, N_PARAMS)
    seconds = time.perf_counter() - started

    reason = np.full(n, None, dtype=object)
    finite = np.all(np.isfinite(params), axis=1)
    reason[~finite] = "non_finite_params"
    rows = np.flatnonzero(finite)
    jsons = schedules_from_params(
        params[rows], answers[rows], child_age[rows], source=generator.source, model_version=generator.model_version
    )
    layouts: dict[int, np.ndarray] = {}
    for i, schedule in zip(rows, jsons):
        try:
            layouts[int(i)] = json_to_layout(schedule)
        except ValidationError as err:
            reason[i] = "schedule_json"
            log.debug("%s: family %d: invalid schedule JSON: %s", generator.name, families.family_id[i], err)
    built = np.array(sorted(layouts), dtype=np.int64)
    true = np.zeros(n)
    proxy = None if scorer is None else np.zeros(n)
    if len(built):
        sub = families.take(built)
        built_layouts = [layouts[int(i)] for i in built]
        summaries = summarize_many(built_layouts, sub.grade_band)
        reason[built] = coverage_problems(summaries, min_coverage)
        true[built] = true_scores(sub, summaries)["satisfaction"]
        if scorer is not None:
            scored = scorer.score_layouts(built_layouts, sub.answers, sub.child_age, sub.grade_band)
            proxy[built] = np.asarray(scored["satisfaction"], dtype=np.float64).reshape(len(built))
    return Evaluation(
        name=generator.name,
        source=generator.source,
        model_version=generator.model_version,
        family_id=families.family_id.copy(),
        params=params,
        invalid_reason=reason,
        true_satisfaction=true,
        proxy_satisfaction=proxy,
        seconds=seconds,
    )


__all__ = ["INVALID_REASONS", "MIN_COVERAGE", "Evaluation", "Scorer", "coverage_problems", "evaluate_generator"]
