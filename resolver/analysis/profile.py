"""Completeness and identifier validity of source records, and why rows were quarantined."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd


def field_profile(
    records: pd.DataFrame,
    fields: Iterable[str],
    mapped: Mapping[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """One row per (source, field): records, share present, share of present values valid.

    `present` is the share of the source's records with a non-null value. `valid` is the share
    of present values whose `<field>_valid` flag is true (NaN when the field has no check).
    `mapped` (source -> canonical fields its mapping names) adds a `mapped` column, so a field
    the department never sends is told apart from one it leaves empty.
    """
    rows = []
    for source, group in records.groupby("source", sort=True):
        n = len(group)
        sent = set(mapped.get(str(source), ())) if mapped is not None else None
        for field in fields:
            values = group[field] if field in group else pd.Series(pd.NA, index=group.index)
            present = values.notna()
            row = {"source": source, "field": field, "records": n,
                   "present": float(present.mean()) if n else 0.0, "valid": float("nan")}
            flag = f"{field}_valid"
            if flag in group and int(present.sum()):
                ok = group.loc[present, flag].astype("boolean").fillna(False)
                row["valid"] = float(ok.mean())
            if sent is not None:
                row["mapped"] = field in sent
            rows.append(row)
    return pd.DataFrame(rows)


_QUOTED = re.compile(r"'[^']*'")
_DETAIL = re.compile(r"\s*\(.*\)$")


def reason_kind(reason: str) -> str:
    """A quarantine reason without its row-specific detail ("duplicate record id '…'")."""
    return _DETAIL.sub("", _QUOTED.sub("'…'", str(reason))).strip()


def quarantine_summary(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows counted by source, file, field and kind of reason, most first."""
    cols = ["source", "file", "field", "reason_kind", "rows"]
    if quarantine.empty:
        return pd.DataFrame(columns=cols)
    q = quarantine.assign(reason_kind=quarantine["reason"].map(reason_kind),
                          file=quarantine["file"].map(lambda f: str(f).replace("\\", "/").rsplit("/", 1)[-1]))
    out = (q.groupby(["source", "file", "field", "reason_kind"], dropna=False).size()
           .rename("rows").reset_index())
    return out.sort_values(["rows", "source", "file"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)[cols]
