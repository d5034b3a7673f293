"""The 漏管户 worklist page (skeleton until the worklist backend lands)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.ui.web import Caller, audit_of, page, render
from resolver.access.masking import pii_scope
from resolver.lookup.unregistered import list_domain, unregistered_page

PAGE_SIZE = 50


async def worklist(request: Request, caller: Caller) -> Response:
    caller.require("unregistered:read")
    q = request.query_params
    filters = {"district": q.get("district") or None, "industry": q.get("industry") or None}
    offset = max(0, int(q.get("offset") or 0)) if (q.get("offset") or "0").isdigit() else 0
    audit = audit_of(request)
    audit.query = {**filters, "offset": offset}
    result = await run_in_threadpool(
        unregistered_page, request.app.state.service.store, lists=["suspect"], since=None, as_of=None,
        offset=offset, limit=PAGE_SIZE, unmasked=caller.can(pii_scope(list_domain())),
        cache=request.app.state.unregistered, **filters)
    audit.returned_ids = [str(i["entity_id"]) for i in result["items"] if i.get("entity_id")]
    return render(request, "worklist.html", caller=caller, result=result, filters=filters,
                  offset=offset, page_size=PAGE_SIZE)


ROUTES = [Route("/ui/worklist", page(worklist), methods=["GET"])]
