"""Training jobs over HTTP: start one (``POST /api/ml/train-models/``), follow it (``GET /api/ml/jobs/{id}``).

Both need the server's bearer token. A job is a row in the store first, then a message on the
queue carrying its id; its state, progress, metrics and MLflow run id are read from the store.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError

from serving.dependencies import QueueDep, StoreDep, require_token
from serving.errors import ServiceUnavailable, request_id
from serving.schemas import JobAccepted, JobStatus, TrainRequest
from serving.training import render_overrides

log = logging.getLogger("serving")
router = APIRouter(
    prefix="/api/ml",
    tags=["training"],
    dependencies=[Depends(require_token)],
    responses={401: {"description": "no bearer token"}, 403: {"description": "wrong token"}},
)


@router.post(
    "/train-models/",
    status_code=202,
    response_model=JobAccepted,
    responses={
        422: {"description": "unknown task, or an override not on the allowlist"},
        503: {"description": "the queue cannot be reached (the job is recorded as failed)"},
    },
)
def train_models(body: TrainRequest, request: Request, store: StoreDep, queue: QueueDep) -> JSONResponse:
    """Start a training run (``python -m experiments.train +exp=<task> <overrides>``) on a worker."""
    render_overrides(body.task, body.overrides)  # 422 naming overrides.<key> before anything is recorded
    job = store.create_job(body.task, body.overrides)
    try:
        queue.submit(job["id"])
    except OperationalError as exc:
        reason = f"the job queue cannot be reached: {exc}"
        store.fail_job(job["id"], reason)
        log.error("request %s: %s", request_id(request), reason)
        raise ServiceUnavailable(reason) from exc
    url = str(request.url_for("job_status", job_id=job["id"]))
    return JSONResponse(
        {"job_id": job["id"], "state": job["state"], "status_url": url}, status_code=202, headers={"Location": url}
    )


@router.get(
    "/jobs/{job_id}", response_model=JobStatus, name="job_status", responses={404: {"description": "unknown job"}}
)
def job_status(job_id: uuid.UUID, store: StoreDep) -> dict[str, Any]:
    """A job's state (queued, running, succeeded, failed), progress 0–1, final metrics and MLflow run id."""
    job = store.get_job(str(job_id))
    if job is None:
        raise HTTPException(404, f"job_id: no training job {job_id}")
    return {"job_id": job["id"], **{key: job[key] for key in JobStatus.model_fields if key != "job_id"}}
