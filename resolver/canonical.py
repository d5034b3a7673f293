"""Apply a source mapping to raw rows: canonical field names, record keys, the raw row kept whole."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from resolver.errors import InputError
from resolver.mapping import SourceMapping
from resolver.readers import ROW, Rejection


def apply_mapping(raw: pd.DataFrame, mapping: SourceMapping, file: str | Path) -> tuple[pd.DataFrame, list[Rejection]]:
    """Rename mapped columns to canonical fields; rows without a usable record id are rejected.

    The result has `source`, `source_record_id`, `row_number`, the canonical fields, `raw`
    (the department's whole row as JSON, unmapped columns included) and `record_hash`.
    """
    file = str(file)
    missing = [c for c in [mapping.record_id, *mapping.columns] if c not in raw.columns]
    if missing:
        raise InputError(
            f"{file}: column(s) {', '.join(missing)} named in {mapping.path} are not in the header "
            f"(header has: {', '.join(c for c in raw.columns if c != ROW)})"
        )
    data_cols = [c for c in raw.columns if c != ROW]
    raw_json, hashes = _raw_json(raw[data_cols])
    out = pd.DataFrame({
        "source": mapping.source,
        "source_record_id": raw[mapping.record_id].astype("object"),
        "row_number": raw[ROW].astype("int64"),
    })
    for column, canonical in mapping.columns.items():
        out[canonical] = raw[column].astype("object")
    out["raw"] = raw_json
    out["record_hash"] = hashes

    rejections: list[Rejection] = []
    no_id = out["source_record_id"].isna()
    for row_number, text in zip(out.loc[no_id, "row_number"], out.loc[no_id, "raw"], strict=True):
        rejections.append(Rejection(file, int(row_number), mapping.record_id, "missing record id", text))
    out = out[~no_id]
    duplicated = out["source_record_id"].duplicated(keep="first")
    if duplicated.any():
        first_row = out.drop_duplicates("source_record_id").set_index("source_record_id")["row_number"]
        for rid, row_number, text in zip(out.loc[duplicated, "source_record_id"],
                                         out.loc[duplicated, "row_number"],
                                         out.loc[duplicated, "raw"], strict=True):
            rejections.append(Rejection(file, int(row_number), mapping.record_id,
                                        f"duplicate record id '{rid}' (first at row {first_row[rid]})", text))
        out = out[~duplicated]
    return out.reset_index(drop=True), rejections


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _raw_json(rows: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Each row as JSON with sorted keys, and its hash (a record version: re-ingesting an identical
    row changes nothing, whatever the column order). DuckDB does this ~20x faster than json.dumps."""
    if rows.empty:
        return [], []
    fields = ", ".join(f"{_ident(c)} := {_ident(c)}" for c in sorted(rows.columns))
    con = duckdb.connect()
    try:
        con.register("raw_rows", rows)
        result = con.execute(f"SELECT j, md5(j) FROM (SELECT to_json(struct_pack({fields})) AS j "
                             "FROM raw_rows)").fetchnumpy()
    finally:
        con.close()
    return list(result["j"]), list(result["md5(j)"])
