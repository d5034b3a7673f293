"""Sign-in with an API key, sign-out.

The key is sent once, in the sign-in form, and becomes a session (resolver.access.sessions):
a new random session ID every time, whatever cookie the browser already had. The sign-in form
itself is protected against login CSRF by a double-submit token (a short-lived cookie of its
own and the same value in the form): a page elsewhere cannot sign a victim's browser in with
the attacker's key.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.ui.web import (
    COOKIE,
    CsrfError,
    SignInRequired,
    audit_of,
    checked_form,
    error_page,
    read_form,
    redirect,
    render,
    sessions,
    signed_in,
)
from resolver.access.keys import AuthenticationError, authenticate

LOGIN_COOKIE = "resolver_ui_login"


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a workbench path of this server, else the start page."""
    if target and target.startswith("/ui/") and not target.startswith("/ui//") and "\\" not in target \
            and not any(c in target for c in "\r\n"):
        return target
    return "/ui/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def login_page(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", next=safe_next(request.query_params.get("next")), login_token=token,
                      error=None)
    response.set_cookie(LOGIN_COOKIE, token, max_age=900, path="/ui/login", httponly=True, samesite="strict",
                        secure=_secure(request))
    return response


async def login(request: Request) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    if not expected or not hmac.compare_digest(expected.encode(), form.get("login_token", "").encode()):
        return error_page(request, CsrfError("登录表单已失效，请重新打开登录页"), None)
    presented = form.get("api_key", "").strip()
    try:
        key = await run_in_threadpool(authenticate, request.app.state.keys.access, presented)
    except AuthenticationError:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", status=401, next=target, login_token=token,
                          error="API 密钥无效或已吊销")
        response.set_cookie(LOGIN_COOKIE, token, max_age=900, path="/ui/login", httponly=True,
                            samesite="strict", secure=_secure(request))
        return response
    audit_of(request).key = key
    store = sessions(request)
    store.end(request.cookies.get(COOKIE))  # whatever the browser had is never taken over
    session_id, _ = store.create(key.key_id)
    signed = redirect(target)
    signed.set_cookie(COOKIE, session_id, path="/ui", httponly=True,  # a browser session cookie
                        samesite="strict", secure=_secure(request))
    signed.delete_cookie(LOGIN_COOKIE, path="/ui/login")
    return signed


async def logout(request: Request) -> Response:
    try:
        caller = await signed_in(request)
    except SignInRequired:
        return redirect("/ui/login")
    try:
        await checked_form(request, caller)
    except CsrfError as exc:
        return error_page(request, exc, caller)
    sessions(request).end(caller.session_id)
    response = redirect("/ui/login")
    response.delete_cookie(COOKIE, path="/ui")
    return response
