"""Golden records: survivorship rules (data, in matching_rules/<domain>/survivorship.yaml) run as SQL.

Each golden value keeps its lineage: the source, the source record and the rule that chose it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from resolver import yamlfile
from resolver.errors import ConfigError
from resolver.paths import rules_dir
from resolver.store import described
from resolver.store.points import few_ids, in_scope, literal_in

RULES = ("source_priority", "most_recent", "most_frequent")
_FIELD_KEYS = {"rule", "source_priority", "valid_only", "conflicts"}


@dataclass(frozen=True)
class FieldRule:
    field: str
    rule: str
    source_priority: tuple[str, ...]
    valid_only: bool
    conflicts: bool


@dataclass(frozen=True)
class Survivorship:
    path: str
    recency: tuple[str, ...]
    fields: tuple[FieldRule, ...]


def load_survivorship(domain: str, path: str | Path | None = None) -> Survivorship:
    """Read and validate a survivorship file, reporting every problem at once."""
    path = Path(path) if path else rules_dir() / domain / "survivorship.yaml"
    return parse_survivorship(read_survivorship(path), str(path))


def read_survivorship(path: Path) -> dict[str, Any]:
    """The survivorship file as YAML data (what a model version records), unvalidated."""
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), [f"cannot read: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), ["top level must be a mapping"])
    return raw


def parse_survivorship(raw: dict[str, Any], where: str) -> Survivorship:
    """Validate survivorship data (a file's, or the copy recorded with a model version);
    `where` names it in the ConfigError that lists every problem."""
    problems = [f"unknown key '{k}'" for k in raw if k not in {"recency", "source_priority", "fields"}]
    default_priority = tuple(raw.get("source_priority") or ())
    rules = []
    for name, spec in (raw.get("fields") or {}).items():
        if not isinstance(spec, dict):
            problems.append(f"fields.{name}: must be a mapping")
            continue
        problems += [f"fields.{name}.{k}: unknown key (allowed: {', '.join(sorted(_FIELD_KEYS))})"
                     for k in spec if k not in _FIELD_KEYS]
        if spec.get("rule") not in RULES:
            problems.append(f"fields.{name}.rule: '{spec.get('rule')}' is not one of {', '.join(RULES)}")
        rules.append(FieldRule(name, str(spec.get("rule")), tuple(spec.get("source_priority") or default_priority),
                               bool(spec.get("valid_only", False)), bool(spec.get("conflicts", False))))
    if problems:
        raise ConfigError(where, problems)
    return Survivorship(where, tuple(raw.get("recency") or ()), tuple(rules))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _field_sql(rule: FieldRule, columns: set[str]) -> tuple[str, str | None]:
    """SQL choosing one value per entity for `rule.field` from `golden_input`, and SQL listing its conflicts."""
    col = f'"{rule.field}"'
    prio = " ".join(f"WHEN {_quote(s)} THEN {i}" for i, s in enumerate(rule.source_priority))
    prio_expr = f"CASE r.source {prio} ELSE 999 END" if prio else "999"
    where = f"r.{col} IS NOT NULL"
    valid = f"{rule.field}_valid"
    if rule.valid_only and valid in columns:
        where += f' AND r."{valid}"'
    base = (f"SELECT r.entity_id, CAST(r.{col} AS VARCHAR) AS value, r.source, r.source_record_id, "
            f"{prio_expr} AS prio, r.recency FROM golden_input r WHERE {where}")
    if rule.rule == "most_frequent":
        base = f"SELECT *, count(*) OVER (PARTITION BY entity_id, value) AS freq FROM ({base})"
        order = "freq DESC, prio, recency DESC NULLS LAST"
    elif rule.rule == "most_recent":
        order = "recency DESC NULLS LAST, prio"
    else:
        order = "prio, recency DESC NULLS LAST"
    pick = (f"SELECT entity_id, {_quote(rule.field)} AS field, value, source, source_record_id, "
            f"{_quote(rule.rule)} AS rule FROM ({base}) "
            f"QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY {order}, source, source_record_id) = 1")
    conflicts = None
    if rule.conflicts:
        conflicts = (f"SELECT entity_id, {_quote(rule.field)} AS field, value, min(source) AS source, "
                     f"min(source_record_id) AS source_record_id FROM ({base}) GROUP BY entity_id, value "
                     f"QUALIFY count(*) OVER (PARTITION BY entity_id) > 1")
    return pick, conflicts


def build_golden(con: duckdb.DuckDBPyConnection, domain: str, rules: Survivorship,
                 only: str | None = None, records: str | None = None, members: str | None = None,
                 picked: NewRows | None = None, defer: bool = False) -> int:
    """Rewrite golden_values and conflicts for `domain` from the current membership.

    `only` names a table of `entity_id`s to rebuild (an incremental update touches few
    entities); otherwise every entity of the domain, and the entity IDs whose rows changed are
    left in the temp table `golden_differ` (`replace_domain`). With `only`, the new rows are also left in the
    temp tables `golden_new` and `conflicts_new` (the documents are built from them; the caller
    drops them), and `records` may name a table holding every member's record (the incremental
    path's neighbourhood), read instead of the records table, and `members` a table of
    (unique_id, entity_id) holding every member of those entities as the write leaves them (its
    plan), read instead of the membership table. Returns the domain's golden values (with
    `only`: those rewritten). A caller passing `picked` (a list) takes a few entities' new rows
    from there instead (golden values, then conflicts: rows of `GOLDEN_COLUMNS`; empty when
    they went the SQL way, leaving the temp tables): no temp tables are made for them.
    With `defer`, rows that went the SQL way are left in the temp tables only: the caller writes
    them (`write_new`; resolver.store.docs.refresh's `golden_pending`).
    """
    table = records or f"records_{domain}"
    columns = {name for name, _ in described.columns(con, table)}
    dates = [f'TRY_CAST(r."{c}" AS DATE)' for c in rules.recency if c in columns]
    recency = f"coalesce({', '.join(dates)})" if dates else "NULL::DATE"
    fields = [rule for rule in rules.fields if rule.field in columns]  # absent fields have no golden value
    wanted = sorted({f.field for f in fields} | {f"{f.field}_valid" for f in fields if f"{f.field}_valid" in columns})
    # The records-membership join is done once, not once per field. For a few entities, their
    # members are read first and only their records joined.
    wanted_ids = ""
    few = few_ids(con, only) if only else None
    scoped = members or "membership"
    members = "membership"
    if only:
        wanted_ids = in_scope(con, "entity_id", only)  # a few IDs: point reads and deletes
        members = f"(SELECT unique_id, entity_id FROM {scoped} WHERE {wanted_ids})"
        table = f"(SELECT * FROM {table} WHERE unique_id IN (SELECT unique_id FROM {members}))"
    source = (
        "SELECT m.entity_id, r.source, r.source_record_id, "
        f"{recency} AS recency" + "".join(f', r."{c}"' for c in wanted)
        + f" FROM {table} r JOIN {members} m ON m.unique_id = r.unique_id")
    if few is not None:  # a few entities: chosen in Python straight from the join, written in
        # three statements fewer (no temp input, the new rows' tables made from the chosen rows)
        chosen, disputed = _pick_in_python(con, domain, fields, columns, f"({source})")
        if picked is None:
            new_tables(con, chosen, disputed)
        else:  # the caller takes the rows: written from parameters (~4 ms of temp tables saved)
            picked += [chosen, disputed]
        for target, new, rows, names in (("golden_values", "golden_new", chosen, GOLDEN_COLUMNS),
                                         ("conflicts", "conflicts_new", disputed, GOLDEN_COLUMNS[:-1])):
            con.execute(f"DELETE FROM {target} WHERE {wanted_ids}")
            if picked is None:
                con.execute(f"INSERT INTO {target} SELECT * FROM {new}")
            elif rows:
                con.execute(f"INSERT INTO {target} SELECT {_unnest(names)}", _columns(rows, names))
        return len(chosen)
    con.execute(f"CREATE OR REPLACE TEMP TABLE golden_input AS {source}")
    picks = [_field_sql(rule, columns) for rule in fields]
    # written to temp tables first: kept for the documents, and only the rows that differ are written
    con.execute("CREATE OR REPLACE TEMP TABLE golden_new AS SELECT * FROM golden_values LIMIT 0")
    con.execute("CREATE OR REPLACE TEMP TABLE conflicts_new AS SELECT * FROM conflicts LIMIT 0")
    if only:  # one statement for every field (a statement per field cost ~2 ms each)
        _insert_all(con, "golden_new", domain, [p for p, _ in picks], "rule")
        _insert_all(con, "conflicts_new", domain, [c for _, c in picks if c], None)
    else:
        for pick, conflicts in picks:
            con.execute(f"INSERT INTO golden_new SELECT entity_id, {_quote(domain)}, field, value, source, "
                        f"source_record_id, rule FROM ({pick})")
            if conflicts:
                con.execute(f"INSERT INTO conflicts_new SELECT entity_id, {_quote(domain)}, field, value, source, "
                            f"source_record_id FROM ({conflicts})")
    con.execute("DROP TABLE golden_input")
    if only and defer:
        return int(con.execute("SELECT count(*) FROM golden_new").fetchall()[0][0])
    if only:
        for target, new, key in (("golden_values", "golden_new", GOLDEN_KEY),
                                 ("conflicts", "conflicts_new", CONFLICT_KEY)):
            write_changed(con, target, new, wanted_ids, key=key)
        return int(con.execute("SELECT count(*) FROM golden_new").fetchall()[0][0])
    replace_domain(con, domain)
    return con.execute("SELECT count(*) FROM golden_values WHERE domain = ?", [domain]).fetchall()[0][0]


def replace_domain(con: duckdb.DuckDBPyConnection, domain: str) -> None:
    """Make the domain's golden values and conflicts those of the temp tables `golden_new` and
    `conflicts_new` (then dropped), writing only the rows that differ; the IDs of the entities
    whose rows differ are left in the temp table `golden_differ`. A full resolution that deleted
    and re-inserted every row paid for each at the COMMIT once a server had indexed entity_id:
    67 s of CPU for 2.77M golden values at 1M records, 628 s at 10M (docs/scale.md)."""
    con.execute("CREATE OR REPLACE TEMP TABLE golden_differ (entity_id VARCHAR)")
    for table, new, key in (("golden_values", "golden_new", GOLDEN_KEY), ("conflicts", "conflicts_new", CONFLICT_KEY)):
        write_changed(con, table, new, f"domain = {_quote(domain)}", differ="golden_differ", key=key)
        con.execute(f"DROP TABLE {new}")


# What identifies a row: an entity has one golden value per field, and one conflict row per
# value of a field. write_changed pairs old and new rows by it.
GOLDEN_KEY = ("entity_id", "field")
CONFLICT_KEY = ("entity_id", "field", "value")


def write_changed(con: duckdb.DuckDBPyConnection, table: str, new: str, scope: str,
                  differ: str | None = None, key: tuple[str, ...] = GOLDEN_KEY) -> None:
    """Make the rows of `table` that meet condition `scope` those of table `new` (same columns),
    deleting and inserting only the rows that differ; their entity IDs are added to table
    `differ` if given. A deleted row costs DuckDB a fetch of the
    row at the COMMIT to take it out of the entity_id index (~0.1 ms a row at 1M records: 1.2-1.5 s
    for the ~20k golden values of 3,000 entities), and most of an entity's golden values stay
    when a record joins it.

    Old and new rows are paired by `key` (unique in `new`) in one full join, and compared on
    every column: at 1M records a whole domain's diff took 2.4-3.0 CPU s, where a copy of the
    old rows and two anti joins on every column took 5.6. A key column that is NULL pairs with
    nothing: such a row is deleted and inserted again, which leaves the same table."""
    names = [r[0] for r in con.execute(f"DESCRIBE {new}").fetchall()]
    columns = ", ".join(f'"{c}"' for c in names)
    if differ and not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {scope} LIMIT 1)").fetchall()[0][0]:
        # nothing stored (a first resolution): every row is new, no join or copy of them
        con.execute(f"INSERT INTO {differ} SELECT DISTINCT entity_id FROM {new}")
        con.execute(f"INSERT INTO {table} SELECT {columns} FROM {new}")
        return
    same = " AND ".join(f'o."{c}" IS NOT DISTINCT FROM n."{c}"' for c in names)
    on = " AND ".join(f'o."{c}" = n."{c}"' for c in key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE golden_diff AS SELECT o._row, o.entity_id AS _old_entity, n.* "
        f"FROM (SELECT rowid AS _row, * FROM {table} WHERE {scope}) o "
        f"FULL JOIN (SELECT *, true AS _new FROM {new}) n ON {on} "
        f"WHERE o._row IS NULL OR n._new IS NULL OR NOT ({same})")
    if differ:
        con.execute(f"INSERT INTO {differ} SELECT _old_entity FROM golden_diff WHERE _row IS NOT NULL "
                    "UNION SELECT entity_id FROM golden_diff WHERE _new")
    con.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT _row FROM golden_diff WHERE _row IS NOT NULL)")
    con.execute(f"INSERT INTO {table} SELECT {columns} FROM golden_diff WHERE _new")
    con.execute("DROP TABLE golden_diff")


# Entities whose rows may differ, above which `write_new` diffs the whole scope (a scan of the
# entity IDs, ~150 ms at 1M records): through the entity_id index each costs ~1 ms.
DIFFER_BY_ID_UP_TO = 200


# An entity's old rows as its document lists them: GOLDEN_COLUMNS but `domain` (conflicts: and `rule`).
# Given to `write_new`, they are not fetched whole (`write_changed`: every column, ~50 ms for 45
# entities at 1M records): only the rowids and keys of those to delete (`_write_known`, ~half).
OldRows = dict[str, list[tuple[Any, ...]]]


def write_new(con: duckdb.DuckDBPyConnection, only: str,
              differ: tuple[list[str] | None, list[str] | None] = (None, None),
              old: tuple[OldRows | None, OldRows | None] = (None, None)) -> None:
    """Write `build_golden(..., only, defer=True)`'s new rows (temp tables `golden_new`,
    `conflicts_new`) to golden_values and conflicts: of every entity in table `only`, or, where
    `differ` gives a list (golden values, conflicts), only of those entities (the others' rows
    are known to be the same: resolver.store.docs compares them with the documents). A few
    entities' old rows are found through the entity_id index, not by a scan of 4.3M rows; where
    `old` holds a listed entity's old rows, only the rowids of those that differ (`_write_known`)."""
    for target, new, key, ids, was in (("golden_values", "golden_new", GOLDEN_KEY, differ[0], old[0]),
                                       ("conflicts", "conflicts_new", CONFLICT_KEY, differ[1], old[1])):
        if ids is None or len(ids) > DIFFER_BY_ID_UP_TO:
            write_changed(con, target, new, in_scope(con, "entity_id", only), key=key)
        elif ids:
            known = sorted(e for e in ids if e in was) if was is not None else []
            if known and _write_known(con, target, new, key, known, was or {}):
                done = set(known)
                ids = [e for e in ids if e not in done]
            if ids:
                listed = literal_in("entity_id", sorted(ids))
                write_changed(con, target, f"(SELECT * FROM {new} WHERE {listed})", listed, key=key)


