"""Per-record and per-entity facts the 漏管户 rules read, as temp tables on one DuckDB cursor.

`ur_rec`  every resolved source record of the list's domain with its entity and comparison keys;
`ur_ent`  per entity: qualifying records per sign of operation (`n_ev0` …), size, sources, and the
          first sign's date (`first_evidence`);
`ur_ops`  per entity and source: records that pass a sign (the inspector's evidence by department);
`ur_com`  per registry record: status, deadline, and whether a compatible tax member covers it.

Sources enter by role (`Parts`, resolved from the mappings), never by name.
"""

from __future__ import annotations

import duckdb

from resolver.errors import NotFoundError
from resolver.linking.constraints import Constraint, DistinctKinds, DistinctWhenValid, conflict_sql
from resolver.unregistered.roles import Parts
from resolver.unregistered.rules import UnregisteredRules

# Columns read from records_enterprise; a store without one reads NULL (older ingests).
_COLUMNS = {
    "name": "VARCHAR", "name_core": "VARCHAR", "trade_name": "VARCHAR", "org_form": "VARCHAR", "district": "VARCHAR",
    "district_code": "VARCHAR", "industry_code": "VARCHAR", "established": "VARCHAR",
    "activity_date": "VARCHAR", "status": "VARCHAR", "entity_kind": "VARCHAR", "legal_rep": "VARCHAR",
    "legal_rep_id": "VARCHAR", "legal_rep_id_valid": "BOOLEAN", "road": "VARCHAR",
    "house_number": "VARCHAR", "phone": "VARCHAR", "revenue": "DOUBLE", "employees": "DOUBLE",
    "uscc": "VARCHAR", "uscc_valid": "BOOLEAN", "org_code": "VARCHAR", "org_code_valid": "BOOLEAN",
    "tax_id": "VARCHAR", "tax_id_valid": "BOOLEAN", "tax_id_kind": "VARCHAR", "address": "VARCHAR",
    "ingested_at": "DATE",
}


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


# The in-entity vetoes are hard constraints over the comparison keys of `ur_rec`: a key is set
# only from a code whose check character passes, so it needs no valid flag of its own.
VETO_CONSTRAINTS: dict[str, Constraint] = {
    "different_valid_uscc": DistinctWhenValid("uscc_key"),
    "different_valid_org_code": DistinctWhenValid("org_key"),
    "branch_mismatch": DistinctKinds("entity_kind", ("branch",)),
}


def veto_sql(name: str, c: str, t: str) -> str:
    """SQL true when veto `name` holds between rows `c` and `t` of `ur_rec`."""
    return VETO_CONSTRAINTS[name].sql(c, t)


def vetoed_sql(rules: UnregisteredRules, c: str, t: str) -> str:
    """SQL true when tax record `t` cannot be commerce record `c`'s (in-entity vetoes only)."""
    return conflict_sql([con for name, con in VETO_CONSTRAINTS.items() if name in rules.vetoes], c, t)


