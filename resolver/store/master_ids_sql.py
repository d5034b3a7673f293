"""Stable master IDs of a full resolution, in the store's DuckDB (resolver.store.master_ids in SQL).

The rules are those of `assign_master_ids`: the new clusters inherit old IDs by a greedy matching
in the order (shared members desc, old size desc, created first, entity ID, cluster ID); a cluster
that inherits none gets the next number, in cluster-ID order; events (create, merge, split,
retire) carry the same words in the same order. The greedy comes out of rounds in which every
(cluster, old ID) pair that comes first for its cluster *and* for its old ID among the pairs still
open is taken (the greedy's next pair always qualifies, and a pair that qualifies is one the greedy
takes), as on Spark (resolver.engines.spark_master_ids).

Why SQL: at 10M records the pandas form held every record's IDs as Python objects, a dict per
cluster and an event dict per new entity (~2 GB for 4M entities), outside DuckDB's memory limit;
here it is the store's connection's work, under its limit, spilling when it must.
"""

from __future__ import annotations

import duckdb

MAX_ROUNDS = 10_000  # a bound, never met: each round takes at least the greedy's next pair

_ORDER = "shared DESC, old_size DESC, created_at ASC NULLS LAST, entity_id ASC, cluster_id ASC"
# the temp tables this leaves for the writes of the resolution (Store._write_plan) and drops
TABLES = ("new_members", "new_events", "changed_ids")
_WORK = ("mi_prev", "mi_overlap", "mi_open", "mi_won", "mi_ids")


