"""``POST /api/ml/generate-schedule/``: the seed plan's schedule generation API, for the logged-in parent's child."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from schedules import ml
from schedules.models import Child
from schedules.services import save_schedule


class GenerateScheduleRequest(serializers.Serializer):
    child_id = serializers.IntegerField(min_value=1)
    preferences = serializers.DictField(help_text="questionnaire answers q1–q25, Likert 1–5")


class GenerateScheduleView(APIView):
    """Write and store a week for one of the user's children: 201 ``{id, schedule_data, source, model_version}``.

    400 names the invalid field (BrightPath's own validation included), 404 for another user's or an
    unknown child, 503 when the model service (service mode) cannot answer.
    """

    def post(self, request):
        payload = GenerateScheduleRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        child = get_object_or_404(Child, id=payload.validated_data["child_id"], user=request.user)
        try:
            generated = ml.generate_schedule(child, payload.validated_data["preferences"])
        except ml.InvalidInput as exc:
            return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
        except ml.ModelServiceUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        schedule = save_schedule(request.user, child, generated)
        return Response(
            {
                "id": schedule.id,
                "schedule_data": schedule.schedule_data,
                "source": schedule.source,
                "model_version": schedule.model_version,
            },
            status=status.HTTP_201_CREATED,
        )
