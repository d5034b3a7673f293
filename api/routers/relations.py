"""GET /v1/{domain}/{entity_id}/relations (an entity's relations across domains, paged) and
GET /v1/{domain}/{entity_id}/verification (the 协查 answer: what each department holds)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import DomainPath, authenticated, check_domain
from api.models import Problem
from resolver.access.keys import require_scope
from resolver.access.masking import pii_scope
from resolver.relations.answer import domains_involved, entity_relations
from resolver.relations.verification import verify_entity

router = APIRouter(prefix="/v1", tags=["relations"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "content": {"application/problem+json": {}}} for s in (400, 401, 403, 404, 422)}
VERIFICATION_SCOPE = "verification:read"


class RelatedEntity(BaseModel):
    entity_id: str
    domain: str
    active: bool
    fields: dict[str, Any] = Field(description="the fields relations.yaml's `show` names, masked as the "
                                               "related domain's entity answer masks them")


class Evidence(BaseModel):
    source: str
    source_record_id: str
    confidence: str = Field(examples=["exact_id"])


class RelationItem(BaseModel):
    relation: str = Field(examples=["legal_representative"])
    label: str = Field(examples=["法定代表人"])
    direction: str = Field(description="outgoing: this entity's records name the related one; incoming: the reverse")
    confidence: str = Field(description="the strongest evidence's match step (exact_id, name_district, name …)")
    evidence: list[Evidence]
    related: RelatedEntity


class RelationPage(BaseModel):
    entity_id: str
    domain: str
    offset: int
    limit: int
    total: int
    items: list[RelationItem]
    masked: dict[str, bool]


class Department(BaseModel):
    source: str
    label: str = Field(examples=["人社"])
    checks: list[str] = Field(description="the checks that consult this department's own records")
    items: list[dict[str, Any]] = Field(description="each with check, source_record_id, date and what is held")


class VerificationAnswer(BaseModel):
    entity_id: str
    domain: str
    model_version: str | None
    subject: dict[str, Any]
    departments: list[Department]
    checks: list[dict[str, Any]]
    masked: bool


def _unmasked(call: Any) -> Any:
    return lambda domain: call.key.allows(pii_scope(domain))


@router.get("/{domain}/{entity_id}/relations", response_model=RelationPage, responses=_ERRORS,
            summary="The entity's relations across domains (legal representative, operator, employer …)")
async def list_relations(
    domain: DomainPath, entity_id: str, request: Request,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    check_domain(domain, getattr(request.app.state, "domains", None))
    call = await authenticated(request)
    for involved in domains_involved(domain):  # the related entities are other domains' answers
        require_scope(call.key, f"{involved}:read")
    call.audit.query = {"entity_id": entity_id, "offset": offset, "limit": limit}
    service = call.service

    def answer() -> dict[str, Any]:
        with service.gate.shared(), service.store.reader() as reader:
            return entity_relations(reader, lambda d: service.view(d).docs, domain, entity_id, _unmasked(call),
                                    offset=offset, limit=limit)
    page = await run_in_threadpool(answer)
    call.audit.returned_ids = [entity_id, *(i["related"]["entity_id"] for i in page["items"])]
    return page


@router.get("/{domain}/{entity_id}/verification", response_model=VerificationAnswer, responses=_ERRORS,
            summary="协查: what each department holds about one person (needs verification:read)")
async def get_verification(domain: DomainPath, entity_id: str, request: Request) -> dict[str, Any]:
    check_domain(domain, getattr(request.app.state, "domains", None))
    call = await authenticated(request)
    require_scope(call.key, VERIFICATION_SCOPE)
    call.audit.query = {"entity_id": entity_id}
    service = call.service

    def answer() -> dict[str, Any]:
        with service.gate.shared(), service.store.reader() as reader:
            return verify_entity(reader, lambda d: service.view(d).docs, domain, entity_id, _unmasked(call))
    result = await run_in_threadpool(answer)
    related = {i["related"]["entity_id"] for d in result["departments"] for i in d["items"] if i.get("related")}
    call.audit.returned_ids = [entity_id, *sorted(related)]
    return result
