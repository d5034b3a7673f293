"""Match one record against the master: standardize, find candidates through the model's own
blocking keys, score with the published model, rank entities.

Candidates are the source records that share a blocking key value with the query (USCC,
org code, core name + district, full name, trade name + legal rep, … as in the model's
`blocking_keys`), with the same caps as the linker: a key value shared by more records
than `max_block_size` yields no candidates (resolver.lookup.block_index finds them). An
entity's score is its best member's.
"""

from __future__ import annotations

import re
from typing import Any

from resolver.access.masking import explained
from resolver.access.sensitivity import rules
from resolver.domains import load_schema
from resolver.errors import InputError
from resolver.lookup import queries
from resolver.lookup.block_index import ENTITY, BlockIndex
from resolver.lookup.entity import golden_record
from resolver.lookup.explain import explain
from resolver.lookup.scoring import CompiledModel, score

MAX_VALUE_LENGTH = 200
_PLAIN_NAME = re.compile(r"[a-z_]{1,40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: ord < 32 or 127 <= ord < 160


def check_record(domain: str, record: dict[str, Any]) -> dict[str, Any]:
    """Canonical fields only, scalar values, no control characters; at least one value."""
    queries.check_domain(domain)
    allowed = load_schema(domain).canonical_fields()
    unknown = sorted(k for k in record if k not in allowed)
    if unknown:
        # named only when it is a plain lower-case name: a key may carry an ID number
        named = [k for k in unknown if _PLAIN_NAME.fullmatch(k)]
        more = f" and {len(unknown) - len(named)} not shown" if len(named) < len(unknown) else ""
        raise InputError(f"unknown field(s) for {domain}: {', '.join(named) or 'none named'}{more} "
                         f"(canonical fields: {', '.join(allowed)})")
    clean: dict[str, Any] = {}
    for key, value in record.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputError(f"field '{key}' must be a string or a number")
        text = str(value)
        if len(text) > MAX_VALUE_LENGTH:
            raise InputError(f"field '{key}' is longer than {MAX_VALUE_LENGTH} characters")
        if _CONTROL.search(text):  # one regex scan: a generator per character cost ~5 ms a 100-record call
            raise InputError(f"field '{key}' contains control characters")
        if text.strip():
            clean[key] = text
    if not clean:
        raise InputError("the record has no values")
    return clean


def decision(model: CompiledModel, probability: float) -> bool | str:
    """`true` at or above the model version's match threshold, `"review"` at or above its
    predict (review) threshold, else `false`: the thresholds recorded with the model at training."""
    if probability >= model.threshold:
        return True
    return "review" if probability >= model.review_threshold else False


def match_record(source: queries.DocSource, domain: str, row: dict[str, Any], model: CompiledModel,
                 index: BlockIndex, *, top: int = 5, unmasked: bool = False,
                 min_probability: float = 0.0) -> tuple[list[dict[str, Any]], float | None]:
    """Entities ranked by match probability for one standardized record `row`, each with its
    match decision and explanation (resolver.lookup.explain); those below `min_probability`
    left out; and the best match probability of any candidate (None: none was found).

    Candidates, term frequencies and candidate values come from the domain's `index`; the
    top entities' golden records from their serving documents in `source`.
    """
    found, tf, rows = index.lookup(row)
    own = str(row.get("unique_id"))
    found.pop(own, None)
    candidates = [r for r in rows if str(r["unique_id"]) != own]
    scored = score(model, row, candidates, tf)
    entity_of = {r["unique_id"]: r[ENTITY] for r in rows}
    values_of = {r["unique_id"]: r for r in candidates}
    best: dict[str, dict[str, Any]] = {}
    top_probability = max((s["match_probability"] for s in scored if entity_of.get(s["unique_id"])), default=None)
    for s in scored:
        entity_id = entity_of.get(s["unique_id"])
        if entity_id is None or s["match_probability"] < min_probability:
            continue
        if entity_id not in best or s["match_weight"] > best[entity_id]["match_weight"]:
            best[entity_id] = {**s, "blocking_keys": found[s["unique_id"]]}
    ranked = sorted(best.items(), key=lambda kv: (-kv[1]["match_weight"], kv[0]))[:top]
    sense = rules(domain)
    out = []
    for entity_id, s in ranked:
        doc = queries.entity_doc(source, domain, entity_id) or {"golden": [], "members": []}
        golden = {g["field"]: g for g in queries.golden_in_schema_order(domain, doc["golden"])}
        values, _ = golden_record(sense, golden, unmasked)
        member = next((m for m in doc["members"] if m.get("unique_id") == s["unique_id"]), None)
        why = explain(model, sense, row, values_of[s["unique_id"]], s, tf, unmasked, member)
        out.append({
            "entity_id": entity_id,
            "match": decision(model, why["match_probability"]),
            "match_probability": round(why["match_probability"], 6),
            "match_weight": why["match_weight"],
            "best_record": s["unique_id"],
            "blocking_keys": s["blocking_keys"],
            "comparisons": [{k: c[k] for k in ("comparison", "level", "match_weight")}
                            for c in explained(sense, s["comparisons"], unmasked)],
            "explanation": why["items"],
            "golden": values,
            "model_version": model.version,
        })
    return out, top_probability
