"""ASGI middleware: a body size limit, and the audit row queued before any /v1 answer leaves.

The audit row is handed to the AuditWriter when the response starts (status known), from
the AuditRecord the routers filled; the writer commits it within ~50 ms (see
resolver.access.audit for the durability window). If the writer cannot take it (dead,
failing, backlogged), the caller gets 503 instead of the answer: no look-up goes
unrecorded. Nothing a caller sends can switch this off.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import AuditRecord
from api.problems import PROBLEM_JSON
from resolver.access.audit import AuditUnavailableError, AuditWriter, audit_row

log = logging.getLogger("resolver.api")
MAX_BODY_BYTES = 64 * 1024


class _TooLarge(HTTPException):
    """Raised from receive(); FastAPI passes HTTPExceptions through body parsing untouched."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body over {limit} bytes")


def _problem_messages(status: int, title: str, detail: str) -> tuple[Message, Message]:
    body = json.dumps({"type": f"/problems/{title.lower().replace(' ', '-')}", "title": title,
                       "status": status, "detail": detail}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


class GuardMiddleware:
    def __init__(self, app: ASGIApp, writer_getter: Any, max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.writer_getter = writer_getter
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        audited = scope["path"].startswith("/v1")
        record = AuditRecord(endpoint=f"{scope['method']} {scope['path']}",
                             query={"path": scope["path"], "query": scope.get("query_string", b"").decode("latin-1")})
        scope.setdefault("state", {})["audit"] = record
        started = False

        async def finish(status: int) -> str | None:
            """Queue the audit row; the reason it could not be, or None."""
            if not audited:
                return None
            key = record.key
            try:
                writer: AuditWriter = self.writer_getter()
                writer.submit(audit_row(
                    key_id=key.key_id if key else None, department=key.department if key else None,
                    endpoint=record.endpoint, query=record.query, returned_ids=record.returned_ids,
                    status=status))
                return None
            except AuditUnavailableError as exc:
                log.error("audit row not recorded: %s", exc)
                return str(exc)
            except Exception:  # noqa: BLE001 - any failure withholds the answer
                log.exception("audit row not recorded")
                return "the audit log cannot be written"

        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            start, body = _problem_messages(413, "Payload Too Large",
                                            f"request body over {self.max_body} bytes")
            await finish(413)
            await send(start)
            await send(body)
            return

        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge(self.max_body)
            return message

        withheld = False

        async def audited_send(message: Message) -> None:
            nonlocal started, withheld
            if withheld:
                return
            if message["type"] == "http.response.start":
                started = True
                reason = await finish(int(message["status"]))
                if reason is not None:
                    withheld = True
                    start, body = _problem_messages(503, "Service Unavailable", f"{reason}; answer withheld")
                    await send(start)
                    await send(body)
                    return
            await send(message)

        try:
            await self.app(scope, limited_receive, audited_send)
        except _TooLarge:
            if started:
                raise
            start, body = _problem_messages(413, "Payload Too Large", f"request body over {self.max_body} bytes")
            await finish(413)
            await send(start)
            await send(body)
        except Exception:
            if not started:
                await finish(500)  # the error handler outside us answers 500; the row says so
            raise
