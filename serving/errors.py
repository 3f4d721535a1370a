"""Errors as clients see them, and the request plumbing every route shares.

* Invalid input, whether the schema or the library finds it, is a ``422`` whose ``detail`` entries
  carry ``loc`` (FastAPI's path, e.g. ``["body", "preferences", "q3"]``), ``field`` (the same as a
  dotted path, ``ValidationError.field`` style: ``preferences.q3``), ``msg`` and ``type``.
* Unknown ids are ``404``; feedback that contradicts feedback already recorded is ``409``;
  a model the service cannot serve is ``503``.
* Anything else is a bug: the middleware logs it with its traceback and answers ``500`` with the
  request id only. Client input never gets there (the fuzz tests check it).
* ``RequestContextMiddleware`` (pure ASGI, cheap): a request id per request (the client's
  ``X-Request-ID`` when it is a short token, else a new one; echoed in the response), the body
  size limit (``413``), the request counters and latency histogram, and an audit row for audited
  endpoints that failed before their handler wrote one.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from brightpath.errors import ValidationError
from brightpath.store import FeedbackConflictError, UnknownScheduleError

log = logging.getLogger("serving")

REQUEST_ID_HEADER = "x-request-id"
SLOW_REQUEST_S = 1.0
"""Requests slower than this are logged with their request id."""
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_INDEX_RE = re.compile(r"\[(\d+)\]")

AUDITED_ENDPOINTS: dict[str, str] = {
    "/api/ml/generate-schedule/": "generate-schedule",
    "/api/ml/evaluate-schedule/": "evaluate-schedule",
}
"""Path → audit endpoint name: every request to these gets an audit row (the seed's audit logging)."""


class ServiceUnavailable(Exception):
    """A model the request needs cannot be served right now (answered 503 with the reason)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@contextlib.contextmanager
def fields_under(prefix: str) -> Iterator[None]:
    """Re-raise a library ``ValidationError`` with its field placed under ``prefix`` of the request body."""
    try:
        yield
    except ValidationError as exc:
        raise ValidationError(f"{prefix}.{exc.field}", exc.value, exc.expected) from None


def field_to_loc(field: str) -> list[str | int]:
    """``"days[2].blocks[0].start_time"`` → ``["body", "days", 2, "blocks", 0, "start_time"]``."""
    loc: list[str | int] = ["body"]
    for part in field.split("."):
        name = _INDEX_RE.split(part)
        loc.extend(int(piece) if i % 2 else piece for i, piece in enumerate(name) if piece != "" or i % 2)
    return loc


def loc_to_field(loc: tuple | list) -> str:
    """FastAPI's ``loc`` → a dotted field path (``body`` dropped, list indexes as ``[i]``)."""
    field = ""
    for part in loc[1:] if loc and loc[0] in ("body", "path", "query") else loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return field


def request_id(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id", "-")


def _error(status: int, detail: Any, request: Request, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "request_id": request_id(request)}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers described in the module docstring."""

    @app.exception_handler(ValidationError)
    async def _library_validation(request: Request, exc: ValidationError) -> JSONResponse:
        value = exc.value if isinstance(exc.value, (str, int, float, bool, type(None))) else type(exc.value).__name__
        return _error(
            422,
            [
                {
                    "loc": field_to_loc(exc.field),
                    "field": exc.field,
                    "msg": str(exc),
                    "type": "value_error",
                    "input": value,
                }
            ],
            request,
        )

    @app.exception_handler(RequestValidationError)
    async def _schema_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = []
        for error in exc.errors():
            loc = list(error.get("loc", ()))
            detail.append(
                {
                    "loc": loc,
                    "field": loc_to_field(loc),
                    "msg": str(error.get("msg", "")),
                    "type": str(error.get("type", "")),
                }
            )
        return _error(422, detail, request)

    @app.exception_handler(UnknownScheduleError)
    async def _unknown_schedule(request: Request, exc: UnknownScheduleError) -> JSONResponse:
        return _error(404, str(exc), request)

    @app.exception_handler(FeedbackConflictError)
    async def _feedback_conflict(request: Request, exc: FeedbackConflictError) -> JSONResponse:
        return _error(409, str(exc), request)

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return _error(503, exc.reason, request, headers={"Retry-After": "30"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.detail, request, headers=getattr(exc, "headers", None))


class BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Request id, body size limit, metrics and the audit row of failed audited requests (module docstring).

    Args:
        app: the ASGI app to wrap.
        max_body_bytes: larger bodies are answered 413 without being read further.
    """

    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = given if _REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state.update(request_id=rid, started=started, audited=False)
        status_holder = {"status": 500, "started": False}

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), rid.encode())]
            await send(message)

        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._too_large(send_with_id, rid)
        else:
            received = 0

            async def limited_receive():
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        raise BodyTooLarge
                return message

            try:
                await self.app(scope, limited_receive, send_with_id)
            except BodyTooLarge:
                if not status_holder["started"]:
                    await self._too_large(send_with_id, rid)
            except Exception:
                log.exception("request %s %s failed (request id %s)", scope.get("method"), scope.get("path"), rid)
                status_holder["status"] = 500
                if not status_holder["started"]:
                    response = JSONResponse(
                        {"detail": "internal error; quote the request id when reporting it", "request_id": rid},
                        status_code=500,
                    )
                    await response(scope, _no_receive, send_with_id)
        await self._account(scope, state, status_holder["status"], time.perf_counter() - started)

    async def _too_large(self, send, rid: str) -> None:
        response = JSONResponse(
            {"detail": f"request body larger than {self.max_body_bytes} bytes", "request_id": rid}, status_code=413
        )
        await response({"type": "http"}, _no_receive, send)

    async def _account(self, scope, state: dict, status: int, seconds: float) -> None:
        if seconds > SLOW_REQUEST_S:
            log.warning(
                "slow request %s %s: %.2f s (request id %s)",
                scope.get("method"),
                scope.get("path"),
                seconds,
                state["request_id"],
            )
        app_state = scope["app"].state if "app" in scope else None
        metrics = getattr(app_state, "metrics", None)
        route = scope.get("route")
        endpoint = getattr(route, "path", None) or "unmatched"
        if metrics is not None:
            metrics.observe_request(endpoint, status, seconds)
        audit_name = AUDITED_ENDPOINTS.get(scope.get("path", ""))
        store = getattr(app_state, "store", None)
        if audit_name is None or state.get("audited") or store is None:
            return
        row = {
            "request_id": state["request_id"],
            "endpoint": audit_name,
            "latency_ms": seconds * 1000.0,
            "status_code": status,
            "model_version": state.get("model_version"),
            "source": state.get("source"),
            "input_hash": state.get("input_hash"),
        }
        try:
            await anyio.to_thread.run_sync(store.add_audit, row)
        except Exception:  # the audit must not turn an answered request into a crash
            log.exception("could not write the audit row of request %s", state["request_id"])


async def _no_receive():
    return {"type": "http.disconnect"}
