"""The loop's traffic through the store: the logged history, served cohorts and their feedback.

Every row has a deterministic id (``brightpath.store.stable_id`` of the run, round, cohort and
family) and a simulated time (round r is the school week starting ``week_of_round(r)``), so a
round that is run again after a crash inserts nothing twice and the store ends up exactly as
after an uninterrupted run:

* ``import_logged``: round 0, the dataset's logged weeks of the train and validation families, in
  bulk through ``Store.record_round`` (the repository's idempotent batch insert for loops);
* ``serve_cohort``: a cohort's weeks, one family at a time through the service's own path
  (``brightpath.serve.serve_week`` then ``Store.add_served_schedule``, with the audit row);
* ``collect_feedback``: the world's answers on a served cohort through ``Store.add_feedback``,
  the call behind ``POST /api/ml/feedback/``.

Cohort labels (``served_schedules.cohort``): ``<run>/r<round>/<kind>``, kind ``logged``,
``serve`` (new and returning families) or ``ab`` (the gate's A/B test).
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from brightpath.feedback import FEEDBACK_COLUMNS
from brightpath.monitoring import store_report
from brightpath.questionnaire import ITEM_KEYS
from brightpath.schedule import PARAM_NAMES, ScheduleParams, schedule_for
from brightpath.serve import serve_week
from brightpath.simulator import Families
from brightpath.store import Store, schedule_record, stable_id
from experiments.loop.world import World

log = logging.getLogger(__name__)

LOOP_START = datetime.date(2026, 9, 7)
"""The Monday of round 0's week (the logged history); round r serves the week ``7 r`` days later."""
SERVED_AT = datetime.time(6, 0, tzinfo=datetime.UTC)
ANSWERED_AT = datetime.time(12, 0, tzinfo=datetime.UTC)
ANSWERED_AFTER_DAYS = 5
"""Feedback on a week arrives on its Saturday."""
LATER_DAYS = {"ab": 1}
"""The A/B cohort is served (and answers) a day after the round's cohort, once the challenger is trained: its
feedback comes after what the challenger's reward model learned from."""
IMPORT_CHUNK = 2000
EXPLORE_ARM = store_report.EXPLORE_ARM
"""``served_schedules.arm`` of an exploratory week (``ExploringGenerator``); the monitors leave these out."""
EXPLORE_STREAM = 6
"""Second entry of the exploration's seed sequences (the world's streams are 1–5)."""


def week_of_round(round_: int) -> datetime.date:
    return LOOP_START + datetime.timedelta(days=7 * int(round_))


def cohort_label(namespace: str, round_: int, kind: str) -> str:
    return f"{namespace}/r{int(round_):02d}/{kind}"


def _served_at(round_: int, i: int, kind: str = "serve") -> datetime.datetime:
    day = week_of_round(round_) + datetime.timedelta(days=LATER_DAYS.get(kind, 0))
    return datetime.datetime.combine(day, SERVED_AT) + datetime.timedelta(seconds=i)


def _answered_at(round_: int, i: int, kind: str = "serve") -> datetime.datetime:
    day = week_of_round(round_) + datetime.timedelta(days=ANSWERED_AFTER_DAYS + LATER_DAYS.get(kind, 0))
    return datetime.datetime.combine(day, ANSWERED_AT) + datetime.timedelta(seconds=i)


def user_data(answers: np.ndarray, child_age: int) -> dict:
    """A family's questionnaire as the service receives it (CONTRACTS §1): answered items and the age."""
    data = {key: int(a) for key, a in zip(ITEM_KEYS, answers) if a > 0}
    data["child_age"] = int(child_age)
    return data


def _feedback_values(columns: dict[str, np.ndarray], i: int) -> dict:
    """Row ``i`` of simulated feedback columns as a feedback mapping (None where the family said nothing)."""
    values = {}
    for name in FEEDBACK_COLUMNS:
        value = columns[name][i]
        if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
            values[name] = None
        elif name in ("comment", "adjustment_kind"):
            values[name] = str(value)
        elif name == "n_adjustments":
            values[name] = int(value)
        else:
            values[name] = float(value)
    return values


