"""POST /v1/{domain}/records: records given in canonical fields are checked and standardized in
the caller's thread (`prepare`: bad input fails this call only), then committed by the domain's
group committer (resolver.lookup.group_commit) through the one incremental path
(`Resolver.add_frame`, as `ingest --incremental`): stored and linked in one transaction with
every other call waiting, each record joining an entity or creating one, records of every call
in the batch linked to each other too. The server's views (documents, blocking index) learn
the records and their entities from the commit itself (resolver.lookup.service), as they do
for an `ingest --incremental` job.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from resolver.access.sensitivity import embeds_resident_id
from resolver.errors import InputError
from resolver.ingest import QUARANTINE_FLAGS
from resolver.lookup import block_index, queries
from resolver.lookup.block_index import BlockIndex
from resolver.lookup.match import check_record
from resolver.lookup.pairs import text_column
from resolver.lookup.service import LookupService
from resolver.mapping import sources_of
from resolver.paths import rules_dir
from resolver.readers import Rejection

MAX_RECORDS = 100
_sources: dict[str, tuple[tuple[Any, ...], frozenset[str]]] = {}
_calls = itertools.count()


def neighbours(index: BlockIndex, touched: pd.DataFrame) -> set[str]:
    """The records sharing a bounded blocking key with one of `touched`, from the server's index."""
    columns = sorted({c for key in index.keys for c in key.columns} & set(touched.columns))
    if block_index.VECTORIZED and len(touched) > block_index.FEW:  # a few rows: the loop costs less
        texts = {c: t for c in columns if (t := text_column(touched[c])) is not None}
        if len(texts) == len(columns):
            found = index.neighbours_of_frame(texts)
            if found is not None:
                return found
    rows = [{k: None if _missing(v) else v for k, v in row.items()} for row in touched[columns].to_dict("records")]
    return index.neighbours(rows)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def known_sources(domain: str) -> frozenset[str]:
    """The sources mapped onto `domain` in the rules folder, read again only when a mapping
    file is added, removed or changed (its files' sizes and times: ~0.2 ms, where reading the
    folder's YAML was ~50 ms, paid by every call when it was re-read once a second)."""
    folder = rules_dir() / "sources"
    files = sorted(folder.glob("*.yaml"))
    signature = (str(folder), *((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    cached = _sources.get(domain)
    if cached is None or cached[0] != signature:
        cached = _sources[domain] = (signature, frozenset(sources_of(domain)))
    return cached[1]


@dataclass
class Pending:
    """One POST /records call, checked and standardized, waiting for its commit."""

    domain: str
    source: str
    model_version: str
    file: str
    good: pd.DataFrame  # records to store and link
    bad: pd.DataFrame  # records quarantined by the standardizer
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def unique_ids(self) -> list[str]:
        return [str(u) for u in self.good["unique_id"]]


def prepare(service: LookupService, domain: str, source: str, records: list[dict[str, Any]],
            department: str) -> Pending:
    """Check and standardize one call's records (InputError names what is wrong)."""
    queries.check_domain(domain)
    known = known_sources(domain)
    if source not in known:
        raise InputError(f"unknown {domain} source (known: {', '.join(sorted(known))})")
    if not records or len(records) > MAX_RECORDS:
        raise InputError(f"send 1 to {MAX_RECORDS} records per call")
    ids = [str(r.get("source_record_id") or "") for r in records]
    if len(set(ids)) != len(ids) or not all(ids):
        raise InputError("every record needs a distinct source_record_id")
    if any(embeds_resident_id(i) for i in ids):  # a record ID is shown to every caller, unmasked
        raise InputError("a source_record_id holds a resident ID; use the department's own record number")
    fields = [check_record(domain, {k: v for k, v in r.items() if k != "source_record_id"}) for r in records]
    model, _ = service.model(domain)  # no published model: a 503 before anything is standardized
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    file = f"api:{department}:{stamp}-{next(_calls)}"  # one file per call, also inside a shared commit
    raw = [json.dumps({"source_record_id": i, **f}, ensure_ascii=False, sort_keys=True) for i, f in zip(ids, fields, strict=True)]
    frame = service.standardize.frame(domain, [{"source": source, "source_record_id": i, "row_number": n + 1, **f}
                                         for n, (i, f) in enumerate(zip(ids, fields, strict=True))])
    frame["raw"] = raw
    frame["record_hash"] = [hashlib.sha1(s.encode("utf-8")).hexdigest() for s in raw]
    # a list, not Series.apply (~0.9 ms for one record); standardize_records numbers rows 0..n-1
    quarantined = [isinstance(t, str) and any(p in t for p in QUARANTINE_FLAGS) for t in frame["std_flags"].tolist()]
    if not any(quarantined):  # the usual call: a boolean take of ~40 Arrow columns, twice, cost ~10 ms
        return Pending(domain, source, model.version, file, frame, frame.iloc[:0], [])
    bad = pd.Series(quarantined, index=frame.index)
    rejections = [Rejection(file, int(str(r["row_number"])), "", f"quarantined: {r['std_flags']}", str(r["raw"]))
                  for r in frame[bad].to_dict("records")]
    return Pending(domain, source, model.version, file, frame[~bad].reset_index(drop=True),
                   frame[bad].reset_index(drop=True), rejections)


def answer(call: Pending, model_version: str, placed: dict[str, Any], current: dict[str, str]) -> dict[str, Any]:
    """One call's answer: per record the entity it joined or created (`placed`: unique_id →
    resolver.incremental.Placement), or where it already was (`current`, unchanged records)."""
    outcomes: list[dict[str, Any]] = []
    for sid, uid in zip(call.good["source_record_id"], call.unique_ids, strict=True):
        p = placed.get(uid)
        if p is None:
            outcomes.append({"source_record_id": sid, "unique_id": uid, "action": "unchanged",
                             "entity_id": current.get(uid)})
        else:
            outcomes.append({"source_record_id": sid, "unique_id": uid, "action": p.action, "entity_id": p.entity_id,
                             "match_probability": None if p.match_probability is None
                             else round(p.match_probability, 6), "reason": p.reason})
    for r in call.bad.to_dict("records") if len(call.bad) else []:  # ~10 ms for an empty frame
        outcomes.append({"source_record_id": r["source_record_id"], "unique_id": r["unique_id"],
                         "action": "quarantined", "entity_id": None, "reason": r["std_flags"]})
    return {"domain": call.domain, "model_version": model_version, "results": outcomes}


def ingest_records(service: LookupService, domain: str, source: str, records: list[dict[str, Any]],
                   department: str) -> dict[str, Any]:
    """Store `records` of `source` and link each; returns per record the entity it joined or
    created. Waits for the group commit that carries the call (resolver.lookup.group_commit)."""
    from resolver.lookup.group_commit import committer

    pending = prepare(service, domain, source, records, department)
    return committer(service).submit(pending).result()
