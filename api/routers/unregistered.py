"""The tax inspector's 漏管户 worklist: GET /v1/unregistered (filtered, sorted, paged; `format=xlsx`
or /v1/unregistered.xlsx for the export), /v1/unregistered/stats (precision@k from recorded
outcomes), GET and PATCH /v1/unregistered/{entity_id} (one case; recording its work).

The list is computed once per state of the store (resolver.lookup.unregistered.UnregisteredCache);
filters and case state are applied per call (resolver.lookup.worklist), so a PATCH never
computes it again."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Call, scope_check
from api.models import Problem, UnregisteredPage
from resolver.lookup.worklist import (
    Change,
    Filters,
    case_detail,
    update_case,
    worklist,
    worklist_report,
    worklist_stats,
)
from resolver.unregistered.cases import STATUSES
from resolver.unregistered.report import xlsx_bytes

router = APIRouter(prefix="/v1", tags=["unregistered"])
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "content": {"application/problem+json": {}}} for s in (400, 401, 403, 404, 422)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Reader = Annotated[Call, scope_check("unregistered:read")]
Writer = Annotated[Call, scope_check("unregistered:write")]
EntityId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$", examples=["E000000379"])]


def filters(
    district: Annotated[str | None, Query(max_length=20, examples=["西湖区"],
                                          description="name, short name, old name (江干 → 上城区) or 6-digit code")] = None,
    street: Annotated[str | None, Query(max_length=20, description="街道/乡镇, with or without 街道")] = None,
    tax_office: Annotated[str | None, Query(max_length=50, description="主管税务所 as tax_offices.yaml names it")] = None,
    industry: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9A-Za-z]+$")] = None,
    since: Annotated[str | None, Query(pattern=_DATE, description="established on or after")] = None,
    as_of: Annotated[str | None, Query(pattern=_DATE)] = None,
    list_: Annotated[list[str] | None, Query(alias="list", description="suspect, dormant, status_conflict, link_review")] = None,
    score_min: Annotated[float | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[float | None, Query(ge=0, le=100)] = None,
    age_min: Annotated[int | None, Query(ge=0, le=100_000, description="days since the first sign of operation")] = None,
    age_max: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    status: Annotated[list[str] | None, Query(description=f"case statuses ({', '.join(STATUSES)}); default: all "
                                              "but the suppressed outcomes 误报 and 确认未经营")] = None,
    assignee: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(max_length=60, description="part of the name, start of the USCC, or a master ID")] = None,
) -> Filters:
    return Filters(lists=tuple(list_ or ["suspect"]), district=district, street=street, tax_office=tax_office,
                   industry=industry, since=since, score_min=score_min, score_max=score_max, age_min=age_min,
                   age_max=age_max, status=tuple(status or ()), assignee=assignee, q=q, as_of=as_of)


Filtered = Annotated[Filters, Depends(filters)]
Sort = Annotated[Literal["score", "age", "district"], Query(description="score and age descending, district ascending "
                                                             "unless `order` says otherwise")]
Order = Annotated[Literal["asc", "desc"] | None, Query()]


async def _export(request: Request, call: Call, asked: Filters, sort: str, order: str | None) -> Response:
    report = await run_in_threadpool(worklist_report, call.service.store, asked, sort, order, call.key.scopes,
                                     cache=request.app.state.unregistered)
    call.audit.returned_ids = [str(e) for e in report.rows["entity_id"]]
    body = await run_in_threadpool(xlsx_bytes, report)
    name = f"unregistered-{report.as_of}.xlsx"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/unregistered", response_model=UnregisteredPage, responses={
                **_ERRORS, 200: {"content": {XLSX: {}}, "description": "the page as JSON, or with format=xlsx every "
                                 "filtered row as an XLSX file"}},
            summary="Businesses that operate but never registered for tax, best evidence first")
async def unregistered(
    request: Request, call: Reader, asked: Filtered, sort: Sort = "score", order: Order = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    format: Annotated[Literal["json", "xlsx"], Query(description="xlsx: every filtered row (no paging)")] = "json",
) -> Any:
    call.audit.query = {**asked.asked(), "sort": sort, "order": order, "offset": offset, "limit": limit,
                        "format": format}
    if format == "xlsx":
        return await _export(request, call, asked, sort, order)
    page = await run_in_threadpool(worklist, call.service.store, asked, sort, offset, limit, call.key.scopes,
                                   order=order, cache=request.app.state.unregistered)
    call.audit.returned_ids = [str(i.get("entity_id")) for i in page["items"] if i.get("entity_id")]
    return page


@router.get("/unregistered.xlsx", responses={**_ERRORS, 200: {"content": {XLSX: {}}}}, response_class=Response,
            summary="Every row of the filtered worklist as XLSX (autofilter, frozen header, Chinese headers)")
async def export_unregistered(request: Request, call: Reader, asked: Filtered, sort: Sort = "score",
                            order: Order = None) -> Response:
    call.audit.query = {**asked.asked(), "sort": sort, "order": order, "format": "xlsx"}
    return await _export(request, call, asked, sort, order)


@router.get("/unregistered/stats", responses=_ERRORS,
            summary="precision@k of the list from recorded outcomes, and cases per status")
async def get_unregistered_stats(
    request: Request, call: Reader,
    k: Annotated[list[int] | None, Query(description="default 10, 20, 50, 100")] = None,
    list_: Annotated[list[str] | None, Query(alias="list")] = None,
    as_of: Annotated[str | None, Query(pattern=_DATE)] = None,
) -> dict[str, Any]:
    ks = tuple(sorted({max(1, min(int(x), 100_000)) for x in k})) if k else (10, 20, 50, 100)
    call.audit.query = {"k": list(ks), "list": list_, "as_of": as_of}
    Filters(lists=tuple(list_ or ["suspect"]), as_of=as_of).check()
    return await run_in_threadpool(worklist_stats, call.service.store, ks, tuple(list_ or ["suspect"]), as_of,
                                   cache=request.app.state.unregistered)


@router.get("/unregistered/{entity_id}", responses=_ERRORS,
            summary="One case: its row on the list (if listed), its recorded state and every update")
async def get_unregistered_case(request: Request, call: Reader, entity_id: EntityId,
                            as_of: Annotated[str | None, Query(pattern=_DATE)] = None) -> dict[str, Any]:
    call.audit.query = {"entity_id": entity_id, "as_of": as_of}
    result = await run_in_threadpool(case_detail, call.service.store, entity_id, call.key.scopes, as_of=as_of,
                                     cache=request.app.state.unregistered)
    call.audit.returned_ids = [entity_id]
    return result


class CaseUpdate(BaseModel):
    """What the inspector records; a field left out stays as it is, "" clears assignee or note."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "误报", "reason": "实地核查：该地址为另一家已登记企业"},
        {"status": "核查中", "assignee": "张三", "note": "已约谈法定代表人"}]})

    status: Literal["待核查", "核查中", "已办理税务登记", "确认未经营", "误报"] | None = None
    assignee: str | None = Field(None, max_length=50)
    note: str | None = Field(None, max_length=2000)
    reason: str | None = Field(None, max_length=2000, description="required with 误报")


@router.patch("/unregistered/{entity_id}", responses=_ERRORS,
              summary="Record a case's status, assignee, note or outcome (who and when are kept)")
async def update_unregistered_case(request: Request, call: Writer, entity_id: EntityId,
                              update: Annotated[CaseUpdate, Body()],
                              as_of: Annotated[str | None, Query(pattern=_DATE)] = None) -> dict[str, Any]:
    call.audit.query = {"entity_id": entity_id, **update.model_dump(exclude_none=True)}
    change = Change(status=update.status, assignee=update.assignee, note=update.note, reason=update.reason)
    result = await run_in_threadpool(update_case, call.service.store, entity_id, change, key_id=call.key.key_id,
                                     department=call.key.department, as_of=as_of,
                                     cache=request.app.state.unregistered)
    call.audit.returned_ids = [entity_id]
    return result
