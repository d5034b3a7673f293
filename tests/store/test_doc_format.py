"""Serving documents of format 2 (members without null keys, record_hash, row_number, the file's
folders) give byte-identical answers to format 1 (each member's whole records row), for every
entity of the demo store read (the largest and a spread of the others), masked and unmasked;
documents are stored packed (schema v6), and a store of schema 5 (text) is packed on open."""

from __future__ import annotations

import orjson
import pandas as pd

from resolver.lookup.entity import get_entity, members_page
from resolver.store import docs, open_store
from resolver.store.docs import _iso, pack, unpack


def _answers(store, domain: str, ids: list[str]) -> list[bytes]:
    out = []
    with store.reader() as cur:
        return _read(cur, domain, ids, out)


def _read(cur, domain: str, ids: list[str], out: list[bytes]) -> list[bytes]:
    for entity_id in ids:
        for unmasked in (False, True):
            out.append(orjson.dumps(get_entity(cur, domain, entity_id, unmasked=unmasked)))
            out.append(orjson.dumps(members_page(cur, domain, entity_id, 1, 2, unmasked=unmasked)))
    return out


def _whole_rows(cur, domain: str) -> dict[str, list[object]]:
    """Format 1's members: every column of the records row, nulls included, `since` added."""
    replaced = []
    for name, ctype, *_ in cur.execute(f"DESCRIBE records_{domain}").fetchall():
        if ctype.startswith("TIMESTAMP"):
            replaced.append(f'{_iso(f"{name}", "TIME ZONE" in ctype)} AS "{name}"')
        elif ctype == "DOUBLE":
            replaced.append(f'CASE WHEN isnan("{name}") THEN NULL ELSE "{name}" END AS "{name}"')
    rows = cur.execute(
        f"SELECT m.entity_id, list(to_json(struct_insert(r, since := {_iso('m.since', False)})))::VARCHAR "
        f"FROM membership m JOIN (SELECT * REPLACE ({', '.join(replaced)}) FROM records_{domain}) r "
        "USING (unique_id) WHERE m.domain = ? GROUP BY 1", [domain]).fetchall()
    return {e: orjson.loads(members) for e, members in rows}


def test_slim_documents_answer_byte_for_byte_as_whole_rows(demo_copy):
    store = open_store(demo_copy("doc_format"))
    try:
        cur = store.cursor()
        for domain in ("enterprise", "person"):
            # the largest entities (most members, sources and empty columns) and every 20th other one
            ids = [r[0] for r in cur.execute(
                "SELECT entity_id FROM (SELECT entity_id, row_number() OVER (ORDER BY size DESC, entity_id) AS n "
                "FROM entities WHERE domain = ?) WHERE n <= 300 OR n % 20 = 0", [domain]).fetchall()]
            slim = _answers(store, domain, ids)
            stored = {e: unpack(d) for e, d in cur.execute(
                "SELECT entity_id, doc FROM serving_docs WHERE domain = ?", [domain]).fetchall()}
            assert all(v is not None for d in stored.values() for m in orjson.loads(d)["members"] for v in m.values())
            whole = _whole_rows(cur, domain)
            assert any(len(orjson.dumps(whole[e])) > len(orjson.dumps(orjson.loads(stored[e])["members"])) * 1.2
                       for e in whole)
            old = pd.DataFrame({"entity_id": list(stored), "doc": [
                pack(orjson.dumps({**orjson.loads(d), "members": whole.get(e, [])})) for e, d in stored.items()]})
            cur.register("old_docs", old)
            cur.execute("UPDATE serving_docs SET doc = o.doc FROM old_docs o WHERE serving_docs.entity_id = o.entity_id")
            assert _answers(store, domain, ids) == slim
    finally:
        store.close()


def test_documents_are_stored_packed_and_not_compressed_again(demo_copy):
    store = open_store(demo_copy("doc_compression"))
    try:
        store._con.execute("CHECKPOINT")
        kinds = {r[0] for r in store._con.execute(
            "SELECT compression FROM pragma_storage_info('serving_docs') WHERE column_name = 'doc' "
            "AND segment_type = 'BLOB'").fetchall()}
        rows = store._con.execute("SELECT doc FROM serving_docs").fetchall()
    finally:
        store.close()
    assert kinds == {"Uncompressed"}  # DuckDB's analysis of the text was the cost packing removed
    packed, text = sum(len(r[0]) for r in rows), sum(len(unpack(r[0])) for r in rows)
    assert packed * 2 < text
    assert all(orjson.loads(unpack(r[0])) for r in rows)


