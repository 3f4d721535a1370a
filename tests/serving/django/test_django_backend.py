"""The Django backend contract (examples/django_backend): the seed plan's integration test as written
there, the same view calling the model service over HTTP, field-level errors, and the seed's Celery task."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.test import override_settings
from rest_framework.test import APIClient
from schedules.models import Child, Schedule, ScheduleItem
from schedules.tasks import generate_schedule_task

from brightpath.schedule import json_to_layout
from tests.serving.helpers import SEED_PREFERENCES


# fmt: off
# Example integration test for ML API (the seed plan's, verbatim)
def test_schedule_generation_api():
    """Test the schedule generation API endpoint."""
    # Create test client
    client = APIClient()

    # Create test user and authenticate
    user = User.objects.create_user(
        username='testuser',
        email='test@example.com',
        password='testpass123'
    )
    client.force_authenticate(user=user)

    # Create test child
    child = Child.objects.create(
        user=user,
        first_name='Test',
        birth_date=date(2015, 1, 1)
    )

    # Create test data
    data = {
        'child_id': child.id,
        'preferences': {
            'q1': 4, 'q2': 2, 'q3': 5, 'q4': 1, 'q5': 3,
            'q6': 3, 'q7': 4, 'q8': 2, 'q9': 5, 'q10': 3,
            'q11': 5, 'q12': 2, 'q13': 3, 'q14': 4, 'q15': 1,
            'q16': 2, 'q17': 5, 'q18': 3, 'q19': 4, 'q20': 2,
            'q21': 4, 'q22': 3, 'q23': 5, 'q24': 2, 'q25': 4
        }
    }

    # Call API
    response = client.post('/api/ml/generate-schedule/', data, format='json')

    # Check response
    assert response.status_code == 201
    assert 'id' in response.data
    assert 'schedule_data' in response.data

    # Validate schedule data
    schedule_data = response.data['schedule_data']
    assert 'meta' in schedule_data
    assert 'days' in schedule_data
# fmt: on


def parent_with_child() -> tuple[APIClient, User, Child]:
    user = User.objects.create_user(username="parent", password="x")
    client = APIClient()
    client.force_authenticate(user=user)
    return client, user, Child.objects.create(user=user, first_name="Ada", birth_date=date(2017, 5, 3))


def test_the_schedule_and_its_items_are_saved_from_the_served_model():
    client, user, child = parent_with_child()
    response = client.post(
        "/api/ml/generate-schedule/", {"child_id": child.id, "preferences": SEED_PREFERENCES}, format="json"
    )
    assert response.status_code == 201
    schedule = Schedule.objects.get(id=response.data["id"])
    assert (schedule.user, schedule.child, schedule.source, schedule.model_version) == (user, child, "ppo", "gen-v1")
    json_to_layout(schedule.schedule_data)
    blocks = sum(len(day["blocks"]) for day in schedule.schedule_data["days"])
    assert ScheduleItem.objects.filter(schedule=schedule).count() == blocks
    assert schedule.schedule_data["meta"]["family"]["child_age"] == child.age


def test_invalid_answers_are_400_naming_the_field():
    client, _, child = parent_with_child()
    response = client.post(
        "/api/ml/generate-schedule/", {"child_id": child.id, "preferences": {"q3": 9}}, format="json"
    )
    assert response.status_code == 400 and "preferences.q3" in response.data
    assert client.post("/api/ml/generate-schedule/", {"preferences": {}}, format="json").status_code == 400
    assert Schedule.objects.count() == 0


def test_another_familys_child_is_404_and_anonymous_requests_are_refused():
    _, _, child = parent_with_child()
    stranger = APIClient()
    stranger.force_authenticate(User.objects.create_user(username="stranger", password="x"))
    body = {"child_id": child.id, "preferences": SEED_PREFERENCES}
    assert stranger.post("/api/ml/generate-schedule/", body, format="json").status_code == 404
    assert APIClient().post("/api/ml/generate-schedule/", body, format="json").status_code in (401, 403)


def test_the_seed_celery_task_stores_a_schedule():
    _, user, child = parent_with_child()
    schedule_id = generate_schedule_task.apply(args=(user.id, child.id, SEED_PREFERENCES)).get()
    schedule = Schedule.objects.get(id=schedule_id)
    assert schedule.title == "Ada's Schedule" and schedule.items.exists()


def test_the_view_can_call_the_model_service_over_http(service):
    client, _, child = parent_with_child()
    with override_settings(BRIGHTPATH_ML_MODE="service", BRIGHTPATH_SERVICE_URL=service):
        response = client.post(
            "/api/ml/generate-schedule/", {"child_id": child.id, "preferences": SEED_PREFERENCES}, format="json"
        )
        invalid = client.post(
            "/api/ml/generate-schedule/", {"child_id": child.id, "preferences": {"q3": 9}}, format="json"
        )
    assert response.status_code == 201
    schedule = Schedule.objects.get(id=response.data["id"])
    assert schedule.ml_schedule_id and schedule.source == "ppo"
    assert invalid.status_code == 400 and "preferences.q3" in invalid.data
    with override_settings(BRIGHTPATH_ML_MODE="service", BRIGHTPATH_SERVICE_URL="http://127.0.0.1:9"):
        down = client.post(
            "/api/ml/generate-schedule/", {"child_id": child.id, "preferences": SEED_PREFERENCES}, format="json"
        )
    assert down.status_code == 503 and "cannot be reached" in down.data["detail"]
