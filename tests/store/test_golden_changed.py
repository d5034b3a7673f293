"""resolver.store.golden.write_changed: an incremental write of many entities' golden values
deletes and inserts only the rows that differ (a deleted row costs DuckDB a fetch at the COMMIT
to take it out of the entity_id index), and leaves the table as a delete-all-then-insert would."""

from __future__ import annotations

import duckdb

from resolver.store.golden import write_changed

COLUMNS = "entity_id VARCHAR, domain VARCHAR, field VARCHAR, value VARCHAR, source VARCHAR, source_record_id VARCHAR"
BEFORE = [
    ("E1", "enterprise", "name", "甲公司", "tax", "1"),
    ("E1", "enterprise", "phone", "0571-1", "tax", "1"),
    ("E1", "enterprise", "address", None, "tax", "1"),  # NULL compares equal to NULL here
    ("E2", "enterprise", "name", "乙公司", "commerce", "7"),
    ("E3", "enterprise", "name", "丙公司", "tax", "9"),  # out of scope: kept whatever `new` says
]
AFTER = [
    ("E1", "enterprise", "name", "甲公司", "tax", "1"),  # unchanged
    ("E1", "enterprise", "phone", "0571-2", "tax", "2"),  # changed
    ("E1", "enterprise", "address", None, "tax", "1"),  # unchanged
    ("E1", "enterprise", "uscc", "91330100MA27XXXX1X", "tax", "2"),  # new
    # E2's name is gone
]


def test_only_the_rows_that_differ_are_deleted_and_inserted():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE golden ({COLUMNS})")
    con.execute("CREATE INDEX golden_entity ON golden (entity_id)")
    con.executemany("INSERT INTO golden VALUES (?, ?, ?, ?, ?, ?)", BEFORE)
    con.execute(f"CREATE TEMP TABLE fresh ({COLUMNS})")
    con.executemany("INSERT INTO fresh VALUES (?, ?, ?, ?, ?, ?)", AFTER)
    rowids = {row[1:]: row[0] for row in con.execute("SELECT rowid, * FROM golden").fetchall()}

    con.execute("BEGIN")
    write_changed(con, "golden", "fresh", "entity_id IN ('E1', 'E2')")
    con.execute("COMMIT")

    now = con.execute("SELECT rowid, * FROM golden").fetchall()
    assert sorted((r[1:] for r in now), key=str) == sorted([*AFTER, BEFORE[4]], key=str)
    kept = {r[1:]: r[0] for r in now if r[1:] in rowids}
    # the unchanged rows (and the row out of scope) were neither deleted nor inserted again
    assert kept == {row: rowids[row] for row in (BEFORE[0], BEFORE[2], BEFORE[4])}
    assert not con.execute("SELECT * FROM duckdb_tables() WHERE table_name IN ('golden_old', 'golden_diff')").fetchall()


def test_a_domains_diff_names_the_entities_whose_rows_differ_and_pairs_conflicts_by_value():
    con = duckdb.connect()
    columns = COLUMNS
    con.execute(f"CREATE TABLE conflicts ({columns})")
    old = [("E1", "enterprise", "phone", "0571-1", "tax", "1"),
           ("E1", "enterprise", "phone", "0571-2", "commerce", "4"),
           ("E2", "enterprise", "name", "乙公司", "tax", "7"),
           ("E2", "enterprise", "name", "乙有限公司", "tax", "8"),
           ("E3", "enterprise", None, "x", "tax", "9")]  # a NULL key pairs with nothing
    new = [("E1", "enterprise", "phone", "0571-1", "tax", "1"),  # unchanged
           ("E1", "enterprise", "phone", "0571-2", "commerce", "5"),  # same key, other record
           ("E2", "enterprise", "name", "乙公司", "tax", "7"),  # unchanged; 乙有限公司 gone
           ("E3", "enterprise", None, "x", "tax", "9"),  # rewritten, as it cannot be paired
           ("E4", "enterprise", "name", "丁公司", "tax", "3")]  # new entity
    con.executemany("INSERT INTO conflicts VALUES (?, ?, ?, ?, ?, ?)", old)
    con.execute(f"CREATE TEMP TABLE fresh ({columns})")
    con.executemany("INSERT INTO fresh VALUES (?, ?, ?, ?, ?, ?)", new)
    con.execute("CREATE TEMP TABLE differ (entity_id VARCHAR)")
    rowids = {row[1:]: row[0] for row in con.execute("SELECT rowid, * FROM conflicts").fetchall()}

    write_changed(con, "conflicts", "fresh", "domain = 'enterprise'", differ="differ",
                  key=("entity_id", "field", "value"))

    now = con.execute("SELECT rowid, * FROM conflicts").fetchall()
    assert sorted((r[1:] for r in now), key=str) == sorted(new, key=str)
    assert {r[1:]: r[0] for r in now if r[1:] in rowids and r[1:] != old[4]} == \
        {row: rowids[row] for row in (old[0], old[2])}
    assert sorted(r[0] for r in con.execute("SELECT DISTINCT entity_id FROM differ").fetchall()) == \
        ["E1", "E2", "E3", "E4"]
    assert not con.execute("SELECT * FROM duckdb_tables() WHERE table_name = 'golden_diff'").fetchall()


def test_a_first_resolutions_rows_are_all_inserted_and_all_their_entities_differ():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE golden ({COLUMNS})")
    con.execute(f"CREATE TEMP TABLE fresh ({COLUMNS})")
    con.executemany("INSERT INTO fresh VALUES (?, ?, ?, ?, ?, ?)", AFTER)
    con.execute("CREATE TEMP TABLE differ (entity_id VARCHAR)")
    write_changed(con, "golden", "fresh", "domain = 'enterprise'", differ="differ")
    assert sorted(con.execute("SELECT * FROM golden").fetchall(), key=str) == sorted(AFTER, key=str)
    assert con.execute("SELECT entity_id FROM differ").fetchall() == [("E1",)]
