"""Master snapshots: a resolution computed elsewhere (Spark) as Parquet, and its load into a store.

A snapshot is a folder (docs/store.md, "Master snapshots"):

    manifest.json      format, domain, model version (and its JSON), next master-ID number,
                       the base it was computed against, counts, per-stage seconds
    records/           the standardized source records it resolved (the store's columns)
    membership/        unique_id, entity_id
    events/            event, entity_id, related_ids, reason, event_phase, event_key
    golden_values/     entity_id, field, value, source, source_record_id, rule, field_order
    conflicts/         entity_id, field, value, source, source_record_id, field_order
    pairs/             the scored pairs kept for explanations and review, with model_version

`export_base` writes what a Spark resolution reads from a store (records, the previous
membership, the active entities) and says which master it was; `load_snapshot` writes a
snapshot into a store in one transaction, as `save_resolution` writes a resolution computed
here (unchanged members keep `since`, only the documents that can have changed are rewritten,
relations rebuilt, a running server told to swap in the new view at the commit). A snapshot
computed against a master that has changed since (another resolution, new IDs) is refused:
its master IDs would not carry on from the store's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from resolver.errors import InputError
from resolver.store import docs
from resolver.store import relations as relation_tables
from resolver.store.commits import Change
from resolver.store.golden import replace_domain
from resolver.store.store import Store, rebuild_golden_and_changed_docs, records_table

FORMAT = "resolver-master-snapshot"
VERSION = 1
PARTS = ("records", "membership", "events", "golden_values", "conflicts", "pairs")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet(folder: Path, part: str) -> str:
    return f"read_parquet({_literal(str(folder / part / '*.parquet'))})"


def base_of(con: duckdb.DuckDBPyConnection, domain: str) -> dict[str, Any]:
    """What identifies the domain's master now: the next master-ID number, members, events."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [f"next_id_{domain}"]).fetchall()
    members = con.execute("SELECT count(*) FROM membership WHERE domain = ?", [domain]).fetchall()[0][0]
    events = con.execute("SELECT count(*), coalesce(max(event_id), 0) FROM entity_history WHERE domain = ?",
                         [domain]).fetchall()[0]
    return {"next_number": int(row[0][0]) if row else 1, "members": int(members),
            "events": int(events[0]), "last_event": int(events[1])}


def export_base(store: Store, domain: str, folder: Path) -> dict[str, Any]:
    """Write the domain's records, membership and active entities as Parquet under `folder`
    (DuckDB streams them: nothing passes through Python) and return the base."""
    table = records_table(domain)
    if not store.has_table(table):
        raise InputError(f"{store.path}: no {domain} records ingested yet")
    cur = store.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")  # one snapshot of the store for all three
        for part, sql in (("records", f"SELECT * FROM {table} ORDER BY unique_id"),
                          ("previous", f"SELECT unique_id, entity_id FROM membership WHERE domain = {_literal(domain)}"),
                          ("entities", "SELECT entity_id, created_at FROM entities WHERE domain = "
                                       f"{_literal(domain)} AND active")):
            (folder / part).mkdir(parents=True, exist_ok=True)
            cur.execute(f"COPY ({sql}) TO {_literal(str(folder / part / 'part-0.parquet'))} (FORMAT parquet)")
        base = base_of(cur, domain)
        cur.execute("COMMIT")
    finally:
        cur.close()
    return base


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.exists():
        raise InputError(f"{folder}: not a master snapshot (no manifest.json)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InputError(f"{path}: format {manifest.get('format')!r} version {manifest.get('version')!r}, "
                         f"expected {FORMAT!r} version {VERSION}")
    missing = [p for p in PARTS if not any((folder / p).glob("*.parquet"))]
    if missing:
        raise InputError(f"{folder}: snapshot incomplete, no Parquet in {', '.join(missing)}")
    return manifest


