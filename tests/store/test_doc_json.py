"""A few entities' documents built in Python (resolver.store.docs `_refresh_few`) are the SQL's
text byte for byte: the JSON of strings and doubles against DuckDB's to_json over many values,
and the documents of the demo store's entities (the largest, those with conflicts, a spread of
the others; both domains) both ways in the same transaction."""

from __future__ import annotations

import random
import struct

import duckdb
import pytest

from resolver.store import doc_json, docs, open_store


def _doubles() -> list[float]:
    rnd = random.Random(1)
    out = [0.0, -0.0, 1.0, 1e20, 1e21, 1e-5, 1e-6, 1e-7, 0.1, 5e-324, 1.7976931348623157e308, -2.5e-8,
           float("inf"), float("-inf"), 9007199254740993.0, 1e16, 123456789012345678901.0, 100.0, 1234.5]
    for _ in range(5000):
        bits = struct.unpack("d", rnd.getrandbits(64).to_bytes(8, "little"))[0]
        out += [bits, round(rnd.uniform(0, 1e7), rnd.randint(0, 4)), rnd.uniform(-1, 1) * 10 ** rnd.randint(-30, 30),
                float(rnd.randint(0, 10 ** rnd.randint(1, 22)))]
    return [v for v in out if v == v]  # (NaN: the documents' SELECT makes it null first)


def _strings() -> list[str]:
    rnd = random.Random(2)
    pool = [chr(i) for i in range(0x80)] + list("中文名称有限公司😀é\u00a0\u2028\u2029\ufffd\ufeff\u0085")
    return [chr(i) for i in range(0x80)] + ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 20)))
                                            for _ in range(5000)]


def test_values_are_written_as_duckdb_to_json_writes_them():
    con = duckdb.connect()
    for values, sql_type in ((_doubles(), "DOUBLE"), (_strings(), "VARCHAR"), ([[None, "a\n"], [], ["中"]], "VARCHAR[]"),
                             ([True, False], "BOOLEAN"), ([0, -5, 2**62], "BIGINT")):
        want = [r[0] for r in con.execute(f"SELECT to_json(unnest(?::{sql_type}[]))", [values]).fetchall()]
        assert [doc_json.value(v) for v in values] == want


def _documents(con: duckdb.DuckDBPyConnection, domain: str, ids: list[str]) -> dict[str, bytes]:
    con.execute("CREATE OR REPLACE TEMP TABLE scope AS SELECT unnest(?::VARCHAR[]) AS entity_id", [ids])
    made = docs.refresh(con, domain, "scope", records="some_records", golden=("some_golden", "some_conflicts"))
    stored = {e: docs.unpack(d) for e, d in con.execute(f"SELECT entity_id, doc FROM {docs.TABLE} "
                                                        "WHERE entity_id IN (SELECT entity_id FROM scope)").fetchall()}
    if made is not None:  # the Python path hands its documents to the write's listeners: those stored
        assert {e: f[1] for e, f in made.items() if f is not None} == stored
    return stored


@pytest.mark.parametrize("domain", ["enterprise", "person"])
def test_a_few_entities_documents_are_the_sqls_text(demo_copy, monkeypatch, domain):
    store = open_store(demo_copy(f"doc_json_{domain}"))
    used: list[bool] = []
    real = docs._refresh_few
    monkeypatch.setattr(docs, "_refresh_few", lambda *a: used.append(real(*a)) or used[-1])
    try:
        with store.transaction() as con:
            ids = [r[0] for r in con.execute(
                "SELECT entity_id FROM (SELECT entity_id, row_number() OVER (ORDER BY size DESC, entity_id) AS n "
                "FROM entities WHERE domain = ?) WHERE n <= 200 OR n % 25 = 0 OR entity_id IN "
                "(SELECT entity_id FROM conflicts) ORDER BY entity_id", [domain]).fetchall()]
            # a write's temp tables: the records of their members, their golden values and conflicts
            con.execute(f"CREATE TEMP TABLE some_records AS SELECT * FROM records_{domain} WHERE unique_id IN "
                        "(SELECT unique_id FROM membership WHERE entity_id IN (SELECT unnest(?::VARCHAR[])))", [ids])
            for name, table in (("some_golden", "golden_values"), ("some_conflicts", "conflicts")):
                con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {table} WHERE entity_id IN "
                            "(SELECT unnest(?::VARCHAR[]))", [ids])
            assert con.execute("SELECT count(*) FROM some_conflicts").fetchall()[0][0] > 0
            for start in range(0, len(ids), 50):
                part = ids[start:start + 50]
                monkeypatch.setattr(docs, "IN_PYTHON", False)
                want = _documents(con, domain, part)
                monkeypatch.setattr(docs, "IN_PYTHON", True)
                got = _documents(con, domain, part)
                assert got == want and len(got) == len(part)
    finally:
        store.close()
    assert used and all(used)  # every part took the Python path
