"""Incremental linking: new source records join existing entities without re-resolving everything.

1. Ingest the file (one transaction, quarantine as usual); the *touched* records are the new
   ones and those whose values changed.
2. Candidate search in the store with the model's own blocking keys and caps: existing records
   sharing a key value with a touched record, then every member of their entities.
3. Score that neighbourhood with the published model (`predict_pairs`) and cluster it under the
   hard constraints, with each existing entity held together by certain edges, so an entity
   only grows, merges through a new record, or loses a changed record.
4. Save with `Store.save_resolution(incremental=True)`: stable master IDs and history as for a
   full run, golden records rebuilt only for the entities that changed.

Approximation: term frequencies come from the neighbourhood, not the whole domain; a full
`resolver resolve` recomputes everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from resolver.errors import NotFoundError
from resolver.ingest import prepare
from resolver.store import IngestCounts, Store
from resolver.store.store import records_table


@dataclass
class IncrementalResult:
    """What an incremental ingest did."""

    counts: IngestCounts
    touched: int
    neighbourhood: int
    joined: int
    created: int
    model_version: str


def _touched_ids(store: Store, domain: str, records: pd.DataFrame) -> list[str]:
    """Source records that are new or whose values changed (the store is read before ingest)."""
    table = records_table(domain)
    if not store.has_table(table):
        return list(records["unique_id"])
    frame = records[["unique_id", "record_hash"]]
    with store.transaction(incoming_hashes=frame) as con:
        rows = con.execute(
            f"SELECT i.unique_id FROM incoming_hashes i LEFT JOIN {table} t USING (unique_id) "
            "WHERE t.unique_id IS NULL OR t.record_hash <> i.record_hash").fetchall()
    return [r[0] for r in rows]


def _neighbourhood(store: Store, domain: str, touched: list[str], model) -> list[str]:  # type: ignore[no-untyped-def]
    """Touched records, existing records sharing a bounded blocking key with one, and their entities' members."""
    from resolver.linking.inputs import key_expression

    table = records_table(domain)
    with store.transaction(touched_ids=pd.DataFrame({"unique_id": touched}, dtype="object")) as con:
        con.execute("CREATE OR REPLACE TEMP TABLE hood (unique_id VARCHAR)")
        for key in model.blocking_keys:
            expr = key_expression(key)
            cap = f"HAVING count(*) <= {int(key.max_block_size)}" if key.max_block_size else ""
            con.execute(
                f"INSERT INTO hood SELECT unique_id FROM (SELECT unique_id, {expr} AS k FROM {table}) "
                f"WHERE k IN (SELECT k FROM (SELECT {expr} AS k FROM {table}) WHERE k IN "
                f"(SELECT {expr} FROM {table} WHERE unique_id IN (SELECT unique_id FROM touched_ids)) "
                f"GROUP BY k {cap})")
        rows = con.execute(
            "SELECT unique_id FROM touched_ids UNION "
            "SELECT unique_id FROM membership WHERE domain = ? AND entity_id IN "
            "(SELECT entity_id FROM membership WHERE unique_id IN "
            "(SELECT unique_id FROM hood UNION SELECT unique_id FROM touched_ids))",
            [domain]).fetchall()
        con.execute("DROP TABLE hood")
    return [r[0] for r in rows]


def _entity_edges(previous: pd.DataFrame, hood: set[str], touched: set[str]) -> pd.DataFrame:
    """Certain edges that hold each existing entity together (a chain through its members)."""
    kept = previous[previous["unique_id"].isin(hood) & ~previous["unique_id"].isin(touched)]
    kept = kept.sort_values(["entity_id", "unique_id"])
    same = kept["entity_id"].to_numpy()[1:] == kept["entity_id"].to_numpy()[:-1]
    ids = kept["unique_id"].to_numpy()
    return pd.DataFrame({"unique_id_l": ids[:-1][same], "unique_id_r": ids[1:][same], "match_probability": 1.0})


def ingest_incremental(store: Store, mapping_path: str | Path, file: str | Path) -> IncrementalResult:
    """Ingest `file` and link its records against the existing entities of its domain."""
    from resolver.linking.cluster import cluster_with_constraints
    from resolver.linking.model import load_model
    from resolver.linking.predict import predict_pairs

    prepared = prepare(mapping_path, file)
    domain = prepared.mapping.domain
    latest = store.latest_model(domain)
    previous = store.membership(domain)
    if latest is None or previous.empty:
        raise NotFoundError(f"{store.path}: no {domain} resolution yet; run `resolver train` and "
                            "`resolver resolve` once before incremental ingest")
    model = load_model(latest[1])
    touched = _touched_ids(store, domain, prepared.records)
    counts = store.ingest_frame(domain, prepared.records, prepared.rejections, str(file),
                                source=prepared.mapping.source, account=prepared.account())
    if not touched:
        return IncrementalResult(counts, 0, 0, 0, 0, model.version)
    hood = _neighbourhood(store, domain, touched, model)
    with store.transaction(hood_ids=pd.DataFrame({"unique_id": hood}, dtype="object")) as con:
        records = con.execute(f"SELECT * FROM {records_table(domain)} "
                              "WHERE unique_id IN (SELECT unique_id FROM hood_ids)").df()
    pairs = predict_pairs(records, model)
    touched_set = set(touched)
    pairs = pairs[pairs["unique_id_l"].isin(touched_set) | pairs["unique_id_r"].isin(touched_set)]
    edges = pd.concat([_entity_edges(previous, set(hood), touched_set), pairs], ignore_index=True)
    clustering = model.metadata["clustering"]
    local, _ = cluster_with_constraints(records, edges, clustering)
    store.save_resolution(domain, local, pairs, model.version, incremental=True, touched=touched)
    now = store.membership(domain)
    placed = now[now["unique_id"].isin(touched_set)]
    existed = set(previous["entity_id"])
    joined = int(placed["entity_id"].isin(existed).sum())
    return IncrementalResult(counts, len(touched), len(hood), joined, len(placed) - joined, model.version)