def _write_known(con: duckdb.DuckDBPyConnection, table: str, new: str, key: tuple[str, ...], ids: list[str],
                 old: OldRows) -> bool:
    """`write_changed` of the entities `ids`, whose rows in `table` are `old`: the rows of `new`
    not among them inserted, those of `old` not among the new deleted by the rowids found for
    their keys (the entity_id index, and the key's columns fetched: not every column). False
    (nothing done) where the old or new rows' keys are not unique (the rowids would not say which)."""
    names = GOLDEN_COLUMNS if table == "golden_values" else GOLDEN_COLUMNS[:-1]
    listed = literal_in("entity_id", ids)
    fresh = con.execute(f"SELECT {', '.join(names)} FROM {new} WHERE {listed}").fetchall()
    rows = [(e, *r) for e in ids for r in old[e]]
    at = [names.index(c) - (names.index(c) > 1) for c in key]  # (the old rows have no domain)
    keys = Counter(tuple(r[i] for i in at) for r in rows)
    new_keys = Counter(tuple(r[names.index(c)] for c in key) for r in fresh)
    if any(n > 1 for n in keys.values()) or any(n > 1 for n in new_keys.values()):
        return False
    added = Counter((r[0], *r[2:]) for r in fresh)
    added.subtract(Counter(rows))
    gone = {tuple(r[i] for i in at) for r in rows if added.get(r, 0) < 0}
    if gone:
        found = con.execute(f"SELECT rowid, {', '.join(key)} FROM {table} WHERE {listed}").fetchall()
        rowids = [r[0] for r in found if tuple(r[1:]) in gone]
        con.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT unnest(?::BIGINT[]))", [rowids])
    insert = [r for r in fresh if added.get((r[0], *r[2:]), 0) > 0]
    if insert:
        con.execute(f"INSERT INTO {table} SELECT {_unnest(names)}", _columns(insert, names))
    return True


