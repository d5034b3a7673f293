"""A group commit's documents take the JSON of the members it did not write from their stored
documents (`docs.REUSE_MEMBERS`, `_member_texts`): after a large group of new records and of
stored records sent again with a changed value (the same member, a new row), joining among others
an entity whose document was deleted, every stored document must be byte for byte what the SQL
builds from the tables, and most members must have been cut from the old documents."""

from __future__ import annotations

from typing import Any

from write_script import run_calls

from resolver.store import doc_json, docs, open_store

_FIELDS = ("name", "uscc", "legal_rep", "phone", "address")


def _calls(db) -> tuple[list[list[list[dict[str, Any]]]], list[str], str]:
    """One group of 300 records: new copies of stored tax records' values (they join their
    entities), and stored tax records sent again with one value changed (`employees`); the
    unique_ids of the latter, and of the record the second copies."""
    store = open_store(db, read_only=True)
    try:
        rows = store.cursor().execute(
            f"SELECT source_record_id, {', '.join(_FIELDS)} FROM records_enterprise WHERE source = 'tax' "
            "ORDER BY hash(unique_id) LIMIT 300").fetchall()
    finally:
        store.close()
    records = []
    changed = []
    for i, (record_id, *values) in enumerate(rows):
        fields = {k: str(v) for k, v in zip(_FIELDS, values, strict=True) if v}
        if i % 5 == 0:  # sent again with a value changed: a new row for the same member
            records.append({"source_record_id": record_id, **fields, "employees": 12 + i})
            changed.append(f"tax:{record_id}")
        else:
            records.append({"source_record_id": f"reuse-{i}", **fields})
    return [[records[i:i + 100] for i in range(0, len(records), 100)]], changed, f"tax:{rows[1][0]}"


def _sql_documents(db) -> dict[str, bytes]:
    """Every enterprise document as the SQL builds it from the tables."""
    store = open_store(db)
    try:
        con = store._con
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TEMP TABLE chk AS " + docs._member_json(con, "enterprise", "records_enterprise",
                                                                    "membership", None))
        built = {e: docs.unpack(d) for e, _, d in con.execute(docs._docs_sql(con, "enterprise", None, "chk")).fetchall()}
        con.execute("ROLLBACK")
        return built
    finally:
        store.close()


def _stored(db) -> dict[str, bytes]:
    store = open_store(db, read_only=True)
    try:
        return {e: docs.unpack(d) for e, d in store.cursor().execute(
            "SELECT entity_id, doc FROM serving_docs WHERE domain = 'enterprise'").fetchall()}
    finally:
        store.close()


def test_a_group_commits_documents_reuse_the_members_it_did_not_write(demo_copy, monkeypatch):
    db = demo_copy("member_reuse")
    calls, changed, copied = _calls(db)
    store = open_store(db)  # an entity the group joins loses its document: its members written by the SQL
    try:
        gone = store._con.execute("SELECT entity_id FROM membership WHERE unique_id = ?", [copied]).fetchall()[0][0]
        store._con.execute("DELETE FROM serving_docs WHERE entity_id = ?", [gone])
    finally:
        store.close()
    reused: list[tuple[int, int]] = []
    real = docs._member_texts

    def spy(con, domain, table, membership, old):  # type: ignore[no-untyped-def]
        rows = con.execute(f"SELECT count(*) FROM {membership}").fetchall()[0][0]
        fresh = con.execute(f"SELECT count(*) FROM {membership} WHERE since >= now()::TIMESTAMP").fetchall()[0][0]
        out = real(con, domain, table, membership, old)
        reused.append((rows, fresh))
        return out
    monkeypatch.setattr(docs, "_member_texts", spy)
    answers = run_calls(db, calls)
    assert len(reused) == 1 and reused[0][0] > 300 and reused[0][1] < reused[0][0] / 2  # most were cut out
    stored = _stored(db)
    assert gone in stored and stored == _sql_documents(db)
    # the records sent again stayed in their entities, with their new value in the document
    placed = {r["entity_id"] for call in answers for r in call}
    kept = [u for u in changed if any(doc_json.text(u).encode() in stored[e] for e in placed)]
    assert len(kept) >= len(changed) // 2
    for u in kept:
        entity = next(e for e in placed if doc_json.text(u).encode() in stored[e])
        member = next(m for m in docs._cut_members(stored[entity]).items() if m[0] == u)[1]
        assert b'"employees":' in member


def test_members_are_cut_from_a_document_by_their_unique_id():
    """Quotes, backslashes and `},{"` inside values do not cut a member in two."""
    members = [
        [("source", "tax"), ("unique_id", 'tax:a"b'), ("name", 'x},{"unique_id":"no'), ("n", 1.5)],
        [("source", "tax"), ("unique_id", "tax:c\\"), ("tokens", ["a", "},{"]), ("ok", True)],
        [("source", "tax"), ("name", "a},{"), ("unique_id", "tax:plain"), ("address", '},{"source":"tax"')],
    ]
    texts = [doc_json.obj(m) for m in members]
    doc = ('{"entity_id":"E1","golden":[],"conflicts":[],"members":[' + ",".join(texts) + "]}").encode()
    assert docs._cut_members(doc) == {dict(m)["unique_id"]: t.encode() for m, t in zip(members, texts, strict=True)}
    assert docs._cut_members(b'{"entity_id":"E1","golden":[],"conflicts":[],"members":[]}') == {}
    assert docs._cut_members(None) == {}
