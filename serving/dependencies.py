"""What handlers need, created once in the app's lifespan (``serving.app``) and handed out here.

Tests replace any of them with ``app.dependency_overrides[get_store] = ...``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from brightpath.store import Store
from serving.metrics import Metrics
from serving.model_manager import ModelManager
from serving.queue import JobQueue
from serving.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_models(request: Request) -> ModelManager:
    return request.app.state.models


def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


_bearer = HTTPBearer(auto_error=False, description="BRIGHTPATH_API_TOKEN of the server")


def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> None:
    """The training API's guard: 401 without a bearer token, 403 with a wrong one (or none configured)."""
    if credentials is None:
        raise HTTPException(
            401, "a bearer token is required (Authorization: Bearer <token>)", headers={"WWW-Authenticate": "Bearer"}
        )
    if settings.api_token is None:
        raise HTTPException(403, "the training API is disabled on this server (BRIGHTPATH_API_TOKEN is not set)")
    if not hmac.compare_digest(credentials.credentials.encode(), settings.api_token.encode()):
        raise HTTPException(403, "the bearer token is not valid")


StoreDep = Annotated[Store, Depends(get_store)]
ModelsDep = Annotated[ModelManager, Depends(get_models)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