def assign_in_store(con: duckdb.DuckDBPyConnection, domain: str, clusters: str, next_number: int,
                    prefix: str) -> tuple[int, int]:
    """Give the clusters of view `clusters` (unique_id, cluster_id text, pos: the row's order)
    master IDs against the domain's membership; leave temp tables `new_members` (unique_id,
    entity_id in `pos` order), `new_events` (event, entity_id, related_ids, reason, in the order
    `assign_master_ids` lists them) and `changed_ids` (the old and new IDs of every record whose
    entity changed). Returns (next unused number, how many entities changed)."""
    def run(sql: str) -> None:
        con.execute(sql, {"d": domain}) if "$d" in sql else con.execute(sql)

    run("CREATE OR REPLACE TEMP TABLE mi_prev AS SELECT unique_id, entity_id FROM membership WHERE domain = $d")
    run(f"""CREATE OR REPLACE TEMP TABLE mi_overlap AS
        SELECT o.cluster_id, o.entity_id, o.shared, s.old_size, e.created_at
        FROM (SELECT c.cluster_id, p.entity_id, count(*) AS shared FROM {clusters} c JOIN mi_prev p USING (unique_id)
              GROUP BY ALL) o
        JOIN (SELECT entity_id, count(*) AS old_size FROM mi_prev GROUP BY ALL) s USING (entity_id)
        LEFT JOIN (SELECT entity_id, created_at FROM entities WHERE domain = $d AND active) e USING (entity_id)""")
    run("CREATE OR REPLACE TEMP TABLE mi_ids (cluster_id VARCHAR, entity_id VARCHAR, created BOOLEAN)")
    run("CREATE OR REPLACE TEMP TABLE mi_open AS SELECT * FROM mi_overlap")
    for _ in range(MAX_ROUNDS):
        run(f"""CREATE OR REPLACE TEMP TABLE mi_won AS SELECT cluster_id, entity_id FROM (
                SELECT cluster_id, entity_id,
                       row_number() OVER (PARTITION BY cluster_id ORDER BY {_ORDER}) AS by_cluster,
                       row_number() OVER (PARTITION BY entity_id ORDER BY {_ORDER}) AS by_entity
                FROM mi_open) WHERE by_cluster = 1 AND by_entity = 1""")
        if not con.execute("SELECT count(*) FROM mi_won").fetchall()[0][0]:
            break
        run("INSERT INTO mi_ids SELECT cluster_id, entity_id, false FROM mi_won")
        run("DELETE FROM mi_open WHERE cluster_id IN (SELECT cluster_id FROM mi_won) "
            "OR entity_id IN (SELECT entity_id FROM mi_won)")
    else:
        raise RuntimeError("master IDs: the inheritance did not settle")
    created = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT cluster_id FROM {clusters}) "
        "WHERE cluster_id NOT IN (SELECT cluster_id FROM mi_ids)").fetchall()[0][0]
    con.execute(f"""INSERT INTO mi_ids
        SELECT cluster_id, ? || format('{{:09d}}', ? + row_number() OVER (ORDER BY cluster_id) - 1), true
        FROM (SELECT DISTINCT cluster_id FROM {clusters}) WHERE cluster_id NOT IN (SELECT cluster_id FROM mi_ids)""",
                [prefix, next_number])
    run(f"""CREATE OR REPLACE TEMP TABLE new_members AS
        SELECT c.unique_id, i.entity_id FROM {clusters} c JOIN mi_ids i USING (cluster_id) ORDER BY c.pos""")
    run("""CREATE OR REPLACE TEMP TABLE new_events AS
        SELECT event, entity_id, related_ids, reason FROM (
          -- a new ID: its cluster's old IDs, if any, are what it split from
          SELECT 'create' AS event, i.entity_id, coalesce(o.olds, '') AS related_ids,
                 CASE WHEN o.olds IS NULL THEN 'new records' ELSE 'split from ' || o.olds_text END AS reason,
                 0 AS phase, i.cluster_id AS key
          FROM mi_ids i LEFT JOIN (SELECT cluster_id, string_agg(entity_id, ',' ORDER BY entity_id) AS olds,
                                          string_agg(entity_id, ', ' ORDER BY entity_id) AS olds_text
                                   FROM mi_overlap GROUP BY cluster_id) o USING (cluster_id)
          WHERE i.created
          UNION ALL
          -- an inherited ID that absorbed the cluster's other old IDs
          SELECT 'merge', i.entity_id, string_agg(o.entity_id, ',' ORDER BY o.entity_id),
                 'merged ' || count(*) || ' entities into the larger one', 0, i.cluster_id
          FROM mi_ids i JOIN mi_overlap o ON o.cluster_id = i.cluster_id AND o.entity_id <> i.entity_id
          WHERE NOT i.created GROUP BY i.cluster_id, i.entity_id
          UNION ALL
          -- an old ID whose members now sit in more than one cluster
          SELECT 'split', o.entity_id, coalesce(string_agg(i.entity_id, ',' ORDER BY i.entity_id)
                                                FILTER (WHERE i.entity_id <> o.entity_id), ''),
                 'split into ' || count(*) || ' entities', 1, o.entity_id
          FROM mi_overlap o JOIN mi_ids i USING (cluster_id) GROUP BY o.entity_id HAVING count(*) > 1
          UNION ALL
          -- an old ID no cluster inherited: merged away, or all its records gone
          SELECT 'retire', r.entity_id, coalesce(h.heirs, ''),
                 CASE WHEN h.heirs IS NULL THEN 'no records left' ELSE 'merged into ' || h.heirs_text END, 2, r.entity_id
          FROM (SELECT DISTINCT entity_id FROM mi_prev
                WHERE entity_id NOT IN (SELECT entity_id FROM mi_ids WHERE NOT created)) r
          LEFT JOIN (SELECT o.entity_id, string_agg(i.entity_id, ',' ORDER BY i.entity_id) AS heirs,
                            string_agg(i.entity_id, ', ' ORDER BY i.entity_id) AS heirs_text
                     FROM mi_overlap o JOIN mi_ids i USING (cluster_id) GROUP BY o.entity_id) h USING (entity_id)
        ) ORDER BY phase, key""")
    run("""CREATE OR REPLACE TEMP TABLE changed_ids AS
        SELECT DISTINCT entity_id FROM (
          SELECT unnest([p.entity_id, n.entity_id]) AS entity_id
          FROM mi_prev p FULL OUTER JOIN new_members n USING (unique_id)
          WHERE p.entity_id IS DISTINCT FROM n.entity_id)
        WHERE entity_id IS NOT NULL ORDER BY entity_id""")
    changed = con.execute("SELECT count(*) FROM changed_ids").fetchall()[0][0]
    for table in _WORK:
        run(f"DROP TABLE IF EXISTS {table}")
    return next_number + int(created), int(changed)


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables `assign_in_store` left."""
    for table in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
