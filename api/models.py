"""Response and request models, with the examples /openapi.json shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from api import examples

# A field value a caller sends: JSON strings and numbers only. `true` is not read as 1: a
# value of another JSON type is a 422 naming the field.
FieldValue = StrictStr | StrictInt | StrictFloat | None

class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None  # the answer's X-Request-ID header: quote it to the operator
    model_config = ConfigDict(extra="allow", json_schema_extra=examples.problem)


class Health(BaseModel):
    status: str
    store: str
    models: dict[str, str | None]
    model_config = ConfigDict(json_schema_extra=examples.health)


class Ready(BaseModel):
    status: str
    models: dict[str, str | None]  # the model version loaded per domain; null: none published


class Lineage(BaseModel):
    source: str | None
    source_record_id: str | None
    rule: str | None


class Member(BaseModel):
    unique_id: str
    source: str
    source_record_id: str
    since: str | None = None
    ingested_at: str | None = None
    file: str | None = Field(None, description="name of the export file it came from (no server directories)")
    flags: list[str]
    fields: dict[str, Any]
    raw: dict[str, Any] | str | None = Field(None, description=(
        "the department's row; without <domain>:pii, columns mapped to personal fields are masked as "
        "the field is and unmapped columns not listed in the mapping's public_columns are left out"))


class Conflict(BaseModel):
    field: str
    value: str | None
    source: str | None
    source_record_id: str | None


# A golden value as the answer types it by its field's schema type (resolver.lookup.entity.typed_value):
# a number field's value is a JSON number, a date field's an ISO date (YYYY-MM-DD), anything
# else (and a masked value) text.
GoldenValue = StrictStr | StrictInt | StrictFloat | None
GOLDEN_DESCRIPTION = ("golden record, field → value; numbers as JSON numbers, dates as ISO dates (YYYY-MM-DD); "
                      "personal fields masked unless the key holds <domain>:pii")


class RetirementEvent(BaseModel):
    kind: Literal["merged", "split", "retired"] = Field(description=(
        "merged: the ID's records joined one other entity; split: they went to several, none kept the ID; "
        "retired: no records left"))
    at: str = Field(description="when (ISO 8601, the store's clock)")
    model_version: str | None = Field(description="the model version of the resolution that retired the ID")
    entity_ids: list[str] = Field(description="the entities the ID's records went to at that event")
    reason: str


class Entity(BaseModel):
    entity_id: str
    domain: str
    active: bool
    size: int
    created_at: str | None
    updated_at: str | None
    model_version: str | None
    golden: dict[str, GoldenValue] = Field(description=GOLDEN_DESCRIPTION)
    lineage: dict[str, Lineage] = Field(description="which source record gave each golden value, by which rule")
    members: list[Member]
    conflicts: list[Conflict]
    masked: bool
    successors: list[str] = Field(default_factory=list, description=(
        "for an inactive (retired) master ID: the active master IDs that now hold its records, following "
        "every later merge and split; also sent as `Link: <…>; rel=\"successor-version\"` headers. "
        "Empty for an active ID"))
    event: RetirementEvent | None = Field(None, description="for a retired master ID: the merge or split that retired it")
    model_config = ConfigDict(json_schema_extra=examples.entity)


class HistoryEvent(BaseModel):
    event_id: int
    kind: Literal["created", "absorbed", "split", "merged", "retired"] = Field(description=(
        "created (entity_ids: what it was split from, if any); absorbed (entity_ids merged into this ID); "
        "split (entity_ids split off; the ID stays active unless `retired`); merged (into entity_ids, "
        "retired); retired (no records left)"))
    at: str
    model_version: str | None
    entity_ids: list[str]
    reason: str
    retired: bool = Field(description="the ID is inactive from this event on")


class HistoryPage(BaseModel):
    entity_id: str
    domain: str
    total: int
    offset: int
    limit: int
    items: list[HistoryEvent] = Field(description="oldest first")
    model_config = ConfigDict(json_schema_extra=examples.history)


class MembersPage(BaseModel):
    entity_id: str
    domain: str
    total: int
    offset: int
    limit: int
    items: list[Member] = Field(description="ordered by source, then source record ID")
    masked: bool


class SearchHit(BaseModel):
    entity_id: str
    matched_on: str = Field(description="column that matched: uscc, org_code, reg_no, tax_id, id_number, name, name_core, name_fuzzy")
    score: float
    matched_records: list[str]
    golden: dict[str, GoldenValue] = Field(description=GOLDEN_DESCRIPTION)


class SearchResult(BaseModel):
    domain: str
    query: dict[str, Any]
    results: list[SearchHit]
    masked: bool
    total: int = Field(description="entities found (the records behind them read up to 200 per identifier "
                                   "column and name form)")
    offset: int
    limit: int
    model_config = ConfigDict(json_schema_extra=examples.search_result)


class FieldWeight(BaseModel):
    comparison: str
    level: str
    match_weight: float


class Candidate(BaseModel):
    entity_id: str
    match_probability: float
    match_weight: float
    best_record: str
    blocking_keys: list[str]
    comparisons: list[FieldWeight] = Field(description="per-field match weights (log2 Bayes factors): why")
    golden: dict[str, Any]
    model_version: str


class MatchResult(BaseModel):
    domain: str
    model_version: str
    threshold: float
    query_flags: list[str]
    withheld_fields: list[str] = Field(
        default_factory=list, description="personal fields of the query not used: the key lacks <domain>:pii")
    candidates: list[Candidate]
    masked: bool
    model_config = ConfigDict(json_schema_extra=examples.match_result)


MATCH_EXAMPLE = {"name": "华新科技(杭州)有限公司", "legal_rep": "王伟", "address": "杭州市西湖区文三路100号"}


class IncomingRecord(BaseModel):
    source_record_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")
    fields: dict[str, FieldValue] = Field(description="the domain's canonical field names (its schema.yaml, docs/schema.md)")


class RecordsIn(BaseModel):
    source: str = Field(description="the department's source name (its mapping's `source:`)")
    records: list[IncomingRecord] = Field(min_length=1, max_length=100)
    model_config = ConfigDict(json_schema_extra=examples.records_in)


class RecordOutcome(BaseModel):
    source_record_id: str
    unique_id: str
    action: str = Field(description="joined | created | unchanged | quarantined")
    entity_id: str | None
    match_probability: float | None = None
    reason: str | None = None


class RecordsOut(BaseModel):
    domain: str
    model_version: str
    results: list[RecordOutcome]


class UnregisteredPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[dict[str, Any]]
