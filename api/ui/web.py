"""What every workbench page shares: templates, the signed-in caller, forms with their CSRF
token, security headers and errors as Chinese pages.

A page handler is wrapped by `page`: it gets the request, returns a Response, and raises
what the engine raises; `page` turns a missing or ended session into a redirect to the
sign-in page, and any other error into an HTML page with the status the API would give
(api.problems.status_for), so the two never disagree.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.deps import AuditRecord
from api.problems import status_for
from api.ui import labels
from resolver.access.keys import ApiKey, AuthenticationError, PermissionDeniedError, require_scope
from resolver.access.limits import RateLimitedError, retry_after_header
from resolver.access.sessions import Session, SessionStore, csrf_ok, key_by_id
from resolver.errors import InputError, ResolverError

log = logging.getLogger("resolver.api")
HERE = Path(__file__).resolve().parent
COOKIE = "resolver_ui"
MAX_FORM_BYTES = 64 * 1024

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                        trim_blocks=True, lstrip_blocks=True)

# Pages run no inline script and load nothing from elsewhere; charts are separate documents
# (api.ui.charts) with their own policy, shown in sandboxed frames.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
                    "Content-Security-Policy": PAGE_POLICY}


class SignInRequired(Exception):
    """No session, an expired one, or its key was revoked: back to the sign-in page."""


class CsrfError(ResolverError):
    """A form without the session's CSRF token (HTTP 403)."""


ERROR_TITLES = {400: "请求有误", 401: "未登录", 403: "无权访问", 404: "未找到", 413: "内容过大",
                422: "请求有误", 429: "请求过于频繁", 500: "服务器错误", 503: "暂不可用"}


@dataclass
class Caller:
    """The signed-in user of a page: the key as the access store holds it now, the session."""

    key: ApiKey
    session: Session
    session_id: str

    def require(self, scope: str) -> None:
        require_scope(self.key, scope)

    def can(self, scope: str) -> bool:
        return self.key.allows(scope)


def audit_of(request: Request) -> AuditRecord:
    """The audit record api.ui.audit writes for this request (a fresh one outside it)."""
    state = request.scope.setdefault("state", {})
    record: AuditRecord | None = state.get("audit")
    if record is None:
        record = state["audit"] = AuditRecord()
    return record


def sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.ui_sessions
    return store


async def signed_in(request: Request) -> Caller:
    """The caller of this request, or SignInRequired. The key is read from the access store
    for every page (not from the 5 s key cache), so a revoked key ends the session here."""
    session_id = request.cookies.get(COOKIE)
    store = sessions(request)
    session = store.get(session_id)
    if session is None or session_id is None:
        raise SignInRequired
    try:
        key = await run_in_threadpool(key_by_id, request.app.state.keys.access, session.key_id)
    except AuthenticationError:
        store.end_key(session.key_id)
        raise SignInRequired from None
    audit_of(request).key = key
    return Caller(key, session, session_id)


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (at most MAX_FORM_BYTES), last value per name."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InputError("表单内容过大")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def checked_form(request: Request, caller: Caller) -> dict[str, str]:
    """The form of a POST from a page, refused (CsrfError) unless it carries the session's token."""
    form = await read_form(request)
    if not csrf_ok(caller.session, form.get("csrf")):
        raise CsrfError("表单已失效或来源不明（CSRF 校验未通过），请刷新页面后重试")
    return form


def render(request: Request, name: str, status: int = 200, caller: Caller | None = None,
           **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(request=request, caller=caller, labels=labels,
                                               csrf=caller.session.csrf if caller else "", **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = redirect(f"/ui/login?next={quote(target, safe='')}" if request.method == "GET" else "/ui/login")
    response.delete_cookie(COOKIE, path="/ui")
    return response


def error_page(request: Request, exc: Exception, caller: Caller | None) -> HTMLResponse:
    if isinstance(exc, CsrfError):
        status = 403
    else:
        status, _ = status_for(exc)
    headers = {"Retry-After": retry_after_header(exc.retry_after)} if isinstance(exc, RateLimitedError) else {}
    if status == 500:
        log.error("workbench page failed", exc_info=exc)
        detail = "内部错误，请联系管理员（详情见服务器日志）"
    elif isinstance(exc, PermissionDeniedError):
        detail = "当前密钥没有查看此页面的权限。"
    else:
        detail = str(exc)[:300]
    page = render(request, "error.html", status=status, caller=caller,
                  title=ERROR_TITLES.get(status, "错误"), code=status, detail=detail)
    page.headers.update(headers)
    return page


Handler = Callable[[Request, Caller], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page for signed-in users: the caller is resolved first; errors become pages."""
    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            caller = await signed_in(request)
        except SignInRequired:
            return sign_in_redirect(request)
        try:
            # the API's per-key limits: a page must not be a faster way to try guessed IDs than
            # GET /v1/{domain}?id= (docs/security.md); a chart costs as much as a match
            request.app.state.limits.take(caller.key, match=request.url.path.startswith("/ui/charts/"))
            return await handler(request, caller)
        except (ResolverError, PermissionDeniedError) as exc:
            return error_page(request, exc, caller)
    return run