def test_a_schema_5_store_has_its_documents_packed_on_open(demo_copy):
    db = demo_copy("doc_v5")
    store = open_store(db)
    try:
        before = {e: unpack(d) for e, d in store._con.execute("SELECT entity_id, doc FROM serving_docs").fetchall()}
        con = store._con
        con.create_function("unpacked", lambda b: unpack(b).decode(), ["BLOB"], "VARCHAR")
        con.execute("CREATE TABLE v5 (entity_id VARCHAR PRIMARY KEY, domain VARCHAR, "
                    "doc VARCHAR USING COMPRESSION uncompressed)")
        con.execute("INSERT INTO v5 SELECT entity_id, domain, unpacked(doc) FROM serving_docs")
        con.execute("DROP TABLE serving_docs")
        con.execute("ALTER TABLE v5 RENAME TO serving_docs")
        con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    finally:
        store.close()
    store = open_store(db)
    try:
        kind = store._con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'serving_docs' "
                                  "AND column_name = 'doc'").fetchall()[0][0]
        after = {e: unpack(d) for e, d in store._con.execute("SELECT entity_id, doc FROM serving_docs").fetchall()}
    finally:
        store.close()
    assert kind == "BLOB" and len(before) > 1000 and after == before


def test_documents_are_written_again_after_a_rolled_back_write(demo_copy):
    """A SQL function registered inside a transaction that rolls back leaves DuckDB unable to
    register it again: the store registers the packer when it opens, so a failed write does
    not stop every later one."""
    store = open_store(demo_copy("doc_rollback"))
    try:
        con = store._con
        for _ in range(2):
            con.execute("BEGIN TRANSACTION")
            docs.refresh(con, "person")
            con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION")
        docs.refresh(con, "person")
        con.execute("COMMIT")
        rows = con.execute("SELECT doc FROM serving_docs WHERE domain = 'person'").fetchall()
    finally:
        store.close()
    assert len(rows) > 100 and all(orjson.loads(unpack(r[0]))["members"] for r in rows)


def _normal(doc: bytes) -> dict:
    """A document with its lists sorted (the facts, whatever order the store wrote them in)."""
    d = orjson.loads(doc)
    return {**d, "golden": sorted(d["golden"], key=lambda g: g["field"]),
            "members": sorted(d["members"], key=lambda m: m["unique_id"])}


def _counting_inserts(con, statements: list[str]):
    """`con` for docs.refresh, with each INSERT into the documents' table added to `statements`
    (a statement, or an Arrow table's `insert_into`)."""
    def execute(sql, *args):
        if sql.startswith(f"INSERT INTO {docs.TABLE} "):
            statements.append(sql)
        return con.execute(sql, *args)

    def from_arrow(table):
        rel = con.from_arrow(table)

        def insert_into(name):
            statements.append(f"INSERT INTO {name} FROM arrow")
            rel.insert_into(name)
        return type("Rel", (), {"insert_into": staticmethod(insert_into)})()

    return type("Con", (), {"execute": staticmethod(execute), "from_arrow": staticmethod(from_arrow),
                            "__getattr__": lambda self, name: getattr(con, name)})()


def test_a_domain_built_in_shares_of_its_members_has_the_same_documents(demo_copy, monkeypatch):
    """At 10M source records the members' JSON of one domain did not fit one statement under the
    store's 2 GB: a whole-domain build runs one statement per share of the members."""
    store = open_store(demo_copy("doc_parts"))
    try:
        con = store._con
        read = "SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'"
        before = {e: unpack(d) for e, d in con.execute(read).fetchall()}
        statements: list[str] = []
        monkeypatch.setattr(docs, "members_per_statement", lambda con: 700)
        counted = _counting_inserts(con, statements)

        con.execute("BEGIN TRANSACTION")
        docs.refresh(counted, "enterprise", keep=False)
        con.execute("COMMIT")
        after = {e: unpack(d) for e, d in con.execute(read).fetchall()}
    finally:
        store.close()
    assert len(statements) > 3
    assert len(after) == len(before) > 1000 and after == before


