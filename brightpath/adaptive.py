"""Weekly policies that adapt a family's schedule from its feedback, the harness that scores them, and the ceiling.

The multi-week problem (issue 11): a family lives ``W`` consecutive school weeks; before
each one a policy sets the week's schedule parameters, after it the family reports
(``simulator.weekly.WeekFeedback``: stars, Likert, comment, completion, adherence, the
kind of adjustment it made, with silent families and skipped weeks). A policy sees only
what a deployed system would: the questionnaire, the child's age, the calendar, what it
served and the feedback. Every policy is a ``WeeklyPolicy`` and is scored by one code
path, ``evaluate_weekly_policy`` (the hidden truth, evaluation only); ``weekly_oracle``
is the per-family, per-week ceiling in the same shape.

Baselines that use the same feedback as any learned policy:

* ``RepeatedGenerator`` — any one-shot ``generators.Generator`` repeated every week
  (the expert rule, the one-shot PPO policy): no adaptation.
* ``AdjustmentFollower`` — the expert's week first, then each week last week's parameters
  moved one fixed step (``ADJUSTMENT_STEPS``) in the direction of the adjustment the family
  made.
* ``FamilyBayesOpt`` — a per-family Bayesian optimiser: a Gaussian process over a
  candidate set around the expert's proposal, driven by the observed stars and Likert
  satisfaction, choosing by GP-UCB or Thompson sampling (the seed plan's "exploration
  strategies"); priors documented on the class.

A trained adaptive policy is evaluated as its exported weekly generator
(``WeeklyGeneratorPolicy``: the SavedModel the backend loads, fed each week the weeks lived so
far), by the same harness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.feedback import ADJUSTMENT_KINDS, LIKERT_MAX, LIKERT_MIN
from brightpath.generators import Generator
from brightpath.oracle import OracleConfig, oracle_search
from brightpath.schedule import N_PARAMS, PARAM_NAMES, clip_params, params_to_unit, unit_to_params
from brightpath.simulator import Families, WeekFeedback, live_week, sample_families, sample_survey_habits
from brightpath.temporal import WeekContext, draw_start_weeks, following_school_weeks, week_context


@runtime_checkable
class WeeklyPolicy(Protocol):
    """A schedule writer that adapts week by week; it handles ``n`` families at once.

    ``start`` begins an episode, then for each week ``act`` sets the parameters and
    ``observe`` receives what the families reported. Attribute ``name``: a row label.
    """

    name: str

    def start(self, answers: np.ndarray, child_age: np.ndarray, rng: np.random.Generator) -> None:
        """New episodes for ``n`` families: ``answers`` float ``[n, 25]`` (Likert 1–5, 0 = missing),
        ``child_age`` float ``[n]`` years; ``rng`` is the policy's own randomness."""
        ...

    def act(self, week: int, context: WeekContext) -> np.ndarray:
        """Parameters ``float64 [n, N_PARAMS]`` (parameter units) for episode week ``week`` (0-based),
        whose calendar facts are ``context``."""
        ...

    def observe(self, week: int, params: np.ndarray, feedback: WeekFeedback) -> None:
        """What the families reported after living week ``week`` with ``params`` (as served: snapped
        into range, ``[n, N_PARAMS]``)."""
        ...


