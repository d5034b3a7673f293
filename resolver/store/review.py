"""The data steward's review: decisions on pairs of source records, and the queue of what to decide.

`review_decisions` (created on first use, so older stores need no migration) keeps every
decision ever made, one row each: the two source records (unique_ids, `unique_id_l` <
`unique_id_r`), `same` | `different` | `unsure`, a note, who (API key ID and department, or
`cli`) and when, and the model version and match probability the pair had then. Decisions name
source records, never master IDs: master IDs change at the next resolve, source record IDs do
not. The latest decision on a pair is the one that counts (`latest`).

The queue reads the scored pairs a resolution keeps (`pairs_<domain>`, every pair at or above
the predict threshold), the membership and the golden-value conflicts; see `candidates` for the
priority.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from resolver.store.reads import safe_name

TABLE = "review_decisions"
_DDL = f"""
CREATE SEQUENCE IF NOT EXISTS review_decision_seq;
CREATE TABLE IF NOT EXISTS {TABLE} (
    decision_id BIGINT DEFAULT nextval('review_decision_seq'), decided_at TIMESTAMP, domain VARCHAR,
    unique_id_l VARCHAR, unique_id_r VARCHAR, decision VARCHAR, note VARCHAR, kind VARCHAR,
    key_id VARCHAR, department VARCHAR, model_version VARCHAR, match_probability DOUBLE)
"""
DECISIONS = ("same", "different", "unsure")
KINDS = ("pair", "split", "conflict")
COLUMNS = ("decision_id", "decided_at", "domain", "unique_id_l", "unique_id_r", "decision", "note", "kind",
           "key_id", "department", "model_version", "match_probability")


def _exists(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchall()[0][0])


def record(cur: duckdb.DuckDBPyConnection, domain: str, row: dict[str, Any]) -> dict[str, Any]:
    """Store one decision in a transaction of `cur`'s own (a cursor, not the store's shared
    connection: a decision changes no serving view, so it neither waits for the writers' lock
    nor for a running resolve). `row` holds the COLUMNS after `domain`, without `decided_at`."""
    cur.execute("BEGIN TRANSACTION")
    try:
        if not _exists(cur, TABLE):
            cur.execute(_DDL)
        names = [c for c in COLUMNS[3:]]
        found = cur.execute(
            f"INSERT INTO {TABLE} (decided_at, domain, {', '.join(names)}) "
            f"VALUES (now(), ?, {', '.join('?' for _ in names)}) RETURNING {', '.join(COLUMNS)}",
            [domain, *(row.get(c) for c in names)]).fetchall()
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return dict(zip(COLUMNS, found[0], strict=True))


def latest(cur: duckdb.DuckDBPyConnection, domain: str, *, every: bool = False) -> pd.DataFrame:
    """The decision that counts on each decided pair of `domain` (its latest), or every decision
    made (`every`), oldest first."""
    if not _exists(cur, TABLE):
        return pd.DataFrame(columns=list(COLUMNS))
    last = "" if every else (" QUALIFY row_number() OVER (PARTITION BY unique_id_l, unique_id_r "
                             "ORDER BY decision_id DESC) = 1")
    return cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE domain = ?{last} ORDER BY decision_id",
                       [domain]).df()


def pairs_model_version(cur: duckdb.DuckDBPyConnection, domain: str) -> str | None:
    """The model version that scored the domain's kept pairs (its last full resolution), or None
    (no pairs kept, or kept before resolve recorded the version)."""
    table = f"pairs_{safe_name(domain)}"
    if "model_version" not in _columns(cur, table):
        return None
    rows = cur.execute(f"SELECT max(model_version) FROM {table}").fetchall()
    return rows[0][0] if rows else None


def _columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                      "ORDER BY ordinal_position", [table]).fetchall()]


def scored(cur: duckdb.DuckDBPyConnection, domain: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The kept score of each pair (unique_id_l < unique_id_r): match probability, match weight and
    each comparison's match weight (`mw_<comparison>`); pairs never scored are left out."""
    table = f"pairs_{safe_name(domain)}"
    if not pairs or not _exists(cur, table):
        return {}
    cur.register("wanted_pairs", pd.DataFrame(pairs, columns=["l", "r"], dtype="object"))
    try:
        frame = cur.execute(
            f"SELECT least(p.unique_id_l, p.unique_id_r) AS l, greatest(p.unique_id_l, p.unique_id_r) AS r, p.* "
            f"FROM {table} p JOIN wanted_pairs w ON least(p.unique_id_l, p.unique_id_r) = w.l "
            "AND greatest(p.unique_id_l, p.unique_id_r) = w.r "
            "QUALIFY row_number() OVER (PARTITION BY l, r ORDER BY p.match_probability DESC) = 1").df()
    finally:
        cur.unregister("wanted_pairs")
    out = {}
    for row in frame.to_dict("records"):
        out[(row["l"], row["r"])] = {k: v for k, v in row.items() if k not in ("l", "r", "unique_id_l", "unique_id_r")}
    return out


