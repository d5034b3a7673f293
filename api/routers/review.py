"""GET /v1/review/{domain} (the data steward's review queue) and POST /v1/review/{domain}/decisions.

A caller needs `review:read` (the queue) or `review:write` (a decision) and the domain's read
scope; records are masked unless it holds the domain's pii scope. The work is resolver.review's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Call, check_domain, scope_check
from api.models import Decision, DecisionIn, Problem, ReviewPage
from resolver.access.keys import require_scope
from resolver.access.masking import pii_scope
from resolver.review import record_decision, review_queue
from resolver.review.queue import LIMIT_MAX

router = APIRouter(prefix="/v1/review", tags=["review"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "content": {"application/problem+json": {}}} for s in (400, 401, 403, 404, 422)}


def include(app: FastAPI) -> None:
    """Add the routes; before the entities router's (api.app): GET /v1/review/{domain} would
    otherwise be read as GET /v1/{domain}/{entity_id}."""
    app.include_router(router)


@router.get("/{domain}", response_model=ReviewPage, responses=_ERRORS,
            summary="The review queue: uncertain pairs, clusters split by a constraint, golden-value conflicts")
async def list_review_queue(
    request: Request,
    domain: str,
    call: Annotated[Call, scope_check("review:read")],
    kind: Annotated[list[str] | None, Query(description="pair, split, conflict (repeat for several; all by default)")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = 50,
) -> dict[str, Any]:
    check_domain(domain, getattr(request.app.state, "domains", None))
    require_scope(call.key, f"{domain}:read")
    call.domain = domain
    call.audit.query = {"domain": domain, "kind": kind, "offset": offset, "limit": limit}
    view = call.service.view(domain)  # its documents in memory, and its model (None: the queue compiles one)
    page = await run_in_threadpool(review_queue, call.service.store, domain, kind=kind, offset=offset, limit=limit,
                                   unmasked=call.key.allows(pii_scope(domain)), model=view.model, docs=view.docs,
                                   cached=True)  # the server writes its store alone
    call.audit.returned_ids = sorted({i[side]["entity_id"] for i in page["items"] for side in ("left", "right")})
    return page


@router.post("/{domain}/decisions", response_model=Decision, status_code=201, responses=_ERRORS,
             summary="Record a decision (same, different, unsure) on two source records")
async def record_review_decision(request: Request, domain: str, call: Annotated[Call, scope_check("review:write")],
                 body: DecisionIn) -> dict[str, Any]:
    check_domain(domain, getattr(request.app.state, "domains", None))
    require_scope(call.key, f"{domain}:read")
    call.domain = domain
    call.audit.query = {"domain": domain, **body.model_dump()}
    stored = await run_in_threadpool(record_decision, call.service.store, domain, body.left, body.right,
                                     body.decision, note=body.note, kind=body.kind, key_id=call.key.key_id,
                                     department=call.key.department)
    call.audit.returned_ids = [f"decision:{stored['decision_id']}"]
    return stored
