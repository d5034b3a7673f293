"""Point deletes and reads by literal ID lists (resolver.store.points): an incremental write
rebuilds the golden records and documents of the entities it changes, and of no other, with
the server's indexes on golden values present, as a full rebuild would."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lookup"))
from lookup_data import build_store, standardized  # noqa: E402

from resolver.incremental import link_records  # noqa: E402
from resolver.store import open_store  # noqa: E402
from resolver.store.golden import build_golden, load_survivorship  # noqa: E402
from resolver.store.points import POINTS_UP_TO, in_scope  # noqa: E402


def _state(store) -> dict[str, pd.DataFrame]:
    cur = store.cursor()
    out = {t: cur.execute(f"SELECT * FROM {t} WHERE domain = 'enterprise' ORDER BY ALL").df()
           for t in ("golden_values", "conflicts", "serving_docs")}
    cur.close()
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A sample master with the server's indexes; two incremental writes: one record that joins
    an entity (a copy of a member under a new record ID), then 60 (above POINTS_UP_TO entities)."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    built = build_store(tmp_path_factory.mktemp("points"), n_enterprises=120, n_people=5)
    store = open_store(built.path)
    store.add_indexes([("membership", "entity_id"), ("golden_values", "entity_id"), ("conflicts", "entity_id")])
    raw = built.enterprises.drop(columns=["unique_id"])
    steps = []
    for n, rows in enumerate([raw.iloc[[0]], raw.iloc[5:65]]):
        before = _state(store)
        records = standardized(rows.assign(source="tax", source_record_id=[f"new{n}-{i}" for i in range(len(rows))]),
                               "enterprise")
        result = link_records(store, "enterprise", records, [], f"points{n}.csv", "tax")
        changed = {p.entity_id for p in result.placements} | set(result.moved.values()) | \
            set(before["golden_values"].loc[before["golden_values"]["source_record_id"].isin(
                [u.split(":", 1)[1] for u in result.moved]), "entity_id"])
        steps.append((before, _state(store), changed, result))
    yield store, steps
    store.close()


@pytest.mark.parametrize("step", [0, 1])
def test_entities_the_write_did_not_change_keep_their_golden_records_and_documents(written, step):
    _, steps = written
    before, after, changed, result = steps[step]
    assert result.touched == (1 if step == 0 else 60)
    for table, frame in before.items():
        kept = frame[~frame["entity_id"].isin(changed)].reset_index(drop=True)
        now = after[table][~after[table]["entity_id"].isin(changed)].reset_index(drop=True)
        pd.testing.assert_frame_equal(now, kept, check_dtype=False)
    assert any(after["golden_values"]["entity_id"].isin(changed))


def test_golden_records_after_point_deletes_equal_a_full_rebuild(written):
    store, _ = written
    incremental = _state(store)
    cur = store.cursor()
    cur.execute("BEGIN")
    try:
        survivorship = store.recorded_survivorship("enterprise", store.latest_model("enterprise")[0]) \
            or load_survivorship("enterprise")
        build_golden(cur, "enterprise", survivorship)
        full = {t: cur.execute(f"SELECT * FROM {t} WHERE domain = 'enterprise' ORDER BY ALL").df()
                for t in ("golden_values", "conflicts")}
    finally:
        cur.execute("ROLLBACK")
        cur.close()
    for table, frame in full.items():
        pd.testing.assert_frame_equal(incremental[table], frame, check_dtype=False)
    counts = incremental["golden_values"].groupby(["entity_id", "field"]).size()
    assert counts.max() == 1  # no row left behind by a delete that missed


@pytest.mark.parametrize("n", [0, 1, POINTS_UP_TO, POINTS_UP_TO + 1])
def test_a_few_ids_are_a_literal_list_and_more_a_subquery_with_the_same_rows(written, n):
    store, _ = written
    cur = store.cursor()
    try:
        ids = [r[0] for r in cur.execute("SELECT entity_id FROM entities ORDER BY entity_id LIMIT ?", [n]).fetchall()]
        cur.execute("CREATE OR REPLACE TEMP TABLE scope_ids AS SELECT unnest(?::VARCHAR[]) AS entity_id", [ids])
        condition = in_scope(cur, "entity_id", "scope_ids")
        assert ("SELECT" in condition) == (n > POINTS_UP_TO)
        rows = cur.execute(f"SELECT DISTINCT entity_id FROM golden_values WHERE {condition}").fetchall()
        assert {r[0] for r in rows} == set(ids) & {r[0] for r in cur.execute(
            "SELECT DISTINCT entity_id FROM golden_values").fetchall()}
    finally:
        cur.close()
