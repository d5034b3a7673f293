"""/openapi.json, /docs (Swagger UI) and /redoc, from assets shipped in the wheel (api/static).

No CDN: a government network is often offline, and a page that loads scripts from elsewhere
runs that elsewhere's code with the caller's key. The assets are swagger-ui-dist 5.35.0
(Apache-2.0) and redoc 2.5.4 (MIT), vendored unchanged with their licences.

Who sees them: with `resolver serve --docs`, anyone who reaches the port (a test or internal
network). Without it, /docs and /redoc do not exist and /openapi.json needs a valid API key
(any scope): the schema names every route and field, which an anonymous caller need not know.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from api.deps import caller
from api.problems import problem_for

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = "/docs-assets"


def install(app: FastAPI, open_docs: bool) -> None:
    async def openapi(request: Request) -> Response:
        if not open_docs:
            try:
                await caller(request.app.state.keys, request.headers.get("x-api-key"))
            except Exception as exc:  # noqa: BLE001 - AuthenticationError: its own problem answer
                return problem_for(exc)
        return JSONResponse(app.openapi())

    app.add_route("/openapi.json", openapi, include_in_schema=False)
    if not open_docs:
        return
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")

    async def swagger(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="resolver API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url="")

    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="resolver API",
                              redoc_js_url=f"{ASSETS}/redoc.standalone.js", redoc_favicon_url="",
                              with_google_fonts=False)

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
