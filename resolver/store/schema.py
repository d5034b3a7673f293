"""The master store's schema (DuckDB). Created or migrated by `migrate`; the version is stored in `meta`.

Tables
- `meta(key, value)`: `schema_version`, id sequences.
- `records_<domain>`: current version of every source record: keys, canonical and derived
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
- `pairs_<domain>`: scored candidate pairs of the last resolution (for explanations).
- `model_versions`: every trained model: version, domain, path, fingerprint, time.
- `api_keys`, `audit_log`: callers and every look-up they made.
- `serving_docs` (v2): one JSON document per entity for look-ups (resolver.store.docs).
"""

from __future__ import annotations

import duckdb

from resolver.store import docs

SCHEMA_VERSION = 2
DOMAINS = ("enterprise", "person")

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


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Create the schema or bring an older one up to SCHEMA_VERSION; return the version found."""
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
    if found < 2:  # v2: serving documents, built once for the entities already stored
        con.execute("BEGIN TRANSACTION")
        try:
            for domain in DOMAINS:
                docs.refresh(con, domain)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    return found
