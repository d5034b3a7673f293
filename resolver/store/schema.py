"""The master store's schema (DuckDB). Created or migrated by `migrate`; the version is stored in `meta`.

Tables
- `meta(key, value)`: `schema_version`, id sequences.
- `records_<domain>` (one per domain with a schema in the rules folder): current version of every source record: keys, canonical and derived
  columns (docs/columns.md), `raw` (the whole department row as JSON), `record_hash`, `file`,
  `ingested_at`. Its columns follow the standardizer; new ones are added on ingest.
- `record_history`: every replaced version of a source record (raw JSON and hash).
- `quarantine`: rows that could not be used, with file, row number, field and reason.
- `ingest_runs`: per file ingested, where every line went (resolver.store.ingest_runs; created on first use).
- `entities`: one row per master ID: domain, size, created/updated time, model version, active.
- `membership`: source record → master ID for the current resolution.
- `golden_values`: golden record in long form with lineage: field, value, source, source
  record, survivorship rule. `conflicts` lists fields where valid values disagree.
- `entity_history`: create / merge / split / retire events with reason and model version.
- `pairs_<domain>`: scored candidate pairs of the last resolution (for explanations and the review
  queue), with the model version that scored them (`model_version`, from resolve; none before).
- `review_decisions`: a data steward's decisions on pairs of source records (resolver.store.review;
  created on first use).
- `relations_<a>_<b>` (one per domain pair of relations.yaml): evidence of relations across
  domains in master-ID terms, rebuilt by each resolution (resolver.store.relations).
- `model_versions`: every published model: version, domain, path it was saved to (for
  information), fingerprint, time, and (v3) `model_json`, the model itself (resolver.store.models).
- `api_keys`, `audit_log`: legacy, emptied on first open: keys and the audit log live in
  `<db>.access.sqlite` (resolver.access.access_store, docs/access.md).
- `serving_docs` (v2): one JSON document per entity for look-ups (resolver.store.docs); (v5) its
  text stored uncompressed; (v6) each document packed (LZ4, `docs.pack`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from resolver.store import docs, models

SCHEMA_VERSION = 6

_V1 = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS record_history (
    unique_id VARCHAR, domain VARCHAR, record_hash VARCHAR, raw VARCHAR, file VARCHAR,
    ingested_at TIMESTAMP, replaced_at TIMESTAMP);
CREATE SEQUENCE IF NOT EXISTS quarantine_seq;
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id BIGINT DEFAULT nextval('quarantine_seq'), domain VARCHAR, source VARCHAR,
    file VARCHAR, row_number BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR,
    quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS entities (
    entity_id VARCHAR PRIMARY KEY, domain VARCHAR, size BIGINT, created_at TIMESTAMP,
    updated_at TIMESTAMP, model_version VARCHAR, active BOOLEAN);
CREATE TABLE IF NOT EXISTS membership (
    unique_id VARCHAR PRIMARY KEY, domain VARCHAR, entity_id VARCHAR, since TIMESTAMP,
    model_version VARCHAR);
CREATE TABLE IF NOT EXISTS golden_values (
    entity_id VARCHAR, domain VARCHAR, field VARCHAR, value VARCHAR, source VARCHAR,
    source_record_id VARCHAR, rule VARCHAR);
CREATE TABLE IF NOT EXISTS conflicts (
    entity_id VARCHAR, domain VARCHAR, field VARCHAR, value VARCHAR, source VARCHAR,
    source_record_id VARCHAR);
CREATE SEQUENCE IF NOT EXISTS history_seq;
CREATE TABLE IF NOT EXISTS entity_history (
    event_id BIGINT DEFAULT nextval('history_seq'), event_at TIMESTAMP, domain VARCHAR, event VARCHAR,
    entity_id VARCHAR, related_ids VARCHAR, reason VARCHAR, model_version VARCHAR);
CREATE TABLE IF NOT EXISTS model_versions (
    version VARCHAR PRIMARY KEY, domain VARCHAR, path VARCHAR, fingerprint VARCHAR,
    created_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id VARCHAR PRIMARY KEY, key_hash VARCHAR, department VARCHAR, scopes VARCHAR,
    created_at TIMESTAMP, revoked_at TIMESTAMP);
CREATE SEQUENCE IF NOT EXISTS audit_seq;
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id BIGINT DEFAULT nextval('audit_seq'), logged_at TIMESTAMP, key_id VARCHAR,
    department VARCHAR, endpoint VARCHAR, query_fingerprint VARCHAR, returned_ids VARCHAR,
    status INTEGER);
"""


