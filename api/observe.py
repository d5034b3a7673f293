"""The outermost ASGI middleware: a request ID per request, its count and latency in the app's
metrics, and (with `--access-log`) one log line per request.

The ID is the caller's `X-Request-ID` when sane (api.logs.request_id_from), else a new one; it
goes back as the `X-Request-ID` response header on every answer, into problem+json bodies and
into every log line written while the request is handled (api.logs.REQUEST_ID).

Requests are counted per method, route template and status: `/v1/{domain}/{entity_id}`,
never the raw path (identifiers would leak into the metrics and explode their label set).
A path no route matches is counted as `(no route)`.

An exception no handler answered is answered here (problem+json, 500, with the request ID
header), so that answer carries the ID too; api.problems logs it with its traceback.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import ACCESS_LOGGER, REQUEST_ID, request_id_from
from api.problems import problem_for
from resolver.metrics import Counter, Histogram

access_log = logging.getLogger(ACCESS_LOGGER)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
NO_ROUTE = "(no route)"
LABELS = ("method", "route", "status")


def request_metrics() -> tuple[Counter, Histogram]:
    return (Counter("resolver_http_requests_total", "HTTP requests answered, by method, route template "
                    "and status", LABELS),
            Histogram("resolver_http_request_duration_seconds", "Time from a request's arrival to the end "
                      "of its answer, by method, route template and status", LABELS))


def route_of(scope: Scope) -> str:
    """The template of the route that answered, or of the first route whose path matches (for a
    request answered before routing, e.g. a 413), or NO_ROUTE."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    path = scope["path"]
    for candidate in getattr(scope["app"].router, "routes", ()):
        regex = getattr(candidate, "path_regex", None)
        if regex is not None and regex.match(path):
            return str(candidate.path)
    return NO_ROUTE


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram):
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value
                break
        request_id = request_id_from(given)
        # Not reset afterwards: each request runs in a task of its own (its own context copy).
        REQUEST_ID.set(request_id)
        id_header = (b"x-request-id", request_id.encode("ascii"))
        status = 500
        answered = False

        async def observed_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception as exc:
            if answered:
                raise
            await problem_for(exc)(scope, receive, observed_send)  # logs the traceback
        finally:
            self._count(scope, status, time.perf_counter() - started)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = route_of(scope)
        labels = (method, route, str(status))
        self.requests.inc(labels)
        self.latency.observe(seconds, labels)
        if access_log.isEnabledFor(logging.INFO):
            key = _key_id(scope)
            access_log.info("%s %s %d %.2f ms", method, route, status, seconds * 1000, extra={
                "method": method, "route": route, "status": status,
                "duration_ms": round(seconds * 1000, 3), "key_id": key})


def _key_id(scope: Scope) -> str | None:
    """The calling key's public ID, when the audit middleware identified one."""
    record: Any = scope.get("state", {}).get("audit")
    key = getattr(record, "key", None)
    return getattr(key, "key_id", None)
