"""The bulk incremental path: a department file's records linked set-based (`ingest --incremental`).

The same linking as resolver.incremental.link_records (the POST /records path): the same
neighbourhood (model's blocking keys and caps), the same pairs and match probabilities, the same
clustering under the hard constraints with existing entities held together, the same save. What
differs is how a large file gets there, all in ONE transaction (`Store.ingest_and_link`):

- the neighbourhood stays in DuckDB (resolver.store.bulk_link): candidate pairs are SQL joins of
  the neighbourhood's capped blocking keys, their comparison levels the model's own SQL and their
  term frequencies counted by SQL over the neighbourhood; only the arithmetic of the weights runs
  in numpy (resolver.lookup.pairs.weigh, shared with the compiled scorer);
- only the columns clustering reads leave DuckDB (unique_id, the constraints' columns, the
  entity before), not every column of every neighbour;
- the documents of entities whose records changed are written once, by the resolution, not
  also by the ingest before it.

tests/store/test_incremental_bulk.py checks it against link_records record by record.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from resolver.errors import ConfigError
from resolver.incremental import (
    IncrementalResult,
    entities_of,
    entity_edges,
    linked_result,
    published_for,
)
from resolver.readers import Rejection
from resolver.store import IngestCounts, Store
from resolver.store.bulk_link import BulkNeighbourhood


def link_bulk(store: Store, domain: str, records: pd.DataFrame, rejections: list[Rejection], file: str,
              source: str, *, account: dict[str, Any] | None = None,
              earlier: IngestCounts | None = None, collect: bool = False) -> IncrementalResult:
    """Store standardized `records` of `source` (`rejections` go to quarantine) and link the new
    and changed ones against the domain's entities with the latest published model, in one
    transaction: what resolver.incremental.link_records does, set-based.

    The result's placements are worked out on a thread while DuckDB commits (the COMMIT keeps
    one core busy without the GIL), and with `collect` a full garbage collection runs there too,
    after them: a caller that paused the collector (resolver.incremental.gc_paused) otherwise
    pays that pass on its own thread once collection is on again (0.5-0.9 s for a 100k file)."""
    from resolver.linking import constraints
    from resolver.linking.cluster import cluster_with_constraints
    from resolver.lookup.pairs import weigh
    from resolver.lookup.scoring import gamma_sql

    model, compiled = published_for(store, domain, None, None)
    clustering = model.clustering
    touched = store.touched_ids(domain, records)
    touched_set = set(touched)
    keys = model.blocking_keys
    seen: dict[str, Any] = {}

    def link(hood: BulkNeighbourhood) -> tuple[pd.DataFrame, pd.DataFrame, list[str]] | None:
        if not touched:
            return None
        seen["size"] = hood.gather(touched, keys)
        have = hood.columns()
        missing = sorted(c for c in model.columns if c not in have)
        if missing:
            raise ConfigError(str(model.path or model.version),
                              [f"model reads column '{c}' that the records lack" for c in missing])
        names = [c.name for c in compiled.comparisons]
        pairs = pd.DataFrame({"unique_id_l": pd.Series(dtype="object"), "unique_id_r": pd.Series(dtype="object"),
                              "match_probability": pd.Series(dtype="float64"),
                              "match_weight": pd.Series(dtype="float64"), "match_key": pd.Series(dtype="object"),
                              **{f"mw_{n}": pd.Series(dtype="float64") for n in names}})
        if hood.candidate_pairs(keys):
            tf_columns = sorted(compiled.tf_columns)
            found = hood.levels(list(compiled.columns), [gamma_sql(c) for c in compiled.comparisons], tf_columns)
            keep, total, probability, weights = weigh(
                compiled, {f"gamma_{n}": found[f"gamma_{n}"] for n in names},
                {c: found[f"tf_{c}"] for c in tf_columns}, float(clustering["predict_threshold"]))
            pairs = pd.DataFrame({"unique_id_l": found["l"][keep], "unique_id_r": found["r"][keep],
                                  "match_probability": probability[keep], "match_weight": total[keep],
                                  "match_key": found["rule"][keep].astype(str),
                                  **{name: w[keep] for name, w in weights.items()}})
        wanted = sorted({c for con in constraints.of(clustering) for c in con.columns if c in have})
        frame = hood.frame(wanted)
        edges = pd.concat([entity_edges(frame, touched_set), pairs], ignore_index=True)
        local, report = cluster_with_constraints(frame, edges, clustering)
        seen.update(hood=frame[["unique_id", "_entity_before"]], pairs=pairs, local=local, report=report)
        return local, pairs, touched

    placed: dict[str, str] = {}
    threshold = float(clustering["match_probability_threshold"])
    beside = Beside()

    def before_commit() -> None:
        if touched and placed:  # the placements while DuckDB commits on the other core
            beside.start(lambda: _placed_and_collected(IngestCounts(), touched, seen, placed, threshold,
                                                       model.version, collect))

    try:
        counts = store.ingest_and_link(domain, records, rejections, file, source, account, model.version, link,
                                       earlier, bulk=True, placed=placed, before_commit=before_commit)
        early = beside.result()
    finally:
        beside.join()
    if not touched:
        return IncrementalResult(counts, 0, 0, 0, 0, model.version)
    if early is not None:
        early.counts = counts
        return early
    now = placed or entities_of(store, list(seen["hood"]["unique_id"]))  # the plan knows them
    return linked_result(counts, touched, seen, now, threshold, model.version)


def _placed_and_collected(counts: IngestCounts, touched: list[str], seen: dict[str, Any], now: dict[str, str],
                          threshold: float, version: str, collect: bool) -> IncrementalResult:
    result = linked_result(counts, touched, seen, now, threshold, version)
    if collect:
        gc.collect()
    return result


class Beside:
    """One function run on a thread of its own beside the COMMIT (which releases the GIL and
    keeps one core busy): its result, or its exception raised again, once the COMMIT is done."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._out: list[Any] = []

    def start(self, func: Callable[[], IncrementalResult]) -> None:
        def run() -> None:
            try:
                self._out.append((func(), None))
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                self._out.append((None, error))

        self._thread = threading.Thread(target=run, name="placements", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> IncrementalResult | None:
        """The function's result (None if it was never started)."""
        self.join()
        if not self._out:
            return None
        value, error = self._out[0]
        if error is not None:
            raise error
        return value
