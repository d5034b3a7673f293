"""Golden records in Spark SQL: the survivorship rules of resolver.store.golden, same choices.

Each field's rule (`source_priority`, `most_recent`, `most_frequent`, `valid_only`, `conflicts`)
is the SQL of `resolver.store.golden._field_sql` written for Spark: a window ranks each
entity's candidate values by the rule and its tie-breakers (source, then source record), and
the first wins. Values are text as DuckDB's `CAST(… AS VARCHAR)` writes them, so the golden
values of both engines compare equal (tests/engines/test_spark_pipeline.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolver.store.golden import FieldRule, Survivorship

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

GOLDEN_COLUMNS = ("entity_id", "field", "value", "source", "source_record_id", "rule")
CONFLICT_COLUMNS = ("entity_id", "field", "value", "source", "source_record_id")


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _as_text(column: str, kind: str) -> str:
    """`column` as DuckDB casts it to VARCHAR. Doubles differ: Java writes 1.0E7 where DuckDB (like
    Python's repr) writes 10000000.0 up to 1e16, so those go through a decimal and lose trailing zeros."""
    col = f"r.{_q(column)}"
    if kind in ("double", "float"):
        fixed = f"regexp_replace(CAST(CAST({col} AS DECIMAL(38, 10)) AS STRING), '0+$', '')"
        return (f"CASE WHEN {col} IS NULL THEN NULL WHEN abs({col}) >= 1e-4 AND abs({col}) < 1e16 "
                f"THEN CASE WHEN {fixed} LIKE '%.' THEN concat({fixed}, '0') ELSE {fixed} END "
                f"ELSE CAST({col} AS STRING) END")
    if kind == "date":
        return f"CAST({col} AS STRING)"
    return f"CAST({col} AS STRING)"


def _recency(columns: dict[str, str], recency: tuple[str, ...]) -> str:
    """coalesce of the recency columns read as dates (DuckDB's TRY_CAST: a full ISO date or nothing)."""
    parts = []
    for c in recency:
        if c not in columns:
            continue
        if columns[c] == "date":
            parts.append(f"r.{_q(c)}")
        else:
            parts.append(f"CASE WHEN r.{_q(c)} RLIKE '^[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}$' "
                         f"THEN try_cast(r.{_q(c)} AS DATE) END")
    return f"coalesce({', '.join(parts)})" if parts else "CAST(NULL AS DATE)"


def _field_sql(rule: FieldRule, columns: dict[str, str], table: str) -> tuple[str, str | None]:
    prio = " ".join(f"WHEN {_literal(s)} THEN {i}" for i, s in enumerate(rule.source_priority))
    prio_expr = f"CASE r.source {prio} ELSE 999 END" if prio else "999"
    where = f"r.{_q(rule.field)} IS NOT NULL"
    valid = f"{rule.field}_valid"
    if rule.valid_only and valid in columns:
        where += f" AND r.{_q(valid)}"
    base = (f"SELECT r.entity_id, {_as_text(rule.field, columns[rule.field])} AS value, r.source, "
            f"r.source_record_id, {prio_expr} AS prio, r.recency FROM {table} r WHERE {where}")
    if rule.rule == "most_frequent":
        base = f"SELECT *, count(*) OVER (PARTITION BY entity_id, value) AS freq FROM ({base})"
        order = "freq DESC, prio, recency DESC NULLS LAST"
    elif rule.rule == "most_recent":
        order = "recency DESC NULLS LAST, prio"
    else:
        order = "prio, recency DESC NULLS LAST"
    pick = (f"SELECT entity_id, {_literal(rule.field)} AS field, value, source, source_record_id, "
            f"{_literal(rule.rule)} AS rule FROM (SELECT *, row_number() OVER (PARTITION BY entity_id "
            f"ORDER BY {order}, source, source_record_id) AS _n FROM ({base})) WHERE _n = 1")
    conflicts = None
    if rule.conflicts:
        conflicts = (f"SELECT entity_id, {_literal(rule.field)} AS field, value, source, source_record_id "
                     f"FROM (SELECT entity_id, value, min(source) AS source, min(source_record_id) AS "
                     f"source_record_id, count(*) OVER (PARTITION BY entity_id) AS _values FROM ({base}) "
                     f"GROUP BY entity_id, value) WHERE _values > 1")
    return pick, conflicts


def golden_on_spark(spark: SparkSession, records: DataFrame, membership: DataFrame,
                    rules: Survivorship) -> tuple[DataFrame, DataFrame]:
    """(golden values, conflicts) of every entity of `membership` (unique_id, entity_id), long form
    with lineage: entity_id, field, value, source, source_record_id[, rule]. Fields the records
    lack have no golden value, as in the store."""
    columns = {f.name: f.dataType.typeName() for f in records.schema.fields}
    fields = [rule for rule in rules.fields if rule.field in columns]
    wanted = sorted({f.field for f in fields} | {f"{f.field}_valid" for f in fields if f"{f.field}_valid" in columns})
    view = "_golden_input"
    records.createOrReplaceTempView("_golden_records")
    membership.createOrReplaceTempView("_golden_members")
    joined = spark.sql(
        f"SELECT m.entity_id, r.source, r.source_record_id, {_recency(columns, rules.recency)} AS recency"
        + "".join(f", r.{_q(c)}" for c in wanted)
        + " FROM _golden_records r JOIN _golden_members m ON m.unique_id = r.unique_id")
    joined.createOrReplaceTempView(view)
    picks = [_field_sql(rule, columns, view) for rule in fields]
    empty_golden = spark.createDataFrame([], ", ".join(f"{c} string" for c in GOLDEN_COLUMNS))
    empty_conflicts = spark.createDataFrame([], ", ".join(f"{c} string" for c in CONFLICT_COLUMNS))
    golden = _union(spark, [p for p, _ in picks], empty_golden)
    conflicts = _union(spark, [c for _, c in picks if c], empty_conflicts)
    return golden, conflicts


def _union(spark: SparkSession, selects: list[str], empty: DataFrame) -> DataFrame:
    """Every field's rows in one frame, with the field's position in the rules (the store writes
    them in that order)."""
    if not selects:
        return empty.selectExpr("*", "0 AS field_order")
    frames = [spark.sql(sql).selectExpr("*", f"{n} AS field_order") for n, sql in enumerate(selects)]
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out