def load_snapshot(store: Store, folder: Path,
                  relations: list[relation_tables.RelationSql] | None = None) -> dict[str, Any]:
    """Write the snapshot in `folder` into `store` in one transaction; returns counts."""
    manifest = read_manifest(folder)
    domain, version = manifest["domain"], manifest["model_version"]
    table = records_table(domain)
    with store.transaction() as con:
        now = base_of(con, domain)
        expected = manifest["base"]
        if now["members"] and now != expected:
            raise InputError(f"{folder}: computed against the {domain} master as it was ({expected}), but the "
                             f"store's is now {now}: resolve again")
        if manifest.get("model_json") and not con.execute(
                "SELECT count(*) FROM model_versions WHERE version = ?", [version]).fetchall()[0][0]:
            con.execute("INSERT INTO model_versions (version, domain, path, fingerprint, created_at, model_json) "
                        "VALUES (?, ?, NULL, ?, now(), ?)",
                        [version, domain, manifest.get("fingerprint", ""), manifest["model_json"]])
        records_replaced = _records(con, store, folder, table, manifest)
        con.execute(f"CREATE OR REPLACE TEMP TABLE new_members AS SELECT unique_id, entity_id FROM "
                    f"{_parquet(folder, 'membership')}")
        con.execute("CREATE OR REPLACE TEMP TABLE changed_ids AS SELECT DISTINCT entity_id FROM ("
                    "SELECT o.entity_id FROM membership o LEFT JOIN new_members n USING (unique_id) "
                    "WHERE o.domain = $d AND n.entity_id IS DISTINCT FROM o.entity_id UNION ALL "
                    "SELECT n.entity_id FROM new_members n LEFT JOIN (SELECT * FROM membership WHERE domain = $d) o "
                    "USING (unique_id) WHERE n.entity_id IS DISTINCT FROM o.entity_id)", {"d": domain})
        con.execute("DELETE FROM membership WHERE domain = ? AND unique_id NOT IN (SELECT m.unique_id "
                    "FROM membership m JOIN new_members n USING (unique_id) WHERE m.entity_id = n.entity_id)",
                    [domain])
        con.execute("INSERT INTO membership SELECT unique_id, ?, entity_id, now(), ? FROM new_members "
                    "WHERE unique_id NOT IN (SELECT unique_id FROM membership)", [domain, version])
        sizes = "(SELECT entity_id, count(*) AS n FROM new_members GROUP BY entity_id)"
        con.execute(f"INSERT INTO entities SELECT entity_id, ?, n, now(), now(), ?, true FROM {sizes} "
                    "WHERE entity_id NOT IN (SELECT entity_id FROM entities)", [domain, version])
        con.execute(f"UPDATE entities SET size = s.n, updated_at = now(), model_version = ?, active = true "
                    f"FROM {sizes} s WHERE entities.entity_id = s.entity_id "
                    "AND entities.entity_id IN (SELECT entity_id FROM changed_ids)", [version])
        con.execute("UPDATE entities SET active = false, size = 0, updated_at = now() WHERE domain = ? "
                    "AND active AND entity_id NOT IN (SELECT entity_id FROM new_members)", [domain])
        con.execute("INSERT INTO entity_history (event_at, domain, event, entity_id, related_ids, reason, "
                    f"model_version) SELECT now(), ?, event, entity_id, related_ids, reason, ? FROM "
                    f"{_parquet(folder, 'events')} ORDER BY event_phase, event_key", [domain, version])
        con.execute(f"CREATE OR REPLACE TABLE pairs_{domain} AS SELECT * FROM {_parquet(folder, 'pairs')}")
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"next_id_{domain}", str(manifest["next_number"])])
        _golden_and_docs(con, domain, folder)
        rebuilt = relation_tables.rebuild(con, domain, relations) if relations else {}
        store._note(Change(domain, docs=None, records=None))
        counts = {"entities": int(con.execute("SELECT count(*) FROM entities WHERE domain = ? AND active",
                                              [domain]).fetchall()[0][0]),
                  "changed": int(con.execute("SELECT count(*) FROM changed_ids").fetchall()[0][0]),
                  "records_replaced": records_replaced, "relations": rebuilt}
        for name in ("new_members", "changed_ids"):
            con.execute(f"DROP TABLE {name}")
    return {**manifest, "loaded": counts}


def _records(con: duckdb.DuckDBPyConnection, store: Store, folder: Path, table: str,
             manifest: dict[str, Any]) -> bool:
    """The snapshot's records become the store's, unless the store holds the very records it was
    computed from (a resolution of this store): then they are left alone."""
    if store.has_table(table):
        same = con.execute(f"SELECT count(*), count(*) FILTER (WHERE unique_id NOT IN (SELECT unique_id FROM "
                           f"{_parquet(folder, 'records')})) FROM {table}").fetchall()[0]
        if int(same[0]) == int(manifest["counts"]["records"]) and int(same[1]) == 0:
            return False
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {_parquet(folder, 'records')}")
    con.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (unique_id)")
    return True


def _golden_and_docs(con: duckdb.DuckDBPyConnection, domain: str, folder: Path) -> None:
    """The snapshot's golden values and conflicts replace the domain's; the documents of entities
    that changed, whose golden values came out different, or that have none are rewritten (the
    store's rule for a full resolution)."""
    def fill() -> None:
        for table, new in (("golden_values", "golden_new"), ("conflicts", "conflicts_new")):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {new} AS SELECT * FROM {table} LIMIT 0")
        con.execute("INSERT INTO golden_new SELECT entity_id, ?, field, value, source, source_record_id, rule "
                    f"FROM {_parquet(folder, 'golden_values')} ORDER BY field_order, entity_id", [domain])
        con.execute("INSERT INTO conflicts_new SELECT entity_id, ?, field, value, source, source_record_id "
                    f"FROM {_parquet(folder, 'conflicts')} ORDER BY field_order, entity_id", [domain])
        replace_domain(con, domain)

    con.execute(docs.CREATE)
    rebuild_golden_and_changed_docs(con, domain, fill)
