"""The 漏管户 worklist page: filters, sort, search, paging, precision@k, each case's evidence and a
form to record its status, assignee, note and outcome; the filtered list as XLSX.

Everything goes through resolver.lookup.worklist, as GET/PATCH /v1/unregistered do: the same
filters, the same masking (by the key's scopes), the same case store."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.ui.web import Caller, audit_of, checked_form, page, redirect, render
from resolver.errors import InputError
from resolver.lookup.worklist import (
    Change,
    Filters,
    case_detail,
    update_case,
    worklist,
    worklist_report,
    worklist_stats,
)
from resolver.unregistered.cases import FALSE_ALARM, STATUSES
from resolver.unregistered.contents import LIST_ZH
from resolver.unregistered.report import xlsx_bytes

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SORTS = {"score": "证据强度", "age": "经营时长", "district": "区县"}
_TEXT = ("district", "street", "tax_office", "industry", "assignee", "q", "since")


def _number(text: str | None, name: str, kind: type = float) -> Any:
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise InputError(f"{name}：不是数字") from None


def asked(params: QueryParams) -> tuple[Filters, str, str | None, int]:
    """(filters, sort, order, offset) from the page's query string."""
    text = {k: (params.get(k) or "").strip()[:60] or None for k in _TEXT}
    lists = tuple(v for v in params.getlist("list") if v) or ("suspect",)
    filters = Filters(lists=lists, status=tuple(v for v in params.getlist("status") if v),
                      score_min=_number(params.get("score_min"), "证据强度下限"),
                      score_max=_number(params.get("score_max"), "证据强度上限"),
                      age_min=_number(params.get("age_min"), "天数下限", int),
                      age_max=_number(params.get("age_max"), "天数上限", int), **text)
    sort = params.get("sort") or "score"
    if sort not in SORTS:
        raise InputError("未知的排序方式")
    order = params.get("order") or None
    if order not in (None, "asc", "desc"):
        raise InputError("未知的排序方向")
    offset = _number(params.get("offset"), "offset", int) or 0
    return filters, sort, order, max(0, min(offset, 1_000_000))


def _query(params: QueryParams, **changes: Any) -> str:
    """The page's query string with `changes` (None removes a parameter)."""
    items = [(k, v) for k, v in params.multi_items() if k not in changes and v != ""]
    items += [(k, str(v)) for k, v in changes.items() if v is not None]
    return urlencode(items)


async def worklist_page(request: Request, caller: Caller) -> Response:
    caller.require("unregistered:read")
    filters, sort, order, offset = asked(request.query_params)
    audit = audit_of(request)
    audit.query = {**filters.asked(), "sort": sort, "order": order, "offset": offset}
    store, cache = request.app.state.service.store, request.app.state.unregistered
    result = await run_in_threadpool(worklist, store, filters, sort, offset, PAGE_SIZE, caller.key.scopes,
                                     order=order, cache=cache)
    stats = await run_in_threadpool(worklist_stats, store, (10, 20, 50, 100), filters.lists, filters.as_of,
                                    cache=cache)
    audit.returned_ids = [str(i["entity_id"]) for i in result["items"] if i.get("entity_id")]
    params = request.query_params
    return render(request, "worklist.html", caller=caller, result=result, stats=stats, f=filters, sort=sort,
                  order=order or "", sorts=SORTS, statuses=STATUSES, lists=LIST_ZH, page_size=PAGE_SIZE,
                  can_write=caller.can("unregistered:write"), back=request.url.path + (f"?{params}" if params else ""),
                  prev_query=_query(params, offset=max(0, offset - PAGE_SIZE)) if offset else None,
                  next_query=_query(params, offset=offset + PAGE_SIZE) if offset + PAGE_SIZE < result["total"] else None,
                  export_query=_query(params, offset=None))


async def worklist_export(request: Request, caller: Caller) -> Response:
    caller.require("unregistered:read")
    filters, sort, order, _ = asked(request.query_params)
    audit = audit_of(request)
    audit.query = {**filters.asked(), "sort": sort, "order": order, "format": "xlsx"}
    report = await run_in_threadpool(worklist_report, request.app.state.service.store, filters, sort, order,
                                     caller.key.scopes, cache=request.app.state.unregistered)
    audit.returned_ids = [str(e) for e in report.rows["entity_id"]]
    body = await run_in_threadpool(xlsx_bytes, report)
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="unregistered-{report.as_of}.xlsx"', "Cache-Control": "no-store"})


def _back(target: str | None) -> str:
    return target if target and target.startswith("/ui/worklist") and "\n" not in target else "/ui/worklist"


async def record_case(request: Request, caller: Caller) -> Response:
    form = await checked_form(request, caller)
    caller.require("unregistered:write")
    entity_id = request.path_params["entity_id"]
    status = form.get("status") or None
    change = Change(status=status, assignee=form.get("assignee"), note=form.get("note"),
                    reason=form.get("reason") if status == FALSE_ALARM or form.get("reason") else None)
    audit = audit_of(request)
    audit.query = {"entity_id": entity_id, "status": status, "assignee": change.assignee, "note": change.note,
                   "reason": change.reason}
    await run_in_threadpool(update_case, request.app.state.service.store, entity_id, change,
                            key_id=caller.key.key_id, department=caller.key.department,
                            cache=request.app.state.unregistered)
    audit.returned_ids = [entity_id]
    return redirect(_back(form.get("back")))


async def case_page(request: Request, caller: Caller) -> Response:
    caller.require("unregistered:read")
    entity_id = request.path_params["entity_id"]
    audit = audit_of(request)
    audit.query = {"entity_id": entity_id}
    found = await run_in_threadpool(case_detail, request.app.state.service.store, entity_id, caller.key.scopes,
                                    cache=request.app.state.unregistered)
    audit.returned_ids = [entity_id]
    return render(request, "case.html", caller=caller, c=found, statuses=STATUSES,
                  can_write=caller.can("unregistered:write"), back=request.url.path)


ROUTES = [
    Route("/ui/worklist", page(worklist_page), methods=["GET"]),
    Route("/ui/worklist.xlsx", page(worklist_export), methods=["GET"]),
    Route("/ui/worklist/{entity_id}", page(case_page), methods=["GET"]),
    Route("/ui/worklist/{entity_id}", page(record_case), methods=["POST"]),
]
