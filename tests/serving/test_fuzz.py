"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis): whatever a
client sends, valid or not, the answer is never a 5xx.

The app runs in-process with real models and a real SQLite store; training requests carry the token,
so their bodies reach validation, and the jobs they create go to a recording queue instead of Redis
(a worker must not train what a fuzzer asked for). The same routes under uvicorn are covered by
``test_integration``.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.serving.helpers import TOKEN, RecordingQueue, client_for, make_settings

EXAMPLES_PER_OPERATION = 40
NO_INVALID_INPUT = {"GET /v1/models/{name}"}
"""Operations whose only input is an unconstrained string: there is no schema-invalid input to generate."""


@pytest.fixture(scope="module")
def app(tmp_path_factory, shared_model_root):
    queue = RecordingQueue()
    with client_for(make_settings(tmp_path_factory.mktemp("fuzz"), shared_model_root), queue) as client:
        yield client.app


def test_no_input_makes_the_service_fail(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /api/ml/generate-schedule/",
        "POST /api/ml/evaluate-schedule/",
        "POST /api/ml/feedback/",
        "POST /api/ml/train-models/",
        "GET /api/ml/jobs/{job_id}",
    }
    for operation in operations:
        negatable = operation.label not in NO_INVALID_INPUT and (
            bool(list(operation.iter_parameters())) or bool(operation.body)
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if negatable else (GenerationMode.POSITIVE,):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def no_server_error(case):
                response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
                case.validate_response(response, checks=[not_a_server_error])

            no_server_error()
