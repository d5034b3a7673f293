"""POST /v1/{domain}/records: records given in canonical fields are checked, standardized and
handed to the one incremental path (`Resolver.add_frame`, as `ingest
--incremental`): stored and linked in one transaction, each joining an entity or creating one,
records of one call linked to each other too. The server's views (documents, blocking index)
learn the records and their entities from the commit itself (resolver.lookup.service), as they
do for an `ingest --incremental` job.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from resolver.access.sensitivity import embeds_resident_id
from resolver.engine import Resolver
from resolver.errors import InputError
from resolver.incremental import entities_of
from resolver.ingest import QUARANTINE_FLAGS
from resolver.lookup import queries
from resolver.lookup.block_index import BlockIndex
from resolver.lookup.match import check_record
from resolver.lookup.service import LookupService
from resolver.mapping import sources_of
from resolver.readers import Rejection

MAX_RECORDS = 100


def neighbours(index: BlockIndex, touched: pd.DataFrame) -> set[str]:
    """The records sharing a bounded blocking key with one of `touched`, from the server's index."""
    out: set[str] = set()
    for row in touched.to_dict("records"):
        found, _, _ = index.lookup({k: None if _missing(v) else v for k, v in row.items()})
        out.update(found)
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


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
    service.model(domain)  # no published model: a 503 before anything is standardized
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
        model, index = service.model(domain)  # under the lock: a job's commit may have switched the view
        result = Resolver(service.store, domain).add_frame(
            good, rejections, file, source, model_version=model.version,
            neighbours=lambda touched: neighbours(index, touched))
        uids = [str(u) for u in good["unique_id"]]
        placed = {p.unique_id: p for p in result.placements}
        current = entities_of(service.store, [u for u in uids if u not in placed])
    for sid, uid in zip(good["source_record_id"], uids, strict=True):
        p = placed.get(uid)
        if p is None:
            outcomes.append({"source_record_id": sid, "unique_id": uid, "action": "unchanged",
                             "entity_id": current.get(uid)})
        else:
            outcomes.append({"source_record_id": sid, "unique_id": uid, "action": p.action, "entity_id": p.entity_id,
                             "match_probability": None if p.match_probability is None
                             else round(p.match_probability, 6), "reason": p.reason})
    for r in frame[bad].itertuples():
        outcomes.append({"source_record_id": r.source_record_id, "unique_id": r.unique_id,
                         "action": "quarantined", "entity_id": None, "reason": r.std_flags})
    return {"domain": domain, "model_version": result.model_version, "results": outcomes}
