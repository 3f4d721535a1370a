"""Request and response bodies of the HTTP API (CONTRACTS §8): the validation and the OpenAPI page at once.

Ranges come from the library's constants (Likert scale, child ages, grades, feedback columns), so
the schema and ``brightpath`` agree; the library still validates everything it is given
(``parse_user_data``, ``json_to_layout``, ``parse_feedback``) and its ``ValidationError`` becomes
the same 422 as a schema error, naming the field.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from brightpath.child import MAX_AGE, MIN_AGE
from brightpath.feedback import ADJUSTMENT_KINDS, LIKERT_MAX, LIKERT_MIN
from brightpath.questionnaire import ITEM_KEYS, MAX_GRADE, MIN_GRADE
from brightpath.schedule import PARAM_NAMES
from serving.training import TASKS

MAX_TEXT = 2000
"""Longest free text accepted (a feedback comment, a constraint)."""
MAX_KEY = 128
"""Longest id accepted from a caller (child_id)."""


def _no_booleans(value: Any) -> Any:
    """JSON ``true`` is not the number 1 here (CONTRACTS §1 refuses booleans)."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "expected a number, got a boolean")
    return value


Likert = Annotated[int, BeforeValidator(_no_booleans), Field(ge=LIKERT_MIN, le=LIKERT_MAX)]
Rating = Annotated[float, BeforeValidator(_no_booleans), Field(ge=LIKERT_MIN, le=LIKERT_MAX, allow_inf_nan=False)]
Share = Annotated[float, BeforeValidator(_no_booleans), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Age = Annotated[int, BeforeValidator(_no_booleans), Field(ge=MIN_AGE, le=MAX_AGE)]
Grade = Annotated[int, BeforeValidator(_no_booleans), Field(ge=MIN_GRADE, le=MAX_GRADE)]
FamilyKey = (
    Annotated[str, Field(min_length=1, max_length=MAX_KEY)]
    | Annotated[int, BeforeValidator(_no_booleans), Field(ge=0, le=2**63 - 1)]
)

Preferences = create_model(
    "Preferences",
    __config__=ConfigDict(extra="forbid"),
    __doc__=f"Questionnaire answers {ITEM_KEYS[0]}–{ITEM_KEYS[-1]}, Likert {LIKERT_MIN}–{LIKERT_MAX}; "
    "leave an item out (or null) when unanswered.",
    **{key: (Likert | None, None) for key in ITEM_KEYS},
)

SEED_PREFERENCES = {
    "q1": 4,
    "q2": 2,
    "q3": 5,
    "q4": 1,
    "q5": 3,
    "q6": 3,
    "q7": 4,
    "q8": 2,
    "q9": 5,
    "q10": 3,
    "q11": 5,
    "q12": 2,
    "q13": 3,
    "q14": 4,
    "q15": 1,
    "q16": 2,
    "q17": 5,
    "q18": 3,
    "q19": 4,
    "q20": 2,
    "q21": 4,
    "q22": 3,
    "q23": 5,
    "q24": 2,
    "q25": 4,
}
"""The seed plan's example answers (used in the OpenAPI examples)."""


class Family(BaseModel):
    """A family as CONTRACTS §1 describes it: the answers plus ``child_age`` or ``birth_date``."""

    model_config = ConfigDict(extra="forbid")

    preferences: Preferences = Field(default_factory=Preferences)
    child_age: Age | None = Field(None, description=f"years, {MIN_AGE}–{MAX_AGE}; or give birth_date")
    birth_date: datetime.date | None = Field(None, description="ISO date; the age is computed at reference_date")
    grade: Grade | None = Field(None, description="0 = kindergarten; default: the usual grade for the age")
    constraints: list[Annotated[str, Field(max_length=MAX_TEXT)]] | None = Field(None, max_length=20)

    def user_data(self) -> dict[str, Any]:
        """The ``user_data`` mapping ``brightpath.questionnaire.parse_user_data`` takes."""
        data: dict[str, Any] = {
            "preferences": {k: v for k, v in self.preferences.model_dump().items() if v is not None}
        }
        for key in ("child_age", "grade", "constraints"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.birth_date is not None:
            data["birth_date"] = self.birth_date.isoformat()
        return data


class GenerateScheduleRequest(Family):
    """``POST /api/ml/generate-schedule/``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"child_id": 42, "preferences": SEED_PREFERENCES, "birth_date": "2015-01-01"},
                {"preferences": SEED_PREFERENCES, "child_age": 8, "week_start": "2026-03-02"},
            ]
        },
    )

    child_id: FamilyKey | None = Field(
        None, description="the caller's id for the child (the backend's Child.id); finds the family's history"
    )
    week_start: datetime.date | None = Field(None, description="the Monday of the week the schedule is for")
    reference_date: datetime.date | None = Field(
        None, description="date an age is computed at from birth_date; default today"
    )

    @field_validator("week_start")
    @classmethod
    def _week_starts_on_monday(cls, week_start: datetime.date | None) -> datetime.date | None:
        if week_start is not None and week_start.weekday() != 0:
            raise PydanticCustomError(
                "not_a_monday",
                "expected a Monday, got {day} ({weekday})",
                {"day": week_start.isoformat(), "weekday": week_start.strftime("%A")},
            )
        return week_start


class GenerateScheduleResponse(BaseModel):
    id: str = Field(description="the served schedule's id (for feedback and evaluation)")
    schedule_data: dict[str, Any] = Field(description="Schedule JSON (CONTRACTS §2)")
    model_version: str = Field(description="the generator's training run, or the rule's version")
    source: str = Field(description="ppo, mlp, rf, gbr, expert, or fallback (the model could not be used)")
    generator_version: int | None = Field(description="registry version of the generator served")


class FeedbackFields(BaseModel):
    """One week's feedback (``brightpath.feedback.FEEDBACK_COLUMNS``); leave out what the family did not say."""

    model_config = ConfigDict(extra="forbid")

    stars: Rating | None = Field(None, description=f"rating of the week, {LIKERT_MIN}–{LIKERT_MAX}")
    likert_satisfaction: Rating | None = None
    likert_engagement: Rating | None = None
    likert_effectiveness: Rating | None = None
    comment: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    completion_rate: Share | None = Field(None, description="share of the planned blocks done, 0–1")
    adherence: Share | None = Field(None, description="share of the week run as planned, 0–1")
    n_adjustments: Annotated[int, BeforeValidator(_no_booleans), Field(ge=0, le=10_000)] | None = None
    adjustment_kind: Literal[ADJUSTMENT_KINDS] | None = None  # type: ignore[valid-type]

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class EvaluateScheduleRequest(BaseModel):
    """``POST /api/ml/evaluate-schedule/``: a schedule or a served schedule's id (exactly one), optionally the
    family's feedback."""

    model_config = ConfigDict(extra="forbid")

    schedule: dict[str, Any] | None = Field(
        None, description="Schedule JSON (CONTRACTS §2); its meta.family says whom it is for unless family is given"
    )
    schedule_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="evaluate a schedule this service served instead"
    )
    family: Family | None = Field(None, description="the family, when the schedule's meta does not say")
    feedback: FeedbackFields | None = None
    reference_date: datetime.date | None = None
    max_suggestions: int = Field(3, ge=0, le=len(PARAM_NAMES))


class Scores(BaseModel):
    satisfaction: float | None = None
    engagement: float | None = None
    effectiveness: float | None = None


class SuggestionOut(BaseModel):
    parameter: str
    current: int | float = Field(description="the parameter's value now (schedule.PARAM_SPECS: units, range)")
    suggested: int | float = Field(description="the value to change it to")
    predicted_satisfaction: float = Field(description="predicted satisfaction after the change, 0–1")
    predicted_gain: float = Field(description="predicted satisfaction gain, 0–1 scale")
    description: str


class EvaluateScheduleResponse(Scores):
    model_version: str = Field(description="the reward model's training run")
    reward_version: int | None = Field(description="registry version of the reward model")
    observed: Scores | None = Field(None, description="each score as the feedback states it (null: not stated)")
    blended: Scores | None = Field(None, description="model and feedback combined (brightpath.inference)")
    suggestions: list[SuggestionOut]
    suggestions_note: str | None = Field(
        None, description="why there are no suggestions, when that is not because no change is predicted to help"
    )


class FeedbackRequest(FeedbackFields):
    """``POST /api/ml/feedback/``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "schedule_id": "0b6f7e0c-3f7e-4c4e-9a53-2f1f1c7d9e10",
                    "stars": 4,
                    "likert_satisfaction": 4,
                    "comment": "blocks felt right",
                    "completion_rate": 0.9,
                    "adherence": 0.8,
                    "n_adjustments": 1,
                    "adjustment_kind": "shorten_blocks",
                }
            ]
        },
    )

    schedule_id: Annotated[str, Field(min_length=1, max_length=64)]


class FeedbackResponse(BaseModel):
    id: str
    schedule_id: str
    received_at: datetime.datetime
    created: bool = Field(description="false when this exact feedback was already recorded")


OverrideValue = Annotated[int, BeforeValidator(_no_booleans)] | float | Annotated[str, Field(max_length=64)]


class TrainRequest(BaseModel):
    """``POST /api/ml/train-models/``: an experiment (``+exp=<task>``) and allowlisted Hydra overrides."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"task": "reward", "overrides": {"seed": 1}},
                {"task": "data", "overrides": {"data.n_families": 30}},
            ]
        },
    )

    task: Literal[tuple(TASKS)]  # type: ignore[valid-type]
    overrides: dict[Annotated[str, Field(max_length=64)], OverrideValue] = Field(
        default_factory=dict,
        max_length=16,
        description="Hydra key → value; only the keys serving.training allows for the task",
    )


