"""Liveness, readiness, TF-Serving-style model status, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from brightpath import registry
from brightpath.errors import ModelLoadError
from serving.dependencies import MetricsDep, ModelsDep, StoreDep
from serving.model_manager import MODEL_NAMES, LoadedModel, ModelManager
from serving.schemas import Health, ModelStatus, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> dict[str, str]:
    """The process is up and answering (the container's HEALTHCHECK)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "degraded"}})
def readyz(models: ModelsDep, store: StoreDep) -> JSONResponse:
    """``ready`` when every model is loaded and the database answers; otherwise ``degraded`` (503) with the
    reasons. A degraded service still answers: schedules then come from the rule-based fallback."""
    reasons = models.problems()
    try:
        store.ping()
    except SQLAlchemyError as exc:
        reasons.append(f"database: {type(exc).__name__}: {exc}")
    body = {
        "status": "degraded" if reasons else "ready",
        "reasons": reasons,
        "models": {name: _summary(models.get(name)) for name in MODEL_NAMES},
    }
    return JSONResponse(body, status_code=503 if reasons else 200)


@router.get("/v1/models/{name}", response_model=ModelStatus, responses={404: {"description": "unknown model"}})
def model_status(name: str, models: ModelsDep) -> dict[str, Any]:
    """TensorFlow Serving's ``GET /v1/models/<name>``: the version served and since when (plus a failed newer one)."""
    served = _served(name, models)
    entries = [_entry(served)]
    failure = models.last_failure(name)
    if failure is not None:
        entries.insert(
            0,
            {
                "version": str(failure.version) if failure.version is not None else "unknown",
                "state": "END",
                "status": {"error_code": "UNAVAILABLE", "error_message": failure.error},
            },
        )
    return {
        "name": name,
        "model_version_status": entries,
        "champion_version": _champion(models, name),
        "pinned_version": models.pinned[name],
        "source": served.generator.source if served.generator is not None else None,
    }


@router.get(
    "/v1/models/{name}/versions/{version}",
    response_model=ModelStatus,
    responses={404: {"description": "unknown model or version"}},
)
def model_version_status(name: str, version: int, models: ModelsDep) -> dict[str, Any]:
    """One version: ``AVAILABLE`` when it is the one served, ``END`` when published but not served."""
    served = _served(name, models)
    if version < 1 or version not in registry.list_versions(models.model_dir, name):
        raise HTTPException(404, f"version: model {name!r} has no version {version}")
    entry = (
        _entry(served)
        if served.version == version and served.available
        else {"version": str(version), "state": "END", "status": {"error_code": "OK", "error_message": ""}}
    )
    return {
        "name": name,
        "model_version_status": [entry],
        "champion_version": _champion(models, name),
        "pinned_version": models.pinned[name],
    }


@router.get("/metrics", response_class=Response)
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: requests and latencies per route, fallback schedules, model loads, re-queued jobs."""
    return Response(metrics.render(), media_type="text/plain; version=0.0.4")


def _served(name: str, models: ModelManager) -> LoadedModel:
    if name not in MODEL_NAMES:
        raise HTTPException(404, f"name: no model {name!r}; this service serves {', '.join(MODEL_NAMES)}")
    return models.get(name)


def _champion(models: ModelManager, name: str) -> int | None:
    try:
        return registry.champion_version(models.model_dir, name)
    except ModelLoadError:  # a broken champion link is reported by the model's status, not here
        return None


def _entry(served: LoadedModel) -> dict[str, Any]:
    status = (
        {"error_code": "OK", "error_message": ""}
        if served.available
        else {"error_code": "UNAVAILABLE", "error_message": served.error}
    )
    return {
        "version": str(served.version) if served.version is not None else "unversioned",
        "state": "AVAILABLE" if served.available else "UNAVAILABLE",
        "status": status,
        "model_version": served.model_version,
        "loaded_since": served.loaded_at,
    }


def _summary(served: LoadedModel) -> dict[str, Any]:
    return {
        "version": served.version,
        "model_version": served.model_version,
        "available": served.available,
        "loaded_since": served.loaded_at.isoformat(),
        "error": served.error,
    }
