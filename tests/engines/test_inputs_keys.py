"""Blocking keys as integers (resolver.engines.inputs.prepare_input): the same records share a key."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from resolver.engines import inputs
from resolver.engines.inputs import key_expression, prepare_input, to_arrow
from resolver.linking.rules import BlockingKey

RECORDS = pd.DataFrame({
    "unique_id": [f"r{i}" for i in range(9)], "source": "s",
    "name": ["华新", "华新", "华新", "华新", "永安", "永安", "ab", "ba", None],
    "phone": ["1", "1", "22", "22", "22", None, "", "333", "333"],
})
KEYS = [BlockingKey("name", ["name"], max_block_size=3), BlockingKey("name_phone", ["name", "phone"])]


def pairs(con: duckdb.DuckDBPyConnection, table: str, key: str) -> list[tuple[str, str]]:
    return con.execute(f'SELECT l.unique_id, r.unique_id FROM {table} l JOIN {table} r ON l."{key}" = r."{key}" '
                       "AND l.unique_id < r.unique_id ORDER BY ALL").fetchall()


def text_pairs(con: duckdb.DuckDBPyConnection, key: BlockingKey, cap: int | None) -> list[tuple[str, str]]:
    """The candidate pairs of `key` on its text, as before keys were hashed."""
    con.register("every", to_arrow(RECORDS))
    con.execute(f"CREATE OR REPLACE TEMP TABLE t AS SELECT unique_id, {key_expression(key)} AS k FROM every")
    if cap:
        con.execute(f"UPDATE t SET k = NULL WHERE k IN (SELECT k FROM t GROUP BY k HAVING count(*) > {cap})")
    return pairs(con, "t", "k")


def test_keys_are_integers_pairing_the_records_their_text_pairs() -> None:
    con = duckdb.connect()
    table, stats = prepare_input(con, RECORDS, {"name", "phone"}, KEYS)
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    assert types["_bk_name"] == types["_bk_name_phone"] == "UBIGINT"
    assert pairs(con, table, "_bk_name") == text_pairs(con, KEYS[0], 3) == [("r4", "r5")]  # 华新: 4, over the cap
    assert pairs(con, table, "_bk_name_phone") == text_pairs(con, KEYS[1], None) == [("r0", "r1"), ("r2", "r3")]
    # null and blank parts give no key; the statistics count the text (华新 over the cap)
    assert con.execute(f"SELECT count(_bk_name_phone) FROM {table}").fetchall()[0][0] == 6
    assert (stats[0].records_keyed, stats[0].blocks_over_cap, stats[1].pairs) == (4, 1, 2)


def test_a_key_whose_hash_is_not_one_to_one_keeps_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "KEY_HASH", "length")  # 'ab' and 'ba' (and 华新, 永安) would share a value
    con = duckdb.connect()
    table, _ = prepare_input(con, RECORDS, {"name", "phone"}, KEYS[:1])
    assert dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())["_bk_name"] == "VARCHAR"
    assert pairs(con, table, "_bk_name") == text_pairs(con, BlockingKey("name", ["name"]), 3) == [("r4", "r5")]
