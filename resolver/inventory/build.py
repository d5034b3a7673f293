"""The data inventory (政务数据目录): per department and canonical field, what the store holds.

Figures per department (source): records, entities, rows quarantined against rows read,
the date of its newest record; per department and field: completeness (non-empty share),
validity (share of values passing their identifier or phone check, from the `_valid` flags
the standardizer set), distinct values; per pair of departments of a domain: how many of one's
entities the other also holds, and per field how often they disagree on a shared entity.
The SQL is in resolver.store.inventory; docs/inventory.md defines each figure.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

import pandas as pd

from resolver.domains import DomainSchema, FieldSpec, domain_names, load_schema
from resolver.mapping import SourceMapping, sources_of
from resolver.standardize.dates import parse_date
from resolver.store import Store, inventory
from resolver.store.store import records_table

UNKNOWN_SOURCE = "（未知来源）"  # quarantined rows whose export named no source
ADDRESS_COMPARED = ("district", "road", "house_number")
_YEAR = re.compile(r"^\s*(\d{4})\s*年?(度)?\s*$")


@dataclass
class DomainInventory:
    """One domain's tables (column names in docs/inventory.md)."""

    domain: str
    label: str
    sources: pd.DataFrame
    fields: pd.DataFrame
    overlaps: pd.DataFrame
    disagreements: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)  # source -> department name


@dataclass
class Inventory:
    db: str
    made_at: str
    domains: list[DomainInventory]


def read_date(value: str) -> str | None:
    """A record date as written: any format the standardizer reads, or a reporting year
    (2025, 2025年, 2025年度), read as the year's last day."""
    if m := _YEAR.match(value):
        return f"{m.group(1)}-12-31"
    return parse_date(value)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    return (part / whole.where(whole > 0)).astype(float)


def _freshness(queries: inventory.Queries, table: str, source: str, mapping: SourceMapping | None) -> dict[str, object]:
    """record_date_column, record_date_field, dated, latest, earliest, note for one source."""
    if mapping is None:
        return {"note": "规则目录中没有该部门的映射文件，记录日期未知"}
    if mapping.record_date is None:
        return {"note": "导出文件无记录日期列（映射未设 record_date）"}
    column = mapping.columns.get(mapping.record_date)
    dates = queries.record_dates(table, source, column, None if column else mapping.record_date)
    dates["date"] = [read_date(str(v)) for v in dates["value"]]
    read = dates.dropna(subset=["date"])
    out: dict[str, object] = {"record_date_column": mapping.record_date, "record_date_field": column,
                              "dated": int(read["records"].sum())}
    if len(read):
        out["latest"] = max(read["date"])
        out["earliest"] = min(read["date"])
    unread = int(dates.loc[dates["date"].isna(), "records"].sum())
    if unread:
        out["note"] = f"{unread} 条记录的日期无法识别"
    return out


def domain_inventory(store: Store, schema: DomainSchema) -> DomainInventory | None:
    """The inventory of one domain, or None when the store holds none of its records."""
    table = records_table(schema.name)
    if not store.has_table(table):
        return None
    mappings = sources_of(schema.name)
    with inventory.Queries(store) as queries:
        present = set(queries.table_columns(table))
        fields = [(f.name, f.valid_column if f.valid_column in present else None)
                  for f in schema.fields.values() if f.name in present]
        profile = queries.field_profile(table, fields)
        quarantined = queries.quarantined(schema.name)
        entities, shared = queries.overlaps(schema.name)
        record_fields = {m.columns.get(m.record_date or "") for m in mappings.values()}
        compared = {name: _compared_on(schema.fields[name], present) for name, _ in fields
                    if schema.fields[name].type != "number" and name not in record_fields}
        disagree = queries.disagreements(schema.name, table, compared)
        names = sorted(set(profile["source"]) | set(quarantined["source"]))
        fresh = {s: _freshness(queries, table, s, mappings.get(s)) for s in names}
    labels = {s: (mappings[s].label if s in mappings else s or UNKNOWN_SOURCE) for s in names}
    return DomainInventory(schema.name, schema.label, _sources(names, labels, profile, quarantined, entities, fresh),
                           _fields(profile, mappings), _overlaps(names, entities, shared), _disagreements(disagree),
                           labels)


def _compared_on(spec: FieldSpec, present: set[str]) -> list[str]:
    """The columns a field is compared on between departments: an address on its district, road
    and house number (two departments rarely write the same address the same way), else itself."""
    if spec.type == "address":
        parts = [spec.parts[p] for p in ADDRESS_COMPARED if spec.parts.get(p) in present]
        if parts:
            return parts
    return [spec.name]


def _sources(names: list[str], labels: dict[str, str], profile: pd.DataFrame, quarantined: pd.DataFrame,
             entities: pd.DataFrame, fresh: dict[str, dict[str, object]]) -> pd.DataFrame:
    records = profile.groupby("source")["records"].first() if len(profile) else pd.Series(dtype="int64")
    out = pd.DataFrame({"source": names, "label": [labels[s] for s in names]})
    out["records"] = out["source"].map(records).fillna(0).astype("int64")
    out["entities"] = out["source"].map(entities.set_index("source")["entities"]).fillna(0).astype("int64")
    out["quarantined"] = out["source"].map(quarantined.set_index("source")["quarantined"]).fillna(0).astype("int64")
    out["read"] = out["records"] + out["quarantined"]
    out["quarantine_share"] = _share(out["quarantined"], out["read"])
    for key in ("record_date_column", "record_date_field", "dated", "latest", "earliest", "note"):
        out[key] = [fresh[s].get(key) for s in names]
    out["dated"] = out["dated"].astype("Int64")
    return out


def _fields(profile: pd.DataFrame, mappings: dict[str, SourceMapping]) -> pd.DataFrame:
    out = profile.copy()
    column_of = {(s, f): col for s, m in mappings.items() for col, f in m.columns.items()}
    out["mapped_column"] = [column_of.get((s, f)) for s, f in zip(out["source"], out["field"], strict=True)]
    out["completeness"] = _share(out["filled"], out["records"])
    out["validity"] = _share(out["valid"].astype(float), out["checked"].astype(float))
    return out[["source", "field", "mapped_column", "records", "filled", "completeness", "distinct",
                "checked", "valid", "validity"]]


def _overlaps(names: list[str], entities: pd.DataFrame, shared: pd.DataFrame) -> pd.DataFrame:
    held = entities.set_index("source")["entities"]
    pairs = pd.DataFrame([(a, b) for a in names for b in names if a != b], columns=["source", "other"])
    out = pairs.merge(shared, on=["source", "other"], how="left")
    out["shared"] = out["shared"].fillna(0).astype("int64")
    out["source_entities"] = out["source"].map(held).fillna(0).astype("int64")
    out["share"] = _share(out["shared"], out["source_entities"])
    return out[["source", "other", "source_entities", "shared", "share"]]


def _disagreements(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["share"] = _share(out["disagree"], out["compared"])
    return out


def build_inventory(store: Store, domain: str | None = None) -> Inventory:
    """The inventory of `domain`, or of every domain the store holds records of."""
    wanted = [domain] if domain else list(domain_names())
    found = [inv for d in wanted if (inv := domain_inventory(store, load_schema(d))) is not None]
    return Inventory(store.path, datetime.datetime.now().isoformat(timespec="seconds"), found)