class JobAccepted(BaseModel):
    job_id: str
    state: str
    status_url: str


class JobStatus(BaseModel):
    job_id: str
    task: str
    overrides: dict[str, Any]
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: float = Field(description="0–1")
    message: str | None
    metrics: dict[str, float] | None
    mlflow_run_id: str | None
    error: str | None
    attempts: int
    worker: str | None = Field(description="host:pid of the worker process running it (or that last ran it)")
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    heartbeat_at: datetime.datetime | None


class ModelVersionStatus(BaseModel):
    """One entry of TensorFlow Serving's ``model_version_status``."""

    version: str
    state: Literal["AVAILABLE", "LOADING", "END", "UNAVAILABLE"]
    status: dict[str, str] = Field(description='{"error_code": "OK" | "UNAVAILABLE" | …, "error_message": …}')
    model_version: str | None = None
    loaded_since: datetime.datetime | None = None


class ModelStatus(BaseModel):
    """``GET /v1/models/{name}`` (TensorFlow Serving's model status, plus what the registry says)."""

    name: str
    model_version_status: list[ModelVersionStatus]
    champion_version: int | None
    pinned_version: int | None
    source: str | None = None


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: Literal["ready", "degraded"]
    reasons: list[str]
    models: dict[str, dict[str, Any]]
