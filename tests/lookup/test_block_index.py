"""The in-memory blocking index finds exactly what the blocking keys say, against a brute force."""

from __future__ import annotations

import dataclasses
import logging

import pandas as pd
import pytest
from lookup_data import build_store, raw_enterprises, standardized

from resolver.linking.model import load_model
from resolver.lookup.block_index import BlockIndex
from resolver.lookup.scoring import compile_model
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    logging.getLogger("splink").setLevel(logging.ERROR)
    return build_store(tmp_path_factory.mktemp("blocks"), n_enterprises=150, n_people=5)


def _enterprise_index(store, built) -> tuple:
    """A reader of `store` and the enterprise blocking index built from it with the model of `built`."""
    model = load_model(built.model_path)
    compiled = compile_model(model)
    reader = store.reader()
    have = set(reader.table_columns("records_enterprise"))
    return reader, BlockIndex(reader, "enterprise", model.blocking_keys, compiled.tf_columns, list(compiled.columns), have)


def _plain(v):
    return None if v is None or (isinstance(v, float) and v != v) or v == "" else str(v)


def brute_force(records: pd.DataFrame, keys, row: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in keys:
        values = [_plain(row.get(c)) for c in key.columns]
        if None in values or any(v in {str(x) for x in key.exclude_values.get(c, [])}
                                 for c, v in zip(key.columns, values, strict=True)):
            continue
        hit = records
        for c, v in zip(key.columns, values, strict=True):
            hit = hit[hit[c].map(_plain) == v]
        if len(hit) > int(key.max_block_size or 50):
            continue
        for uid in hit["unique_id"]:
            found.setdefault(uid, []).append(key.name)
    return found


@pytest.mark.parametrize("cap", [None, 2])
def test_candidates_and_term_frequencies_equal_a_brute_force(built, cap):
    store = open_store(built.path)
    try:
        model = load_model(built.model_path)
        compiled = compile_model(model)
        keys = [dataclasses.replace(k, max_block_size=cap or k.max_block_size) for k in model.blocking_keys]
        records = store.load_records("enterprise")
        index = BlockIndex(store.reader(), "enterprise", keys, compiled.tf_columns, list(compiled.columns), set(records.columns))
        assert len(index) == len(records)
        shared = capped = 0
        sample = records.sample(60, random_state=1).to_dict("records")
        every: set[str] = set()
        for row in sample:
            found, tf, rows = index.lookup(row)
            every |= set(found)
            assert found == brute_force(records, index.keys, row)
            uncapped = [dataclasses.replace(k, max_block_size=10**6) for k in index.keys]
            capped += found != brute_force(records, uncapped, row)
            assert {r["unique_id"] for r in rows} == set(found)
            shared += sum(1 for keys in found.values() if len(keys) > 1)
            for col in compiled.tf_columns:
                value = _plain(row.get(col))
                if value is None:
                    assert col not in tf
                    continue
                column = records[col].map(_plain)
                assert tf[col] == pytest.approx((column == value).sum() / column.notna().sum())
        assert index.neighbours(sample) == every  # many rows at once: the same records
        assert shared > 0  # some candidates share more than one key
        assert (capped > 0) == (cap == 2)  # the small cap drops over-full blocks
    finally:
        store.close()


def test_records_added_after_the_start_are_found_and_replace_their_old_version(built):
    store = open_store(built.path)
    try:
        reader, index = _enterprise_index(store, built)
        new = standardized(raw_enterprises(150), "enterprise").head(2).copy()
        old_name = new["name"].iloc[0]
        new["unique_id"] = [new["unique_id"].iloc[0], "tax:brand-new"]
        new["source_record_id"] = [new["source_record_id"].iloc[0], "brand-new"]
        new["name"] = ["杭州改名后科技有限公司", new["name"].iloc[1]]
        new["record_hash"] = ["changed", "new"]
        store.ingest_frame("enterprise", new, [], "later.csv")
        index.add(reader, list(new["unique_id"]))
        by_name = next(k for k in index.keys if k.columns == ["name"])
        found, _, rows = index.lookup({"name": "杭州改名后科技有限公司"})
        assert found == {new["unique_id"].iloc[0]: [by_name.name]}
        assert rows[0]["name"] == "杭州改名后科技有限公司"
        found, _, _ = index.lookup({"name": old_name})
        assert new["unique_id"].iloc[0] not in found  # its old version is gone
        found, _, _ = index.lookup({"name": new["name"].iloc[1]})
        assert "tax:brand-new" in found
        queries = [{"name": "杭州改名后科技有限公司"}, {"name": old_name}, {"name": new["name"].iloc[1]}]
        assert index.neighbours(queries) == {u for q in queries for u in index.lookup(q)[0]}
    finally:
        store.close()


def test_a_record_replaced_twice_keeps_only_its_last_row_and_a_colliding_hash_spares_others(built):
    """`add_rows` finds a record's older rows by the hash of its unique_id (base and added rows
    alike); a row of another record under the same hash is not dropped."""
    store = open_store(built.path)
    try:
        reader, index = _enterprise_index(store, built)
        size = len(index)
        new = standardized(raw_enterprises(150), "enterprise").head(3).copy()
        kept_id = new["unique_id"].iloc[2]
        by_name = next(k for k in index.keys if k.columns == ["name"])
        for round_, name in enumerate(["杭州第一次改名科技有限公司", "杭州第二次改名科技有限公司"]):
            one = new.head(1).copy()
            one["name"] = [name]
            one["record_hash"] = [f"changed-{round_}"]
            store.ingest_frame("enterprise", one, [], f"later-{round_}.csv")
            rows = index.fetch(reader, [one["unique_id"].iloc[0]])
            if round_ == 1:  # the other record's row shares the hash: it must survive
                uid = rows.column("unique_id")[0].as_py()
                base = index.data.column("unique_id").to_pylist().index(kept_id)
                index._ids.extra.setdefault(int(rows.column("id:unique_id")[0].as_py()), []).append(base)
                assert uid != kept_id
            index.add_rows(rows)
        assert len(index) == size + 2
        assert index.lookup({"name": "杭州第一次改名科技有限公司"})[0] == {}  # replaced again
        found, _, _ = index.lookup({"name": "杭州第二次改名科技有限公司"})
        assert found == {new["unique_id"].iloc[0]: [by_name.name]}
        found, _, _ = index.lookup({"name": new["name"].iloc[2]})
        assert kept_id in found  # under a colliding hash, yet another record
    finally:
        store.close()


def test_a_few_records_fetched_hash_their_keys_in_python_as_duckdb_does(built):
    """`fetch` of a write's few placed records computes the keys' hashes in Python: the same
    rows, to the bit, as the hashes computed by DuckDB (blank and missing values included)."""
    from resolver.lookup.block_index import FEW

    store = open_store(built.path)
    try:
        reader, index = _enterprise_index(store, built)
        ids = index.data.column("unique_id").to_pylist()
        entities = dict(zip(ids, index.data.column("_entity_id").to_pylist(), strict=True))
        blanks = 0
        for start in range(0, len(ids), FEW):
            few = ids[start:start + FEW]
            mine = index.fetch(reader, few, entities)
            sql = reader.records_with_keys(index.table, index.columns, index._hashed(), few, entities)
            assert mine.select(sql.column_names).equals(sql)
            blanks += sum(mine.column(n).null_count for n in index.slots)
        assert blanks > 0  # some records miss a key's value
        assert len(mine.column_names) == len(sql.column_names)
    finally:
        store.close()


@pytest.mark.parametrize("cap", [None, 2])
def test_neighbours_of_a_frame_by_arrow_equal_the_loop_per_row(built, cap, monkeypatch):
    """`resolver.lookup.incremental.neighbours` (a write's touched records): each key's distinct
    values from Arrow columns and the blocks by numpy find what the loop per row and per value
    finds, rows added and replaced after the start (dead rows) included, without a dict per row."""
    from resolver.lookup import block_index
    from resolver.lookup.incremental import neighbours

    store = open_store(built.path)
    try:
        model = load_model(built.model_path)
        compiled = compile_model(model)
        keys = [dataclasses.replace(k, max_block_size=cap or k.max_block_size) for k in model.blocking_keys]
        records = store.load_records("enterprise")
        reader = store.reader()
        index = BlockIndex(reader, "enterprise", keys, compiled.tf_columns, list(compiled.columns), set(records.columns))
        new = standardized(raw_enterprises(150), "enterprise").head(4).copy()
        new["name"] = ["杭州改名后科技有限公司", *new["name"].iloc[1:]]
        new["record_hash"] = [f"changed-{n}" for n in range(len(new))]
        store.ingest_frame("enterprise", new, [], "later.csv")
        index.add(reader, list(new["unique_id"]))
        assert index._dead and index.added  # replaced rows and added ones
        for name, slot in index.slots.items():  # counted as rows are added, not summed again
            if name.startswith("tf:"):
                assert index.totals[name[3:]] == len(slot.hashes) + sum(len(v) for v in slot.extra.values())
        touched = pd.concat([records.sample(60, random_state=2), new], ignore_index=True)
        key_columns = sorted({c for k in keys for c in k.columns})
        touched.loc[touched.index[::5], key_columns[0]] = None
        touched.loc[touched.index[2::9], key_columns[-1]] = ""
        monkeypatch.setattr(block_index, "VECTORIZED", False)
        by_rows = neighbours(index, touched)
        monkeypatch.setattr(block_index, "VECTORIZED", True)
        monkeypatch.setattr(index, "_hashes_of", lambda *a: pytest.fail("a loop per row ran"))
        assert neighbours(index, touched) == by_rows
        assert len(by_rows) > len(touched) // 2
    finally:
        store.close()