def build_facts(con: duckdb.DuckDBPyConnection, rules: UnregisteredRules, as_of: str, parts: Parts) -> None:
    """Create the temp tables for one detection run (replacing any from an earlier run)."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}
    domain = parts.domain
    if f"records_{domain}" not in tables:
        raise NotFoundError(f"no {domain} records in this store: run `resolver ingest` first")
    n = con.execute("SELECT count(*) FROM membership WHERE domain = ?", [domain]).fetchall()[0][0]
    if not n:
        raise NotFoundError(f"no {domain} resolution in this store: run `resolver resolve --domain {domain}`")
    have = {r[0] for r in con.execute(f"DESCRIBE records_{domain}").fetchall()}
    cols = ", ".join(
        f'TRY_CAST(r."{c}" AS {t}) AS {c}' if c in have else f"CAST(NULL AS {t}) AS {c}"
        for c, t in _COLUMNS.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ur_raw AS
        SELECT r.unique_id, r.source, r.source_record_id, m.entity_id, m.model_version, {cols}
        FROM records_{domain} r JOIN membership m ON m.unique_id = r.unique_id AND m.domain = ?
    """, [domain])
    # Keys compared across sources: only codes whose check character passes (a typo never
    # vetoes or confirms anything); the org code is derived from a valid USCC or tax number.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ur_rec AS
        SELECT *,
          TRY_CAST(established AS DATE) AS established_date,
          TRY_CAST(activity_date AS DATE) AS activity,
          CASE WHEN uscc_valid THEN upper(uscc)
               WHEN tax_id_valid AND length(tax_id) = 18 AND NOT personal_tax THEN upper(tax_id) END AS uscc_key,
          CASE WHEN org_code_valid THEN upper(replace(org_code, '-', ''))
               WHEN uscc_valid THEN upper(substr(uscc, 9, 9))
               WHEN tax_id_valid AND length(tax_id) = 18 AND NOT personal_tax THEN upper(substr(tax_id, 9, 9))
               WHEN tax_id_valid AND length(tax_id) = 15 AND NOT personal_tax THEN upper(substr(tax_id, 7, 9))
               END AS org_key,
          nullif(name, '*') AS name_key,
          -- a personal tax number is the operator's resident ID (18 or 15 digits, often plus two);
          -- standardize put the 18-digit ID in legal_rep_id where no valid one was given
          CASE WHEN NOT personal_tax THEN NULL
               WHEN length(tax_id) IN (18, 20) THEN upper(substr(tax_id, 1, 18))
               WHEN legal_rep_id_valid THEN upper(legal_rep_id) END AS operator_id
        FROM (SELECT *, coalesce(tax_id_valid AND (tax_id_kind = 'personal'
                                  OR (tax_id_kind IS NULL AND length(tax_id) = 20)), false) AS personal_tax
              FROM ur_raw)
    """)
    con.execute("DROP TABLE ur_raw")
    signs = [parts.passes(sign) for sign in rules.operating]
    per_sign = "".join(f"count(*) FILTER (WHERE {cond}) AS n_ev{i}, " for i, cond in enumerate(signs))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ur_ent AS
        SELECT entity_id, {per_sign}
          count(*) FILTER (WHERE {' OR '.join(signs) or 'false'}) AS n_operating,
          max(revenue) FILTER (WHERE source IN ({parts.activity})) AS reported_revenue,
          max(activity) FILTER (WHERE source IN ({parts.activity})) AS last_activity,
          -- the worklist's age: a sign's own date, else the day its record arrived
          min(coalesce(activity, ingested_at)) FILTER (WHERE {' OR '.join(signs) or 'false'}) AS first_evidence,
          max(employees) AS employees,
          count(DISTINCT source) AS n_sources,
          count(*) AS n_records,
          any_value(model_version) AS model_version
        FROM ur_rec GROUP BY entity_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ur_ops AS
        SELECT entity_id, source, count(*) AS n FROM ur_rec
        WHERE {' OR '.join(signs) or 'false'} GROUP BY entity_id, source
    """)
    veto = vetoed_sql(rules, "c", "t")
    tax_closed = _sql_list(rules.tax_closed)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ur_com AS
        WITH cover AS (
          SELECT c.unique_id,
            count(t.unique_id) AS n_tax_compatible,
            count(t.unique_id) FILTER (WHERE coalesce(t.status, '') NOT IN ({tax_closed})) AS n_tax_live,
            count(t.unique_id) FILTER (WHERE t.status IN ({_sql_list(rules.tax_active)})) AS n_tax_active
          FROM ur_rec c JOIN ur_rec t ON t.entity_id = c.entity_id AND t.source IN ({parts.covering}) AND NOT {veto}
          WHERE c.source IN ({parts.registry}) GROUP BY c.unique_id),
        members AS (
          SELECT entity_id, count(*) FILTER (WHERE source IN ({parts.covering})) AS n_tax_members
          FROM ur_rec GROUP BY entity_id)
        SELECT c.*, coalesce(v.n_tax_compatible, 0) AS n_tax_compatible,
          coalesce(v.n_tax_live, 0) AS n_tax_live, coalesce(v.n_tax_active, 0) AS n_tax_active,
          mb.n_tax_members,
          c.status IN ({_sql_list(rules.registry_live)}) AS live,
          c.status IN ({_sql_list(rules.registry_closed)}) AS closed,
          CASE WHEN c.established_date IS NULL THEN {'true' if rules.unknown_established == 'flag' else 'false'}
               ELSE c.established_date < CAST(? AS DATE) - INTERVAL ({rules.grace_days}) DAY END
            AS past_deadline
        FROM ur_rec c LEFT JOIN cover v USING (unique_id) JOIN members mb USING (entity_id)
        WHERE c.source IN ({parts.registry})
          AND NOT coalesce(c.org_form IN ({_sql_list(rules.exclude_org_forms) or "NULL"}), false)
          AND NOT coalesce(substr(c.uscc, 1, 2) IN ({_sql_list(rules.exclude_uscc_prefixes) or "NULL"}), false)
    """, [as_of])


def drop_facts(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("ur_rec", "ur_ent", "ur_ops", "ur_com", "ur_cand", "ur_near"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
