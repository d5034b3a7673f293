"""The bulk path's candidate pairs (resolver.store.bulk_link, SQL over the neighbourhood) against
the compiled scorer's (resolver.lookup.pairs.neighbourhood_pairs, Python over a frame): the same
pairs under the same first blocking rule, with the trained caps and with caps so tight that
blocks go over them."""

from __future__ import annotations

import copy
import dataclasses

import duckdb
import pytest

from resolver.lookup.pairs import neighbourhood_pairs
from resolver.lookup.scoring import compile_model
from resolver.store.bulk_link import PAIRS, BulkNeighbourhood
from resolver.store.neighbourhood import RECORDS


def _tight(model, cap):
    meta = copy.deepcopy(model.metadata)
    for key in meta["blocking_keys"]:
        key["max_block_size"] = cap
    return dataclasses.replace(model, metadata=meta, version=f"{model.version}-cap{cap}")


@pytest.mark.parametrize("cap", [None, 2, 3])
def test_bulk_candidate_pairs_are_the_compiled_scorers(sample_records, sample_model, cap):
    records = sample_records("enterprise").drop(columns=["raw", "record_hash"])
    model = sample_model("enterprise")
    if cap is not None:
        model = _tight(model, cap)
    touched = sorted(records["unique_id"].iloc[::3])
    theirs = neighbourhood_pairs(records, touched, model, compile_model(model), 0.0)
    assert theirs is not None and len(theirs) >= 10
    con = duckdb.connect()
    con.register("frame", records)
    con.execute(f"CREATE TEMP TABLE {RECORDS} AS SELECT * FROM frame")
    con.execute("CREATE TEMP TABLE bulk_touched_ids AS SELECT unnest(?::VARCHAR[]) AS unique_id", [touched])
    count = BulkNeighbourhood(con, "unused").candidate_pairs(model.blocking_keys)
    ours = {(a, b, str(rule)) for a, b, rule in con.execute(f"SELECT l, r, rule FROM {PAIRS}").fetchall()}
    assert count == len(ours)
    assert ours == {(min(a, b), max(a, b), str(k)) for a, b, k in
                    zip(theirs["unique_id_l"], theirs["unique_id_r"], theirs["match_key"], strict=True)}
    if cap == 2:  # the caps cut pairs the trained caps keep
        assert len(ours) < len(neighbourhood_pairs(records, touched, sample_model("enterprise"),
                                                   compile_model(sample_model("enterprise")), 0.0))