def _insert_all(con: duckdb.DuckDBPyConnection, table: str, domain: str, selects: list[str], rule: str | None) -> None:
    """Insert every field's rows of `selects` into `table` in one statement, fields in their
    rules' order (the documents list them in the order read)."""
    if not selects:
        return
    union = " UNION ALL ".join(f"SELECT {n} AS _field_order, * FROM ({sql})" for n, sql in enumerate(selects))
    con.execute(f"INSERT INTO {table} SELECT entity_id, {_quote(domain)}, field, value, source, source_record_id"
                f"{', ' + rule if rule else ''} FROM ({union}) ORDER BY _field_order")


# the columns of golden_values (all text); conflicts has them but `rule`
GOLDEN_COLUMNS = ("entity_id", "domain", "field", "value", "source", "source_record_id", "rule")
NewRows = list[list[tuple[Any, ...]]]  # a few entities' new golden values, then conflicts (`build_golden`'s `picked`)


def _unnest(names: tuple[str, ...]) -> str:
    return ", ".join(f"unnest(?::VARCHAR[]) AS {n}" for n in names)


def _columns(rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(len(names))]


def new_tables(con: duckdb.DuckDBPyConnection, golden: list[tuple[Any, ...]], conflicts: list[tuple[Any, ...]]) -> None:
    """The temp tables `golden_new` and `conflicts_new` holding these rows (as `build_golden` leaves them)."""
    for table, out, names in (("golden_new", golden, GOLDEN_COLUMNS), ("conflicts_new", conflicts, GOLDEN_COLUMNS[:-1])):
        # one list per column, zipped by unnest (nothing to register inside the transaction)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {_unnest(names)}", _columns(out, names))


