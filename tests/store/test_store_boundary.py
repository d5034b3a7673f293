"""The store hides DuckDB: outside resolver/store/ no module takes the store's connection or a
raw cursor of it, or runs SQL on the store's tables; they ask resolver.store.reads and the
Store's methods by name. In-memory scratch connections (scoring, Splink work tables, the
canonical relations) hold none of the store's tables and are not the store."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Modules whose SQL on the store has not moved into resolver/store/ yet, each with its reason.
# An entry that no longer uses the store's connection fails the test below: delete it.
ALLOWED = {
    "resolver/unregistered/detect.py": "漏管户 detection (helper `depts`, in flight): reads the store through a cursor",
    "resolver/unregistered/facts.py": "漏管户 facts (helper `depts`, in flight): SQL over membership and records",
    "resolver/unregistered/nearest.py": "漏管户 nearest tax record (helper `depts`, in flight): SQL over records",
    "resolver/unregistered/report.py": "漏管户 report (helper `depts`, in flight): SQL over the store's tables",
    "resolver/unregistered/case_facts.py": "漏管户 case facts (address, phone, fingerprint) beside detect.py's "
                                           "SQL; to move into resolver/store/ with it",
}

# The store's own tables (resolver/store/schema.py, docs.py, ingest_runs.py) and its per-domain
# ones (`records_<domain>`, `pairs_<domain>`, or a `{table}` from records_table()). The access
# store's tables (api_keys, audit_log, meta) live in another file and are not these.
STORE_TABLES = ("membership", "entities", "golden_values", "conflicts", "serving_docs", "model_versions",
                "entity_history", "record_history", "quarantine", "ingest_runs", "review_decisions")
_TABLES = "|".join(STORE_TABLES)
_SQL_ON_STORE = re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|DESCRIBE)\s+(?:(?:{_TABLES})\b|records_|pairs_)")
_SQL_ON_RECORDS_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|DESCRIBE)\s+\{table\}")
_CONNECTION = {"cursor", "con", "_con", "transaction"}


def violations(source: str) -> list[str]:
    """What in `source` (a module's text) reaches the store's connection or runs SQL on its tables."""
    found = []
    sql = _SQL_ON_STORE
    if "records_table(" in source:  # its `{table}` is the store's records table
        sql = re.compile(f"{_SQL_ON_STORE.pattern}|{_SQL_ON_RECORDS_TABLE.pattern}")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in _CONNECTION:
            holder = ast.unparse(node.value)
            if "store" in holder.lower() or "service" in holder.lower():
                found.append(f"line {node.lineno}: {holder}.{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.search(node.value):
            found.append(f"line {node.lineno}: SQL on the store: {node.value[:60]!r}")
        elif isinstance(node, ast.JoinedStr) and sql.search(ast.unparse(node)):
            found.append(f"line {node.lineno}: SQL on the store: {ast.unparse(node)[:60]}")
    return found


def modules() -> dict[str, str]:
    """Every module of resolver/ and api/ outside resolver/store/, by path from the project root."""
    out = {}
    for folder in ("resolver", "api"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if not name.startswith("resolver/store/"):
                out[name] = path.read_text(encoding="utf-8")
    return out


def test_no_module_outside_the_store_uses_its_connection_or_sql():
    offenders = {name: v for name, text in modules().items() if name not in ALLOWED and (v := violations(text))}
    assert not offenders, "move these into resolver/store/ (or say why on ALLOWED):\n" + "\n".join(
        f"{name}: {'; '.join(v)}" for name, v in offenders.items())


def test_every_allowed_module_still_needs_its_place():
    texts = modules()
    stale = [name for name in ALLOWED if name not in texts or not violations(texts[name])]
    assert not stale, f"no longer reach the store's connection: take them off ALLOWED: {stale}"


def test_the_check_sees_a_cursor_a_connection_and_sql_on_store_tables():
    assert violations("rows = store.cursor().execute('SELECT 1').fetchall()")
    assert violations("self._store.con.execute('DELETE FROM x')")
    assert violations("with service.store.transaction() as c:\n    pass")
    assert violations("q = 'SELECT entity_id FROM membership WHERE unique_id = ?'")
    assert violations("q = f'SELECT * FROM records_{domain} WHERE x = ?'")
    assert violations("table = records_table(domain)\nq = f'SELECT unique_id FROM {table}'")
    # a scratch connection of one's own, and SQL on one's own tables, are not the store
    assert not violations("con = duckdb.connect()\ncon.execute('SELECT * FROM candidates')")
    assert not violations("reader = store.reader()\nreader.members_of('E000000001')")