@dataclass(frozen=True)
class WeeklyRun:
    """A policy's episodes, evaluated by the hidden truth.

    Attributes:
        satisfaction, engagement, effectiveness: float64 ``[n, W]`` true scores of each week.
        params: float64 ``[n, W, N_PARAMS]`` the served parameters.
        feedback: the ``WeekFeedback`` of each week (``W`` of them, ``n`` rows each).
        dates: ``datetime64[D] [n, W]`` the weeks' Mondays.
    """

    satisfaction: np.ndarray
    engagement: np.ndarray
    effectiveness: np.ndarray
    params: np.ndarray
    feedback: list[WeekFeedback]
    dates: np.ndarray


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent streams for the families' survey habits, the world's feedback noise and the policy."""
    habits, world, policy = np.random.SeedSequence(int(seed)).spawn(3)
    return np.random.default_rng(habits), np.random.default_rng(world), np.random.default_rng(policy)


def run_weekly_policy(
    policy: WeeklyPolicy, families: Families, start_dates, weeks: int = 8, seed: int = 0
) -> WeeklyRun:
    """Run ``policy`` for ``weeks`` consecutive school weeks of each family, from its start date.

    The families' survey habits and the feedback noise come from ``seed`` (through streams of
    their own, so every policy meets the same silent families); the policy gets a third stream.

    Args:
        families: ``n`` simulated families (hidden traits included; the policy never sees them).
        start_dates: ``n`` Mondays of school weeks (``temporal.school_weeks``) with ``weeks``
            school weeks left in their school year.
        weeks: episode length W ≥ 1.

    Raises:
        ValidationError: a bad start date or week count, or a policy returning parameters of the
            wrong shape or not finite (naming the policy and the week).
    """
    n = len(families)
    dates = following_school_weeks(start_dates, weeks)
    if len(dates) != n:
        raise ValidationError("start_dates", f"<{len(dates)} dates>", f"one start date per family ({n})")
    habits_rng, world_rng, policy_rng = _streams(seed)
    habits = sample_survey_habits(n, habits_rng)
    policy.start(families.answers, families.child_age, policy_rng)
    scores = {name: np.zeros((n, weeks)) for name in ("satisfaction", "engagement", "effectiveness")}
    served = np.zeros((n, weeks, N_PARAMS))
    feedback: list[WeekFeedback] = []
    for week in range(weeks):
        context = week_context(dates[:, week])
        params = np.asarray(policy.act(week, context), dtype=np.float64)
        if params.shape != (n, N_PARAMS) or not np.all(np.isfinite(params)):
            raise ValidationError(
                f"{policy.name}.act(week={week})",
                f"<array of shape {list(params.shape)}>",
                f"finite parameters of shape [{n}, {N_PARAMS}]",
            )
        lived = live_week(families, habits, context, params, week, world_rng)
        policy.observe(week, lived.params, lived.feedback)
        for name, values in scores.items():
            values[:, week] = lived.true[name]
        served[:, week] = lived.params
        feedback.append(lived.feedback)
    return WeeklyRun(params=served, feedback=feedback, dates=dates, **scores)


def evaluate_weekly_policy(
    policy: WeeklyPolicy, families: Families, start_dates, weeks: int = 8, seed: int = 0
) -> np.ndarray:
    """True satisfaction ``float64 [n, W]`` of each family's weeks under ``policy`` (``run_weekly_policy``).

    The hidden truth: for evaluation only, never for a policy's decisions.
    """
    return run_weekly_policy(policy, families, start_dates, weeks, seed).satisfaction


COHORT_FIRST_ID = 10_000_000
"""Family ids of evaluation cohorts start here, apart from the ids of families drawn for training."""


def evaluation_cohort(
    n: int = 1000, weeks: int = 8, seed: int = 0, school_year: int = 2025
) -> tuple[Families, np.ndarray]:
    """Held-out families and their start Mondays for weekly evaluations, ``(families, start_dates)``.

    The same ``(n, weeks, seed, school_year)`` gives the same cohort in every run and for every
    policy (drawn from ``SeedSequence((2025, seed))``, never from a training stream; the
    baselines' settings were chosen on other families). Start dates are uniform among the
    school weeks that leave ``weeks`` school weeks before the summer.
    """
    families_seed, dates_seed = np.random.SeedSequence((2025, int(seed))).spawn(2)
    families = sample_families(n, np.random.default_rng(families_seed), first_id=COHORT_FIRST_ID)
    return families, draw_start_weeks(n, weeks, np.random.default_rng(dates_seed), school_year)


@dataclass(frozen=True)
class WeeklyOracle:
    """The per-family, per-week ceiling: ``params`` ``[n, W, N_PARAMS]`` and their true ``satisfaction`` ``[n, W]``."""

    params: np.ndarray
    satisfaction: np.ndarray


def weekly_oracle(
    families: Families, start_dates, weeks: int = 8, seed: int = 0, config: OracleConfig | None = None
) -> WeeklyOracle:
    """Near-optimal parameters for each family and each of its weeks, found by searching that week's
    hidden truth (``oracle.oracle_search`` with the week's ``context``): the ceiling of ``evaluate_weekly_policy``.

    Args:
        families, start_dates, weeks: as ``run_weekly_policy``.
        seed: the search design's randomness.
        config: the search budget (``oracle.OracleConfig``; default its defaults).
    """
    n = len(families)
    dates = following_school_weeks(start_dates, weeks)
    if len(dates) != n:
        raise ValidationError("start_dates", f"<{len(dates)} dates>", f"one start date per family ({n})")
    rows = np.repeat(np.arange(n), weeks)  # family i's week t is row i·W + t
    result = oracle_search(
        families.take(rows), np.random.default_rng(seed), config, context=week_context(dates.reshape(-1))
    )
    return WeeklyOracle(
        params=result.params.reshape(n, weeks, N_PARAMS), satisfaction=result.satisfaction.reshape(n, weeks)
    )


class RepeatedGenerator:
    """A one-shot ``generators.Generator`` repeated every week: no adaptation.

    Args:
        generator: any one-shot generator (expert rule, regressor, PPO SavedModel, …).
        name: row label; default ``"<generator.name>-repeated"``.
    """

    def __init__(self, generator: Generator, name: str | None = None) -> None:
        self.generator = generator
        self.name = name or f"{generator.name}-repeated"
        self._params: np.ndarray | None = None

    def start(self, answers: np.ndarray, child_age: np.ndarray, rng: np.random.Generator) -> None:
        self._params = np.asarray(self.generator.params(answers, child_age), dtype=np.float64)

    def act(self, week: int, context: WeekContext) -> np.ndarray:
        return self._params.copy()

    def observe(self, week: int, params: np.ndarray, feedback: WeekFeedback) -> None:
        """Ignores the feedback (it does not adapt)."""


ADJUSTMENT_STEPS: Mapping[str, Mapping[str, float]] = {
    "none": {},
    "shorten_blocks": {"block_duration_minutes": -5.0},
    "lengthen_blocks": {"block_duration_minutes": 5.0},
    "reduce_load": {"daily_learning_minutes": -30.0},
    "add_load": {"daily_learning_minutes": 30.0},
    "add_break": {"breaks_frequency": -1.0},
    "fewer_breaks": {"breaks_frequency": 1.0},
    "move_start_earlier": {"start_hour": -1.0},
    "move_start_later": {"start_hour": 1.0},
    "fix_start_time": {"structure_level": 0.2},
    "mix_subjects": {"subject_rotation": 0.2},
    "group_subjects": {"subject_rotation": -0.2},
    "keep_days_alike": {"structure_level": 0.2},
    "vary_days": {"structure_level": -0.2},
    "finish_earlier": {"daily_learning_minutes": -30.0},
    "add_missing_subjects": {"daily_learning_minutes": 30.0},
}
"""The change (parameter units) ``AdjustmentFollower`` makes for each adjustment kind: one step of
each stepped parameter's granularity (5-minute blocks, one block between breaks, one hour of
start), half an hour of daily learning, 0.2 of structure or subject rotation. "Finish
earlier" trims the day; "add missing subjects" lengthens it so every subject fits.

Chosen on 400 validation families (``sample_families(400, default_rng(999))``, never the
held-out ones) among 15 or 30 minutes of load, 0.2 or 0.35 of the shares and 5 or 10
minutes of block: 30 min of load beat 15 (mean true satisfaction over 8 weeks 0.731 vs
0.724); the other choices moved it by < 0.004."""


def _step_matrix(steps: Mapping[str, Mapping[str, float]]) -> np.ndarray:
    unknown = sorted(set(steps) - set(ADJUSTMENT_KINDS))
    if unknown:
        raise ValidationError("steps", unknown, f"adjustment kinds among {', '.join(ADJUSTMENT_KINDS)}")
    matrix = np.zeros((len(ADJUSTMENT_KINDS), N_PARAMS))
    for kind, change in steps.items():
        for param, delta in change.items():
            if param not in PARAM_NAMES:
                raise ValidationError(f"steps.{kind}", param, f"a parameter among {', '.join(PARAM_NAMES)}")
            matrix[ADJUSTMENT_KINDS.index(kind), PARAM_NAMES.index(param)] = float(delta)
    return matrix


class AdjustmentFollower:
    """The expert rule, then every adjustment the family made applied to last week's parameters.

    Week 1 serves ``expert.expert_params``. After each week, if the app recorded an
    adjustment, the next week is last week's parameters plus that kind's step
    (``ADJUSTMENT_STEPS``), snapped into range; no adjustment, "none", or no app use keeps
    last week's parameters.

    Args:
        steps: kind → {parameter: change in parameter units}; default ``ADJUSTMENT_STEPS``.
        name: row label.
    """

    def __init__(self, steps: Mapping[str, Mapping[str, float]] | None = None, name: str = "adjustment-rule") -> None:
        self.name = name
        self.steps = _step_matrix(ADJUSTMENT_STEPS if steps is None else steps)
        self._params: np.ndarray | None = None

    def start(self, answers: np.ndarray, child_age: np.ndarray, rng: np.random.Generator) -> None:
        self._params = expert_params(answers, child_age).astype(np.float64)

    def act(self, week: int, context: WeekContext) -> np.ndarray:
        return self._params.copy()

    def observe(self, week: int, params: np.ndarray, feedback: WeekFeedback) -> None:
        kinds = feedback.adjustment_kind
        change = np.where((kinds >= 0)[:, None], self.steps[np.maximum(kinds, 0)], 0.0)
        self._params = clip_params(np.asarray(params, dtype=np.float64) + change)


def explicit_rating(feedback: WeekFeedback) -> np.ndarray:
    """The family's explicit verdict on the week, 0–1: the mean of its stars and Likert satisfaction
    answer mapped by (x − 1) / 4 over those it gave; NaN when it gave neither."""
    pair = np.column_stack([feedback.stars, feedback.likert_satisfaction])
    answered = ~np.isnan(pair)
    total = np.where(answered, (pair - LIKERT_MIN) / (LIKERT_MAX - LIKERT_MIN), 0.0).sum(axis=1)
    count = answered.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class FamilyBayesOpt:
    """A per-family Bayesian optimiser over the week's parameters, driven by observed stars and Likert.

    At ``start`` each family gets ``n_candidates`` candidate parameter vectors: the expert's
    proposal and ``n_candidates − 1`` Gaussian perturbations of it in action units (sd
    ``spread``), snapped into range. A Gaussian process over action units models the family's
    rating of a candidate:

    * prior mean ``prior_mean − distance_penalty · ‖x − x_expert‖²``: the expert's proposal is a
      good first guess (0.6 ≈ the expert's mean rating), candidates far from it less likely so;
    * squared-exponential kernel, prior sd ``prior_sd`` (0.15, the spread of family ratings
      between weeks of different parameters), length scale ``lengthscale`` (0.8 action units,
      about a third of a parameter's range);
    * observation noise sd ``noise_sd`` (0.12: Likert rounding, perception noise and the
      family's mood; about half a star).

    Candidates: the expert's proposal, then moves of one parameter by ±``spread`` and
    ±2·``spread`` action units (28 moves), then random Gaussian perturbations (sd ``spread``)
    up to ``n_candidates``. Each week it picks the candidate with the highest upper confidence
    bound ``mean + beta · sd`` (``strategy="ucb"``, GP-UCB) or the highest draw from the
    posterior (``"thompson"``). The defaults were chosen on 400 validation families (never the
    held-out ones) over spread 0.15/0.3, length scale 0.5/1, beta 0/0.5/1, distance penalty
    0.05/0.2 and Thompson sampling: GP-UCB with beta 0.5 was best (0.676 mean true satisfaction
    over 8 weeks, expert 0.659; Thompson 0.62–0.65: drawing from the prior in week 1 serves
    random weeks).
    Weeks without a rating (silent families, skipped surveys) leave the posterior unchanged;
    a family that never answers is served the prior's best, the expert's proposal.
    """

    STRATEGIES = ("ucb", "thompson")

    def __init__(
        self,
        *,
        n_candidates: int = 29,
        spread: float = 0.3,
        prior_mean: float = 0.6,
        distance_penalty: float = 0.2,
        prior_sd: float = 0.15,
        lengthscale: float = 0.5,
        noise_sd: float = 0.12,
        strategy: str = "ucb",
        beta: float = 0.5,
        name: str = "family-bayesopt",
    ) -> None:
        if strategy not in self.STRATEGIES:
            raise ValidationError("strategy", strategy, f"one of {', '.join(self.STRATEGIES)}")
        for field, value in (
            ("n_candidates", n_candidates),
            ("spread", spread),
            ("prior_sd", prior_sd),
            ("lengthscale", lengthscale),
            ("noise_sd", noise_sd),
        ):
            if not value > 0:
                raise ValidationError(field, value, "a positive number")
        if beta < 0 or distance_penalty < 0:
            raise ValidationError("beta" if beta < 0 else "distance_penalty", min(beta, distance_penalty), "≥ 0")
        self.n_candidates, self.spread, self.prior_mean = int(n_candidates), spread, prior_mean
        self.distance_penalty, self.prior_sd, self.lengthscale = distance_penalty, prior_sd, lengthscale
        self.noise_sd, self.strategy, self.beta, self.name = noise_sd, strategy, beta, name

    def start(self, answers: np.ndarray, child_age: np.ndarray, rng: np.random.Generator) -> None:
        expert = params_to_unit(expert_params(answers, child_age).astype(np.float64))
        n, k = len(expert), self.n_candidates
        moves = np.concatenate(
            [np.zeros((1, N_PARAMS))]
            + [sign * scale * self.spread * np.eye(N_PARAMS) for scale in (1.0, 2.0) for sign in (1.0, -1.0)]
        )
        unit = expert[:, None, :] + rng.normal(0.0, self.spread, (n, k, N_PARAMS))
        unit[:, : min(k, len(moves))] = expert[:, None, :] + moves[:k]
        self._candidates = unit_to_params(unit.reshape(n * k, N_PARAMS)).reshape(n, k, N_PARAMS)
        snapped = params_to_unit(self._candidates)
        self._mean = self.prior_mean - self.distance_penalty * ((snapped - expert[:, None, :]) ** 2).sum(axis=2)
        distance = ((snapped[:, :, None, :] - snapped[:, None, :, :]) ** 2).sum(axis=3)
        self._kernel = self.prior_sd**2 * np.exp(-0.5 * distance / self.lengthscale**2)
        self._chosen: list[np.ndarray] = []
        self._ratings: list[np.ndarray] = []
        self._rng = rng

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and covariance of every candidate's rating, ``[n, K]`` and ``[n, K, K]``."""
        if not self._chosen:
            return self._mean, self._kernel
        n = len(self._mean)
        chosen = np.stack(self._chosen, axis=1)  # [n, t]
        ratings = np.stack(self._ratings, axis=1)
        rated = ~np.isnan(ratings)
        rows = np.arange(n)[:, None]
        cross = self._kernel[rows, :, chosen].transpose(0, 2, 1)  # [n, K, t]: k(candidate, observed)
        gram = self._kernel[rows[:, :, None], chosen[:, :, None], chosen[:, None, :]]  # [n, t, t]
        # An unrated week is an observation with (practically) infinite noise: it changes nothing.
        noise = np.where(rated, self.noise_sd**2, 1e6)
        gram = gram + noise[:, :, None] * np.eye(chosen.shape[1])
        residual = np.where(rated, ratings - np.take_along_axis(self._mean, chosen, axis=1), 0.0)
        weights = np.linalg.solve(gram, np.concatenate([residual[:, :, None], cross.transpose(0, 2, 1)], axis=2))
        mean = self._mean + np.einsum("nkt,nt->nk", cross, weights[:, :, 0])
        cov = self._kernel - np.einsum("nkt,ntj->nkj", cross, weights[:, :, 1:])
        return mean, cov

    def act(self, week: int, context: WeekContext) -> np.ndarray:
        mean, cov = self.posterior()
        if self.strategy == "ucb":
            sd = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
            score = mean + self.beta * sd
        else:
            jitter = 1e-9 * np.eye(self.n_candidates)
            factor = np.linalg.cholesky(0.5 * (cov + cov.transpose(0, 2, 1)) + jitter)
            score = mean + np.einsum("nkj,nj->nk", factor, self._rng.standard_normal(mean.shape))
        self._pending = score.argmax(axis=1)
        return self._candidates[np.arange(len(mean)), self._pending]

    def observe(self, week: int, params: np.ndarray, feedback: WeekFeedback) -> None:
        self._chosen.append(self._pending)
        self._ratings.append(explicit_rating(feedback))


class WeeklyGeneratorPolicy:
    """An exported weekly generator (``brightpath.inference.WeeklyGeneratorModel``) as a ``WeeklyPolicy``.

    Before each week it is given the questionnaire, the weeks lived so far (parameters as served,
    the feedback as the family gave it, the dates) and the coming week's date, exactly as the
    backend would call it; no state of its own beyond that history.

    Args:
        model: the loaded weekly generator; episodes may last at most ``model.weeks`` weeks.
        name: row label.
        use_feedback: False hides the families' feedback from it (every week reads as unanswered,
            the app unused): an ablation that measures what the feedback is worth to it, apart from
            the dates and what it served.
    """

    def __init__(self, model, name: str = "weekly-generator", *, use_feedback: bool = True) -> None:
        self.model, self.name, self.use_feedback = model, name, use_feedback

    def start(self, answers: np.ndarray, child_age: np.ndarray, rng: np.random.Generator) -> None:
        from brightpath.inference import WeeklyHistory

        self._answers, self._child_age = answers, child_age
        self._history = WeeklyHistory.empty(len(answers), self.model.weeks)

    def act(self, week: int, context: WeekContext) -> np.ndarray:
        from brightpath.temporal import week_features

        if week >= self.model.weeks:
            raise ValidationError("week", week, f"a week of an episode of at most {self.model.weeks} weeks")
        self._now = week_features(context)
        return self.model.predict_params(self._answers, self._child_age, self._history, self._now)

    def observe(self, week: int, params: np.ndarray, feedback: WeekFeedback) -> None:
        from brightpath.history import feedback_inputs

        if self.use_feedback:
            values, kinds = feedback_inputs(feedback), feedback.adjustment_kind
        else:
            values, kinds = np.full((len(params), 8), np.nan), np.full(len(params), -1)
        self._history.record(week, params, values, kinds, self._now)


@dataclass(frozen=True)
class Adaptations:
    """How a policy changed the schedule in the week after each kind of adjustment (``adaptations``).

    Attributes:
        kinds: the adjustment kinds (``feedback.ADJUSTMENT_KINDS``).
        counts: int64 ``[n_kinds]`` family-weeks followed by another week in which the family reported
            that kind as its main adjustment.
        changes: float64 ``[n_kinds, N_PARAMS]`` the mean change of each parameter (parameter units,
            ``schedule.PARAM_NAMES``) from that week to the next; NaN for a kind never reported.
        no_report: float64 ``[N_PARAMS]`` the same after weeks without a recorded adjustment (app
            unused): the policy's drift without that signal.
    """

    kinds: tuple[str, ...]
    counts: np.ndarray
    changes: np.ndarray
    no_report: np.ndarray


def adaptations(run: WeeklyRun) -> Adaptations:
    """What a policy did with each adjustment the families reported: the mean change of each parameter
    from the week of the report to the next week, per adjustment kind (``Adaptations``)."""
    weeks = run.params.shape[1]
    kinds = np.concatenate([run.feedback[w].adjustment_kind for w in range(weeks - 1)])
    change = np.concatenate([run.params[:, w + 1] - run.params[:, w] for w in range(weeks - 1)])
    counts = np.array([(kinds == k).sum() for k in range(len(ADJUSTMENT_KINDS))], dtype=np.int64)
    with np.errstate(invalid="ignore"):
        changes = np.array(
            [
                change[kinds == k].mean(axis=0) if counts[k] else np.full(N_PARAMS, np.nan)
                for k in range(len(ADJUSTMENT_KINDS))
            ]
        )
        no_report = change[kinds < 0].mean(axis=0) if (kinds < 0).any() else np.full(N_PARAMS, np.nan)
    return Adaptations(ADJUSTMENT_KINDS, counts, changes, no_report)


__all__ = [
    "ADJUSTMENT_STEPS",
    "Adaptations",
    "COHORT_FIRST_ID",
    "AdjustmentFollower",
    "FamilyBayesOpt",
    "RepeatedGenerator",
    "WeeklyOracle",
    "WeeklyGeneratorPolicy",
    "WeeklyPolicy",
    "WeeklyRun",
    "adaptations",
    "evaluate_weekly_policy",
    "evaluation_cohort",
    "explicit_rating",
    "run_weekly_policy",
    "weekly_oracle",
]
