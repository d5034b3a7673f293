"""Store.without_vacuum: a checkpoint inside it leaves earlier partly filled row groups as they are.

`ingest --incremental` links inside it (resolver.incremental): with DuckDB's default, the COMMIT of
the first 100k records into the 1M master also rewrote ~330k stored records, because the new rows let
the partly filled row groups the batch ingest left fit in fewer (docs/store.md).
"""

from __future__ import annotations

import pytest

from resolver.store import open_store

# Appended one checkpoint apart, these leave four partly filled row groups (of DuckDB's 122,880
# rows) that DuckDB does not merge; 100,000 more let the first four fit in three.
EARLIER = (110_000, 80_000, 100_000, 20_000)
MORE = 100_000


def _row_groups_after(tmp_path, vacuum: bool) -> tuple[int, int, str]:
    store = open_store(tmp_path / f"vacuum_{vacuum}.duckdb")
    try:
        con = store.cursor()
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
        at = 0

        def append(n: int) -> None:
            nonlocal at
            con.execute(f"INSERT INTO t SELECT range FROM range({at}, {at + n})")
            con.execute("CHECKPOINT")
            at += n

        def row_groups() -> int:
            return con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('t')").fetchall()[0][0]

        for n in EARLIER:
            append(n)
        before = row_groups()
        if vacuum:
            append(MORE)
        else:
            with store.without_vacuum():
                append(MORE)
        setting = con.execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0]
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM t").fetchall()[0] == (at, at)
        return before, row_groups(), str(setting)
    finally:
        store.close()


def test_a_checkpoint_without_vacuum_appends_a_row_group_and_rewrites_none(tmp_path):
    before, after, setting = _row_groups_after(tmp_path, vacuum=False)
    assert (before, after) == (len(EARLIER), len(EARLIER) + 1)
    assert setting == "100"  # DuckDB's default again after the block


def test_by_default_the_same_checkpoint_merges_the_partly_filled_row_groups(tmp_path):
    # the case without_vacuum exists for: if DuckDB stopped merging here, the block would be moot
    before, after, _ = _row_groups_after(tmp_path, vacuum=True)
    assert before == len(EARLIER) and after < len(EARLIER) + 1


def test_the_setting_comes_back_when_the_block_fails(tmp_path):
    store = open_store(tmp_path / "m.duckdb")
    try:
        with pytest.raises(RuntimeError), store.without_vacuum():
            assert store.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0] == 0
            raise RuntimeError("a failed ingest")
        assert store.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0] == 100
    finally:
        store.close()
