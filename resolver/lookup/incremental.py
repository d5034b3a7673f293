"""Incremental ingest: new source records are standardized, stored, and each joins the best
matching entity (match probability ≥ the model's threshold, no hard constraint broken) or
becomes a new entity. Master IDs, golden records and history go through
`Store.save_resolution`, so they follow the same stable-ID rules as a full resolution.

Limits: records within one call are not linked to each other. The save is incremental: only
the joined entities and the new ones are rewritten, and only their golden records rebuilt.
The records and their linking are one transaction (`Store.ingest_and_resolve`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from resolver.access.sensitivity import embeds_resident_id
from resolver.domains import sources_of
from resolver.errors import InputError
from resolver.ingest import QUARANTINE_FLAGS
from resolver.lookup import queries
from resolver.lookup.match import check_record, match_record
from resolver.lookup.service import LookupService
from resolver.readers import Rejection

MAX_RECORDS = 100


def _constraint_breaks(row: dict[str, Any], golden: dict[str, Any],
                       constraints: tuple[dict[str, Any], ...]) -> str | None:
    """Why `row` may not join the entity with this golden record (clustering.yaml constraints)."""
    for con in constraints:
        if con.get("kind") == "different_valid":
            col = con["column"]
            mine = row.get(col)
            theirs = golden.get(col)
            if mine and theirs and row.get(con.get("valid_flag", "")) is True and mine != theirs:
                return f"different valid {col}"
        if con.get("kind") == "branch_vs_head_office":
            col = con.get("kind_column", "entity_kind")
            kinds = {row.get(col), golden.get(col)}
            if "branch" in kinds and len(kinds - {None}) == 2:
                return "branch vs head office"
    return None


def ingest_records(service: LookupService, domain: str, source: str, records: list[dict[str, Any]],
                   department: str) -> dict[str, Any]:
    """Store `records` of `source` and link each; returns per record the entity it joined or created."""
    queries.check_domain(domain)
    known = sources_of(domain)
    if source not in known:
        raise InputError(f"unknown {domain} source (known: {', '.join(known)})")
    if not records or len(records) > MAX_RECORDS:
        raise InputError(f"send 1 to {MAX_RECORDS} records per call")
    ids = [str(r.get("source_record_id") or "") for r in records]
    if len(set(ids)) != len(ids) or not all(ids):
        raise InputError("every record needs a distinct source_record_id")
    if any(embeds_resident_id(i) for i in ids):  # a record ID is shown to every caller, unmasked
        raise InputError("a source_record_id holds a resident ID; use the department's own record number")
    fields = [check_record(domain, {k: v for k, v in r.items() if k != "source_record_id"}) for r in records]
    model, index = service.model(domain)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    file = f"api:{department}:{stamp}"
    raw = [json.dumps({"source_record_id": i, **f}, ensure_ascii=False, sort_keys=True) for i, f in zip(ids, fields, strict=True)]
    frame = service.standardize.frame(domain, [{"source": source, "source_record_id": i, "row_number": n + 1, **f}
                                         for n, (i, f) in enumerate(zip(ids, fields, strict=True))])
    frame["raw"] = raw
    frame["record_hash"] = [hashlib.sha1(s.encode("utf-8")).hexdigest() for s in raw]
    flags = frame["std_flags"].fillna("")
    bad = flags.apply(lambda t: any(p in t for p in QUARANTINE_FLAGS))
    rejections = [Rejection(file, int(str(r["row_number"])), "", f"quarantined: {r['std_flags']}", str(r["raw"]))
                  for r in frame[bad].to_dict("records")]
    good = frame[~bad].reset_index(drop=True)
    outcomes: list[dict[str, Any]] = []
    with service.write_lock:
        # Everything is decided before writing, then the records and their linking are written
        # in one transaction: a kill in between cannot leave a record without its entity.
        cur = service.cursor()
        known = queries.entities_of(cur, [str(u) for u in good["unique_id"]])
        new_rows = []
        for record in good.to_dict("records"):
            row = {str(k): (None if not isinstance(v, (list, tuple, str)) and not hasattr(v, "__len__")
                            and pd.isna(v) else v) for k, v in record.items()}
            uid = row["unique_id"]
            if uid in known:
                outcomes.append({"source_record_id": row["source_record_id"], "unique_id": uid,
                                 "action": "unchanged", "entity_id": known[uid]})
                continue
            ranked = match_record(service.docs, domain, row, model, index, top=5, unmasked=True)
            target, probability, reason = None, None, None
            for cand in ranked:  # unmasked: each candidate's golden record is its plain values
                if cand["match_probability"] < model.threshold:
                    break
                reason = _constraint_breaks(row, cand["golden"], model.constraints)
                if reason is None:
                    target, probability = cand["entity_id"], cand["match_probability"]
                    break
            new_rows.append({"unique_id": uid, "cluster_id": target or f"new:{uid}"})
            outcomes.append({"source_record_id": row["source_record_id"], "unique_id": uid,
                             "action": "joined" if target else "created", "entity_id": target,
                             "match_probability": probability,
                             "reason": None if target else (reason or "no candidate above the threshold")})
        clusters = None
        if new_rows:
            joined = {r["cluster_id"] for r in new_rows if not str(r["cluster_id"]).startswith("new:")}
            members = pd.DataFrame([(u, e) for e in sorted(map(str, joined)) for u in queries.members_of(cur, e)],
                                   columns=["unique_id", "cluster_id"])
            clusters = pd.concat([members, pd.DataFrame(new_rows)], ignore_index=True)
        service.store.ingest_and_resolve(domain, good, rejections, file, source, clusters, model.version,
                                         [str(r["unique_id"]) for r in new_rows])
        service.forget_columns(domain)  # an ingest may add columns
        index.add(cur, [str(u) for u in good["unique_id"]])
        if new_rows:
            now = queries.entities_of(cur, [str(r["unique_id"]) for r in new_rows])
            index.set_entities(now)
            for o in outcomes:
                o["entity_id"] = now.get(o["unique_id"], o["entity_id"])
    for r in frame[bad].itertuples():
        outcomes.append({"source_record_id": r.source_record_id, "unique_id": r.unique_id,
                         "action": "quarantined", "entity_id": None, "reason": r.std_flags})
    return {"domain": domain, "model_version": model.version, "results": outcomes}
