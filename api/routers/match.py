"""POST /v1/{domain}/match and POST /v1/{domain}/records"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DomainReader, json_response, scope_check
from api.models import MATCH_EXAMPLE, FieldValue, MatchResult, Problem, RecordsIn, RecordsOut
from resolver.access.keys import require_source
from resolver.lookup.group_commit import committer
from resolver.lookup.incremental import prepare

router = APIRouter(prefix="/v1", tags=["match"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "content": {"application/problem+json": {}}}
    for s in (400, 401, 403, 404, 413, 422, 503)}


@router.post("/{domain}/match", response_model=MatchResult, responses=_ERRORS,
             summary="A record in, ranked candidate entities out, with match probability and why")
async def match(
    call: DomainReader,
    record: Annotated[dict[str, FieldValue], Body(examples=[MATCH_EXAMPLE],
                      description="canonical field names (SPEC §2), any subset")],
    top: Annotated[int, Query(ge=1, le=50)] = 5,
) -> Response:
    call.audit.query = {"record": record, "top": top}
    result = await run_in_threadpool(call.service.match, call.domain, record, top=top, unmasked=call.unmasked)
    call.audit.returned_ids = [c["entity_id"] for c in result["candidates"]]
    return json_response(result)


@router.post("/{domain}/records", response_model=RecordsOut, responses=_ERRORS,
             dependencies=[scope_check("records:write")],
             summary="Ingest source records incrementally; each joins an entity or creates one")
async def add_records(call: DomainReader, body: RecordsIn) -> dict[str, Any]:
    call.audit.query = {"source": body.source, "records": [r.source_record_id for r in body.records]}
    require_source(call.key, body.source)  # a department writes only its own sources
    pending = await run_in_threadpool(  # checked and standardized here: bad input fails this call alone
        prepare, call.service, call.domain, body.source,
        [{"source_record_id": r.source_record_id, **r.fields} for r in body.records], call.key.department)
    # committed with every call waiting (resolver.lookup.group_commit), without holding a worker thread
    result = await asyncio.wrap_future(committer(call.service).submit(pending))
    call.audit.returned_ids = [r["entity_id"] for r in result["results"] if r["entity_id"]]
    return result
