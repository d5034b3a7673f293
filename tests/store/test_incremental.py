"""Incremental ingest on the committed sample: held-out tax records join the right entities."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from resolver.demo import link_domain
from resolver.incremental import ingest_incremental
from resolver.ingest import ingest_file
from resolver.store import open_store

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
SOURCES = ROOT / "matching_rules" / "sources"


def _split_tax_file(tmp_path: Path, every: int = 15) -> tuple[Path, Path, int]:
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["source"] == "tax")
    lines = (SAMPLE / entry["file"]).read_bytes().split(b"\n")
    head, body = lines[: entry["header_row"]], [line for line in lines[entry["header_row"]:] if line.strip()]
    held = body[::every]
    base = [line for i, line in enumerate(body) if i % every]
    (tmp_path / "base.csv").write_bytes(b"\n".join(head + base) + b"\n")
    (tmp_path / "held.csv").write_bytes(b"\n".join(head + held) + b"\n")
    return tmp_path / "base.csv", tmp_path / "held.csv", len(held)


BEFORE: dict = {}  # the master just before the incremental ingest


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    base, held, n_held = _split_tax_file(tmp)
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    store = open_store(tmp / "m.duckdb")
    for entry in manifest["files"]:
        if entry["domain"] == "enterprise":
            path = base if entry["source"] == "tax" else SAMPLE / entry["file"]
            ingest_file(store, SOURCES / f"{entry['source']}.yaml", path)
    truth = pd.read_csv(SAMPLE / "truth_members.csv", dtype=str)
    link_domain(store, "enterprise", tmp / "models", truth)
    before = store.membership("enterprise")
    pairs_before = store.cursor().execute("SELECT count(*) FROM pairs_enterprise").fetchall()[0][0]
    golden_before = store.golden("enterprise")
    store.cursor().execute("CHECKPOINT")  # the file alone holds the master: copied for the chunked run
    shutil.copy(tmp / "m.duckdb", tmp / "copy.duckdb")
    result = ingest_incremental(store, SOURCES / "tax.yaml", held)
    BEFORE.update(pairs=pairs_before, golden=golden_before, copy=tmp / "copy.duckdb")
    yield store, held, n_held, before, result, truth
    store.close()


def test_held_out_records_join_the_entities_truth_says(resolved):
    store, _, n_held, before, result, truth = resolved
    assert result.touched == n_held
    assert result.joined + result.created == n_held
    now = store.membership("enterprise")
    truth = truth.assign(unique_id=truth["source"] + ":" + truth["source_record_id"])
    true_entity = dict(zip(truth["unique_id"], truth["entity_id"], strict=True))
    ours = dict(zip(now["unique_id"], now["entity_id"], strict=True))
    new_ids = sorted(set(now["unique_id"]) - set(before["unique_id"]))
    assert len(new_ids) == n_held
    right = 0
    for uid in new_ids:
        mates = {u for u in before["unique_id"] if true_entity.get(u) == true_entity[uid]}
        placed_with = {u for u in before["unique_id"] if ours.get(u) == ours[uid]}
        right += mates == placed_with
    assert right / n_held >= 0.9, f"{right}/{n_held} held-out records placed with exactly their true mates"


def test_untouched_entities_keep_ids_and_history_names_the_model(resolved):
    store, _, _, before, result, _ = resolved
    now = store.membership("enterprise").set_index("unique_id")["entity_id"]
    kept = before.set_index("unique_id")["entity_id"]
    moved = (now.loc[kept.index] != kept).sum()
    assert moved == 0, "an incremental ingest of new records must not move existing records"
    history = store.history("enterprise")
    assert result.model_version in set(history["model_version"])


def test_golden_records_rebuilt_for_joined_entities_only_and_pairs_kept(resolved):
    store, _, _, before, _, _ = resolved
    now = store.membership("enterprise")
    new_ids = set(now["unique_id"]) - set(before["unique_id"])
    touched_entities = set(now.loc[now["unique_id"].isin(new_ids), "entity_id"])
    golden = store.golden("enterprise")
    assert set(golden["entity_id"]) == set(now["entity_id"])  # every entity still has a golden record
    untouched = golden[~golden["entity_id"].isin(touched_entities)].reset_index(drop=True)
    old = BEFORE["golden"][~BEFORE["golden"]["entity_id"].isin(touched_entities)].reset_index(drop=True)
    pd.testing.assert_frame_equal(untouched, old)
    assert any(golden.loc[golden["entity_id"].isin(touched_entities), "source"] == "tax")
    # The full resolution's scored pairs are kept; the incremental ones are added.
    assert store.cursor().execute("SELECT count(*) FROM pairs_enterprise").fetchall()[0][0] > BEFORE["pairs"]


def test_repeating_the_incremental_ingest_changes_nothing(resolved):
    store, held, _, _, _, _ = resolved
    before = store.membership("enterprise")
    again = ingest_incremental(store, SOURCES / "tax.yaml", held)
    assert again.touched == 0 and again.counts.unchanged == again.counts.read - again.counts.quarantined
    pd.testing.assert_frame_equal(store.membership("enterprise"), before)


def test_the_servers_index_finds_the_same_neighbourhood_as_the_store(resolved):
    """POST /records finds neighbours in the server's in-memory index, `ingest --incremental` in
    the store: one path, so the two must find the same records."""
    from resolver.linking.model import published_model
    from resolver.lookup.incremental import neighbours
    from resolver.lookup.service import LookupService

    store, _, _, before, _, _ = resolved
    records = store.load_records("enterprise")
    touched = records[~records["unique_id"].isin(before["unique_id"])]
    _, index = LookupService(store).model("enterprise")
    from_index = neighbours(index, touched)
    from_store = store.search_neighbours("enterprise", list(touched["unique_id"]),
                                         published_model(store, "enterprise").blocking_keys)
    assert len(from_store) > len(touched)
    assert from_index == from_store


def test_a_file_linked_in_chunks_gives_the_same_entities_and_one_account(resolved, tmp_path):
    store, held, n_held, _, result, _ = resolved
    shutil.copy(BEFORE["copy"], tmp_path / "m.duckdb")  # the master before stays for the tests below
    chunked = open_store(tmp_path / "m.duckdb")
    try:
        by_chunks = ingest_incremental(chunked, SOURCES / "tax.yaml", held, chunk=n_held // 3 + 1)
        assert (by_chunks.touched, by_chunks.joined, by_chunks.created) == (result.touched, result.joined,
                                                                            result.created)
        assert by_chunks.counts.loaded == result.counts.loaded == n_held

        def entities(s):
            m = s.membership("enterprise")
            return {frozenset(g) for _, g in m.groupby("entity_id")["unique_id"]}

        assert entities(chunked) == entities(store)
        runs = chunked.ingest_runs()
        assert list(runs.loc[runs["file"] == str(held), "new"]) == [n_held]  # one account, every chunk counted
        assert chunked.cursor().execute(
            "SELECT count(*) FROM records_enterprise r WHERE NOT EXISTS "
            "(SELECT 1 FROM membership m WHERE m.unique_id = r.unique_id)").fetchall()[0][0] == 0
    finally:
        chunked.close()


def test_golden_values_chosen_in_python_equal_the_sql_over_the_whole_domain(resolved, monkeypatch):
    """A write of a few entities chooses their golden values in Python (resolver.store.golden
    ._pick_in_python); here every entity of the sample goes that way, against the SQL."""
    from resolver.store import points
    from resolver.store.golden import build_golden, load_survivorship

    store = resolved[0]
    rules = store.recorded_survivorship("enterprise", store.latest_model("enterprise")[0]) \
        or load_survivorship("enterprise")
    cur = store.cursor()
    cur.execute("BEGIN")
    try:
        build_golden(cur, "enterprise", rules)
        in_sql = [cur.execute(f"SELECT * FROM {t} WHERE domain = 'enterprise' ORDER BY ALL").df()
                  for t in ("golden_values", "conflicts")]
        cur.execute("CREATE TEMP TABLE every_entity AS SELECT entity_id FROM entities WHERE domain = 'enterprise'")
        monkeypatch.setattr(points, "POINTS_UP_TO", 10**6)
        build_golden(cur, "enterprise", rules, only="every_entity")
        in_python = [cur.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in ("golden_new", "conflicts_new")]
    finally:
        cur.execute("ROLLBACK")
        cur.close()
    assert len(in_sql[0]) > 1000 and len(in_sql[1]) > 0
    assert set(in_sql[0]["rule"]) == {"source_priority", "most_recent", "most_frequent"}
    for sql, python in zip(in_sql, in_python, strict=True):
        pd.testing.assert_frame_equal(python, sql, check_dtype=False)


def test_the_file_is_linked_with_no_vacuum_at_its_checkpoints(resolved, monkeypatch, tmp_path):
    # (tests/store/test_vacuum.py shows what a vacuum at the commit would rewrite)
    import resolver.incremental_bulk as bulk

    _, held, _, _, _, _ = resolved
    shutil.copy(BEFORE["copy"], tmp_path / "m.duckdb")
    store = open_store(tmp_path / "m.duckdb")
    seen = []
    link = bulk.link_bulk

    def linked(store_, *args, **kwargs):
        seen.append(store_.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0])
        return link(store_, *args, **kwargs)

    monkeypatch.setattr(bulk, "link_bulk", linked)
    try:
        ingest_incremental(store, SOURCES / "tax.yaml", held, chunk=10)
        assert len(seen) > 1 and set(seen) == {0}
        assert store.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0] == 100
    finally:
        store.close()


def test_the_file_is_read_and_linked_without_automatic_garbage_collection(resolved, monkeypatch, tmp_path):
    # (a collection of the oldest generation walks every object the ingest holds and frees
    # nothing: 1-2 CPU s of a 100k-record file into the 1M master, docs/serving.md session 37)
    import gc

    import resolver.incremental as incremental
    import resolver.incremental_bulk as bulk

    _, held, _, _, _, _ = resolved
    shutil.copy(BEFORE["copy"], tmp_path / "m.duckdb")
    store = open_store(tmp_path / "m.duckdb")
    seen = []
    prepare, link = incremental.prepare, bulk.link_bulk

    def prepared(*args, **kwargs):
        seen.append(("prepare", gc.isenabled()))
        return prepare(*args, **kwargs)

    def linked(*args, **kwargs):
        seen.append(("link", gc.isenabled()))
        return link(*args, **kwargs)

    monkeypatch.setattr(incremental, "prepare", prepared)
    monkeypatch.setattr(bulk, "link_bulk", linked)
    try:
        assert gc.isenabled()
        ingest_incremental(store, SOURCES / "tax.yaml", held, chunk=10)
        assert seen[0] == ("prepare", False) and len(seen) > 2 and set(seen[1:]) == {("link", False)}
        assert gc.isenabled()  # on again after the file
    finally:
        store.close()


def test_the_placements_and_a_paused_collection_run_beside_the_commit(resolved, monkeypatch, tmp_path):
    # (the COMMIT keeps one core busy without the GIL; the placements, ~0.6 s, and the full
    # collection a paused collector owes, 0.5-0.9 s of a 100k file, used to follow it on this
    # thread: docs/serving.md, session 39)
    import gc
    import threading

    import resolver.incremental_bulk as bulk

    _, held, n_held, _, result, _ = resolved
    shutil.copy(BEFORE["copy"], tmp_path / "m.duckdb")
    store = open_store(tmp_path / "m.duckdb")
    placed_on, collected_on = [], []
    linked = bulk.linked_result

    def placements(*args, **kwargs):
        placed_on.append(threading.current_thread().name)
        return linked(*args, **kwargs)

    def watch(phase, info):
        if phase == "start" and info["generation"] == 2:
            collected_on.append(threading.current_thread().name)

    monkeypatch.setattr(bulk, "linked_result", placements)
    gc.callbacks.append(watch)
    try:
        again = ingest_incremental(store, SOURCES / "tax.yaml", held, chunk=10)
        assert len(placed_on) > 1 and set(placed_on) == {"placements"}  # one per chunk, none after the COMMIT
        assert "placements" in collected_on  # the paused collector's pass, beside the COMMIT
        assert gc.isenabled()
        assert (again.touched, again.joined, again.created) == (n_held, result.joined, result.created)
        assert sorted((p.unique_id, p.action) for p in again.placements) == \
            sorted((p.unique_id, p.action) for p in result.placements)
        # collection on (a server's job, resolver.store.held): no forced pass on its behalf
        collected_on.clear()
        link = bulk.link_bulk
        seen = []
        monkeypatch.setattr(bulk, "link_bulk", lambda *a, **k: seen.append(k["collect"]) or link(*a, **k))
        from resolver.incremental import _linked_file
        from resolver.ingest import prepare
        shutil.copy(BEFORE["copy"], tmp_path / "m2.duckdb")
        other = open_store(tmp_path / "m2.duckdb")
        try:
            _linked_file(other, prepare(SOURCES / "tax.yaml", held), str(held), 10)
        finally:
            other.close()
        assert seen and set(seen) == {False}
    finally:
        gc.callbacks.remove(watch)
        store.close()
