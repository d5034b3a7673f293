"""Every workbench request (/ui, its static files aside) gets an audit row in the same log as the
API, with the route template and the signed-in key, durable before the answer leaves: as
api.middleware does for /v1, the answer waits for its row, and a row that cannot be written
withholds the answer (503)."""

from __future__ import annotations

import logging

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import AuditRecord
from api.logs import REQUEST_ID

log = logging.getLogger("resolver.api")
STATIC = "/ui/static/"


def endpoint_of(scope: Scope) -> str:
    """`METHOD /ui/route/{template}` of a request (plain Starlette routes leave no `route` in the
    scope): the workbench route whose pattern and method match, else `(no route)`. Never the raw path."""
    method, path = scope["method"], scope["path"]
    for route in scope["app"].router.routes:
        regex, methods = getattr(route, "path_regex", None), getattr(route, "methods", None) or ()
        template = getattr(route, "path", None) or ""
        if template.startswith("/ui") and regex is not None and regex.match(path) and method in methods:
            return f"{method} {template}"
    return f"{method if method.isalpha() else 'OTHER'} (no route)"


class UiAuditMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/ui" or path.startswith("/ui/")) or path.startswith(STATIC):
            await self.app(scope, receive, send)
            return
        record = AuditRecord()
        scope.setdefault("state", {})["audit"] = record
        writer = scope["app"].state.audit_writer
        withheld = False

        async def audited_send(message: Message) -> None:
            nonlocal withheld
            if withheld:
                return
            if message["type"] == "http.response.start":
                key = record.key
                client = scope.get("client")
                try:
                    await writer.record(writer.row(
                        key_id=key.key_id if key else None, department=key.department if key else None,
                        endpoint=record.endpoint or endpoint_of(scope),
                        query=record.query if record.query is not None else {},
                        returned_ids=record.returned_ids, status=int(message["status"]),
                        client=str(client[0]) if client else None, request_id=REQUEST_ID.get()))
                except Exception:  # noqa: BLE001 - any failure withholds the page
                    log.exception("audit row of a workbench page not recorded")
                    withheld = True
                    page = HTMLResponse("<!DOCTYPE html><meta charset='utf-8'><title>暂不可用</title>"
                                        "<p>审计日志无法写入，页面暂不显示。请稍后重试。</p>", status_code=503,
                                        headers={"Cache-Control": "no-store"})
                    await page(scope, receive, send)
                    return
            await send(message)

        await self.app(scope, receive, audited_send)
