"""The start page, search and the entity page (golden record, members, conflicts, history, the
successor of a merged master ID), and the entity's cluster view.

What a page shows comes from the same engine calls as the API's answers
(LookupService.entity / search), masked for the caller's scopes by the same functions."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.ui.web import Caller, audit_of, redirect, render
from resolver.access.masking import pii_scope
from resolver.errors import InputError, NotFoundError
from resolver.lookup.search import classify_identifier
from resolver.standardize import ids


def readable_domains(request: Request, caller: Caller) -> list[str]:
    return [d for d in request.app.state.domains if caller.can(f"{d}:read")]


def _domain(request: Request, caller: Caller, given: str | None) -> str:
    """The domain asked for, or the first the caller may read; PermissionDenied for another."""
    domains = readable_domains(request, caller)
    domain = given or (domains[0] if domains else request.app.state.domains[0])
    if domain not in request.app.state.domains:
        raise NotFoundError("未知的领域")
    caller.require(f"{domain}:read")
    return domain


async def home(request: Request, caller: Caller) -> Response:
    return render(request, "home.html", caller=caller, domains=readable_domains(request, caller),
                  )


def _looks_like_id(text: str) -> bool:
    code = ids.compact(text)
    return bool(code) and code.isascii() and code.isalnum() and len(code) <= 20


async def search(request: Request, caller: Caller) -> Response:
    q = (request.query_params.get("q") or "").strip()[:100]
    domain = _domain(request, caller, request.query_params.get("domain"))
    audit = audit_of(request)
    audit.query = {"domain": domain, "q": q}
    result: dict[str, Any] | None = None
    error = None
    if q:
        prefix = request.app.state.service.schemas[domain].id_prefix
        if re.fullmatch(rf"{prefix}\d{{9}}", q.upper()):
            return redirect(f"/ui/entity/{domain}/{q.upper()}")
        service = request.app.state.service
        unmasked = caller.can(pii_scope(domain))
        try:
            if _looks_like_id(q):
                classify_identifier(domain, q)  # InputError: not an identifier after all, try it as a name
                result = await run_in_threadpool(service.search, domain, id=q, limit=50, unmasked=unmasked)
            else:
                raise InputError("name")
        except InputError:
            try:
                result = await run_in_threadpool(service.search, domain, name=q, limit=50, unmasked=unmasked)
            except InputError as exc:
                error = str(exc)
        if result is not None:
            audit.returned_ids = [r["entity_id"] for r in result["results"]]
    return render(request, "search.html", caller=caller, q=q, domain=domain,
                  domains=readable_domains(request, caller), result=result, error=error)


async def entity(request: Request, caller: Caller) -> Response:
    domain = _domain(request, caller, request.path_params["domain"])
    entity_id = request.path_params["entity_id"]
    audit = audit_of(request)
    audit.query = {"domain": domain, "entity_id": entity_id}
    service = request.app.state.service
    unmasked = caller.can(pii_scope(domain))
    found = service.entity(domain, entity_id, unmasked=unmasked)
    audit.returned_ids = [found["entity_id"]]
    # the API's own history and successors (GET /v1/{domain}/{entity_id}/history; a retired ID's answer)
    events = (await run_in_threadpool(service.history, domain, entity_id, limit=200))["items"]
    retired = None if found["active"] else await run_in_threadpool(service.retirement, domain, entity_id)
    return render(request, "entity.html", caller=caller, domain=domain, e=found, events=events,
                  heirs=retired["successors"] if retired else [], retired=retired, unmasked=unmasked)


async def cluster(request: Request, caller: Caller) -> Response:
    domain = _domain(request, caller, request.path_params["domain"])
    entity_id = request.path_params["entity_id"]
    audit_of(request).query = {"domain": domain, "entity_id": entity_id}
    found = request.app.state.service.entity(domain, entity_id, unmasked=False)
    audit_of(request).returned_ids = [found["entity_id"]]
    return render(request, "cluster.html", caller=caller, domain=domain, e=found,
                  unmasked=caller.can(pii_scope(domain)))
