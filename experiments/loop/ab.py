"""The gate's online A/B test (step 5 of a round): a fresh randomised cohort, judged on what production has.

The round's A/B cohort (fresh families) is randomised half to the champion and half to the
challenger (``assign_arms``), each family is served its arm's week through the service's path
and answers in the store; then the gate reads the store alone:

* a family's **score** (0–1): with ``gate_score=observed`` the satisfaction its feedback states,
  read with the champion reward model's calibration (``reward.targets.feedback_targets``; NaN
  when no signal bears on satisfaction); with ``blended`` that reading blended with the champion
  reward model's prediction for the week, ``(1·predicted + w·observed) / (1 + w)`` with ``w`` the
  feedback's summed weight, as ``brightpath.inference.evaluate_schedule`` does (the production reward
  model, never the challenger's own, which it was optimised against);
* **segments**: age band and high/low preference per questionnaire category of each arm's families
  (``brightpath.segments.family_segments``);
* **rates**: each arm's share of invalid weeks (Schedule JSON that fails validation, a subject
  without time, coverage below ``evaluation.MIN_COVERAGE``) and of fallback weeks (``source``
  ``fallback``).

``brightpath.gate.evaluate_gate`` (independent arms: Welch's test) turns these into the verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brightpath.child import grade_band_index
from brightpath.errors import ValidationError
from brightpath.gate import ArmRates, GateConfig, GateVerdict, evaluate_gate
from brightpath.questionnaire import ITEM_KEYS
from brightpath.segments import family_segments

ARMS: tuple[str, str] = ("champion", "challenger")


def assign_arms(n: int, rng: np.random.Generator) -> np.ndarray:
    """A balanced random assignment of ``n`` families: ``n // 2`` challengers, the rest champions."""
    arms = np.array([ARMS[0]] * (n - n // 2) + [ARMS[1]] * (n // 2), dtype=object)
    return arms[rng.permutation(n)]


def invalid_weeks(served: pd.DataFrame) -> np.ndarray:
    """True for each served week (``served_frame(include_schedule=True)``) that is not a usable school week."""
    from brightpath.evaluation import coverage_problems
    from brightpath.schedule import json_to_layout, summarize_many

    invalid = np.zeros(len(served), dtype=bool)
    layouts, rows = [], []
    for i, schedule in enumerate(served["schedule_json"]):
        try:
            layouts.append(json_to_layout(schedule))
            rows.append(i)
        except ValidationError:
            invalid[i] = True
    if rows:
        bands = grade_band_index(served["grade"].to_numpy(np.int64)[rows])
        invalid[rows] = [reason is not None for reason in coverage_problems(summarize_many(layouts, bands))]
    return invalid


def arm_rates(served: pd.DataFrame) -> dict[str, ArmRates]:
    """Each arm's share of invalid and fallback weeks."""
    invalid = invalid_weeks(served)
    rates = {}
    for arm in ARMS:
        mine = (served["arm"] == arm).to_numpy()
        n = int(mine.sum())
        rates[arm] = ArmRates(
            float(invalid[mine].mean()) if n else 0.0,
            float((served["source"][mine] == "fallback").mean()) if n else 0.0,
            n,
        )
    return rates


def family_scores(feedback: pd.DataFrame, calibration, *, scorer=None) -> np.ndarray:
    """Each rated week's score (module docstring): observed, or blended with ``scorer``'s prediction."""
    from brightpath.inference import MODEL_PRIOR_WEIGHT
    from brightpath.reward.targets import TARGET_NAMES, feedback_targets

    targets = feedback_targets(feedback, calibration)
    column = TARGET_NAMES.index("satisfaction")
    weight = targets.weights[:, column].astype(np.float64)
    observed = np.where(weight > 0, targets.values[:, column], np.nan).astype(np.float64)
    if scorer is None:
        return observed
    from experiments.loop.reward import reward_inputs

    predicted = np.asarray(scorer.score_inputs(reward_inputs(feedback))["satisfaction"], dtype=np.float64)
    blended = (MODEL_PRIOR_WEIGHT * predicted + weight * np.nan_to_num(observed)) / (MODEL_PRIOR_WEIGHT + weight)
    return np.clip(blended, 0.0, 1.0)


def judge(
    served: pd.DataFrame,
    feedback: pd.DataFrame,
    *,
    calibration,
    config: GateConfig,
    names: tuple[str, str],
    scorer=None,
) -> GateVerdict:
    """The gate's verdict on one A/B cohort from the store's rows (module docstring).

    Args:
        served: ``Store.served_frame(cohort=..., include_schedule=True)`` of the cohort.
        feedback: ``Store.feedback_frame(cohort=...)`` of the cohort.
        calibration: the champion reward model's feedback calibration.
        scorer: the champion reward model, for ``blended`` scores; None: observed scores.
        names: the arms' names in the verdict (registry versions).
    """
    scores = pd.Series(family_scores(feedback, calibration, scorer=scorer), index=feedback["schedule_id"].to_numpy())
    per_arm, labels = {}, {}
    for arm in ARMS:
        rows = served[served["arm"] == arm]
        per_arm[arm] = scores.reindex(rows["schedule_id"]).to_numpy(np.float64)
        labels[arm] = family_segments(rows[list(ITEM_KEYS)].to_numpy(np.float32), rows["child_age"].to_numpy())
    rates = arm_rates(served)
    return evaluate_gate(
        per_arm["champion"],
        per_arm["challenger"],
        champion_rates=rates["champion"],
        challenger_rates=rates["challenger"],
        segments=labels["champion"],
        challenger_segments=labels["challenger"],
        paired=False,
        config=config,
        names=names,
    )


__all__ = ["ARMS", "arm_rates", "assign_arms", "family_scores", "invalid_weeks", "judge"]
