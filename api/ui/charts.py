"""Splink's charts as documents of their own (resolver.workbench.charts), shown by the pages in a
sandboxed frame: their scripts are inline and vega compiles expressions with `new Function`,
which the pages' policy forbids; the frame's policy allows that and nothing else (no requests
anywhere, not even to this server)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from api.ui.pages import _domain
from api.ui.web import Caller, audit_of
from resolver.access.masking import pii_scope
from resolver.errors import InputError, NotFoundError
from resolver.linking.model import published_model
from resolver.lookup import queries
from resolver.lookup.entity import check_master_id
from resolver.workbench import charts

CHART_POLICY = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
                "img-src data: blob:; font-src data:; connect-src 'none'; frame-ancestors 'self'; "
                "base-uri 'none'; form-action 'none'")
CHART_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN",
                 "Content-Security-Policy": CHART_POLICY}


def _members(request: Request, domain: str, entity_id: str) -> list[dict]:  # type: ignore[type-arg]
    service = request.app.state.service
    check_master_id(domain, entity_id, service.schemas.get(domain))
    doc = queries.entity_doc(service.view(domain).docs, domain, entity_id)
    if doc is None:
        raise NotFoundError(f"no {domain} entity {entity_id}")
    return list(doc["members"])


def _frequencies(request: Request, domain: str) -> charts.Frequencies:
    """Term frequencies of the whole store, from the server's blocking index of the domain."""
    _, index = request.app.state.service.model(domain)
    return index.frequencies


async def cluster_chart(request: Request, caller: Caller) -> Response:
    domain = _domain(request, caller, request.path_params["domain"])
    entity_id = request.path_params["entity_id"]
    audit = audit_of(request)
    audit.query = {"domain": domain, "entity_id": entity_id, "chart": "cluster_studio"}
    members = _members(request, domain, entity_id)
    if len(members) < 2:
        return HTMLResponse("<!DOCTYPE html><meta charset='utf-8'><p>该主体只有一条来源记录，没有可画的关联。</p>",
                            headers=CHART_HEADERS)
    store = request.app.state.service.store
    model = await run_in_threadpool(published_model, store, domain)
    html = await run_in_threadpool(charts.cluster_studio, domain, entity_id, members, model,
                                   _frequencies(request, domain), caller.can(pii_scope(domain)))
    audit.returned_ids = [entity_id]
    return HTMLResponse(html, headers=CHART_HEADERS)


def record_row(request: Request, domain: str, unique_id: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    """(master ID, the source record as its entity's serving document holds it)."""
    service = request.app.state.service
    if not unique_id or len(unique_id) > 200:
        raise InputError("not a source record ID")
    with service.store.reader() as reader:
        entity_id = reader.entities_of([unique_id]).get(unique_id)
    if entity_id is None:
        raise NotFoundError("no such source record in an entity")
    for row in _members(request, domain, entity_id):
        if row["unique_id"] == unique_id:
            return entity_id, row
    raise NotFoundError("no such source record in an entity")


async def waterfall_chart(request: Request, caller: Caller) -> Response:
    domain = _domain(request, caller, request.path_params["domain"])
    left_id, right_id = request.query_params.get("l", ""), request.query_params.get("r", "")
    audit = audit_of(request)
    audit.query = {"domain": domain, "l": left_id, "r": right_id, "chart": "waterfall"}
    left_entity, left = record_row(request, domain, left_id)
    right_entity, right = record_row(request, domain, right_id)
    audit.returned_ids = sorted({left_entity, right_entity})
    model = await run_in_threadpool(published_model, request.app.state.service.store, domain)
    html = await run_in_threadpool(charts.waterfall, domain, left, right, model, _frequencies(request, domain),
                                   caller.can(pii_scope(domain)))
    return HTMLResponse(html, headers=CHART_HEADERS)