def _recent_first(day: Any) -> tuple[int, int]:
    """Sort key of `recency DESC NULLS LAST`."""
    return (1, 0) if day is None else (0, -day.toordinal())


def _pick_in_python(con: duckdb.DuckDBPyConnection, domain: str, fields: list[FieldRule], columns: set[str],
                    source: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What `_field_sql`'s SQL chooses from `golden_input`, chosen in Python from `source` (its
    SELECT: values cast to text and recency computed by DuckDB, as there): the golden values'
    and the conflicts' rows (`GOLDEN_COLUMNS`; the conflicts' without `rule`).
    tests/store/test_points.py checks it against the SQL over a whole domain."""
    flags = [f"{f.field}_valid" if f.valid_only and f"{f.field}_valid" in columns else None for f in fields]
    select = ["entity_id", "source", "source_record_id", "recency",
              *(f'CAST("{f.field}" AS VARCHAR)' for f in fields), *(f'"{v}"' for v in flags if v)]
    rows = con.execute(f"SELECT {', '.join(select)} FROM {source}").fetchall()
    flag_at: dict[int, int] = {}
    for n, flag in enumerate(flags):
        if flag:
            flag_at[n] = 4 + len(fields) + len(flag_at)
    golden: list[tuple[Any, ...]] = []
    conflicts: list[tuple[Any, ...]] = []
    for n, rule in enumerate(fields):
        prio = {s: i for i, s in enumerate(rule.source_priority)}
        base = [(r[0], r[4 + n], r[1], r[2], prio.get(r[1], 999), r[3]) for r in rows
                if r[4 + n] is not None and (n not in flag_at or r[flag_at[n]] is True)]
        freq: dict[tuple[Any, Any], int] = {}
        for b in base:
            freq[(b[0], b[1])] = freq.get((b[0], b[1]), 0) + 1
        best: dict[Any, tuple[Any, ...]] = {}
        for b in base:
            entity, value, source, record, p, day = b
            if rule.rule == "most_frequent":
                key: tuple[Any, ...] = (-freq[(entity, value)], p, _recent_first(day), source, record)
            elif rule.rule == "most_recent":
                key = (_recent_first(day), p, source, record)
            else:
                key = (p, _recent_first(day), source, record)
            if entity not in best or key < best[entity][0]:
                best[entity] = (key, b)
        golden += [(e, domain, rule.field, b[1], b[2], b[3], rule.rule) for e, (_, b) in best.items()]
        if rule.conflicts:
            values: dict[Any, dict[Any, tuple[str, str]]] = {}
            for entity, value, source, record, _, _ in base:
                seen = values.setdefault(entity, {})
                was = seen.get(value)
                seen[value] = (source, record) if was is None else (min(was[0], source), min(was[1], record))
            conflicts += [(e, domain, rule.field, v, s, r) for e, by in values.items() if len(by) > 1
                          for v, (s, r) in by.items()]
    return golden, conflicts
