"""Where the backend meets BrightPath: one call, embedded or over HTTP (``settings.BRIGHTPATH_ML_MODE``).

* ``embedded`` (the seed plan's "embedded models"): ``brightpath.inference.generate_schedule`` runs in
  this process and reads the promoted generator from ``$BRIGHTPATH_MODEL_DIR`` (the rule-based
  expert when none is trained yet).
* ``service`` (the seed's "dedicated model service"): ``POST {BRIGHTPATH_SERVICE_URL}/api/ml/generate-schedule/``
  on ``python -m serving``, which also stores the schedule and its audit row; its id is kept as
  ``Schedule.ml_schedule_id`` so feedback can be sent back to it.
"""

import dataclasses
import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings


class InvalidInput(ValueError):
    """BrightPath refused the family's data; ``field`` names what was wrong (e.g. ``preferences.q3``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(message)


class ModelServiceUnavailable(RuntimeError):
    """The model service could not be reached or failed."""


@dataclasses.dataclass(frozen=True)
class GeneratedSchedule:
    schedule_data: dict[str, Any]
    source: str
    model_version: str
    ml_schedule_id: str = ""


def family_data(child, preferences: dict[str, Any]) -> dict[str, Any]:
    """The family as BrightPath takes it (CONTRACTS §1): the answers plus the child's birth date and grade."""
    data: dict[str, Any] = {"preferences": preferences, "birth_date": child.birth_date.isoformat()}
    if child.grade is not None:
        data["grade"] = child.grade
    return data


def generate_schedule(child, preferences: dict[str, Any]) -> GeneratedSchedule:
    """A week for ``child`` from the family's questionnaire ``preferences`` (q1–q25).

    Raises:
        InvalidInput: the preferences or the child's data are not valid input, naming the field.
        ModelServiceUnavailable: in service mode, the service could not answer.
    """
    data = family_data(child, preferences)
    if settings.BRIGHTPATH_ML_MODE == "service":
        return _from_service({**data, "child_id": child.id})
    from brightpath.errors import ValidationError
    from brightpath.inference import generate_schedule as brightpath_generate

    try:
        schedule = brightpath_generate(data)
    except ValidationError as exc:
        raise InvalidInput(exc.field, str(exc)) from None
    return GeneratedSchedule(schedule, schedule["meta"]["source"], schedule["meta"]["model_version"])


def _from_service(body: dict[str, Any]) -> GeneratedSchedule:
    url = settings.BRIGHTPATH_SERVICE_URL.rstrip("/") + "/api/ml/generate-schedule/"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.BRIGHTPATH_SERVICE_TIMEOUT_S) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 422:
            detail = json.load(exc)["detail"][0]
            raise InvalidInput(detail.get("field") or "preferences", detail.get("msg", "invalid input")) from None
        raise ModelServiceUnavailable(f"the model service answered {exc.code} at {url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ModelServiceUnavailable(f"the model service at {url} cannot be reached: {exc}") from None
    return GeneratedSchedule(answer["schedule_data"], answer["source"], answer["model_version"], answer["id"])