def test_a_resolutions_scope_built_in_shares_has_the_documents_of_one_statement(demo_copy, monkeypatch):
    """A full resolution rewrites the documents of a scope (most of the domain) without keeping
    them: in shares, the text must be the one statement's (the demo store's, built in one), and
    the documents outside the scope must stay as they are."""
    store = open_store(demo_copy("doc_scope_parts"))
    try:
        con = store._con
        read = "SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'"
        before = {e: unpack(d) for e, d in con.execute(read).fetchall()}
        statements: list[str] = []
        monkeypatch.setattr(docs, "members_per_statement", lambda con: 500)
        counted = _counting_inserts(con, statements)

        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TEMP TABLE doc_scope AS SELECT entity_id FROM entities "
                    "WHERE domain = 'enterprise' AND hash(entity_id) % 4 <> 0")
        # the scope's documents spoiled first: each must be written again
        con.execute("UPDATE serving_docs SET doc = ? WHERE entity_id IN (SELECT entity_id FROM doc_scope)", [pack("{}")])
        docs.refresh(counted, "enterprise", "doc_scope",
                     keep=False, narrow=False)
        scoped = con.execute("SELECT count(*) FROM doc_scope").fetchall()[0][0]
        con.execute("COMMIT")
        after = {e: unpack(d) for e, d in con.execute(read).fetchall()}
    finally:
        store.close()
    assert len(statements) > 3
    assert len(before) > scoped > 500
    assert len(after) == len(before) and after == before


def _awkward_entities(con) -> list[str]:
    """Three enterprise entities: the first given golden values and conflicts that sort awkwardly
    (a null, a prefix, a space, a quote, non-ASCII, upper case, empty), the third left without
    golden values or members."""
    some = [r[0] for r in con.execute("SELECT entity_id FROM entities WHERE domain = 'enterprise' "
                                      "ORDER BY entity_id LIMIT 3").fetchall()]
    for value in (None, "a", "a b", "a\"b", "ab", "é", "B", ""):
        con.execute("INSERT INTO golden_values VALUES (?, 'enterprise', 'name', ?, 'x', '1', 'r')", [some[0], value])
        con.execute("INSERT INTO conflicts VALUES (?, 'enterprise', 'name', ?, 'x', '1')", [some[0], value])
    con.execute("DELETE FROM golden_values WHERE entity_id = ?", [some[2]])
    con.execute("DELETE FROM membership WHERE entity_id = ?", [some[2]])
    return some


def test_a_domain_built_sorted_has_the_documents_of_the_sql(demo_copy, monkeypatch):
    """A whole-domain build cuts sorted rows into documents (`_insert_sorted`) where the SQL
    aggregates per entity (`_docs_sql`): every document must be the SQL's text, byte for byte,
    with golden values that sort awkwardly (a null, a prefix, a space, a quote, non-ASCII) and
    an entity without golden values or members."""
    store = open_store(demo_copy("doc_sorted"))
    try:
        con = store._con
        read = "SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'"
        con.execute("BEGIN TRANSACTION")
        some = _awkward_entities(con)
        con.execute("INSERT INTO golden_values VALUES (?, 'enterprise', 'name', 'a', NULL, '1', 'r')", [some[1]])
        built = {}
        for kind in (False, True):
            monkeypatch.setattr(docs, "SORTED", kind)
            monkeypatch.setattr(docs, "members_per_statement", lambda con: 700)
            docs.refresh(con, "enterprise", keep=False)
            built[kind] = {e: unpack(d) for e, d in con.execute(read).fetchall()}
        con.execute("ROLLBACK")
    finally:
        store.close()
    assert len(built[True]) == len(built[False]) > 1000
    assert b'"members":[]' in built[True][some[2]] and b'"value":null' in built[True][some[0]]
    differ = [e for e in built[False] if built[True].get(e) != built[False][e]]
    assert not differ, differ[:3]


