"""漏管户 detection over the master store: suspects, dormant entities, status conflicts, link reviews.

`find_unregistered` is what the CLI and `GET /v1/unregistered` call; `unregistered_evidence`
returns every source record behind the listed entities (the inspector's drill-down).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb
import pandas as pd

from resolver.errors import InputError
from resolver.unregistered.districts import resolve_district
from resolver.unregistered.facts import build_facts, drop_facts
from resolver.unregistered.nearest import NEAR_FLAGS, VETO_NAMES, explain, find_nearest
from resolver.unregistered.roles import Departments, Parts, load_departments
from resolver.unregistered.rules import UnregisteredRules, load_rules

LISTS = ("suspect", "dormant", "status_conflict", "link_review")
# When one entity qualifies for several lists (several registry records), it appears once.
_PRIORITY = {"suspect": 0, "dormant": 1, "link_review": 2, "status_conflict": 3}

COLUMNS = [
    "list", "entity_id", "score", "reason_codes", "reasons", "name", "uscc", "district",
    "district_code", "industry_code", "established", "status", "entity_kind", "registry_record_id",
    "n_operating", "operating_sources", "first_evidence", "last_activity", "revenue", "employees", "n_sources", "nearest_tax_record_id",
    "nearest_tax_name", "nearest_tax_entity_id", "nearest_match_probability", "nearest_evidence",
    "nearest_not_accepted_because", "model_version", "as_of",
]


def _cursor(store_or_con: Any) -> duckdb.DuckDBPyConnection:
    if isinstance(store_or_con, duckdb.DuckDBPyConnection):
        return store_or_con.cursor()
    return store_or_con.cursor()


def _date(value: str | dt.date | None, label: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise InputError(f"{label}: '{value}' is not a date (YYYY-MM-DD)") from exc


def find_unregistered(
    store_or_con: Any,
    as_of: str | dt.date | None = None,
    lists: tuple[str, ...] | list[str] = ("suspect",),
    district: str | None = None,
    industry: str | None = None,
    since: str | dt.date | None = None,
    rules: UnregisteredRules | None = None,
    departments: Departments | None = None,
) -> pd.DataFrame:
    """The inspector's list: one row per entity, suspects by descending evidence score.

    `as_of` defaults to today; `district` is a district's name, short or old name, or code;
    `industry` is an industry-code prefix; `since` keeps entities established on or after it.
    `departments` (roles and labels of the sources) default to the rules directory's mappings.
    """
    check_lists(lists)
    _date(since, "since")  # a bad date is refused before the costly part
    frame = classify_all(store_or_con, as_of_date(as_of), rules, departments)
    return select(frame, lists, district=district, industry=industry, since=since)


def check_lists(lists: tuple[str, ...] | list[str]) -> None:
    unknown = [x for x in lists if x not in LISTS]
    if unknown:
        raise InputError(f"unknown list(s) {unknown} (known: {', '.join(LISTS)})")


def as_of_date(as_of: str | dt.date | None) -> str:
    """`as_of` as YYYY-MM-DD; today when None."""
    return _date(as_of, "as_of") or dt.date.today().isoformat()


def classify_all(store_or_con: Any, as_of: str, rules: UnregisteredRules | None = None,
                 departments: Departments | None = None) -> pd.DataFrame:
    """Every entity of every list on `as_of` (YYYY-MM-DD), in the list's order: the costly part,
    which depends only on the store's contents, the rules and `as_of` (what callers may cache)."""
    rules = rules or load_rules()
    parts = Parts(rules, departments or load_departments(rules.domain))
    con = _cursor(store_or_con)
    try:
        build_facts(con, rules, as_of, parts)
        rows = _classify(con, rules, dt.date.fromisoformat(as_of), parts)
    finally:
        drop_facts(con)
        con.close()
    frame = pd.DataFrame(rows, columns=COLUMNS).assign(as_of=as_of)
    order = frame["list"].map(_PRIORITY)
    frame = frame.assign(_o=order).sort_values(["_o", "score", "entity_id"], ascending=[True, False, True])
    return frame.drop(columns="_o").reset_index(drop=True)


