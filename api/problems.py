"""Errors as application/problem+json (RFC 9457), from one exception → status table.

Every exception the engine raises on purpose maps to exactly one status here; anything
else is a 500 with no internals in the body (logged with its traceback). Every body names the
request's ID (`request_id`, api.logs), as its `X-Request-ID` header and its log lines do. The table is
tested entry by entry (tests/api/test_api_problems.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.logs import REQUEST_ID
from resolver.access.audit import AuditUnavailableError
from resolver.access.keys import AuthenticationError, PermissionDeniedError
from resolver.access.limits import RateLimitedError, retry_after_header
from resolver.errors import ConfigError, InputError, NotFoundError, ResolverError
from resolver.lookup.service import ModelUnavailableError

log = logging.getLogger("resolver.api")
PROBLEM_JSON = "application/problem+json"


class PayloadTooLargeError(ResolverError):
    """The request body is larger than the server accepts (HTTP 413)."""


# Most specific first: the first entry the exception is an instance of wins.
PROBLEMS: list[tuple[type[Exception], int, str]] = [
    (AuthenticationError, 401, "unauthenticated"),
    (PermissionDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not-found"),
    (PayloadTooLargeError, 413, "payload-too-large"),
    (InputError, 400, "bad-request"),
    (RequestValidationError, 422, "validation-error"),
    (RateLimitedError, 429, "rate-limited"),
    (ModelUnavailableError, 503, "model-unavailable"),
    (AuditUnavailableError, 503, "audit-unavailable"),
    (ConfigError, 500, "configuration-error"),
    (ResolverError, 500, "resolver-error"),
]


def status_for(exc: Exception) -> tuple[int, str]:
    for exc_type, status, slug in PROBLEMS:
        if isinstance(exc, exc_type):
            return status, slug
    return 500, "internal-error"


def problem(status: int, slug: str, detail: str, instance: str | None = None,
            headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": HTTPStatus(status).phrase,
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    request_id = REQUEST_ID.get()
    if request_id is not None:  # the same ID as the X-Request-ID header and the log lines
        body["request_id"] = request_id
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]}
              for e in exc.errors()[:20]]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    return f"{'.'.join(first['loc'])}: {first['msg']}", errors


def problem_for(exc: Exception) -> JSONResponse:
    """The problem+json answer for `exc`, from the table. No `instance`: the raw path may
    carry an identifier the caller sent, and the answer should not repeat it."""
    status, slug = status_for(exc)
    if isinstance(exc, RequestValidationError):
        detail, errors = _validation_detail(exc)
        return problem(status, slug, detail, errors=errors)
    if isinstance(exc, RateLimitedError):
        return problem(status, slug, str(exc), headers={"Retry-After": retry_after_header(exc.retry_after)})
    if status == 500:
        log.error("unhandled error", exc_info=exc)
        detail = "internal error; the operator's log has the details"
        if isinstance(exc, ResolverError):
            detail = str(exc).splitlines()[0][:300]
        return problem(status, slug, detail)
    return problem(status, slug, str(exc)[:500])


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    return problem_for(exc)


async def handle_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-")
    return problem(exc.status_code, slug, str(exc.detail), headers=exc.headers)


def document_problems(schema: dict[str, Any]) -> None:
    """In an OpenAPI document, describe every error answer as what it is: the Problem model
    under `application/problem+json` (FastAPI puts a response's model under application/json,
    where a generated client would look for it in vain)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in (operation.get("responses") or {}).items() if isinstance(operation, dict) else ():
                content = response.get("content") or {}
                if str(status)[:1] in "45" and PROBLEM_JSON in content:
                    plain = content.pop("application/json", None) or {}
                    content[PROBLEM_JSON] = {"schema": plain.get("schema") or {"$ref": "#/components/schemas/Problem"}}


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, handle_http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, handle_error)  # type: ignore[arg-type]
    app.add_exception_handler(ResolverError, handle_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, handle_error)
