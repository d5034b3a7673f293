"""POST /v1/{domain}/match and POST /v1/{domain}/records"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DomainReader, json_response, scope_check
from api.models import MatchBatchResult, MatchResult, Problem, RecordsIn, RecordsOut
from api.problems import status_for
from api.schema_models import BATCH_KEY, RequestModels, check
from resolver.access.keys import require_source
from resolver.errors import InputError
from resolver.lookup.group_commit import committer
from resolver.lookup.incremental import prepare

router = APIRouter(prefix="/v1", tags=["match"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "content": {"application/problem+json": {}}}
    for s in (400, 401, 403, 404, 413, 422, 503)}
MATCH_DESCRIPTION = f"""One record, or up to N named queries under `{BATCH_KEY}` (N: the server's
`--match-batch-max`, 100 by default; more is a 422), each answered under its name with its own
candidates, or with a problem of its own (`status` 400) while the others are answered. One
audit row per query; a batch of n queries spends n of the key's match rate.

Each candidate carries `match` (true, false, or "review", from the thresholds recorded with the
published model version), and its `explanation`: the prior, each comparison's level, weight and
the two values compared (masked as in the entity answer), and each term-frequency adjustment,
adding up to `match_weight`. An answer without a match says why in `reason`.

The single-record body (fields at the top level) is answered as before, with these additions."""


def _values(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


def _models(request: Request) -> RequestModels:
    models: RequestModels = request.app.state.request_models
    return models


@router.post("/{domain}/match", response_model=MatchResult | MatchBatchResult, responses=_ERRORS,
             summary="Records in, ranked candidate entities out, with match decision, probability and why",
             description=MATCH_DESCRIPTION)
async def match(
    call: DomainReader,
    request: Request,
    top: Annotated[int, Query(ge=1, le=50, description="candidates per query")] = 5,
    min_probability: Annotated[float, Query(ge=0, le=1, description=(
        "leave out candidates below this match probability (0: every candidate found)"))] = 0.0,
) -> Response:
    body = orjson.loads(await request.body() or b"null")  # JSON already checked (api.middleware)
    models = _models(request).of(call.domain)
    fields = tuple(models.record.model_fields)
    options: dict[str, Any] = {"top": top, "unmasked": call.unmasked, "min_probability": min_probability}
    if not (isinstance(body, dict) and BATCH_KEY in body):
        check(models.record, body, fields=fields)
        record = _values(body)
        call.audit.query = {"record": record, "top": top}
        result = await run_in_threadpool(call.service.match, call.domain, record, **options)
        call.audit.returned_ids = [c["entity_id"] for c in result["candidates"]]
        return json_response(result)
    check(models.batch, body, fields=fields)
    records = {name: _values(record) for name, record in body[BATCH_KEY].items()}
    call.audit.query = {BATCH_KEY: records, "top": top}  # the call's one row if it fails as a whole
    request.app.state.limits.take_more_matches(call.key, len(records) - 1)
    answers = await run_in_threadpool(call.service.match_many, call.domain, records, **options)
    responses: dict[str, Any] = {}
    rows: list[tuple[Any, list[str], int]] = []
    for name, answer in answers.items():
        query = {"record": records[name], "top": top}  # the fingerprint a single call of it would have
        if isinstance(answer, InputError):
            status, slug = status_for(answer)
            responses[name] = {"status": status, "type": f"/problems/{slug}", "title": HTTPStatus(status).phrase,
                               "detail": str(answer)[:500]}
            rows.append((query, [], status))
        else:
            responses[name] = {**answer, "status": 200}
            rows.append((query, [c["entity_id"] for c in answer["candidates"]], 200))
    call.audit.rows = rows
    first = next((a for a in answers.values() if isinstance(a, dict)), None)
    if first is None:  # no query could be matched: the model they would have met
        model = call.service.model(call.domain)[0]
        first = {"model_version": model.version, "thresholds": {"match": model.threshold,
                                                                 "review": model.review_threshold}}
    return json_response({"domain": call.domain, "model_version": first["model_version"],
                          "thresholds": first["thresholds"], "masked": not call.unmasked, "responses": responses})


@router.post("/{domain}/records", response_model=RecordsOut, responses=_ERRORS,
             dependencies=[scope_check("records:write")],
             summary="Ingest source records incrementally; each joins an entity or creates one")
async def add_records(call: DomainReader, body: RecordsIn, request: Request) -> dict[str, Any]:
    call.audit.query = {"source": body.source, "records": [r.source_record_id for r in body.records]}
    record_model = _models(request).of(call.domain).record
    for i, r in enumerate(body.records):  # the domain's typed fields (api.schema_models)
        check(record_model, r.fields, ("body", "records", i, "fields"), tuple(record_model.model_fields))
    require_source(call.key, body.source)  # a department writes only its own sources
    writer = committer(call.service)
    with writer.preparing():  # the writer may wait for it, to put it in the same transaction
        pending = await run_in_threadpool(  # checked and standardized here: bad input fails this call alone
            prepare, call.service, call.domain, body.source,
            [{"source_record_id": r.source_record_id, **r.fields} for r in body.records], call.key.department)
        # committed with every call waiting (resolver.lookup.group_commit), without holding a worker thread
        future = writer.submit(pending)
    result = await asyncio.wrap_future(future)
    call.audit.returned_ids = [r["entity_id"] for r in result["results"] if r["entity_id"]]
    return result
