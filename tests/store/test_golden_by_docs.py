"""A write of many entities writes the new golden values and conflicts of only the entities whose
rows differ from their stored document's (`docs.GOLDEN_BY_DOCS`), their old rows taken from those
documents (`docs.GOLDEN_ROWS_FROM_DOCS`, golden `_write_known`): the tables must end as the new
rows, for entities whose golden values changed, whose conflicts appeared, and one without a
stored document, and the documents must be the SQL's from the tables."""

from __future__ import annotations

from resolver.store import docs, golden, open_store


def _begin_with_scope(con) -> None:
    """A transaction, and a quarter of the enterprise entities as the scope `doc_scope`."""
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE TEMP TABLE doc_scope AS SELECT entity_id FROM entities WHERE domain = 'enterprise' "
                "AND hash(entity_id) % 4 = 0")


def _changed(con) -> tuple[list[str], list[str]]:
    """Change the records of a few entities of `doc_scope`: every member's name of some (new golden
    name), one member's legal_rep of others where all agreed (a new conflict)."""
    renamed = [r[0] for r in con.execute(
        "SELECT entity_id FROM membership WHERE entity_id IN (SELECT entity_id FROM doc_scope) "
        "GROUP BY entity_id HAVING count(*) >= 2 ORDER BY entity_id LIMIT 6").fetchall()]
    for n, entity in enumerate(renamed):
        con.execute("UPDATE records_enterprise SET name = ? WHERE unique_id IN "
                    "(SELECT unique_id FROM membership WHERE entity_id = ?)", [f"changed {n}", entity])
    disputed = [r[0] for r in con.execute(
        "SELECT m.entity_id FROM membership m JOIN records_enterprise r USING (unique_id) "
        "WHERE m.entity_id IN (SELECT entity_id FROM doc_scope) AND m.entity_id NOT IN (SELECT unnest(?::VARCHAR[])) "
        "GROUP BY m.entity_id HAVING count(r.legal_rep) >= 2 AND count(DISTINCT r.legal_rep) = 1 "
        "ORDER BY m.entity_id LIMIT 4", [renamed]).fetchall()]
    for entity in disputed:
        con.execute("UPDATE records_enterprise SET legal_rep = 'someone else' WHERE unique_id = (SELECT min(unique_id) "
                    "FROM membership WHERE entity_id = ?)", [entity])
    return renamed, disputed


def _differ(con, table: str, new: str) -> int:
    mine = f"SELECT * FROM {table} WHERE entity_id IN (SELECT entity_id FROM doc_scope)"
    return con.execute(f"SELECT (SELECT count(*) FROM ({mine} EXCEPT ALL SELECT * FROM {new})) + "
                       f"(SELECT count(*) FROM (SELECT * FROM {new} EXCEPT ALL {mine}))").fetchall()[0][0]