class ExploringGenerator:
    """The champion with exploration: its week's parameters moved by Gaussian noise in action units.

    Serving only the champion's deterministic week gives the reward model one week per family profile,
    nothing about how satisfaction changes around it; a share of exploratory weeks (``loop.explore_share``,
    stored with ``arm`` ``EXPLORE_ARM``) is what lets the refreshed model see the slope near the policy.

    Args:
        generator: the champion (``ScheduleGeneratorModel``).
        sd: standard deviation of the noise per parameter, action units (the box is [-1, 1]).
        rng: the noise's generator (one per served week, for deterministic rows).
    """

    def __init__(self, generator, sd: float, rng: np.random.Generator) -> None:
        self.generator, self.sd, self.rng = generator, float(sd), rng

    def predict(self, user_data_: dict, *, reference_date: datetime.date | None = None) -> dict:
        from brightpath.questionnaire import parse_user_data
        from brightpath.schedule import params_to_unit, unit_to_params

        family = parse_user_data(user_data_, reference_date=reference_date)
        params = self.generator.predict_params(family.answers[None, :], np.array([family.child_age]))
        unit = params_to_unit(np.asarray(params, np.float64)) + self.rng.normal(0.0, self.sd, params.shape)
        return schedule_for(
            family,
            ScheduleParams.from_vector(unit_to_params(unit)[0]),
            source=self.generator.source,
            model_version=self.generator.model_version,
        )


def import_logged(store: Store, world: World, data_root, data_version: str) -> int:
    """Round 0: the dataset's logged weeks of the world's logged families, with their feedback.

    Returns:
        Rows inserted now (0 when they are already there).
    """
    from brightpath.datasets import load_split
    from brightpath.questionnaire import parse_user_data

    cohort = cohort_label(world.namespace, 0, "logged")
    frame = pd.concat([load_split(data_root, data_version, split) for split in ("train", "val")], ignore_index=True)
    frame = frame.sort_values(["family_id", "schedule_id"], kind="stable").reset_index(drop=True)
    answers = frame[[f"answer_{k}" for k in ITEM_KEYS]].to_numpy(np.float32)
    params = frame[[f"param_{name}" for name in PARAM_NAMES]].to_numpy(np.float64)
    model_version = f"dataset-{data_version}"
    inserted = 0
    for start in range(0, len(frame), IMPORT_CHUNK):
        schedules, feedback = [], []
        for i in range(start, min(start + IMPORT_CHUNK, len(frame))):
            key = world.key("d", int(frame["family_id"].iat[i]))
            family = parse_user_data(user_data(answers[i], int(frame["age"].iat[i])))
            week = schedule_for(
                family, ScheduleParams.from_vector(params[i]), source="logged", model_version=model_version
            )
            schedule_id = stable_id(world.namespace, 0, "logged", key, int(frame["schedule_id"].iat[i]))
            schedules.append(
                schedule_record(
                    week,
                    schedule_id=schedule_id,
                    family_key=key,
                    week_start=week_of_round(0),
                    cohort=cohort,
                    request_id=f"logged-{i}",
                    created_at=_served_at(0, i),
                )
            )
            feedback.append(
                {
                    "id": stable_id(world.namespace, "feedback", schedule_id),
                    "schedule_id": schedule_id,
                    "received_at": _answered_at(0, i),
                    **{name: frame[name].iat[i] for name in FEEDBACK_COLUMNS},
                }
            )
        added, _ = store.record_round(schedules, feedback)
        inserted += added
    log.info(
        "round 0: %d logged weeks of %d families in the store (%d new)",
        len(frame),
        frame["family_id"].nunique(),
        inserted,
    )
    return inserted