def _conflict_sql(cur: duckdb.DuckDBPyConnection, domain: str) -> str:
    """Each conflict (entity, field) with a pair of its members holding two different values (the
    golden value's record first), as `l`, `r` sorted. A conflict row names one source and one
    record ID per value, not always of one record, so the members are read again."""
    records = f"records_{safe_name(domain)}"
    have = set(_columns(cur, records))
    fields = [r[0] for r in cur.execute("SELECT DISTINCT field FROM conflicts WHERE domain = ? ORDER BY 1",
                                        [domain]).fetchall()]
    fields = [f for f in fields if f in have and safe_name(f)]
    if not fields:
        return ("SELECT NULL::VARCHAR AS entity_id, NULL::VARCHAR AS field, NULL::VARCHAR AS l, "
                "NULL::VARCHAR AS r, 0 AS n_values LIMIT 0")
    # the members of conflicting entities first (a few thousand at 1M), then their records by key
    held = " UNION ALL ".join(
        f"SELECT h.entity_id, '{f}' AS field, CAST(t.\"{f}\" AS VARCHAR) AS value, t.unique_id "
        f"FROM (SELECT unique_id, entity_id FROM conflict_members WHERE field = '{f}') h "
        f"JOIN {records} t USING (unique_id) WHERE t.\"{f}\" IS NOT NULL" for f in fields)
    return f"""
        WITH conflict_members AS MATERIALIZED (
                 SELECT m.unique_id, m.entity_id, c.field FROM membership m
                 JOIN (SELECT DISTINCT entity_id, field FROM conflicts WHERE domain = $d) c USING (entity_id)),
        held AS ({held}),
        reps AS (SELECT c.entity_id, c.field, c.value, min(h.unique_id) AS rep,
                        coalesce(any_value(g.value = c.value), false) AS golden
                 FROM (SELECT DISTINCT entity_id, field, value FROM conflicts WHERE domain = $d) c
                 JOIN held h USING (entity_id, field, value)
                 LEFT JOIN golden_values g ON g.domain = $d AND g.entity_id = c.entity_id AND g.field = c.field
                 GROUP BY ALL),
        two AS (SELECT entity_id, field, list(rep ORDER BY golden DESC, value) AS reps, count(*) AS n_values
                FROM reps GROUP BY ALL HAVING count(*) > 1)
        SELECT entity_id, field, least(reps[1], reps[2]) AS l, greatest(reps[1], reps[2]) AS r, n_values FROM two"""


