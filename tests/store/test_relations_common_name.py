"""A relation's name step when one name is everywhere (王伟 as legal representative of thousands
of firms and the name of thousands of persons): it links nobody by that name, and must not join
every such firm to every such person to find that out (out of memory at 10M source records)."""

from __future__ import annotations

import duckdb

from resolver.store import relations

STEPS = (("name", (relations.KeySql("legal_rep", "name"),)),)
REL = relations.RelationSql("legal_representative", "enterprise", "person", STEPS)


def _store(n: int) -> duckdb.DuckDBPyConnection:
    """n firms and n persons all named 王伟 (n person entities), plus one firm whose
    representative's name only one person has."""
    con = duckdb.connect()
    con.execute("CREATE TABLE records_enterprise AS SELECT 'e:' || i AS unique_id, '王伟' AS legal_rep "
                "FROM range(?) t(i) UNION ALL SELECT 'e:x', '林一鸣'", [n])
    con.execute("CREATE TABLE records_person AS SELECT 'p:' || i AS unique_id, '王伟' AS name "
                "FROM range(?) t(i) UNION ALL SELECT 'p:x', '林一鸣'", [n])
    con.execute("CREATE TABLE membership AS SELECT unique_id, 'person' AS domain, 'P' || unique_id AS entity_id "
                "FROM records_person UNION ALL SELECT unique_id, 'enterprise', 'E' || unique_id FROM records_enterprise")
    return con


def test_a_name_everyone_shares_links_nobody_under_a_small_memory_limit():
    con = _store(4000)  # 16M firm-person rows if the records were joined first
    con.execute("SET memory_limit = '48MB'")
    con.execute("SET threads = 1")
    counts = relations.rebuild(con, "enterprise", [REL])
    rows = con.execute("SELECT from_id, to_id, confidence FROM relations_enterprise_person").fetchall()
    assert counts == {"legal_representative": 1}
    assert rows == [("Ee:x", "Pp:x", "name")]
