"""The web workbench, `GET /ui/`: server-rendered pages in Chinese for inspectors and data
stewards, signed in with an API key (a session cookie), every page view and decision audited.
Its routes stay out of /openapi.json: they are pages, not the API."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api.ui import charts, pages, review, signin, worklist
from api.ui.audit import UiAuditMiddleware
from api.ui.web import HERE, page, redirect
from resolver.access.sessions import SessionStore


async def _to_home(request: object) -> object:
    return redirect("/ui/")


ROUTES = [
    Route("/ui", _to_home, methods=["GET"]),
    Route("/ui/", page(pages.home), methods=["GET"]),
    Route("/ui/login", signin.login_page, methods=["GET"]),
    Route("/ui/login", signin.login, methods=["POST"]),
    Route("/ui/logout", signin.logout, methods=["POST"]),
    Route("/ui/search", page(pages.search), methods=["GET"]),
    Route("/ui/entity/{domain}/{entity_id}", page(pages.entity), methods=["GET"]),
    Route("/ui/entity/{domain}/{entity_id}/cluster", page(pages.cluster), methods=["GET"]),
    Route("/ui/charts/cluster/{domain}/{entity_id}", page(charts.cluster_chart), methods=["GET"]),
    Route("/ui/charts/waterfall/{domain}", page(charts.waterfall_chart), methods=["GET"]),
    *worklist.ROUTES,
    *review.ROUTES,
]


def install(app: FastAPI) -> None:
    """Mount the pages and their static files on `app`; call before the outermost middleware is added."""
    app.state.ui_sessions = SessionStore()
    app.router.routes.extend(ROUTES)
    app.router.routes.append(Mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static"))
    app.add_middleware(UiAuditMiddleware)  # type: ignore[arg-type]