def test_a_writes_documents_built_sorted_are_the_sqls(demo_copy, monkeypatch):
    """A write's refresh of many entities (a group commit's 2,000: more than `_refresh_few`
    takes) builds them from sorted rows (`_fresh_sorted`) where it ran `_docs_sql`: the same
    text in the table and in `FRESH` (what the write's listeners read), with awkwardly sorting
    golden values and an entity without golden values or members in the scope."""
    store = open_store(demo_copy("doc_sorted_scope"))
    try:
        con = store._con
        con.execute("BEGIN TRANSACTION")
        some = _awkward_entities(con)
        con.execute("CREATE TEMP TABLE doc_scope AS SELECT entity_id FROM entities WHERE domain = 'enterprise' "
                    "AND (hash(entity_id) % 3 = 0 OR entity_id IN (SELECT unnest(?::VARCHAR[])))", [some])
        scoped = con.execute("SELECT count(*) FROM doc_scope").fetchall()[0][0]
        built, fresh, handed = {}, {}, {}
        for kind in (False, True):
            monkeypatch.setattr(docs, "SORTED_SCOPED", kind)
            con.execute("UPDATE serving_docs SET doc = ? WHERE entity_id IN (SELECT entity_id FROM doc_scope)",
                        [pack("{}")])
            handed[kind] = docs.refresh(con, "enterprise", "doc_scope")
            built[kind] = dict(con.execute("SELECT entity_id, doc FROM serving_docs").fetchall())
            fresh[kind] = dict(con.execute(f"SELECT entity_id, doc FROM {docs.FRESH}").fetchall())
        con.execute("ROLLBACK")
    finally:
        store.close()
    assert scoped > 200 and len(fresh[True]) == scoped
    assert b'"members":[]' in unpack(fresh[True][some[2]]) and b'"value":null' in unpack(fresh[True][some[0]])
    assert {e: unpack(d) for e, d in fresh[True].items()} == {e: unpack(d) for e, d in fresh[False].items()}
    assert {e: unpack(d) for e, d in built[True].items()} == {e: unpack(d) for e, d in built[False].items()}
    # the sorted build hands its documents to the write's listeners as they read them from FRESH
    assert handed[False] is None
    assert handed[True] == {e: ("enterprise", unpack(d)) for e, d in fresh[True].items()}


def test_the_same_facts_are_stored_as_the_same_text_whatever_the_tables_row_order(demo_copy):
    """Two ingests of one input left 25k of 495k documents at 1M records differing only in the
    order of their members and golden values (the aggregates' order followed DuckDB's threads
    and the rows' physical order): the stored text, its size and snapshot digests must not."""
    store = open_store(demo_copy("doc_order"))
    try:
        con = store._con
        read = "SELECT entity_id, doc FROM serving_docs ORDER BY entity_id"

        def build(threads: int) -> list[tuple[str, bytes]]:
            con.execute(f"SET threads = {threads}")
            con.execute("BEGIN TRANSACTION")
            for domain in ("enterprise", "person"):
                docs.refresh(con, domain, keep=False)
            con.execute("COMMIT")
            return [(e, unpack(d)) for e, d in con.execute(read).fetchall()]

        first = build(2)
        # the same rows, stored in the opposite order (as another run's parallel inserts may leave them)
        con.execute("BEGIN TRANSACTION")
        for table in ("membership", "golden_values", "records_enterprise", "records_person"):
            con.execute(f"CREATE TEMP TABLE flipped AS SELECT * FROM {table} ORDER BY rowid DESC")
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT * FROM flipped")
            con.execute("DROP TABLE flipped")
        con.execute("COMMIT")
        second = build(1)
    finally:
        store.close()
    several = [d for _, d in first if len(orjson.loads(d)["members"]) > 2 and len(orjson.loads(d)["golden"]) > 2]
    assert len(first) > 1000 and len(several) > 100
    assert [_normal(d) for _, d in second] == [_normal(d) for _, d in first]  # the same facts ...
    for part in ("members", "golden"):  # ... in the same order
        assert [orjson.loads(d)[part] for _, d in second] == [orjson.loads(d)[part] for _, d in first], part
    assert second == first  # ... and the same text