def serve_cohort(
    store: Store,
    generator,
    generator_version: int | None,
    keys: Sequence[str],
    families: Families,
    *,
    namespace: str,
    round_: int,
    kind: str,
    arms: Sequence[str | None] | None = None,
    explore: tuple[float, float, int] | None = None,
) -> pd.DataFrame:
    """Serve each family its week through the service's path; families served already are skipped.

    Args:
        generator: a ``ScheduleGeneratorModel`` (or one per arm: a mapping arm → (generator, version)).
        keys, families: the cohort, aligned.
        arms: the A/B arm of each family (``generator`` is then a mapping arm → (generator, version)).
        explore: ``(share, sd, seed)``: that share of the families (drawn from ``[seed, round]``) get an
            exploratory week (``ExploringGenerator``, noise from ``[seed, EXPLORE_STREAM, round, i]``), stored with arm
            ``EXPLORE_ARM``.

    Returns:
        The cohort's served schedules (``Store.served_frame``), in serving order.
    """
    cohort = cohort_label(namespace, round_, kind)
    done = set(store.served_frame(cohort=cohort)["schedule_id"])
    exploring = np.zeros(len(keys), dtype=bool)
    if explore is not None and explore[0] > 0:
        share, sd, seed = explore
        exploring = np.random.default_rng([seed, EXPLORE_STREAM, round_]).random(len(keys)) < share
    served = 0
    for i, key in enumerate(keys):
        schedule_id = stable_id(namespace, round_, kind, key)
        if schedule_id in done:
            continue
        arm = None if arms is None else arms[i]
        model, version = (generator, generator_version) if arm is None else generator[arm]
        if exploring[i]:
            model, arm = (
                ExploringGenerator(model, sd, np.random.default_rng([seed, EXPLORE_STREAM, round_, i])),
                EXPLORE_ARM,
            )
        started = time.perf_counter()
        week = serve_week(
            model,
            user_data(families.answers[i], int(families.age[i])),
            generator_version=version,
            request_id=f"{cohort}/{i}",
            family_key=key,
            week_start=week_of_round(round_),
            schedule_id=schedule_id,
            arm=arm,
            cohort=cohort,
            created_at=_served_at(round_, i, kind),
        )
        store.add_served_schedule(
            week.record,
            week.audit(latency_ms=1000.0 * (time.perf_counter() - started), time=_served_at(round_, i, kind)),
        )
        served += 1
    log.info(
        "round %d: served %d weeks to %s (%d were served before a restart)", round_, served, cohort, len(keys) - served
    )
    return store.served_frame(cohort=cohort)


def collect_feedback(store: Store, world: World, served: pd.DataFrame, *, round_: int) -> int:
    """The world's feedback on a served cohort, each row through ``Store.add_feedback``; returns rows added."""
    if served.empty:
        return 0
    cohort = str(served["cohort"].iat[0])
    kind = cohort.rsplit("/", 1)[-1]
    families = world.families(served["family_key"].tolist())
    answers = world.respond(families, served[list(PARAM_NAMES)].to_numpy(np.float64), round_, cohort)
    have = set(store.feedback_frame(cohort=cohort)["schedule_id"])
    added = 0
    for i, schedule_id in enumerate(served["schedule_id"]):
        if schedule_id in have:
            continue
        _, created = store.add_feedback(
            schedule_id,
            _feedback_values(answers, i),
            feedback_id=stable_id(world.namespace, "feedback", schedule_id),
            received_at=_answered_at(round_, i, kind),
        )
        added += int(created)
    log.info("round %d: %d feedback rows on %s", round_, added, cohort)
    return added


__all__ = [
    "EXPLORE_ARM",
    "EXPLORE_STREAM",
    "ExploringGenerator",
    "LOOP_START",
    "cohort_label",
    "collect_feedback",
    "import_logged",
    "serve_cohort",
    "user_data",
    "week_of_round",
]
