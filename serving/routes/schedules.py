"""The seed plan's schedule endpoints: generate, evaluate (with improvement suggestions), feedback.

Each handler parses, calls the library, records, returns: schedules come from
``brightpath.serve.serve_week`` (``ScheduleGeneratorModel.predict`` of the served generator version, the
store row and its audit row; the continuous loop serves through it too), scores from
``brightpath.inference.evaluate_schedule`` with the served reward version, suggestions from
``brightpath.suggestions``; the store keeps every served schedule, its audit row and feedback.
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from brightpath import registry
from brightpath.errors import ValidationError
from brightpath.feedback import FEEDBACK_COLUMNS
from brightpath.inference import (
    WEEKLY_GENERATOR_SUBDIR,
    HistoryPlanner,
    evaluate_schedule,
    parse_history,
    weekly_generator_for,
)
from brightpath.questionnaire import ITEM_KEYS, parse_user_data
from brightpath.schedule import PARAM_NAMES
from brightpath.serve import family_hash, serve_week
from brightpath.store import UnknownScheduleError
from brightpath.suggestions import suggest_improvements
from serving.dependencies import MetricsDep, ModelsDep, StoreDep
from serving.errors import ServiceUnavailable, fields_under
from serving.schemas import (
    EvaluateScheduleRequest,
    EvaluateScheduleResponse,
    FeedbackRequest,
    FeedbackResponse,
    GenerateScheduleRequest,
    GenerateScheduleResponse,
)

log = logging.getLogger("serving")
router = APIRouter(prefix="/api/ml", tags=["schedules"])

_422 = {422: {"description": "invalid input; each detail names the field (loc, field)"}}


def _elapsed_ms(request: Request) -> float:
    return (time.perf_counter() - request.scope["state"]["started"]) * 1000.0


@router.post(
    "/generate-schedule/",
    status_code=201,
    response_model=GenerateScheduleResponse,
    responses={**_422, 201: {"description": "the schedule, stored under its id"}},
)
def generate_schedule(
    body: GenerateScheduleRequest, request: Request, store: StoreDep, models: ModelsDep, metrics: MetricsDep
) -> JSONResponse:
    """Write a week for a family (CONTRACTS §1 in, §2 out) with the served generator; store it and audit it.

    A family with a ``child_id`` whose earlier weeks are in the store (served schedules and their feedback)
    gets its next week from the weekly generator (the registry's promoted ``weekly_generator``,
    ``brightpath.inference.HistoryPlanner``) when there is one; otherwise as without history."""
    served = models.generator
    generator, generator_version = served.generator, served.version
    weeks = _lived_weeks(store, body.child_id, body.week_start) if body.child_id is not None else []
    weekly = weekly_generator_for(models.model_dir) if weeks else None
    if weekly is not None:
        generator = HistoryPlanner(weekly, parse_history(weeks), week_start=body.week_start)
        generator_version = registry.resolve(models.model_dir, WEEKLY_GENERATOR_SUBDIR)[0]
    state = request.scope["state"]
    week = serve_week(
        generator,
        body.user_data(),
        reference_date=body.reference_date,
        family_key=body.child_id,
        week_start=body.week_start,
        generator_version=generator_version,
        request_id=state["request_id"],
    )
    schedule, record, meta = week.schedule, week.record, week.schedule["meta"]
    state.update(model_version=week.model_version, source=week.source, input_hash=week.input_hash)
    store.add_served_schedule(record, week.audit(latency_ms=_elapsed_ms(request)))
    state["audited"] = True
    if meta["source"] == "fallback":  # the model manager logged why, once; each such schedule is counted
        metrics.fallback_schedules.inc()
        log.debug(
            "request %s: schedule from the rule-based fallback (%s)",
            state["request_id"],
            served.error or "generator unusable",
        )
    return JSONResponse(
        {
            "id": record["id"],
            "schedule_data": schedule,
            "model_version": meta["model_version"],
            "source": meta["source"],
            "generator_version": generator_version,
        },
        status_code=201,
    )


def _lived_weeks(store: Any, family_key: Any, week_start: datetime.date | None) -> list[dict[str, Any]]:
    """The family's weeks served before ``week_start`` (all when None), each with its feedback (None when
    unrated), as ``brightpath.inference.parse_history`` reads them; a week stored without ``week_start`` is
    dated by when it was served."""
    weeks = []
    for row in store.family_history(str(family_key)).to_dict("records"):
        when = row["week_start"] if _present(row["week_start"]) else row["created_at"].date()
        if week_start is not None and when >= week_start:
            continue
        feedback = None
        if _present(row["feedback_id"]):
            feedback = {name: row[name] for name in FEEDBACK_COLUMNS if _present(row[name])}
        weeks.append({"week_start": when, "params": {name: row[name] for name in PARAM_NAMES}, "feedback": feedback})
    return weeks


def _present(value: Any) -> bool:
    """Not None and not NaN/NaT (the store's frames mark what is missing either way)."""
    return value is not None and value == value


@router.post(
    "/evaluate-schedule/",
    response_model=EvaluateScheduleResponse,
    responses={
        **_422,
        404: {"description": "unknown schedule_id"},
        503: {"description": "no reward model can be served"},
    },
)
def evaluate(body: EvaluateScheduleRequest, request: Request, store: StoreDep, models: ModelsDep) -> dict[str, Any]:
    """Scores (satisfaction, engagement, effectiveness in [0, 1]) of a schedule for its family, the feedback's
    reading when given, and the improvement suggestions the reward model predicts."""
    reward = models.reward
    if not reward.available:
        raise ServiceUnavailable(f"no reward model to evaluate with: {reward.error}")
    state = request.scope["state"]
    if (body.schedule is None) == (body.schedule_id is None):
        raise ValidationError("schedule", None, "exactly one of schedule and schedule_id")
    if body.schedule_id is not None:
        row = store.get_served_schedule(body.schedule_id)
        if row is None:
            raise UnknownScheduleError(body.schedule_id)
        schedule = row["schedule_json"]
        user_data = (
            body.family.user_data() if body.family else _stored_family(row["answers"], row["child_age"], row["grade"])
        )
    else:
        schedule = body.schedule
        user_data = body.family.user_data() if body.family else None
    feedback = body.feedback.values() if body.feedback else None
    with fields_under("schedule"):
        result = evaluate_schedule(
            schedule, feedback=feedback, model_dir=reward.path, user_data=user_data, reference_date=body.reference_date
        )
    if user_data is None:  # evaluate_schedule accepted the schedule's meta.family
        family_meta = schedule["meta"]["family"]
        user_data = _stored_family(family_meta["answers"], family_meta["child_age"], family_meta.get("grade"))
    family = parse_user_data(user_data, reference_date=body.reference_date)
    state.update(
        model_version=result["model_version"],
        source="reward",
        input_hash=family_hash([int(a) for a in family.answers], family.child_age, family.child.grade),
    )
    note = None
    suggestions = []
    if body.max_suggestions:
        try:
            suggestions = [
                s.as_dict()
                for s in suggest_improvements(schedule, family, reward.scorer, max_suggestions=body.max_suggestions)
            ]
        except ValidationError as exc:
            note = f"no suggestions: the schedule's parameters are not in its meta ({exc})"
    store.add_audit(
        {
            "request_id": state["request_id"],
            "endpoint": "evaluate-schedule",
            "status_code": 200,
            "model_version": result["model_version"],
            "source": "reward",
            "input_hash": state["input_hash"],
            "latency_ms": _elapsed_ms(request),
        }
    )
    state["audited"] = True
    return {**result, "reward_version": reward.version, "suggestions": suggestions, "suggestions_note": note}


@router.post(
    "/feedback/",
    status_code=201,
    response_model=FeedbackResponse,
    responses={
        **_422,
        200: {"description": "this exact feedback was already recorded", "model": FeedbackResponse},
        404: {"description": "unknown schedule_id"},
        409: {"description": "the schedule already has different feedback"},
    },
)
def feedback(body: FeedbackRequest, store: StoreDep) -> JSONResponse:
    """Record a family's feedback on a served schedule (what a retrain learns from). Feedback on a schedule is
    written once: posting the same values again answers 200 with the first record, different values 409."""
    values = body.values()
    values.pop("schedule_id")
    row, created = store.add_feedback(body.schedule_id, values)
    return JSONResponse(
        {
            "id": row["id"],
            "schedule_id": row["schedule_id"],
            "received_at": row["received_at"].isoformat(),
            "created": created,
        },
        status_code=201 if created else 200,
    )


def _stored_family(answers: list[int], child_age: int, grade: int | None) -> dict[str, Any]:
    """``user_data`` for a family stored as answers (0 = missing), age and grade (the store, ``meta.family``)."""
    user_data = {"preferences": {key: int(a) for key, a in zip(ITEM_KEYS, answers) if a}, "child_age": child_age}
    if grade is not None:
        user_data["grade"] = grade
    return user_data
