"""The examples /openapi.json shows, built from the rules folder when the schema is generated:
the first domain's fields, master-ID prefix and first department, masked as a caller without
the pii scope sees them. No domain or department is named in code (SPEC §2)."""

from __future__ import annotations

from typing import Any

from resolver.access.masking import mask_fields
from resolver.domains import FieldSpec, domain_names, load_schema
from resolver.lookup.entity import typed_value
from resolver.mapping import sources_of

VERSION_STAMP = "20250101T000000-ab12cd34"
# a plausible value per field type (identifiers by standard), for the examples only
_BY_TYPE = {"enterprise_name": "杭州华新科技有限公司", "person_name": "王伟", "address": "杭州市西湖区文三路1号",
            "phone": "13812345678", "date": "1990-01-02", "sex": "M", "number": "100"}
_BY_STANDARD = {"uscc": "91330106MA2B0000X1", "org_code": "MA2B0000X", "reg_no": "330106000012345",
                "tax_number": "91330106MA2B0000X1", "resident_id": "330106199001021234", "none": "A0001"}


def _value(spec: FieldSpec) -> str | None:
    return _BY_STANDARD.get(str(spec.standard)) if spec.type == "identifier" else _BY_TYPE.get(spec.type)


def example_domain() -> dict[str, Any]:
    """Names and values of the first domain: domain, entity_id, model_version, source, unique_id, golden."""
    names = domain_names()
    if not names:
        return {"domain": "", "entity_id": "", "model_version": "", "source": "", "unique_id": "", "golden": {},
                "values": {}}
    domain = names[0]
    schema = load_schema(domain)
    source = next(iter(sources_of(domain)), "source")
    golden = {f.name: typed_value(f.type, v) for f in schema.fields.values() if (v := _value(f)) is not None}
    return {"domain": domain, "entity_id": f"{schema.id_prefix}000000001",
            "model_version": f"{domain}-{VERSION_STAMP}", "source": source, "unique_id": f"{source}:r001",
            "golden": dict(list(mask_fields(domain, golden, unmasked=False).items())[:6]), "values": golden}


def problem(schema: dict[str, Any]) -> None:
    d = example_domain()
    schema["examples"] = [{"type": "/problems/forbidden", "title": "Forbidden", "status": 403,
                           "detail": f"key 1a2b3c4d5e6f7a8b (人社) lacks scope '{d['domain']}:pii'",
                           "request_id": "0f8c2e5b9a7d4c31b6e2f0a9d8c7b6a5"}]


def health(schema: dict[str, Any]) -> None:
    schema["examples"] = [{"status": "ok", "store": "master.duckdb",
                           "models": {n: f"{n}-{VERSION_STAMP}" for n in domain_names()}}]


def entity(schema: dict[str, Any]) -> None:
    d = example_domain()
    first = next(iter(d["golden"]), "name")
    retired = d["entity_id"][:-1] + "2"
    schema["examples"] = [{
        "entity_id": d["entity_id"], "domain": d["domain"], "active": True, "size": 2,
        "created_at": "2025-01-01T00:00:00", "updated_at": "2025-01-01T00:00:00",
        "model_version": d["model_version"], "golden": d["golden"],
        "lineage": {first: {"source": d["source"], "source_record_id": "r001", "rule": "source_priority"}},
        "members": [{"unique_id": d["unique_id"], "source": d["source"], "source_record_id": "r001",
                     "flags": [], "fields": {first: d["golden"].get(first)}, "raw": {"名称": d["golden"].get(first)}}],
        "conflicts": [], "masked": True, "successors": [], "event": None},
        {"entity_id": retired, "domain": d["domain"], "active": False, "size": 0,
         "created_at": "2025-01-01T00:00:00", "updated_at": "2025-03-01T00:00:00",
         "model_version": d["model_version"], "golden": {}, "lineage": {}, "members": [], "conflicts": [],
         "masked": True, "successors": [d["entity_id"]],
         "event": {"kind": "merged", "at": "2025-03-01T00:00:00", "model_version": d["model_version"],
                   "entity_ids": [d["entity_id"]], "reason": f"merged into {d['entity_id']}"}}]


def history(schema: dict[str, Any]) -> None:
    d = example_domain()
    retired = d["entity_id"][:-1] + "2"
    schema["examples"] = [{"entity_id": d["entity_id"], "domain": d["domain"], "total": 2, "offset": 0, "limit": 50,
                           "items": [
        {"event_id": 1, "kind": "created", "at": "2025-01-01T00:00:00", "model_version": d["model_version"],
         "entity_ids": [], "reason": "new records", "retired": False},
        {"event_id": 9, "kind": "absorbed", "at": "2025-03-01T00:00:00", "model_version": d["model_version"],
         "entity_ids": [retired], "reason": "merged 1 entities into the larger one", "retired": False}]}]


def search_result(schema: dict[str, Any]) -> None:
    d = example_domain()
    matched = next(iter(d["golden"]), "name")
    schema["examples"] = [{
        "domain": d["domain"], "query": {"identifier": {"kind": matched, "value_valid": True}},
        "results": [{"entity_id": d["entity_id"], "matched_on": matched, "score": 1.0,
                     "matched_records": [d["unique_id"]], "golden": d["golden"]}], "masked": True,
        "total": 1, "offset": 0, "limit": 20}]


def match_result(schema: dict[str, Any]) -> None:
    d = example_domain()
    first = next(iter(d["golden"]), "name")
    schema["examples"] = [{
        "domain": d["domain"], "model_version": d["model_version"], "threshold": 0.9,
        "query_flags": [], "withheld_fields": [], "masked": True, "candidates": [{
            "entity_id": d["entity_id"], "match_probability": 0.9987, "match_weight": 9.6,
            "best_record": d["unique_id"], "blocking_keys": [f"{first}_equal"],
            "comparisons": [{"comparison": first, "level": "exact match", "match_weight": 7.1}],
            "golden": d["golden"], "model_version": d["model_version"]}]}]


def records_in(schema: dict[str, Any]) -> None:
    d = example_domain()
    fields = dict(list(d["values"].items())[:2])
    schema["examples"] = [{"source": d["source"], "records": [{"source_record_id": "r9001", "fields": fields}]}]