def test_only_entities_whose_golden_rows_differ_from_their_document_are_written(demo_copy, monkeypatch):
    store = open_store(demo_copy("golden_by_docs"))
    written, known = [], []

    def spy(con, only, differ=(None, None), old=(None, None)):
        written.append(differ)
        known.append(old)
        golden.write_new(con, only, differ, old)
    monkeypatch.setattr(docs, "write_new", spy)
    by_rowid = []
    real_known = golden._write_known

    def known_spy(*args):
        by_rowid.append(real_known(*args))
        return by_rowid[-1]
    monkeypatch.setattr(golden, "_write_known", known_spy)
    try:
        con = store._con
        _begin_with_scope(con)
        scoped = con.execute("SELECT count(*) FROM doc_scope").fetchall()[0][0]
        renamed, disputed = _changed(con)
        gone = con.execute("SELECT min(entity_id) FROM doc_scope WHERE entity_id NOT IN (SELECT unnest(?::VARCHAR[]))",
                           [renamed + disputed]).fetchall()[0][0]
        con.execute("DELETE FROM serving_docs WHERE entity_id = ?", [gone])  # no document to compare with
        golden.build_golden(con, "enterprise", golden.load_survivorship("enterprise"), only="doc_scope", defer=True)
        assert _differ(con, "golden_values", "golden_new") > 0  # nothing written yet
        made = docs.refresh(con, "enterprise", "doc_scope", golden=("golden_new", "conflicts_new"), golden_pending=True)
        golden_rows = _differ(con, "golden_values", "golden_new")
        conflict_rows = _differ(con, "conflicts", "conflicts_new")
        con.execute("CREATE TEMP TABLE chk AS " + docs._member_json(con, "enterprise", "records_enterprise",
                                                                    "membership", "doc_scope"))
        want = {e: docs.unpack(d) for e, _, d in con.execute(docs._docs_sql(con, "enterprise", "doc_scope", "chk"))
                .fetchall()}
        con.execute("ROLLBACK")
    finally:
        store.close()
    assert scoped > 200 and made is not None and len(made) == scoped
    assert golden_rows == 0 and conflict_rows == 0
    assert {e: d for e, (_, d) in made.items()} == want
    # written by the documents' comparison: the changed entities and the one without a document, not all
    assert len(written) == 1 and written[0][0] is not None and written[0][1] is not None
    differ_golden, differ_conflicts = set(written[0][0]), set(written[0][1])
    assert set(renamed) | {gone} <= differ_golden and len(differ_golden) < 20
    assert set(disputed) | {gone} <= differ_conflicts and len(differ_conflicts) < 20
    # the old rows of those with a document are handed over as the documents list them
    assert set(known[0][0]) == differ_golden - {gone} and set(known[0][1]) == differ_conflicts - {gone}
    assert by_rowid == [True, True]  # and written by the rowids of the rows that differ


def test_without_documents_to_compare_every_entity_is_diffed(demo_copy, monkeypatch):
    """With the comparison off (`GOLDEN_BY_DOCS`), a deferred build is written for the whole scope."""
    store = open_store(demo_copy("golden_by_docs_off"))
    monkeypatch.setattr(docs, "GOLDEN_BY_DOCS", False)
    try:
        con = store._con
        _begin_with_scope(con)
        _changed(con)
        golden.build_golden(con, "enterprise", golden.load_survivorship("enterprise"), only="doc_scope", defer=True)
        docs.refresh(con, "enterprise", "doc_scope", golden=("golden_new", "conflicts_new"), golden_pending=True)
        rows = _differ(con, "golden_values", "golden_new"), _differ(con, "conflicts", "conflicts_new")
        con.execute("ROLLBACK")
    finally:
        store.close()
    assert rows == (0, 0)


class _Statements:
    """A connection that notes the SQL of each `execute`."""

    def __init__(self, con, seen: list[str]):
        self._con, self._seen = con, seen

    def __getattr__(self, name: str):
        return getattr(self._con, name)

    def execute(self, sql: str, *args, **kwargs):
        self._seen.append(sql)
        return self._con.execute(sql, *args, **kwargs)


def test_a_writes_neighbourhood_is_joined_without_a_copy(demo_copy, monkeypatch):
    """A refresh given the write's neighbourhood (`records`) reads it as it is (`NARROW_HOOD`; off:
    the scope's records copied to `doc_records` first): the same documents."""
    store = open_store(demo_copy("golden_by_docs_hood"))
    built, seen = {}, {}
    try:
        con = store._con
        _begin_with_scope(con)
        con.execute("CREATE TEMP TABLE hood AS SELECT * FROM records_enterprise WHERE unique_id IN "
                    "(SELECT unique_id FROM membership WHERE entity_id IN (SELECT entity_id FROM doc_scope))")
        for narrow in (False, True):
            monkeypatch.setattr(docs, "NARROW_HOOD", narrow)
            seen[narrow] = []
            built[narrow] = docs.refresh(_Statements(con, seen[narrow]), "enterprise", "doc_scope", records="hood")
        con.execute("ROLLBACK")
    finally:
        store.close()
    assert built[True] and built[True] == built[False]
    copies = {k: [s for s in v if s.startswith("CREATE") and docs.RECORDS in s] for k, v in seen.items()}
    assert copies[False] and not copies[True]