def select(frame: pd.DataFrame, lists: tuple[str, ...] | list[str], district: str | None = None,
           industry: str | None = None, since: str | dt.date | None = None) -> pd.DataFrame:
    """The rows of `frame` (classify_all) on `lists` that pass the filters, in the same order."""
    since_s = _date(since, "since")
    keep = frame["list"].isin(list(lists))
    if district:  # any name, old name or code (江干 → 上城区); an unknown one is an error
        d = resolve_district(district, frame["district"].dropna().unique())
        keep &= (frame["district_code"] == d.code) if d.code else (frame["district"] == d.name)
    if industry:
        keep &= frame["industry_code"].fillna("").str.startswith(industry)
    if since_s:
        keep &= frame["established"].fillna("") >= since_s
    return frame[keep].reset_index(drop=True)


def _classify(con: duckdb.DuckDBPyConnection, rules: UnregisteredRules,
              as_of: dt.date, parts: Parts) -> list[dict[str, Any]]:
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ur_cand AS
        SELECT * FROM ur_com WHERE live AND past_deadline AND n_tax_compatible = 0""")
    has_pairs = bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [f"pairs_{parts.domain}"]
    ).fetchall()[0][0])
    find_nearest(con, rules, has_pairs, parts)
    signs = "".join(f"e.n_ev{i}, (e.n_ev{i} >= {sign.records_min}) AS op{i}, "
                    for i, sign in enumerate(rules.operating))
    sql = f"""
        SELECT c.*, {signs} e.n_operating, e.reported_revenue, e.last_activity, e.first_evidence, e.employees AS ent_employees,
          e.n_sources, e.model_version AS mv,
          c.unique_id IN (SELECT unique_id FROM ur_cand) AS candidate,
          n.t_record_id, n.t_name, n.t_entity, n.pair_probability, n.accepted,
          {', '.join(f'n.{f}' for f in NEAR_FLAGS)}
        FROM ur_com c JOIN ur_ent e USING (entity_id)
        LEFT JOIN ur_near n ON n.c_uid = c.unique_id
        WHERE (c.live AND c.past_deadline AND c.n_tax_compatible = 0)
           OR (c.live AND c.n_tax_compatible > 0 AND c.n_tax_live = 0)
           OR (c.closed AND c.n_tax_active > 0)
    """
    records = con.execute(sql).df().to_dict("records")
    ops: dict[str, dict[str, int]] = {}
    for entity_id, source, n in con.execute(
            "SELECT entity_id, source, n FROM ur_ops WHERE entity_id IN (SELECT entity_id FROM ur_com) "
            "ORDER BY entity_id, n DESC, source").fetchall():
        ops.setdefault(entity_id, {})[source] = int(n)
    best: dict[str, dict[str, Any]] = {}
    for r in records:
        row = _row(_clean(r), rules, as_of, ops.get(r["entity_id"], {}), parts)
        old = best.get(row["entity_id"])
        if old is None or (_PRIORITY[row["list"]], -row["score"]) < (_PRIORITY[old["list"]], -old["score"]):
            best[row["entity_id"]] = row
    return list(best.values())




def _clean(r: dict[Any, Any]) -> dict[str, Any]:
    """NaN/NaT from pandas become None."""
    out: dict[str, Any] = {}
    for k, v in r.items():
        try:
            out[str(k)] = None if v is None or pd.isna(v) else v
        except (TypeError, ValueError):
            out[str(k)] = v
    return out


def _row(r: dict[str, Any], rules: UnregisteredRules, as_of: dt.date, ops: dict[str, int],
         parts: Parts) -> dict[str, Any]:
    codes: list[str] = []
    shown: dict[str, str] = {}  # reason code -> the departments that gave that sign
    label = parts.departments.label
    if r["candidate"]:
        codes += ["COMMERCE_ACTIVE", "PAST_TAX_DEADLINE"]
        codes.append("TAX_OF_OTHER_ENTERPRISE" if r.get("n_tax_members") else "NO_TAX_RECORD")
        if r.get("entity_kind") == "branch":
            codes.append("BRANCH_WITHOUT_TAX")
        operating = False
        for i, sign in enumerate(rules.operating):
            if r[f"op{i}"]:
                operating = True
                codes.append(sign.reason)
                held = parts.departments.sources(sign.role)
                shown[sign.reason] = "、".join(label(s) for s in ops if s in held)
        if r.get("accepted"):
            kind = "link_review"
            codes.append("LINK_REVIEW")
        else:
            kind = "suspect" if operating else "dormant"
            if kind == "dormant":
                codes.append("NO_OPERATING_SIGN")
            if r.get("t_record_id") and any(r.get(v) for v in VETO_NAMES):
                codes.append("NEAREST_TAX_VETOED")
    elif r["live"]:
        kind, codes = "status_conflict", ["COMMERCE_ACTIVE", "TAX_ONLY_CANCELLED"]
    else:
        kind, codes = "status_conflict", ["COMMERCE_CLOSED_TAX_ACTIVE"]
    found, why = ("", "")
    if r.get("t_record_id"):
        found, why = explain(r, rules)
    elif r["candidate"]:
        why = "未找到相近的税务记录"
    revenue = r.get("reported_revenue")
    return {
        "list": kind, "entity_id": r["entity_id"], "score": score(r, rules, as_of) if r["candidate"] else 0.0,
        "reason_codes": ";".join(codes), "reasons": "；".join(rules.reason_text(c, shown.get(c, "")) for c in codes),
        "name": r.get("name"), "uscc": r.get("uscc"), "district": r.get("district"),
        "district_code": r.get("district_code"),
        "industry_code": r.get("industry_code"), "established": r.get("established"),
        "status": r.get("status"), "entity_kind": r.get("entity_kind"),
        "registry_record_id": r.get("source_record_id"), "n_operating": int(r.get("n_operating") or 0),
        "operating_sources": "、".join(f"{label(s)}×{n}" for s, n in ops.items()) or None,
        "first_evidence": _iso(r.get("first_evidence")),
        "last_activity": _iso(r.get("last_activity")), "revenue": revenue,
        "employees": r.get("ent_employees"), "n_sources": int(r.get("n_sources") or 0),
        "nearest_tax_record_id": r.get("t_record_id"), "nearest_tax_name": r.get("t_name"),
        "nearest_tax_entity_id": r.get("t_entity"),
        "nearest_match_probability": r.get("pair_probability"), "nearest_evidence": found or None,
        "nearest_not_accepted_because": why or None, "model_version": r.get("mv"),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat()[:10] if hasattr(value, "isoformat") else value


def score(r: dict[str, Any], rules: UnregisteredRules, as_of: dt.date) -> float:
    """Evidence strength 0-100, the formula documented in unregistered.yaml (`score`)."""
    w, caps = rules.weights, rules.caps
    s = 0.0
    for i, sign in enumerate(rules.operating):
        if sign.role in rules.record_scores:
            weight, cap = rules.record_scores[sign.role]
            s += weight * min(int(r.get(f"n_ev{i}") or 0), cap) / cap
    last = r.get("last_activity")
    ref = as_of
    if last is not None:
        last_d = last.date() if isinstance(last, dt.datetime) else last
        if isinstance(last_d, dt.date) and 0 <= (ref - last_d).days <= rules.recent_days:
            s += w["recent_activity"]
    revenue = float(r.get("reported_revenue") or 0)
    if revenue > 0:
        s += w["revenue"] * min(math.log10(1 + revenue) / math.log10(1 + caps["revenue"]), 1.0)
    s += w["employees"] * min(float(r.get("ent_employees") or 0), caps["employees"]) / caps["employees"]
    s += w["sources"] * max(int(r.get("n_sources") or 1) - 1, 0) / 2
    return round(min(s, 100.0), 1)


def unregistered_evidence(store_or_con: Any, entity_ids: list[str], rules: UnregisteredRules | None = None,
                          departments: Departments | None = None) -> pd.DataFrame:
    """Every source record of the given entities: source, record id, dates, values; registry
    records first, then tax, then activity, then the rest."""
    rules = rules or load_rules()
    parts = Parts(rules, departments or load_departments(rules.domain))
    con = _cursor(store_or_con)
    try:
        have = {r[0] for r in con.execute(f"DESCRIBE records_{parts.domain}").fetchall()}
        wanted = ["name", "uscc", "tax_id", "status", "established", "activity_date", "revenue",
                  "employees", "industry_code", "district", "legal_rep", "address"]
        cols = ", ".join(f"r.{c}" if c in have else f"NULL AS {c}" for c in wanted)
        return con.execute(f"""
            SELECT m.entity_id, r.source, r.source_record_id, {cols}
            FROM membership m JOIN records_{parts.domain} r USING (unique_id)
            WHERE m.domain = ? AND m.entity_id IN (SELECT unnest(?))
            ORDER BY m.entity_id, CASE WHEN r.source IN ({parts.registry}) THEN 0 WHEN r.source IN ({parts.covering}) THEN 1
              WHEN r.source IN ({parts.activity}) THEN 2 ELSE 3 END, r.activity_date DESC NULLS LAST,
              r.source, r.source_record_id
        """, [parts.domain, list(entity_ids)]).df()
    finally:
        con.close()