def candidates(cur: duckdb.DuckDBPyConnection, domain: str, predict: float, match: float) -> pd.DataFrame:
    """Every item the review queue can hold, decided or not, highest priority first (the caller
    takes the decided ones out: resolver.review.queue). Columns: kind, l, r (the pair's source
    records, l < r), p, entity_l, entity_r, field, n_values, n_pairs, records, uncertainty, priority,
    and the pair's kept score when it was scored: scored_probability, match_weight, mw_<comparison>.

    - `pair`: a kept pair scored between the thresholds (predict <= p < match). Two records in
      one entity: each such pair is an item. In two entities: one item per two entities, its
      pair the best scored (`n_pairs` says how many);
    - `split`: two entities with a kept pair at or above the match threshold between them (a
      hard constraint, a `different` decision or an incremental run kept them apart), one item
      per two entities as above;
    - `conflict`: an entity whose members disagree on a field declared `conflicts: true`, with
      two members holding different values as its pair (the golden value's holder first).

    Priority = records a decision can move x uncertainty. Records: both entities' sizes when the
    pair's records are apart (a `same` merges them), the entity's size when together (a
    `different` splits it). Uncertainty: 1 - |2p - 1| for a pair (1 at p = 0.5, 0.2 at 0.9); 1
    for a split and a conflict (the model and a constraint, or the members, disagree). Ties:
    uncertainty, then split, conflict, pair, then the records' IDs, so a page is stable.
    """
    pairs_table = f"pairs_{safe_name(domain)}"
    # pairs that can be items: below the match threshold, or apart; then one row per pair (an
    # incremental run may have scored a pair again)
    scored_pairs = (f"""SELECT least(s.unique_id_l, s.unique_id_r) AS l, greatest(s.unique_id_l, s.unique_id_r) AS r,
                              max(s.match_probability) AS p
                       FROM {pairs_table} s JOIN membership a ON a.unique_id = s.unique_id_l
                       JOIN membership b ON b.unique_id = s.unique_id_r
                       WHERE s.match_probability >= $predict AND (s.match_probability < $match OR a.entity_id <> b.entity_id)
                       GROUP BY ALL""" if _exists(cur, pairs_table) else
                    "SELECT NULL::VARCHAR AS l, NULL::VARCHAR AS r, NULL::DOUBLE AS p LIMIT 0")
    conflicts = _conflict_sql(cur, domain) if _exists(cur, f"records_{safe_name(domain)}") else \
        "SELECT NULL::VARCHAR AS entity_id, NULL::VARCHAR AS field, NULL::VARCHAR AS l, NULL::VARCHAR AS r, 0 AS n_values LIMIT 0"
    # each item's pair as the resolution scored it (match weight, each comparison's), read once here
    # rather than per page: a look-up in the kept pairs is a scan of them
    have = _columns(cur, pairs_table)
    weights = [c for c in have if c.startswith("mw_") and safe_name(c)]
    scores, score_join = "", ""
    if have:
        scores = ", " + ", ".join(f's."{c}"' for c in ["scored_probability", "match_weight", *weights])
        score_join = f"""
        LEFT JOIN (SELECT k.* FROM (SELECT least(unique_id_l, unique_id_r) AS l, greatest(unique_id_l, unique_id_r) AS r,
                                           match_probability AS scored_probability, match_weight{''.join(f', "{c}"' for c in weights)}
                                    FROM {pairs_table}) k
                   JOIN (SELECT DISTINCT l, r FROM items) w USING (l, r)
                   QUALIFY row_number() OVER (PARTITION BY k.l, k.r ORDER BY k.scored_probability DESC) = 1) s USING (l, r)"""
    sql = f"""
        WITH sized AS (SELECT m.unique_id, m.entity_id, e.size FROM membership m
                       JOIN entities e USING (entity_id) WHERE m.domain = $d),
        scored AS ({scored_pairs}),
        linked AS (SELECT s.l, s.r, s.p, a.entity_id AS entity_l, b.entity_id AS entity_r, a.size AS size_l,
                          b.size AS size_r
                   FROM scored s JOIN sized a ON a.unique_id = s.l JOIN sized b ON b.unique_id = s.r
                   WHERE s.p < $match OR a.entity_id <> b.entity_id),
        apart AS (SELECT CASE WHEN p < $match THEN 'pair' ELSE 'split' END AS kind, l, r, p, entity_l, entity_r,
                         NULL::VARCHAR AS field, NULL::BIGINT AS n_values,
                         count(*) OVER (PARTITION BY least(entity_l, entity_r), greatest(entity_l, entity_r)) AS n_pairs,
                         size_l + size_r AS records,
                         CASE WHEN p < $match THEN 1 - abs(2 * p - 1) ELSE 1.0 END AS uncertainty
                  FROM linked WHERE entity_l <> entity_r
                  QUALIFY row_number() OVER (PARTITION BY least(entity_l, entity_r), greatest(entity_l, entity_r)
                                             ORDER BY p DESC, l, r) = 1),
        together AS (SELECT 'pair' AS kind, l, r, p, entity_l, entity_r, NULL::VARCHAR AS field,
                            NULL::BIGINT AS n_values, 1 AS n_pairs, size_l AS records, 1 - abs(2 * p - 1) AS uncertainty
                     FROM linked WHERE entity_l = entity_r),
        conflict_items AS (SELECT 'conflict' AS kind, c.l, c.r, NULL::DOUBLE AS p, c.entity_id AS entity_l,
                                  c.entity_id AS entity_r, c.field, c.n_values, 1 AS n_pairs, e.size AS records,
                                  1.0 AS uncertainty
                           FROM ({conflicts}) c JOIN entities e USING (entity_id)),
        items AS (SELECT *, records * uncertainty AS priority FROM (
            SELECT * FROM apart UNION ALL SELECT * FROM together UNION ALL SELECT * FROM conflict_items))
        SELECT i.*{scores} FROM items i{score_join}
        ORDER BY priority DESC, uncertainty DESC, CASE kind WHEN 'split' THEN 0 WHEN 'conflict' THEN 1 ELSE 2 END,
                 l, r, field NULLS FIRST"""
    params = {"d": domain, "predict": predict, "match": match}
    return cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).df()
