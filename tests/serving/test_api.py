"""The HTTP API against the app in-process (httpx through Starlette's TestClient): a temp SQLite store,
tiny real models in a registry, the job queue replaced by a recorder (dependency override)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from brightpath import registry
from brightpath.export import METADATA_FILE
from brightpath.schedule import json_to_layout
from tests.serving.helpers import (
    SEED_FAMILY,
    SEED_PREFERENCES,
    TOKEN,
    RecordingQueue,
    client_for,
    make_settings,
    tiny_generator,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory, shared_model_root):
    queue = RecordingQueue()
    with client_for(make_settings(tmp_path_factory.mktemp("service"), shared_model_root), queue) as client:
        client.queue = queue
        client.store = client.app.state.store
        yield client


def fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [detail["field"] for detail in response.json()["detail"]]


# --- generate-schedule ---------------------------------------------------------------------------


def test_the_seed_family_gets_a_stored_valid_schedule(client):
    response = client.post("/api/ml/generate-schedule/", json={**SEED_FAMILY, "child_id": 42})
    assert response.status_code == 201
    body = response.json()
    assert (body["source"], body["model_version"], body["generator_version"]) == ("ppo", "gen-v1", 1)
    json_to_layout(body["schedule_data"])
    assert len(body["schedule_data"]["days"]) == 5
    stored = client.store.get_served_schedule(body["id"])
    assert stored["schedule_json"] == body["schedule_data"] and stored["family_key"] == "42"
    assert stored["request_id"] == response.headers["x-request-id"]
    audit = client.store.audit_frame(endpoint="generate-schedule")
    row = audit[audit["request_id"] == stored["request_id"]].iloc[0]
    assert (row["status_code"], row["source"], row["model_version"]) == (201, "ppo", "gen-v1")
    assert len(row["input_hash"]) == 64 and row["latency_ms"] > 0


def test_a_birth_date_gives_the_age_and_the_week_is_recorded(client):
    body = {
        "preferences": SEED_PREFERENCES,
        "birth_date": "2015-01-01",
        "reference_date": "2023-06-01",
        "week_start": "2026-03-02",
        "child_id": "child-7",
    }
    response = client.post("/api/ml/generate-schedule/", json=body)
    assert response.status_code == 201
    assert response.json()["schedule_data"]["meta"]["family"]["child_age"] == 8
    assert client.store.family_history("child-7")["week_start"].astype(str).tolist() == ["2026-03-02"]


def test_a_client_request_id_is_echoed_and_audited(client):
    response = client.post("/api/ml/generate-schedule/", json=SEED_FAMILY, headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert "abc-123" in client.store.audit_frame()["request_id"].tolist()
    odd = client.post("/api/ml/generate-schedule/", json=SEED_FAMILY, headers={"X-Request-ID": "../../etc x"})
    assert odd.headers["x-request-id"] != "../../etc x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"preferences": {"q3": 6}, "child_age": 8}, "preferences.q3"),
        ({"preferences": {"q3": "often"}, "child_age": 8}, "preferences.q3"),
        ({"preferences": {"q3": True}, "child_age": 8}, "preferences.q3"),
        ({"preferences": {"q3": 2.5}, "child_age": 8}, "preferences.q3"),
        ({"preferences": {"q26": 3}, "child_age": 8}, "preferences.q26"),
        ({"preferences": SEED_PREFERENCES}, "child_age"),
        ({"preferences": SEED_PREFERENCES, "child_age": 4}, "child_age"),
        ({"preferences": SEED_PREFERENCES, "birth_date": "2015-02-30"}, "birth_date"),
        ({"preferences": SEED_PREFERENCES, "child_age": 8, "birth_date": "2001-01-01"}, "birth_date"),
        ({"preferences": SEED_PREFERENCES, "child_age": 8, "grade": 11}, "grade"),
        ({"preferences": SEED_PREFERENCES, "child_age": 8, "week_start": "2026-03-04"}, "week_start"),
        ({"preferences": SEED_PREFERENCES, "child_age": 8, "child_name": "Ada"}, "child_name"),
        ({"preferences": [4, 2], "child_age": 8}, "preferences"),
    ],
)
def test_malformed_families_are_422_naming_the_field(client, body, field):
    assert field in " ".join(fields(client.post("/api/ml/generate-schedule/", json=body)))


def test_failed_requests_are_audited_too(client):
    before = len(client.store.audit_frame(endpoint="generate-schedule"))
    response = client.post("/api/ml/generate-schedule/", json={"preferences": {"q1": 9}})
    assert response.status_code == 422
    audit = client.store.audit_frame(endpoint="generate-schedule")
    assert len(audit) == before + 1 and audit.iloc[-1]["status_code"] == 422


def test_bodies_that_are_not_json_or_too_large_are_refused(client):
    response = client.post(
        "/api/ml/generate-schedule/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "json_invalid"
    big = json.dumps({**SEED_FAMILY, "constraints": ["x" * 1000] * 80})
    response = client.post("/api/ml/generate-schedule/", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


# --- evaluate-schedule -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(client) -> dict:
    return client.post("/api/ml/generate-schedule/", json={**SEED_FAMILY, "child_id": "eval"}).json()


def test_a_schedule_is_scored_with_suggestions(client, served):
    response = client.post(
        "/api/ml/evaluate-schedule/", json={"schedule": served["schedule_data"], "max_suggestions": 7}
    )
    assert response.status_code == 200
    body = response.json()
    assert all(0.0 <= body[k] <= 1.0 for k in ("satisfaction", "engagement", "effectiveness"))
    assert (body["model_version"], body["reward_version"]) == ("tiny-reward-1", 1)
    assert body["suggestions_note"] is None
    for suggestion in body["suggestions"]:
        assert suggestion["predicted_gain"] > 0
        assert suggestion["predicted_satisfaction"] == pytest.approx(
            body["satisfaction"] + suggestion["predicted_gain"], abs=1e-4
        )
    by_id = client.post("/api/ml/evaluate-schedule/", json={"schedule_id": served["id"]}).json()
    assert by_id["satisfaction"] == pytest.approx(body["satisfaction"])
    assert client.store.audit_frame(endpoint="evaluate-schedule")["status_code"].tolist()[-1] == 200


def test_feedback_sent_with_a_schedule_is_read_and_blended(client, served):
    response = client.post(
        "/api/ml/evaluate-schedule/",
        json={"schedule_id": served["id"], "feedback": {"likert_satisfaction": 5, "stars": 5, "comment": "great week"}},
    )
    body = response.json()
    assert response.status_code == 200 and body["observed"]["satisfaction"] is not None
    assert (
        body["satisfaction"] <= body["blended"]["satisfaction"] <= body["observed"]["satisfaction"]
        or body["observed"]["satisfaction"] <= body["blended"]["satisfaction"] <= body["satisfaction"]
    )


def test_evaluation_errors_name_the_field(client, served):
    schedule = json.loads(json.dumps(served["schedule_data"]))
    schedule["days"][0]["blocks"][1]["start_time"] = "07:00"
    assert fields(client.post("/api/ml/evaluate-schedule/", json={"schedule": schedule})) == [
        "schedule.days[0].blocks[1].start_time"
    ]
    assert client.post("/api/ml/evaluate-schedule/", json={"schedule": schedule}).json()["detail"][0]["loc"] == [
        "body",
        "schedule",
        "days",
        0,
        "blocks",
        1,
        "start_time",
    ]
    assert fields(
        client.post("/api/ml/evaluate-schedule/", json={"schedule_id": served["id"], "feedback": {"stars": 9}})
    ) == ["feedback.stars"]
    assert fields(client.post("/api/ml/evaluate-schedule/", json={})) == ["schedule"]
    no_family = {"days": served["schedule_data"]["days"], "meta": {}}
    assert fields(client.post("/api/ml/evaluate-schedule/", json={"schedule": no_family})) == ["schedule.meta.family"]
    unknown = client.post("/api/ml/evaluate-schedule/", json={"schedule_id": "no-such-schedule"})
    assert unknown.status_code == 404 and "no served schedule" in unknown.json()["detail"]


def test_a_schedule_without_parameters_is_scored_without_suggestions(client, served):
    schedule = json.loads(json.dumps(served["schedule_data"]))
    del schedule["meta"]["start_hour"]
    body = client.post("/api/ml/evaluate-schedule/", json={"schedule": schedule}).json()
    assert body["suggestions"] == [] and "meta.start_hour" in body["suggestions_note"]


# --- feedback ----------------------------------------------------------------------------------------


def test_feedback_is_stored_once(client):
    schedule_id = client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).json()["id"]
    feedback = {
        "schedule_id": schedule_id,
        "stars": 4,
        "likert_engagement": 3,
        "completion_rate": 0.9,
        "n_adjustments": 1,
        "adjustment_kind": "shorten_blocks",
        "comment": "a bit long",
    }
    first = client.post("/api/ml/feedback/", json=feedback)
    assert first.status_code == 201 and first.json()["created"]
    again = client.post("/api/ml/feedback/", json=feedback)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"] and not again.json()["created"]
    conflict = client.post("/api/ml/feedback/", json={**feedback, "stars": 1})
    assert conflict.status_code == 409
    frame = client.store.feedback_frame()
    row = frame[frame["schedule_id"] == schedule_id].iloc[0]
    assert (row["stars"], row["adjustment_kind"], row["likert_satisfaction"] != row["likert_satisfaction"]) == (
        4.0,
        "shorten_blocks",
        True,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stars": 0}, "stars"),
        ({"completion_rate": 1.5}, "completion_rate"),
        ({"n_adjustments": -1}, "n_adjustments"),
        ({"adjustment_kind": "burn_it"}, "adjustment_kind"),
        ({"stars": "NaN"}, "stars"),
        ({"mood": "ok"}, "mood"),
    ],
)
def test_malformed_feedback_is_422(client, change, field):
    assert fields(client.post("/api/ml/feedback/", json={"schedule_id": "x", **change})) == [field]


def test_feedback_on_an_unknown_schedule_is_404(client):
    assert client.post("/api/ml/feedback/", json={"schedule_id": str(uuid.uuid4()), "stars": 3}).status_code == 404


# --- training jobs -----------------------------------------------------------------------------------


def test_the_training_api_needs_the_token(client):
    missing = client.post("/api/ml/train-models/", json={"task": "data"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/api/ml/train-models/", json={"task": "data"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert client.get(f"/api/ml/jobs/{uuid.uuid4()}").status_code == 401


def test_a_job_is_recorded_queued_by_id_and_reported(client):
    response = client.post(
        "/api/ml/train-models/", json={"task": "data", "overrides": {"data.n_families": 30}}, headers=AUTH
    )
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert client.queue.submitted[-1] == job_id
    assert response.headers["location"].endswith(f"/api/ml/jobs/{job_id}")
    status = client.get(f"/api/ml/jobs/{job_id}", headers=AUTH).json()
    assert (status["state"], status["progress"], status["overrides"], status["attempts"]) == (
        "queued",
        0.0,
        {"data.n_families": 30},
        0,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "rm -rf /"}, "task"),
        ({"task": "data", "overrides": {"hydra.run.dir": "/etc"}}, "overrides.hydra.run.dir"),
        ({"task": "data", "overrides": {"data.n_families": 2}}, "overrides.data.n_families"),
        ({"task": "data", "overrides": {"data.version": "v1 && ls"}}, "overrides.data.version"),
        ({"task": "ppo", "overrides": {"model": "resnet"}}, "overrides.model"),
        ({"task": "data", "overrides": {"model": "mlp"}}, "overrides.model"),
    ],
)
def test_only_allowlisted_tasks_and_overrides_are_accepted(client, body, field):
    before = len(client.queue.submitted)
    assert fields(client.post("/api/ml/train-models/", json=body, headers=AUTH)) == [field]
    assert len(client.queue.submitted) == before


def test_unknown_or_malformed_job_ids(client):
    assert client.get(f"/api/ml/jobs/{uuid.uuid4()}", headers=AUTH).status_code == 404
    assert fields(client.get("/api/ml/jobs/not-a-uuid", headers=AUTH)) == ["job_id"]


def test_a_job_that_cannot_be_queued_is_failed_with_the_reason(tmp_path, shared_model_root):
    with client_for(make_settings(tmp_path, shared_model_root), RecordingQueue(fail=True)) as client:
        response = client.post("/api/ml/train-models/", json={"task": "data"}, headers=AUTH)
        assert response.status_code == 503 and "cannot be reached" in response.json()["detail"]
        [job] = client.app.state.store.list_jobs()
        assert job["state"] == "failed" and "Connection refused" in job["error"]


def test_without_a_configured_token_the_training_api_is_off(tmp_path, shared_model_root):
    with client_for(make_settings(tmp_path, shared_model_root, api_token=None)) as client:
        response = client.post("/api/ml/train-models/", json={"task": "data"}, headers=AUTH)
        assert response.status_code == 403 and "disabled" in response.json()["detail"]


# --- health and models -------------------------------------------------------------------------------


def test_health_readiness_and_model_status(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    generator = client.get("/v1/models/generator").json()
    assert generator["model_version_status"][0]["state"] == "AVAILABLE"
    assert (generator["champion_version"], generator["model_version_status"][0]["version"]) == (1, "1")
    assert client.get("/v1/models/reward/versions/1").json()["model_version_status"][0]["state"] == "AVAILABLE"
    assert client.get("/v1/models/reward/versions/9").status_code == 404
    assert client.get("/v1/models/policy").status_code == 404
    assert client.get("/v1/models/..%2F..%2Fetc").status_code == 404
    assert client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).status_code == 201
    metrics = client.get("/metrics").text
    assert 'brightpath_http_requests_total{endpoint="/api/ml/generate-schedule/",status="201"}' in metrics


def test_docs_and_openapi_are_served(client):
    spec = client.get("/openapi.json").json()
    assert {
        "/api/ml/generate-schedule/",
        "/api/ml/evaluate-schedule/",
        "/api/ml/feedback/",
        "/api/ml/train-models/",
        "/api/ml/jobs/{job_id}",
        "/v1/models/{name}",
    } <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()


# --- fallback, hot reload, pins ----------------------------------------------------------------------


def corrupt(directory: Path) -> None:
    (directory / "saved_model.pb").write_bytes(b"not a protobuf")


def test_a_corrupt_model_means_fallback_schedules_and_a_degraded_service(tmp_path, model_root):
    corrupt(registry.version_path(model_root, "generator", 1))
    with client_for(make_settings(tmp_path, model_root)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "degraded"
        assert "SavedModel is corrupt" in ready.json()["reasons"][0]
        response = client.post("/api/ml/generate-schedule/", json=SEED_FAMILY)
        assert response.status_code == 201 and response.json()["source"] == "fallback"
        json_to_layout(response.json()["schedule_data"])
        assert "brightpath_fallback_schedules_total 1.0" in client.get("/metrics").text
        status = client.get("/v1/models/generator").json()["model_version_status"][0]
        assert status["state"] == "UNAVAILABLE" and "corrupt" in status["status"]["error_message"]


def test_a_model_that_loads_but_cannot_run_means_fallback(tmp_path, model_root):
    def wrong_signature(directory: Path) -> None:
        import tensorflow as tf

        module = tf.Module()
        module.serve = tf.function(
            lambda answers, child_age: {"something_else": child_age},
            input_signature=[
                tf.TensorSpec([None, 25], tf.float32, name="answers"),
                tf.TensorSpec([None], tf.float32, name="child_age"),
            ],
        )
        tf.saved_model.save(module, str(directory), signatures={"serving_default": module.serve})
        (directory / METADATA_FILE).write_text(
            json.dumps({"kind": "generator", "source": "ppo", "model_version": "odd"})
        )

    registry.publish(model_root, "generator", wrong_signature)
    with client_for(make_settings(tmp_path, model_root)) as client:
        assert client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).json()["source"] == "fallback"
        assert "fails on a warm-up call" in client.get("/readyz").json()["reasons"][0]


def test_without_any_model_the_service_still_starts(tmp_path):
    with client_for(make_settings(tmp_path, tmp_path / "empty")) as client:
        assert client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).json()["source"] == "fallback"
        unavailable = client.post(
            "/api/ml/evaluate-schedule/",
            json={"schedule": client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).json()["schedule_data"]},
        )
        assert unavailable.status_code == 503 and "no reward model" in unavailable.json()["detail"]


def wait_for(client, model_version: str, timeout_s: float = 10.0) -> dict:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).json()
        if body["model_version"] == model_version:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{model_version} not served after {timeout_s} s")


def test_a_newly_promoted_version_is_served_and_a_corrupt_one_is_not(tmp_path, model_root):
    with client_for(make_settings(tmp_path, model_root)) as client:
        registry.publish(model_root, "generator", tiny_generator(0.5, "gen-v2"))
        assert wait_for(client, "gen-v2")["generator_version"] == 2

        def broken(directory: Path) -> None:
            tiny_generator(0.0, "gen-v3")(directory)
            corrupt(directory)

        registry.publish(model_root, "generator", broken)
        deadline = __import__("time").monotonic() + 10
        while client.get("/v1/models/generator").json()["model_version_status"][0]["state"] != "END":
            assert __import__("time").monotonic() < deadline
        status = client.get("/v1/models/generator").json()
        assert [entry["state"] for entry in status["model_version_status"]] == ["END", "AVAILABLE"]
        assert client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).json()["model_version"] == "gen-v2"
        assert client.get("/readyz").status_code == 200  # still serving a good model


def test_a_pinned_version_is_served_whatever_is_promoted(tmp_path, model_root):
    registry.publish(model_root, "generator", tiny_generator(0.5, "gen-v2"))
    with client_for(make_settings(tmp_path, model_root, pinned={"generator": 1, "reward": None})) as client:
        assert client.post("/api/ml/generate-schedule/", json=SEED_FAMILY).json()["model_version"] == "gen-v1"
        assert client.get("/v1/models/generator").json()["pinned_version"] == 1


def test_a_model_re_exported_in_place_is_reloaded(tmp_path, model_root):
    with client_for(make_settings(tmp_path, model_root)) as client:
        directory = registry.version_path(model_root, "generator", 1)
        metadata = json.loads((directory / METADATA_FILE).read_text())
        (directory / METADATA_FILE).write_text(json.dumps({**metadata, "model_version": "gen-v1b"}))
        assert wait_for(client, "gen-v1b")["generator_version"] == 1


def test_settings_name_the_variable_that_is_wrong(monkeypatch):
    from serving.settings import Settings, SettingsError

    monkeypatch.setenv("BRIGHTPATH_MODEL_POLL_S", "soon")
    with pytest.raises(SettingsError, match="BRIGHTPATH_MODEL_POLL_S='soon': expected a number"):
        Settings.from_env()
    monkeypatch.setenv("BRIGHTPATH_MODEL_POLL_S", "0.5")
    monkeypatch.setenv("BRIGHTPATH_PIN_GENERATOR", "0")
    with pytest.raises(SettingsError, match="BRIGHTPATH_PIN_GENERATOR='0': expected at least 1"):
        Settings.from_env()
    monkeypatch.setenv("BRIGHTPATH_PIN_GENERATOR", "3")
    settings = Settings.from_env()
    assert (settings.model_poll_s, settings.pinned["generator"], settings.pinned["reward"]) == (0.5, 3, None)
