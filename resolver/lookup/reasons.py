"""Why a match found no entity: a code and a sentence a department's clerk can act on.

Codes, in the order they are checked:

- `no_blocking_key`: the query fills no blocking key, so no record can be a candidate; the
  answer names the fields that would give one (`add_fields`);
- `blocks_too_common`: the query's key values are shared by more records than each key's cap
  (a common name, an agency's phone): they give no evidence, so no candidates;
- `no_candidates`: no record shares a key value with the query;
- `below_threshold`: candidates were scored, none reached the model's match threshold (the
  best one's probability is given).
"""

from __future__ import annotations

from typing import Any

from resolver.domains import DomainSchema
from resolver.linking.rules import BlockingKey


def _field_of(schema: DomainSchema) -> dict[str, str]:
    return {column: spec.name for spec in schema.fields.values() for column in spec.columns()}


def _blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def _add_fields(schema: DomainSchema, keys: tuple[BlockingKey, ...], row: dict[str, Any], given: set[str],
                allowed: set[str]) -> list[list[str]]:
    """Per blocking key the query does not fill: the fields still to give for it, when every one
    of them is a field the caller may use and did not give (a field given whose part could not
    be read, such as an address without a district, is not asked again), leaving out a set
    that holds a smaller one. Fewest fields first."""
    field_of = _field_of(schema)
    out: list[list[str]] = []
    for key in keys:
        missing = sorted({field_of.get(c, c) for c in key.columns if _blank(row.get(c))})
        if missing and not (set(missing) & given) and set(missing) <= allowed and missing not in out:
            out.append(missing)
    out = [o for o in out if not any(set(other) < set(o) for other in out)]  # the smallest sets only
    return sorted(out, key=lambda fields: (len(fields), fields))


def _fields_text(options: list[list[str]]) -> str:
    return "; ".join(" + ".join(o) for o in options[:6]) or "none the caller may use"


def no_entity(schema: DomainSchema, keys: tuple[BlockingKey, ...], row: dict[str, Any], given: set[str],
              allowed: set[str], sizes: dict[str, tuple[int, int]], best: float | None,
              thresholds: tuple[float, float]) -> dict[str, Any]:
    """The reason for an answer without a candidate at or above the match threshold.

    `given`: the query's fields; `allowed`: the fields this caller may match on; `sizes`: the
    query's blocks (resolver.lookup.block_index.block_sizes); `best`: the best candidate's match
    probability (None: no candidate); `thresholds`: (match, review)."""
    add = _add_fields(schema, keys, row, given, allowed)
    if best is not None:
        match, review = thresholds
        where = "in the review band" if best >= review else "below the review threshold"
        return {"code": "below_threshold", "best_match_probability": round(best, 6),
                "message": f"candidates were found, the best with match probability {best:.4f}, {where} "
                           f"({review}); the model's match threshold is {match}"}
    if not sizes:
        return {"code": "no_blocking_key", "add_fields": add,
                "message": "the query fills no blocking key, so no record can be a candidate; fields that "
                           f"would give one: {_fields_text(add)}"}
    full = sorted(name for name, (n, cap) in sizes.items() if n > cap)
    if full and len(full) == len(sizes):
        return {"code": "blocks_too_common", "keys": full, "add_fields": add,
                "message": f"the query's values for {', '.join(full)} are shared by more records than the key "
                           f"allows, so they give no candidates; more fields would help: {_fields_text(add)}"}
    return {"code": "no_candidates", "keys": sorted(sizes), "add_fields": add,
            "message": f"no record shares a value with the query on {', '.join(sorted(sizes))}; other "
                       f"fields would try other keys: {_fields_text(add)}"}
