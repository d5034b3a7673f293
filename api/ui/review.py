"""The review queue page: pairs between the thresholds, clusters split by a constraint and
golden-value conflicts, both records side by side with the per-comparison match weights, and a
form to decide same / different / unsure; Splink's waterfall of a pair.

The work is resolver.review's (review_queue, record_decision), as for GET /v1/review/{domain}
and POST /v1/review/{domain}/decisions: the same scopes (review:read, review:write, and the
domain's read scope), the same masking."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.ui.pages import _domain
from api.ui.web import Caller, audit_of, checked_form, page, redirect, render
from resolver.access.masking import pii_scope
from resolver.errors import InputError, ResolverError
from resolver.review.decisions import record_decision
from resolver.review.queue import review_queue

PAGE_SIZE = 20
KINDS_ZH = {"pair": "阈值之间的记录对", "split": "被约束拆开的主体", "conflict": "金记录取值冲突"}
DECISIONS_ZH = {"same": "同一主体", "different": "不同主体", "unsure": "不确定"}


def _compiled(request: Request, domain: str) -> Any:
    try:
        return request.app.state.service.model(domain)[0]
    except ResolverError:  # no model loaded: the queue compiles the one it needs
        return None


async def queue_page(request: Request, caller: Caller) -> Response:
    caller.require("review:read")
    domain = _domain(request, caller, request.path_params["domain"])
    params = request.query_params
    kinds = [k for k in params.getlist("kind") if k] or None
    offset = int(params["offset"]) if (params.get("offset") or "").isdigit() else 0
    audit = audit_of(request)
    audit.query = {"domain": domain, "kind": kinds, "offset": offset}
    result = await run_in_threadpool(review_queue, request.app.state.service.store, domain, kind=kinds,
                                     offset=offset, limit=PAGE_SIZE, unmasked=caller.can(pii_scope(domain)),
                                     model=_compiled(request, domain), cached=True)  # the server writes its store alone
    audit.returned_ids = sorted({i[s]["entity_id"] for i in result["items"] for s in ("left", "right")})
    base = [("kind", k) for k in kinds or []]
    return render(request, "review.html", caller=caller, domain=domain, r=result, kinds_zh=KINDS_ZH,
                  decisions_zh=DECISIONS_ZH, can_write=caller.can("review:write"), kinds=kinds or [],
                  back=request.url.path + (f"?{params}" if params else ""),
                  prev_query=urlencode([*base, ("offset", max(0, offset - PAGE_SIZE))]) if offset else None,
                  next_query=urlencode([*base, ("offset", offset + PAGE_SIZE)])
                  if offset + PAGE_SIZE < result["total"] else None)


async def decide(request: Request, caller: Caller) -> Response:
    form = await checked_form(request, caller)
    caller.require("review:write")
    domain = _domain(request, caller, request.path_params["domain"])
    left, right, decision = form.get("left", ""), form.get("right", ""), form.get("decision", "")
    kind = form.get("kind") or None
    note = (form.get("note") or "").strip() or None
    audit = audit_of(request)
    audit.query = {"domain": domain, "left": left, "right": right, "decision": decision, "kind": kind, "note": note}
    if not left or not right:
        raise InputError("缺少要判定的两条来源记录")
    stored = await run_in_threadpool(record_decision, request.app.state.service.store, domain, left, right, decision,
                                     note=note, kind=kind, key_id=caller.key.key_id,
                                     department=caller.key.department)
    audit.returned_ids = [f"decision:{stored.get('decision_id')}"]
    back = form.get("back") or ""
    return redirect(back if back.startswith(f"/ui/review/{domain}") and "\n" not in back else f"/ui/review/{domain}")


async def waterfall_page(request: Request, caller: Caller) -> Response:
    domain = _domain(request, caller, request.path_params["domain"])
    left, right = request.query_params.get("l", ""), request.query_params.get("r", "")
    audit_of(request).query = {"domain": domain, "l": left, "r": right}
    return render(request, "waterfall.html", caller=caller, domain=domain, left=left, right=right,
                  query=urlencode({"l": left, "r": right}), unmasked=caller.can(pii_scope(domain)))


ROUTES = [
    Route("/ui/review/{domain}", page(queue_page), methods=["GET"]),
    Route("/ui/review/{domain}/decisions", page(decide), methods=["POST"]),
    Route("/ui/waterfall/{domain}", page(waterfall_page), methods=["GET"]),
]
