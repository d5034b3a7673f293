"""Ingest one department export: read, map, standardize, quarantine what cannot be used, store.

The policy of what goes to quarantine (rather than being loaded with a flag) is here:
- undecodable or malformed lines, missing or duplicate record ids (reader, mapping);
- a date that cannot be read: a record whose dates are wrong is not trusted for the 30-day
  tax-registration rule or for survivorship, so a person should look at it.
Identifiers that fail their check are loaded raw and flagged (SPEC §2), never quarantined.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from resolver.canonical import apply_mapping
from resolver.mapping import SourceMapping, load_mapping
from resolver.readers import ReadReport, Rejection, read_with_report
from resolver.standardize.records import schema_of, standardize_ahead, standardize_records
from resolver.standardize.tokens import NameTokenizer, build_trade_name_dictionary
from resolver.store import IngestCounts, Store

QUARANTINE_FLAGS = ("date_unparseable",)
# A file of more rows is mapped, standardized and stored this many rows at a time, still in one
# transaction: a 190k-row export took 1.5 GB whole (~7 KB a row, most of it intermediate copies).
CHUNK_ROWS = 100_000


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
    return _prepared(mapping, *read_with_report(file, mapping), file)


def _prepared(mapping: SourceMapping, raw: pd.DataFrame, rejections: list[Rejection], report: ReadReport,
              file: str | Path) -> Prepared:
    # the standardizing worker starts on the raw rows' fields while they are mapped
    fields = pd.DataFrame({canonical: raw[column].astype("object") for column, canonical in mapping.columns.items()
                           if column in raw.columns})
    with standardize_ahead(fields, mapping.domain, value_maps=mapping.values) as ahead:
        del fields
        canonical, rejected = apply_mapping(raw, mapping, file)
        rows = len(raw)
        del raw
        rejections += rejected
        if ahead is None:
            records = standardize_records(canonical, mapping.domain, value_maps=mapping.values)
        else:  # the mapping only drops rows (no record id, a repeated one): the same rows if none went
            records = ahead.standardize(canonical, same_rows=len(canonical) == rows)
    if len(records) != len(canonical):
        raise AssertionError("standardize_records must keep one output row per input row")
    # The standardizer returns the column contract; the raw row and its hash ride along (as
    # Arrow text, by position: through NumPy, 100k raw rows were ~0.4 s turned into Python and back).
    records["raw"] = canonical["raw"].array
    records["record_hash"] = canonical["record_hash"].array
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


def ingest_file(store: Store, mapping_path: str | Path, file: str | Path, chunk: int = CHUNK_ROWS) -> IngestCounts:
    """Load one export into the store in one transaction; rejected rows land in quarantine, and
    where every line went lands in `ingest_runs` (`IngestCounts.account`). A file of more than
    `chunk` rows is mapped, standardized and stored `chunk` rows at a time (the same rows,
    rejections and account as whole, `_chunks`)."""
    mapping = load_mapping(mapping_path)
    raw, rejections, report = read_with_report(file, mapping)
    if len(raw) <= chunk or len(_tokenized_fields(mapping)) > 1:
        prepared = _prepared(mapping, raw, rejections, report, file)
        del raw
        return store.ingest_frame(prepared.mapping.domain, prepared.records, prepared.rejections,
                                  str(file), source=prepared.mapping.source, account=prepared.account())
    kept: list[int] = []

    def finish() -> tuple[list[Rejection], dict[str, Any]]:
        ordered = sorted(rejections, key=lambda r: r.row_number)
        account = Prepared(mapping, pd.DataFrame(index=range(sum(kept))), ordered, report).account()
        return ordered, account

    return store.ingest_frames(mapping.domain, _chunks(raw, mapping, str(file), chunk, rejections, kept),
                               str(file), mapping.source, finish)


def _tokenized_fields(mapping: SourceMapping) -> list[str]:
    schema = schema_of(mapping.domain)
    return [f.name for f in schema.of_type("enterprise_name") if "tokens" in f.parts]


def _chunks(raw: pd.DataFrame, mapping: SourceMapping, file: str, chunk: int, rejections: list[Rejection],
            kept: list[int]) -> Iterator[pd.DataFrame]:
    """`prepare`, `chunk` rows of `raw` at a time: the rows and rejections it gives the whole.

    What `prepare` learns from the whole file is learned first: the trade names the name tokens
    know (one tokenized name field, so its tokenizer knows exactly the file's trade names) and,
    as the chunks go, the record ids already seen (a repeat is a duplicate, as within a chunk)."""
    names = [c for c, canonical in mapping.columns.items() if canonical in _tokenized_fields(mapping)]
    trades = set().union(*(build_trade_name_dictionary(raw[c]) for c in names)) if names else set()
    tokenizer = NameTokenizer(trades) if names else None
    first_row: dict[Any, int] = {}
    for start in range(0, len(raw), chunk):
        canonical, rejected = apply_mapping(raw.iloc[start:start + chunk], mapping, file)
        rejections += rejected
        seen = canonical["source_record_id"].map(first_row)
        again = seen.notna()
        for rid, row_number, text, first in zip(canonical.loc[again, "source_record_id"],
                                                canonical.loc[again, "row_number"], canonical.loc[again, "raw"],
                                                seen[again], strict=True):
            rejections.append(Rejection(file, int(row_number), mapping.record_id,
                                        f"duplicate record id '{rid}' (first at row {int(first)})", text))
        canonical = canonical[~again].reset_index(drop=True)
        first_row.update(zip(canonical["source_record_id"], canonical["row_number"], strict=True))
        records = standardize_records(canonical, mapping.domain, value_maps=mapping.values,
                                      trade_names=trades, tokenizer=tokenizer)
        records["raw"] = canonical["raw"].to_numpy()
        records["record_hash"] = canonical["record_hash"].to_numpy()
        del canonical
        records, rejected = _quarantine_flagged(records, mapping, file)
        rejections += rejected
        kept.append(len(records))
        yield records
