"""ASGI middleware for /v1: a body size limit, JSON bodies checked before the app reads them,
`Cache-Control: no-store`, and the audit row made durable before any answer leaves.

When the app starts its response (status known), the row built from the AuditRecord the
routers filled goes to the AuditWriter, and the response waits until the row is committed
(resolver.access.audit: group commit). If the row cannot be made durable, the caller gets
503 instead of the answer: no look-up goes unrecorded. Nothing a caller sends can switch
this off.

Bodies are read here whole (they are capped at 64 KiB; a match body, which may hold a batch of
queries, at 64 KiB + 2 KiB per query the batch may hold) and parsed once with orjson, which
refuses what JSON cannot carry as text (a lone surrogate such as `"\\ud800"`, in a value or a
field name): such a body is a 422 problem here, with its audit row, instead of a 500 or a
dropped connection deeper in. The app then gets the same bytes.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import AuditRecord, caller
from api.logs import REQUEST_ID
from api.problems import PayloadTooLargeError, problem_for
from resolver.access.audit import AuditUnavailableError, AuditWriter

log = logging.getLogger("resolver.api")
MAX_BODY_BYTES = 64 * 1024
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}
NO_STORE = (b"cache-control", b"no-store")


class _TooLarge(Exception):
    """The body went over the limit while the app was reading it."""


def _templates(app: Any) -> list[tuple[re.Pattern[str], str, set[str]]]:
    """(regex, template, methods) of every documented route, in routing order; built once per app."""
    routes = getattr(app.state, "route_templates", None)
    if routes is None:
        routes = app.state.route_templates = [
            (compile_path(path)[0], path, {m.upper() for m in ops}) for path, ops in app.openapi()["paths"].items()]
    return routes


def endpoint_of(scope: Scope) -> str:
    """`METHOD /route/{template}` of a request: the route that answered it, or the documented
    route its path matches (same method first); never the raw path (it carries identifiers,
    and could carry CR/LF)."""
    method = scope["method"] if scope["method"] in _METHODS else "OTHER"
    route = scope.get("route")
    if route is not None:
        return f"{method} {route.path}"
    matching = [(template, methods) for regex, template, methods in _templates(scope["app"])
                if regex.match(scope["path"])]
    for template, methods in matching:
        if method in methods:
            return f"{method} {template}"
    return f"{method} {matching[0][0] if matching else '(no route)'}"


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


class GuardMiddleware:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES, max_match_body: int | None = None):
        self.app = app
        self.max_body = max_body
        self.max_match_body = max(max_body, max_match_body or 0)  # a match body holds up to N queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        writer: AuditWriter = state.audit_writer
        record = AuditRecord()
        scope.setdefault("state", {})["audit"] = record
        started = withheld = False

        async def finish(status: int) -> str | None:
            """Make the audit row durable; the reason it could not be, or None."""
            key = record.key
            try:
                query = record.query if record.query is not None else {
                    "path": scope["path"], "query": scope.get("query_string", b"").decode("latin-1")}
                # one row per query of a batch (each with its own status when the call succeeded)
                rows = record.rows if record.rows and status < 400 else [(query, record.returned_ids, status)]
                made = [writer.row(key_id=key.key_id if key else None, department=key.department if key else None,
                                   endpoint=record.endpoint or endpoint_of(scope), query=q, returned_ids=ids,
                                   status=s, client=_client(scope), request_id=REQUEST_ID.get()) for q, ids, s in rows]
                # one row (every call but a batch) awaited as it is: a gather's task costs the
                # request event-loop turns of its own
                await (writer.record(made[0]) if len(made) == 1 else asyncio.gather(*map(writer.record, made)))
                return None
            except AuditUnavailableError as exc:
                log.error("audit row not recorded: %s", exc)
                return str(exc)
            except Exception:  # noqa: BLE001 - any failure withholds the answer
                log.exception("audit row not recorded")
                return "the audit log cannot be written; answer withheld"

        async def audited_send(message: Message) -> None:
            nonlocal started, withheld
            if withheld:
                return
            if message["type"] == "http.response.start":
                started = True
                reason = await finish(int(message["status"]))
                if reason is not None:
                    withheld = True
                    await _send_problem(AuditUnavailableError(reason), send)
                    return
                message = {**message, "headers": [*message.get("headers", ()), NO_STORE]}
            await send(message)

        async def reject(exc: Exception) -> None:
            response = problem_for(exc)
            await response(scope, receive, audited_send)

        try:
            if scope["method"] in _BODY_METHODS:
                limit = self.max_match_body if scope["path"].endswith("/match") else self.max_body
                try:
                    body = await self._read_body(scope, receive, limit)
                except _TooLarge:
                    await reject(PayloadTooLargeError(f"request body over {limit} bytes"))
                    return
                if body:
                    try:
                        orjson.loads(body)
                    except orjson.JSONDecodeError as exc:
                        await self._reject_body(scope, state, record, exc, reject)
                        return
                receive = _replay(body, receive)
            await self.app(scope, receive, audited_send)
        except Exception:
            if not started:
                await finish(500)  # the error handler outside us answers 500; the row says so
            raise

    async def _read_body(self, scope: Scope, receive: Receive, limit: int) -> bytes:
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise _TooLarge
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _reject_body(scope: Scope, state: Any, record: AuditRecord, exc: orjson.JSONDecodeError,
                           reject: Any) -> None:
        """An unreadable JSON body: 401 if the key is not valid, else 422 (rate-limited like any call),
        with the caller named in the audit row."""
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"x-api-key")
        record.endpoint = endpoint_of(scope)
        try:
            record.key = await caller(state.keys, raw.decode("latin-1") if raw is not None else None)
            state.limits.take(record.key, match=record.endpoint.endswith("/match"))
        except Exception as auth_error:  # noqa: BLE001 - AuthenticationError, RateLimitedError: their own answers
            await reject(auth_error)
            return
        reason = str(exc).split(":")[0][:120]  # orjson's reason, without the echoed text
        await reject(RequestValidationError([{"loc": ("body",), "type": "json_invalid",
                                              "msg": f"JSON decode error: {reason} (at byte {exc.pos})"}]))


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body already read, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_problem(exc: Exception, send: Send) -> None:
    response = problem_for(exc)
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": [*response.raw_headers, NO_STORE]})
    await send({"type": "http.response.body", "body": response.body})
