"""Ingest one department export: read, map, standardize, quarantine what cannot be used, store.

The policy of what goes to quarantine (rather than being loaded with a flag) is here:
- undecodable or malformed lines, missing or duplicate record ids (reader, mapping);
- a date that cannot be read: a record whose dates are wrong is not trusted for the 30-day
  tax-registration rule or for survivorship, so a person should look at it.
Identifiers that fail their check are loaded raw and flagged (SPEC §2), never quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from resolver.canonical import apply_mapping
from resolver.mapping import SourceMapping, load_mapping
from resolver.readers import ReadReport, Rejection, read_with_report
from resolver.standardize.records import standardize_records
from resolver.store import IngestCounts, Store

QUARANTINE_FLAGS = ("date_unparseable",)


@dataclass
class Prepared:
    """A file read, mapped and standardized, not yet stored."""

    mapping: SourceMapping
    records: pd.DataFrame
    rejections: list[Rejection]
    report: ReadReport

    def account(self) -> dict[str, Any]:
        """Where every line went (stored in `ingest_runs`; the store adds new/updated/unchanged)."""
        r = self.report
        skipped = {reason: len(lines) for reason, lines in r.skipped.items()}
        title = skipped.pop("title", 0)
        quarantined = len({x.row_number for x in self.rejections})
        unaccounted = (r.total - len(r.header) - title - sum(skipped.values()) - r.continuation
                       - len(self.records) - quarantined)
        return {"file": r.file, "unit": r.unit, "encoding": r.encoding, "lines": r.total,
                "header": len(r.header), "title": title, "skipped": sum(skipped.values()),
                "continuation": r.continuation, "records": len(self.records), "quarantined": quarantined,
                "unaccounted": unaccounted,
                "detail": {"header_lines": r.header, "skipped": r.skipped, "notes": r.notes}}


def describe(account: dict[str, Any]) -> list[str]:
    """The account as lines for a person: the sum first, then what was skipped and why."""
    unit = account["unit"] + "s"
    parts = [f"{account['title']} title"] if account["title"] else []
    parts.append(f"{account['header']} header")
    stored = f"{account['records']} loaded"
    if "new" in account:
        stored += f" ({account['new']} new, {account['updated']} updated, {account['unchanged']} unchanged)"
    parts += [stored, f"{account['quarantined']} quarantined"]
    skipped = {k: v for k, v in account["detail"]["skipped"].items() if k != "title"}
    if skipped:
        parts.append(f"{account['skipped']} skipped")
    if account["continuation"]:
        parts.append(f"{account['continuation']} inside multi-line values")
    out = [f"{account['file']}: {account['lines']} {unit} = " + " + ".join(parts)
           + (f"; {account['unaccounted']} UNACCOUNTED" if account["unaccounted"] else "")]
    for reason, lines in skipped.items():
        shown = ", ".join(map(str, lines[:8])) + (f" … ({len(lines)})" if len(lines) > 8 else "")
        out.append(f"  skipped {len(lines)} {reason} {account['unit']}{'s' if len(lines) > 1 else ''}: {shown}")
    out += [f"  note: {n}" for n in account["detail"]["notes"]]
    return out


def prepare(mapping_path: str | Path, file: str | Path) -> Prepared:
    """Read `file` through its mapping and standardize it; no store involved."""
    mapping = load_mapping(mapping_path)
    raw, rejections, report = read_with_report(file, mapping)
    canonical, rejected = apply_mapping(raw, mapping, file)
    rejections += rejected
    records = standardize_records(canonical, mapping.domain, value_maps=mapping.values)
    if len(records) != len(canonical):
        raise AssertionError("standardize_records must keep one output row per input row")
    # The standardizer returns the column contract; the raw row and its hash ride along.
    records["raw"] = canonical["raw"].to_numpy()
    records["record_hash"] = canonical["record_hash"].to_numpy()
    records, rejected = _quarantine_flagged(records, mapping, str(file))
    rejections += rejected
    return Prepared(mapping, records, sorted(rejections, key=lambda r: r.row_number), report)


def _quarantine_flagged(records: pd.DataFrame, mapping: SourceMapping, file: str
                        ) -> tuple[pd.DataFrame, list[Rejection]]:
    source_column = {canonical: column for column, canonical in mapping.columns.items()}
    flags = records["std_flags"].fillna("")
    bad = pd.Series(False, index=records.index)
    rejections = []
    for prefix in QUARANTINE_FLAGS:
        hit = flags.str.contains(prefix, regex=False)
        bad |= hit
        for row_number, text, raw in zip(records.loc[hit, "row_number"], flags[hit],
                                         records.loc[hit, "raw"], strict=True):
            for flag in text.split(";"):
                if flag.startswith(prefix):
                    field = flag.partition(":")[2]
                    rejections.append(Rejection(file, int(row_number), source_column.get(field, field),
                                                f"{prefix.replace('_', ' ')} ({field})", raw))
    return records[~bad].reset_index(drop=True), rejections


def ingest_file(store: Store, mapping_path: str | Path, file: str | Path) -> IngestCounts:
    """Load one export into the store in one transaction; rejected rows land in quarantine, and
    where every line went lands in `ingest_runs` (`IngestCounts.account`)."""
    prepared = prepare(mapping_path, file)
    return store.ingest_frame(prepared.mapping.domain, prepared.records, prepared.rejections,
                              str(file), source=prepared.mapping.source, account=prepared.account())