def migrate(con: duckdb.DuckDBPyConnection, store_dir: Path | None = None) -> int:
    """Create the schema or bring an older one up to SCHEMA_VERSION; return the version found.

    `store_dir` is the store file's folder, where v3 also looks for model files registered by
    a relative path."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    found = 0
    if "meta" in tables:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        found = int(row[0][0]) if row else 0
    if found > SCHEMA_VERSION:
        from resolver.errors import ResolverError

        raise ResolverError(f"store schema version {found} is newer than this resolver ({SCHEMA_VERSION})")
    if found < 1:
        con.execute(_V1)
    def serving_docs() -> None:
        con.execute(docs.CREATE)
        for (domain,) in con.execute("SELECT DISTINCT domain FROM entities").fetchall():
            docs.refresh(con, domain)

    # each step with its version stamp in one transaction: a failed step leaves the older version
    steps: list[tuple[int, Callable[[], None]]] = [
        (2, serving_docs),  # serving documents, built once for the entities already stored
        (3, lambda: models.import_model_files(con, store_dir)),  # model JSON inside the store
        (4, lambda: _add_either_dates(con, tables)),  # a date `either_with` an ID gains its blocking key
        (5, lambda: None),  # was: documents' text uncompressed; v6 rewrites the table anyway
        (6, lambda: _packed_docs(con)),  # serving documents stored packed (LZ4)
    ]
    for version, step in steps:
        if found >= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            step()
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    return found


def _packed_docs(con: duckdb.DuckDBPyConnection) -> None:
    """The documents' table again, each document packed (resolver.store.docs.pack); a table
    created by `docs.CREATE` since (the v2 step of a version 1 store) is packed already."""
    kind = con.execute("SELECT data_type FROM duckdb_columns() WHERE database_name = current_database() "
                       "AND schema_name = 'main' AND table_name = ? AND column_name = 'doc'",
                       [docs.TABLE]).fetchall()[0][0]
    if kind == "VARCHAR":
        con.execute(f"CREATE TABLE {docs.TABLE}_v6 ({docs.COLUMNS})")
        con.execute(f"INSERT INTO {docs.TABLE}_v6 SELECT entity_id, domain, {docs.PACK}(doc) FROM {docs.TABLE}")
        con.execute(f"DROP TABLE {docs.TABLE}")
        con.execute(f"ALTER TABLE {docs.TABLE}_v6 RENAME TO {docs.TABLE}")


def _add_either_dates(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    """Add every date field's `either` column (the date given, else the one its `either_with`
    identifier carries) to stored records of each domain, as standardize derives it:
    identical rows are never standardized again."""
    from resolver.domains import load_domains

    for domain, schema in load_domains().items():
        table = f"records_{domain}"
        if table not in tables:
            continue
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        for spec in schema.of_type("date"):
            ident = schema.fields.get(str(spec.either_with))
            if ident is not None and "either" in spec.parts and "birth_date" in ident.parts:
                _add_either_date(con, table, have, spec.name, spec.parts["either"], ident.parts["birth_date"],
                                 ident.name)


def _add_either_date(con: duckdb.DuckDBPyConnection, table: str, have: set[str], date: str, either: str,
                     id_date: str, ident: str) -> None:
    from resolver.standardize.ids import birth_date_for_blocking

    con.execute(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{either}" VARCHAR')
    if not {date, id_date, ident} <= have:
        return
    rows = con.execute(f'SELECT unique_id, "{date}", "{id_date}", "{ident}" FROM {table}').fetchall()
    derived = [(uid, birth_date_for_blocking(b, i, n)) for uid, b, i, n in rows]
    derived = [(uid, v) for uid, v in derived if v is not None]
    if derived:
        # registered as a frame: executemany inserted ~480k rows at 1M records in ~45 s
        frame = pd.DataFrame(derived, columns=["unique_id", "v"], dtype=object)
        con.register("_either_frame", frame)
        con.execute("CREATE TEMP TABLE _either_date AS SELECT unique_id::VARCHAR AS unique_id, "
                    "v::VARCHAR AS v FROM _either_frame")
        con.unregister("_either_frame")
        con.execute(f'UPDATE {table} SET "{either}" = d.v FROM _either_date d WHERE {table}.unique_id = d.unique_id')
        con.execute("DROP TABLE _either_date")
