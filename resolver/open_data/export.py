"""`resolver export open`: what a domain's schema lets the public see (数据开放, docs/inventory.md).

A domain declaring `records` publishes its golden records' public fields, one row per entity
kept by `only` and not dropped by `leave_out`. A domain declaring `counts_by` publishes only
counts of entities by two dimensions, with their totals, small counts suppressed
(resolver.open_data.suppress). The declaration is checked when the schema loads
(resolver.open_data.declared); here the golden records are read and cut to it.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from resolver.domains import OpenData, load_schema
from resolver.errors import InputError
from resolver.open_data.declared import AGE_BAND
from resolver.open_data.suppress import suppress, with_totals
from resolver.store import Store
from resolver.store.open_data import entities_with, golden_columns

UNKNOWN = "未知"
TOTAL = "合计"


def declaration(domain: str) -> OpenData:
    declared = load_schema(domain).open_data
    if declared is None:
        raise InputError(f"domain '{domain}' declares no open data (`open_data:` in its schema.yaml; "
                         "docs/inventory.md)")
    return declared


def open_frame(store: Store, domain: str, as_of: str | None = None) -> pd.DataFrame:
    """The rows `resolver export open` writes for `domain`."""
    declared = declaration(domain)
    wanted = [*declared.records, *declared.only, *declared.leave_out,
              *(c for c in declared.counts_by if c != AGE_BAND), *([declared.age_from] if declared.age_from else [])]
    golden = golden_columns(store, domain, wanted)
    if golden.empty:
        raise InputError(f"{store.path}: no {domain} entities yet; run `resolver resolve --domain {domain}` first")
    if declared.records:
        # fail-safe, like masking: one member record saying an entity is to be left out is enough
        # (an individual business whose 修理部 name the other departments read as `other`)
        flagged = set().union(*(entities_with(store, domain, f, v) for f, v in declared.leave_out.items()))
        return open_records(golden, declared, flagged)
    return open_counts(golden, declared, as_of or datetime.date.today().isoformat())


def _column(golden: pd.DataFrame, name: str) -> pd.Series:
    if name not in golden.columns:  # no survivorship rule for it, or no source gives it
        return pd.Series([None] * len(golden), index=golden.index, dtype=object)
    return golden[name]


def open_records(golden: pd.DataFrame, declared: OpenData, flagged: set[str] | None = None) -> pd.DataFrame:
    """entity_id, the declared fields, model_version: of the entities kept. `flagged`: entities a
    member record of which has a `leave_out` value, left out whatever their golden value says."""
    keep = ~golden["entity_id"].isin(flagged or set())
    for name, values in declared.only.items():
        keep &= _column(golden, name).isin(values)
    for name, values in declared.leave_out.items():
        keep &= ~_column(golden, name).isin(values)
    kept = golden[keep]
    out = pd.DataFrame({"entity_id": kept["entity_id"]})
    for name in declared.records:
        out[name] = _column(kept, name)
    out["model_version"] = kept["model_version"]
    return out.reset_index(drop=True)


def band_labels(bands: tuple[int, ...]) -> list[str]:
    """[18, 35, 60] -> 0-17, 18-34, 35-59, 60+."""
    starts = [0, *bands]
    return [f"{lo}-{hi - 1}" for lo, hi in zip(starts, starts[1:], strict=False)] + [f"{starts[-1]}+"]


def age_bands(dates: pd.Series, bands: tuple[int, ...], as_of: str) -> pd.Series:
    """Each date's age band at `as_of`; UNKNOWN when missing, unreadable or after `as_of`."""
    born = pd.to_datetime(dates, errors="coerce", format="%Y-%m-%d")
    day = pd.Timestamp(as_of)
    before_birthday = (born.dt.month > day.month) | ((born.dt.month == day.month) & (born.dt.day > day.day))
    age = day.year - born.dt.year - before_birthday.astype("Int64")
    labels = band_labels(bands)
    index = np.searchsorted(np.asarray(bands), age.fillna(-1).to_numpy(dtype=np.int64), side="right")
    out = pd.Series([labels[i] for i in index], index=dates.index, dtype=object)
    return out.where(age.notna() & (age >= 0), UNKNOWN)


def _dimension(golden: pd.DataFrame, name: str, declared: OpenData, as_of: str) -> tuple[pd.Series, list[str]]:
    """Each entity's value of one dimension, and the dimension's values in order (UNKNOWN last)."""
    if name == AGE_BAND:
        values = age_bands(_column(golden, str(declared.age_from)), declared.age_bands, as_of)
        return values, [*band_labels(declared.age_bands), UNKNOWN]
    values = _column(golden, name).fillna(UNKNOWN).astype(str)
    seen = sorted(set(values) - {UNKNOWN})
    return values, [*seen, UNKNOWN]


def open_counts(golden: pd.DataFrame, declared: OpenData, as_of: str) -> pd.DataFrame:
    """Long form of the suppressed table: one row per (row value, column value), totals as TOTAL,
    `count` empty and `suppressed` true where withheld."""
    first, second = declared.counts_by
    rows, row_order = _dimension(golden, first, declared, as_of)
    cols, col_order = _dimension(golden, second, declared, as_of)
    table = pd.crosstab(rows, cols).reindex(index=row_order, columns=col_order, fill_value=0)
    # An UNKNOWN row or column with nobody in it is no category: leave it out.
    table = table.loc[(table.index != UNKNOWN) | (table.sum(axis=1) > 0),
                      (table.columns != UNKNOWN) | (table.sum(axis=0) > 0)]
    grid = with_totals(table.to_numpy())
    hidden = suppress(table.to_numpy(), declared.min_cell)
    row_names = [*table.index, TOTAL]
    col_names = [*table.columns, TOTAL]
    version = ", ".join(sorted(set(golden["model_version"].dropna())))
    out = [{first: r, second: c, "count": None if hidden[i, j] else int(grid[i, j]), "suppressed": bool(hidden[i, j]),
            "model_version": version}
           for i, r in enumerate(row_names) for j, c in enumerate(col_names)]
    frame = pd.DataFrame(out)
    frame["count"] = frame["count"].astype("Int64")
    return frame
