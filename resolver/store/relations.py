"""Relations across domains in the store: one table per domain pair, `relations_<a>_<b>` (the
two domain names sorted), rebuilt from the source records inside a resolution's transaction.

A row is one piece of evidence: relation, from_domain, from_id, to_domain, to_id (master
IDs), confidence (the match step that linked it), source and source_record_id of the
evidence record, built_at. Rebuilding the whole pair from the records and the current
membership is what keeps relations in master-ID terms: a merged entity's evidence records
now belong to the survivor, so its relations move there. What to link comes from
relations.yaml (resolver.relations), handed here as `RelationSql`: plain columns, no rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from resolver.store.reads import safe_name

COLUMNS = ("relation", "from_domain", "from_id", "to_domain", "to_id", "confidence", "source",
           "source_record_id", "built_at")


@dataclass(frozen=True)
class KeySql:
    """One key of a match step: the from-record's column equals the to-record's; the `_valid`
    columns, when the field has a check, must both be true (a mistyped ID links nobody)."""

    left: str
    right: str
    left_valid: str | None = None
    right_valid: str | None = None


@dataclass(frozen=True)
class RelationSql:
    name: str
    from_domain: str
    to_domain: str
    steps: tuple[tuple[str, tuple[KeySql, ...]], ...]  # (confidence, keys), tried in order
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)  # golden field of the from-entity → values
    single: bool = False


def table_name(a: str, b: str) -> str:
    first, second = sorted((safe_name(a), safe_name(b)))
    return f"relations_{first}_{second}"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}


def _step_sql(rel: RelationSql, rank: int, keys: tuple[KeySql, ...], have_from: set[str],
              have_to: set[str]) -> str | None:
    """Evidence records this step links to exactly one entity (None: a column is missing)."""
    needed_from = {k.left for k in keys} | {k.left_valid for k in keys if k.left_valid}
    needed_to = {k.right for k in keys} | {k.right_valid for k in keys if k.right_valid}
    if not (needed_from <= have_from and needed_to <= have_to):
        return None
    # Which entities an evidence record's key values find depends on the values alone: the
    # to-side is grouped by its key values first, and only keys of exactly one entity are
    # joined. Joining the records first grew with the square of a common name's records (out of
    # memory at 10M: 王伟 is thousands of legal representatives and of persons).
    right = ", ".join(f'b."{safe_name(k.right)}" AS k{i}' for i, k in enumerate(keys))
    grouped = ", ".join(f"k{i}" for i in range(len(keys)))
    right_ok = " AND ".join([f'b."{safe_name(k.right)}" IS NOT NULL' for k in keys]
                            + [f'b."{safe_name(k.right_valid)}"' for k in keys if k.right_valid])
    on = " AND ".join(f'a."{safe_name(k.left)}" = t.k{i}' for i, k in enumerate(keys))
    filled = " AND ".join(f'a."{safe_name(k.left)}" IS NOT NULL AND a."{safe_name(k.left)}"::VARCHAR <> \'\''
                          for k in keys)
    valid = "".join(f' AND a."{safe_name(k.left_valid)}"' for k in keys if k.left_valid)
    scope = " AND a.unique_id IN (SELECT unique_id FROM _rel_scope)" if rel.where else ""
    # DISTINCT first, then a count: both spill (a count(DISTINCT) state does not)
    return (f"WITH d AS (SELECT DISTINCT {right}, mb.entity_id FROM records_{safe_name(rel.to_domain)} b "
            f"JOIN membership mb ON mb.unique_id = b.unique_id WHERE {right_ok}), "
            f"t AS (SELECT {grouped}, min(entity_id) AS to_id FROM d GROUP BY {grouped} HAVING count(*) = 1) "
            f"SELECT a.unique_id AS ev, t.to_id, {rank} AS rank "
            f"FROM records_{safe_name(rel.from_domain)} a JOIN t ON {on} "
            f"WHERE {filled}{valid}{scope} AND a.unique_id NOT IN (SELECT ev FROM _rel_linked)")


def _build_one(con: duckdb.DuckDBPyConnection, rel: RelationSql, table: str) -> None:
    have_from = _columns(con, f"records_{safe_name(rel.from_domain)}")
    have_to = _columns(con, f"records_{safe_name(rel.to_domain)}")
    if not have_from or not have_to:
        return  # a domain with no records yet: nothing to link
    con.execute("CREATE OR REPLACE TEMP TABLE _rel_linked (ev VARCHAR, to_id VARCHAR, rank INTEGER)")
    if rel.where:  # only the records of from-entities whose golden values pass `where` are evidence
        filters = " AND ".join("entity_id IN (SELECT entity_id FROM golden_values WHERE domain = ? AND field = ? "
                               "AND value IN (SELECT unnest(?)))" for _ in rel.where)
        params: list[Any] = [rel.from_domain]
        for name, values in rel.where.items():
            params += [rel.from_domain, name, list(values)]
        con.execute(f"CREATE OR REPLACE TEMP TABLE _rel_scope AS SELECT unique_id FROM membership "
                    f"WHERE domain = ? AND {filters}", params)
    confidence_of: dict[int, str] = {}
    for rank, (confidence, keys) in enumerate(rel.steps):
        sql = _step_sql(rel, rank, keys, have_from, have_to)
        if sql is not None:
            con.execute(f"INSERT INTO _rel_linked {sql}")
            confidence_of[rank] = confidence
    ranks = " ".join(f"WHEN {r} THEN '{c}'" for r, c in confidence_of.items()) or "WHEN -1 THEN ''"
    best = ""
    if rel.single:  # only the strongest evidence of each from-entity (ties all kept)
        best = " QUALIFY l.rank = min(l.rank) OVER (PARTITION BY ma.entity_id)"
    con.execute(
        f"INSERT INTO {table} SELECT ?, ?, ma.entity_id, ?, l.to_id, CASE l.rank {ranks} END, "
        "split_part(l.ev, ':', 1), substr(l.ev, length(split_part(l.ev, ':', 1)) + 2), now() "
        f"FROM _rel_linked l JOIN membership ma ON ma.unique_id = l.ev "
        f"WHERE ma.entity_id <> l.to_id{best}", [rel.name, rel.from_domain, rel.to_domain])
    con.execute("DROP TABLE _rel_linked")
    con.execute("DROP TABLE IF EXISTS _rel_scope")


def rebuild(con: duckdb.DuckDBPyConnection, domain: str, relations: list[RelationSql]) -> dict[str, int]:
    """Rebuild every relation table of a domain pair that holds `domain`, from the records and
    the membership as the caller's transaction sees them; evidence rows per relation."""
    pairs: dict[str, list[RelationSql]] = {}
    for rel in relations:
        if domain in (rel.from_domain, rel.to_domain):
            pairs.setdefault(table_name(rel.from_domain, rel.to_domain), []).append(rel)
    counts: dict[str, int] = {}
    for table, rels in pairs.items():
        con.execute(
            f"CREATE OR REPLACE TABLE {table} (relation VARCHAR, from_domain VARCHAR, from_id VARCHAR, "
            "to_domain VARCHAR, to_id VARCHAR, confidence VARCHAR, source VARCHAR, source_record_id VARCHAR, "
            "built_at TIMESTAMP)")
        for rel in rels:
            _build_one(con, rel, table)
        for column in ("from_id", "to_id"):  # point reads by master ID (resolver.store.reads' rule)
            con.execute(f"CREATE INDEX {table}_{column} ON {table} ({column})")
        for name, n in con.execute(f"SELECT relation, count(*) FROM {table} GROUP BY relation").fetchall():
            counts[str(name)] = int(n)
    return counts


def evidence_of(cur: duckdb.DuckDBPyConnection, table: str, entity_id: str) -> list[dict[str, Any]]:
    """Every evidence row of `table` where `entity_id` is either end (two indexed point reads;
    none when the table does not exist yet)."""
    rows: list[tuple[Any, ...]] = []
    try:
        for column in ("from_id", "to_id"):
            rows += cur.execute(f"SELECT {', '.join(COLUMNS[:-1])}, CAST(built_at AS VARCHAR) "
                                f"FROM {safe_name(table)} WHERE {column} = ?", [entity_id]).fetchall()
    except duckdb.CatalogException:
        return []
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def all_evidence(cur: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    """Every row of a relation table (evaluation, exports); none when it does not exist."""
    if not _columns(cur, safe_name(table)):
        return []
    rows = cur.execute(f"SELECT {', '.join(COLUMNS[:-1])}, CAST(built_at AS VARCHAR) FROM {table}").fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]
