"""What an inspector needs beside each listed entity, read once per state of the store.

`case_frame` is `classify_all` (the lists) plus, per row: the judged registry record's address,
legal representative and phone (the golden record's where the registry record has none), the
street (街道/乡镇) and district from the standardized address, the tax office
(tax_offices.yaml), the days since the first sign of operation, and `fingerprint`: a hash of
the entity's member records (id and content hash) and of its nearest tax record. A recorded
outcome is tied to that fingerprint (resolver.unregistered.cases): new evidence, a changed
record or another nearest tax record make a different one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pandas as pd

from resolver.standardize.address import parse_address
from resolver.unregistered.detect import _cursor, classify_all
from resolver.unregistered.offices import TaxOffices, load_offices
from resolver.unregistered.roles import Departments, Parts, load_departments
from resolver.unregistered.rules import UnregisteredRules, load_rules

CONTACT = ("address", "legal_rep", "phone")
CASE_COLUMNS = ("address", "legal_rep", "phone", "street", "tax_office", "age_days", "fingerprint")


def case_frame(store_or_con: Any, as_of: str, rules: UnregisteredRules | None = None,
               departments: Departments | None = None, offices: TaxOffices | None = None) -> pd.DataFrame:
    """Every row of every list on `as_of` (classify_all) with the case columns (CASE_COLUMNS)."""
    rules = rules or load_rules()
    departments = departments or load_departments(rules.domain)
    offices = offices if offices is not None else load_offices()
    frame = classify_all(store_or_con, as_of, rules, departments)
    parts = Parts(rules, departments)
    contact, members = _read(store_or_con, frame, parts)
    day = dt.date.fromisoformat(as_of)
    rows = []
    for row in frame.to_dict("records"):
        have = contact.get(str(row["entity_id"]), {})
        values = {f: have.get(f) or have.get(f"golden_{f}") for f in CONTACT}
        parsed = parse_address(values["address"]) if values["address"] else None
        street = have.get("town") or (parsed.town if parsed else None)
        if not row.get("district") and parsed is not None and parsed.district:
            row["district"], row["district_code"] = parsed.district, parsed.district_code
        first = row.get("first_evidence")
        facts = f"{members.get(str(row['entity_id']), '')}|{row.get('nearest_tax_record_id') or ''}"
        rows.append({
            **values, "street": street, "tax_office": offices.office(row.get("district"), street),
            "age_days": max((day - dt.date.fromisoformat(first[:10])).days, 0) if isinstance(first, str) else None,
            "fingerprint": hashlib.sha256(facts.encode("utf-8")).hexdigest()[:16],
            "district": row.get("district"), "district_code": row.get("district_code"),
        })
    extra = pd.DataFrame(rows, columns=[*CASE_COLUMNS, "district", "district_code"], index=frame.index)
    frame = frame.copy()
    for column in extra.columns:  # district keeps its place; the case columns come last
        frame[column] = extra[column]
    frame["age_days"] = frame["age_days"].astype("Int64")
    for column in frame.columns:  # plain Python strings: a page's rows are read ~30x faster
        if isinstance(frame[column].dtype, pd.StringDtype):
            frame[column] = frame[column].astype(object)
    return frame


def _read(store_or_con: Any, frame: pd.DataFrame, parts: Parts) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(entity → registry record's address, legal_rep, phone, town and the golden ones;
    entity → its member records' ids and content hashes, in order)."""
    if frame.empty:
        return {}, {}
    con = _cursor(store_or_con)
    table = f"records_{parts.domain}"
    try:
        con.register("ur_listed", frame[["entity_id", "registry_record_id"]])
        have = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        cols = ", ".join(f"r.{c}" if c in have else f"NULL AS {c}" for c in (*CONTACT, "town"))
        contact = {str(r["entity_id"]): r for r in con.execute(f"""
            SELECT l.entity_id, {cols}
            FROM ur_listed l JOIN membership m ON m.entity_id = l.entity_id AND m.domain = ?
            JOIN {table} r ON r.unique_id = m.unique_id AND r.source_record_id = l.registry_record_id
              AND r.source IN ({parts.registry})
        """, [parts.domain]).df().astype(object).where(lambda d: d.notna(), None).to_dict("records")}
        for entity_id, field, value in con.execute("""
                SELECT g.entity_id, g.field, g.value FROM golden_values g
                WHERE g.domain = ? AND g.field IN ('address', 'legal_rep', 'phone')
                  AND g.entity_id IN (SELECT entity_id FROM ur_listed)""", [parts.domain]).fetchall():
            contact.setdefault(str(entity_id), {})[f"golden_{field}"] = value
        hashed = "coalesce(r.record_hash, '')" if "record_hash" in have else "''"
        members = dict(con.execute(f"""
            SELECT m.entity_id, string_agg(r.unique_id || ':' || {hashed}, ',' ORDER BY r.unique_id)
            FROM membership m JOIN {table} r ON r.unique_id = m.unique_id
            WHERE m.domain = ? AND m.entity_id IN (SELECT entity_id FROM ur_listed)
            GROUP BY m.entity_id""", [parts.domain]).fetchall())
        con.unregister("ur_listed")
    finally:
        con.close()
    return contact, {str(k): str(v) for k, v in members.items()}
