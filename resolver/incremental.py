"""Incremental linking: new source records join existing entities without re-resolving everything.

The one path for `resolver ingest --incremental` and POST /v1/{domain}/records (`link_records`):

1. The *touched* records are the new ones and those whose values changed (read before the ingest).
2. In ONE transaction (`Store.ingest_and_link`; a file's records `CHUNK` at a time): store the records; find their neighbourhood with
   the model's own blocking keys and caps (existing records sharing a key value with a touched
   record, then every member of their entities); score its pairs with a touched record with the
   published model, compiled (resolver.lookup.pairs; Splink's `predict_pairs` for a model the
   compiler cannot read) and cluster it under the hard constraints, each existing entity held
   together by certain edges, so an entity only grows, merges through a new record, or loses a
   changed record; save with `Store.save_resolution(incremental=True)` (stable master IDs and
   history as for a full run, golden records rebuilt only for the entities that changed).
3. Each touched record is reported as joined (an entity that existed) or created.

Approximation: term frequencies come from the neighbourhood, not the whole domain; a full
`resolver resolve` recomputes everything.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from resolver.errors import NotFoundError
from resolver.ingest import Prepared, prepare
from resolver.linking.model import LinkModel
from resolver.lookup.scoring import CompiledModel
from resolver.readers import Rejection
from resolver.store import IngestCounts, Store
from resolver.store.held import held
from resolver.store.id_sets import member_of
from resolver.store.store import Neighbourhood
from resolver.store.write_plan import BEFORE

NO_CANDIDATE = "no candidate above the threshold"
# Records of one file linked per transaction by `ingest --incremental`, to bound memory: 100k
# new records into 1M took 88 s and 7.5 GB in one transaction, 148 s and 5.7 GB in chunks of
# 20k (the chunks' neighbourhoods overlap: 624k records scored against 481k).
CHUNK = 100_000
# Neighbourhoods up to this many rows take the plain-Python edges and placements (a POST
# /records call's few hundred rows: pandas' fixed cost was ~10-20 ms of one record's write).
SMALL_HOOD = 5_000
_EDGE_COLUMNS = ["unique_id_l", "unique_id_r", "match_probability"]


@dataclass(frozen=True)
class Placement:
    """Where one touched source record went: `joined` an entity that existed, or `created` one."""

    unique_id: str
    entity_id: str
    action: str
    match_probability: float | None  # its best link inside its entity; None when alone
    reason: str | None  # why a created record joined nothing


@dataclass
class IncrementalResult:
    """What an incremental ingest did."""

    counts: IngestCounts
    touched: int
    neighbourhood: int
    joined: int
    created: int
    model_version: str
    placements: list[Placement] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)  # unique_id → entity, for neighbourhood records whose entity changed


def entity_edges(hood: pd.DataFrame, touched: set[str]) -> pd.DataFrame:
    """Certain edges that hold each existing entity together (a chain through its untouched members)."""
    if len(hood) <= SMALL_HOOD:  # plain Python: the same chain, without pandas' fixed cost
        kept_rows = sorted((e, u) for u, e in zip(hood["unique_id"].tolist(), hood["_entity_before"].tolist(),
                                                  strict=True) if isinstance(e, str) and u not in touched)
        chain = [(a[1], b[1]) for a, b in zip(kept_rows, kept_rows[1:], strict=False) if a[0] == b[0]]
        return pd.DataFrame({"unique_id_l": [a for a, _ in chain], "unique_id_r": [b for _, b in chain],
                             "match_probability": [1.0] * len(chain)}, columns=_EDGE_COLUMNS)
    kept = hood[hood["_entity_before"].notna().to_numpy() & ~member_of(hood["unique_id"], touched)]
    kept = kept.sort_values(["_entity_before", "unique_id"])
    same = kept["_entity_before"].to_numpy()[1:] == kept["_entity_before"].to_numpy()[:-1]
    ids = kept["unique_id"].to_numpy()
    return pd.DataFrame({"unique_id_l": ids[:-1][same], "unique_id_r": ids[1:][same], "match_probability": 1.0})


def placements_of(touched: list[str], entity_of: dict[str, str], existed: set[str], local: pd.DataFrame,
                  pairs: pd.DataFrame, report: dict[str, Any], threshold: float) -> list[Placement]:
    """Joined or created, with the best link inside its entity, for every touched record."""
    if len(local) <= SMALL_HOOD:
        return _placements_small(touched, entity_of, existed, local, pairs, report, threshold)
    cluster = local.set_index("unique_id")["cluster_id"]
    strong = pairs.loc[pairs["match_probability"] >= threshold, ["unique_id_l", "unique_id_r", "match_probability"]]
    above = set(strong["unique_id_l"].tolist()) | set(strong["unique_id_r"].tolist())
    inside = strong[strong["unique_id_l"].map(cluster).to_numpy() == strong["unique_id_r"].map(cluster).to_numpy()]
    ends = pd.concat([inside[["unique_id_l", "match_probability"]].set_axis(["unique_id", "p"], axis=1),
                      inside[["unique_id_r", "match_probability"]].set_axis(["unique_id", "p"], axis=1)])
    best = {str(k): float(v) for k, v in ends.groupby("unique_id")["p"].max().items()}
    return _placed(touched, entity_of, existed, best, above, report)


def _placements_small(touched: list[str], entity_of: dict[str, str], existed: set[str], local: pd.DataFrame,
                      pairs: pd.DataFrame, report: dict[str, Any], threshold: float) -> list[Placement]:
    """`placements_of` in plain Python for a small neighbourhood (tests/lookup/test_write_paths.py)."""
    cluster = dict(zip(local["unique_id"].tolist(), local["cluster_id"].tolist(), strict=True))
    above: set[str] = set()
    best: dict[str, float] = {}
    for left, right, p in zip(pairs["unique_id_l"].tolist(), pairs["unique_id_r"].tolist(),
                              pairs["match_probability"].tolist(), strict=True):
        if not p >= threshold:
            continue
        above |= {left, right}
        if left in cluster and right in cluster and cluster[left] == cluster[right]:
            for end in (left, right):
                best[end] = max(best.get(end, float(p)), float(p))
    return _placed(touched, entity_of, existed, best, above, report)


def _placed(touched: list[str], entity_of: dict[str, str], existed: set[str], best: dict[str, float],
            above: set[str], report: dict[str, Any]) -> list[Placement]:
    """Each touched record's placement from its best link inside its entity (`best`) and the
    records with any link above the threshold (`above`)."""
    refused = {uid: ex["constraint"] for ex in report.get("refused_examples", [])
               for uid in (ex["unique_id_l"], ex["unique_id_r"])}
    out = []
    for uid in touched:
        entity = entity_of[uid]
        joined = entity in existed
        reason = None
        if not joined and uid not in best:
            reason = (f"a hard constraint refused every join ({refused[uid]})" if uid in refused
                      else "a hard constraint refused every join" if uid in above else NO_CANDIDATE)
        out.append(Placement(uid, entity, "joined" if joined else "created", best.get(uid), reason))
    return out


def published_for(store: Store, domain: str, model_version: str | None,
                  compiled: CompiledModel | None) -> tuple[LinkModel, CompiledModel]:
    """The published model an incremental write links with (the latest, or `model_version`) and
    its compiled form (`compiled` when it is that version's); refused before a first resolution."""
    from resolver.lookup.pairs import compiled_model

    # a caller naming the version it holds compiled (the server) read that model from this
    # store: no look-up of the latest (~3 ms of every POST /records)
    named = model_version if compiled is not None and compiled.version == model_version else None
    latest = None if named else store.latest_model(domain)
    with store.reader() as reader:
        resolved = reader.has_resolution(domain)
    if not (named or latest) or not resolved:
        raise NotFoundError(f"{store.path}: no {domain} resolution yet; run `resolver train` and "
                            "`resolver resolve` once before incremental ingest")
    model = _parsed(store, domain, model_version or (latest[0] if latest else ""))
    if compiled is None or compiled.version != model.version:
        compiled = compiled_model(model)
    return model, compiled


_models: dict[tuple[str, str, str], LinkModel] = {}  # (store file, domain, version) → its model
_models_lock = threading.Lock()


def _parsed(store: Store, domain: str, version: str) -> LinkModel:
    """The published model `version`, parsed once per store file (a version's JSON never
    changes; reading and parsing it was ~5 ms of every POST /records)."""
    from resolver.linking.model import published_model

    key = (str(Path(store.path).resolve()), domain, version)
    with _models_lock:
        found = _models.get(key)
    if found is None:
        found = published_model(store, domain, version)
        with _models_lock:
            if len(_models) > 16:
                _models.clear()
            _models[key] = found
    return found


def link_records(store: Store, domain: str, records: pd.DataFrame, rejections: list[Rejection], file: str,
                 source: str, *, account: dict[str, Any] | None = None, model_version: str | None = None,
                 neighbours: Callable[[pd.DataFrame], set[str]] | None = None,
                 earlier: IngestCounts | None = None, compiled: CompiledModel | None = None) -> IncrementalResult:
    """Store standardized `records` of `source` (as `resolver.ingest.prepare` or the API's
    standardizer make them; `rejections` go to quarantine) and link the new and changed ones
    against the domain's entities with the published model (the latest, or `model_version`),
    all in one transaction. The one incremental path: `ingest --incremental` and POST /records.

    `neighbours(touched_records)` may find the records sharing a bounded blocking key with the
    touched ones in an index the caller keeps of the same keys and caps (the API's
    resolver.lookup.block_index); without it the store is searched.
    """
    from resolver.linking.cluster import cluster_with_constraints
    from resolver.linking.predict import predict_pairs
    from resolver.lookup.pairs import neighbourhood_pairs

    model, compiled = published_for(store, domain, model_version, compiled)
    clustering = model.clustering
    touched = store.touched_ids(domain, records)
    touched_set = set(touched)
    seen: dict[str, Any] = {}

    def link(neighbourhood: Neighbourhood) -> tuple[pd.DataFrame, pd.DataFrame, list[str]] | None:
        if not touched:
            return None
        found = None if neighbours is None else neighbours(records[records["unique_id"].isin(touched_set)])
        hood = neighbourhood(touched, model.blocking_keys, found)
        pairs = neighbourhood_pairs(hood, touched_set, model, compiled)
        if pairs is None:  # a model the compiled scorer cannot read: Splink scores the whole neighbourhood
            pairs = predict_pairs(hood.drop(columns=["_entity_before"]), model)
            pairs = pairs[pairs["unique_id_l"].isin(touched_set) | pairs["unique_id_r"].isin(touched_set)]
        edges = pd.concat([entity_edges(hood, touched_set), pairs], ignore_index=True)
        local, report = cluster_with_constraints(hood, edges, clustering)
        seen.update(hood=hood, pairs=pairs, local=local, report=report)
        before = dict(zip(hood["unique_id"].tolist(), hood["_entity_before"].tolist(), strict=True))
        # the plan takes each row's entity from here rather than reading the membership again
        return local.assign(**{BEFORE: [before[u] for u in local["unique_id"].tolist()]}), pairs, touched

    # The records and their linking are one transaction: a kill cannot leave records without entities.
    placed: dict[str, str] = {}
    counts = store.ingest_and_link(domain, records, rejections, file, source, account, model.version, link, earlier,
                                   placed=placed)
    if not touched:
        return IncrementalResult(counts, 0, 0, 0, 0, model.version)
    now = placed or entities_of(store, list(seen["hood"]["unique_id"]))  # a small plan knows them
    return linked_result(counts, touched, seen, now, float(clustering["match_probability_threshold"]), model.version)


def linked_result(counts: IngestCounts, touched: list[str], seen: dict[str, Any], now: dict[str, str],
                  threshold: float, version: str) -> IncrementalResult:
    """The result of a committed incremental link: each touched record's placement and every
    record of the neighbourhood whose entity changed (`now`: unique_id → entity after the commit)."""
    hood = seen["hood"]
    # (object arrays: iterating Arrow-backed text per element was ~0.7 s for 190k records)
    before = dict(zip(hood["unique_id"].to_numpy(dtype=object).tolist(),
                      hood["_entity_before"].to_numpy(dtype=object).tolist(), strict=True))
    placements = placements_of(touched, now, set(hood["_entity_before"].dropna().to_numpy(dtype=object).tolist()),
                               seen["local"], seen["pairs"], seen["report"], threshold)
    joined = sum(p.action == "joined" for p in placements)
    moved = {u: e for u, e in now.items() if before.get(u) != e}
    return IncrementalResult(counts, len(touched), len(hood), joined, len(placements) - joined, version,
                             placements, moved)


def ingest_incremental(store: Store, mapping_path: str | Path, file: str | Path,
                       chunk: int = CHUNK) -> IncrementalResult:
    """Ingest the department export `file` through its mapping and link its records
    (`link_records`), `chunk` records per transaction: each chunk is stored and linked
    atomically, and the file's account is recorded with its last chunk. Linked set-based
    (resolver.incremental_bulk), with the same outcome as `link_records`. Automatic garbage
    collection is paused for it (`gc_paused`) unless a server in this process serves the store
    (a job, resolver.jobs): the switch is process-wide, and the server's request threads keep theirs."""
    with gc_paused() if not held(store.path) else nullcontext():
        prepared = prepare(mapping_path, file)
        return _linked_file(store, prepared, str(file), chunk)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's automatic garbage collection off for the block. A file's ingest keeps millions
    of objects alive (its rows' values, the tokenizer's dictionary, the frames), so each
    collection of the oldest generation walks all of them and frees nothing: 1-2 CPU s of a 100k-record
    file into the 1M master (docs/serving.md, session 37). Each chunk's cycles are collected by
    a full pass beside its COMMIT (resolver.incremental_bulk.link_bulk's `collect`; after the
    block, the first automatic collection would otherwise walk every object the file allocated,
    0.5-0.9 s of a 100k file, session 39); what is left after is collected as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _linked_file(store: Store, prepared: Prepared, file: str, chunk: int) -> IncrementalResult:
    """`ingest_incremental`'s linking of a prepared file, `chunk` records per transaction."""
    from resolver.incremental_bulk import link_bulk

    records = prepared.records
    starts = range(0, max(len(records), 1), chunk)
    results: list[IncrementalResult] = []
    stored = IngestCounts()
    with store.without_vacuum():
        for n, start in enumerate(starts):
            last = n == len(starts) - 1
            part = records.iloc[start:start + chunk].reset_index(drop=True)
            result = link_bulk(store, prepared.mapping.domain, part, prepared.rejections if n == 0 else [],
                               file, prepared.mapping.source, account=prepared.account() if last else None,
                               earlier=stored, collect=not gc.isenabled())
            results.append(result)
            for name in ("read", "loaded", "updated", "unchanged", "quarantined"):
                setattr(stored, name, getattr(stored, name) + getattr(result.counts, name))
    return _merged(results, stored)


def _merged(results: list[IncrementalResult], counts: IngestCounts) -> IncrementalResult:
    """One result for a file linked in chunks."""
    last = results[-1]
    counts.account = last.counts.account
    moved: dict[str, str] = {}
    for r in results:
        moved.update(r.moved)
    return IncrementalResult(counts, sum(r.touched for r in results), sum(r.neighbourhood for r in results),
                             sum(r.joined for r in results), sum(r.created for r in results), last.model_version,
                             [p for r in results for p in r.placements], moved)


def entities_of(store: Store, unique_ids: list[str]) -> dict[str, str]:
    """The entity each of `unique_ids` belongs to now."""
    with store.reader() as reader:
        return reader.entities_in(unique_ids)
