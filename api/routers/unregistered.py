"""GET /v1/unregistered: the tax inspector's 漏管户 list, filtered and paged; the list is computed
once per state of the store (resolver.lookup.unregistered.UnregisteredCache), not per call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Call, scope_check
from api.models import Problem, UnregisteredPage
from resolver.access.masking import pii_scope
from resolver.lookup.unregistered import list_domain, unregistered_page

router = APIRouter(prefix="/v1", tags=["unregistered"])
_DATE = r"^\d{4}-\d{2}-\d{2}$"


@router.get("/unregistered", response_model=UnregisteredPage,
            responses={s: {"model": Problem, "content": {"application/problem+json": {}}}
                       for s in (400, 401, 403, 422)},
            summary="Businesses that operate but never registered for tax, best evidence first")
async def unregistered(
    request: Request,
    call: Annotated[Call, scope_check("unregistered:read")],
    district: Annotated[str | None, Query(max_length=20, examples=["西湖区"])] = None,
    industry: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9A-Za-z]+$")] = None,
    since: Annotated[str | None, Query(pattern=_DATE)] = None,
    as_of: Annotated[str | None, Query(pattern=_DATE)] = None,
    list_: Annotated[list[str] | None, Query(alias="list", description="suspect, dormant, status_conflict, link_review")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    lists = list_ or ["suspect"]
    call.audit.query = {"district": district, "industry": industry, "since": since, "as_of": as_of,
                   "lists": lists, "offset": offset, "limit": limit}
    page = await run_in_threadpool(unregistered_page, call.service.store, lists=lists, district=district,
                                   industry=industry, since=since, as_of=as_of, offset=offset, limit=limit,
                                   unmasked=call.key.allows(pii_scope(list_domain())),
                                   cache=request.app.state.unregistered)
    call.audit.returned_ids = [str(i.get("entity_id")) for i in page["items"] if i.get("entity_id")]
    return page
