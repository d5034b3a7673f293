"""Verbs that move data in and out: ingest, standardize, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from resolver.cli.app import DomainOption, app, existing_store
from resolver.cli.progress import advance, steps
from resolver.errors import InputError

# pandas and resolver.exports are imported by the verbs that use them: `resolver --help`
# and the verbs that never touch a frame do not pay their ~0.7 CPU s of imports.

DbOption = Annotated[Path, typer.Option("--db", help="Master store (DuckDB file); created if absent.")]
StoreOption = Annotated[Path, typer.Option("--db", help="Master store (DuckDB file) after `resolver resolve`.")]
MappingOption = Annotated[Path, typer.Option("--mapping", help="Source mapping file (matching_rules/sources/*.yaml).")]


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="Department export: CSV (any Chinese encoding), XLSX or Parquet.")],
    db: DbOption,
    mapping: MappingOption,
    incremental: Annotated[bool, typer.Option(
        "--incremental", help="Also link the new records against existing entities with the published "
        "model (no full re-resolve).")] = False,
    engine: Annotated[Literal["duckdb", "spark"], typer.Option(
        "--engine", help="Where the export is standardized: duckdb (in-process, default) or spark (Parquet "
        "exports; the store takes Spark's records in chunks, docs/scale.md).")] = "duckdb",
) -> None:
    """Load one export into the master store; rows that cannot be used go to quarantine."""
    from resolver.mapping import load_mapping
    from resolver.store import open_store

    # Checked before the store is opened, so a mistyped path leaves no empty store behind.
    domain = load_mapping(mapping).domain
    if not file.is_file():
        raise InputError(f"{file}: file not found")
    if engine == "spark" and (incremental or file.suffix.lower() != ".parquet"):
        raise InputError("--engine spark ingests a Parquet export, without --incremental")
    store = open_store(db)
    try:
        with steps(2 if incremental else 1, "ingest") as bar:
            if engine == "spark":
                from resolver.engines.spark_ingest import ingest_on_spark

                advance(bar, "reading and standardizing on Spark")
                counts = ingest_on_spark(store, mapping, file, release=True)
            elif incremental:
                from resolver.engine import Resolver

                advance(bar, "reading, standardizing and linking")
                result = Resolver(store, domain).add_records(mapping, file)
                counts = result.counts
            else:
                from resolver.ingest import ingest_file

                advance(bar, "reading and standardizing")
                counts = ingest_file(store, mapping, file)
    finally:
        store.close()
    typer.echo(f"{file}: read {counts.read}, loaded {counts.loaded}, updated {counts.updated}, "
               f"unchanged {counts.unchanged}, quarantined {counts.quarantined}")
    if counts.account is not None:
        from resolver.ingest import describe

        for line in describe(counts.account):
            typer.echo(line)
    if incremental:
        typer.echo(f"linked {result.touched} new or changed records (neighbourhood {result.neighbourhood}): "
                   f"{result.joined} joined existing entities, {result.created} in new entities "
                   f"(model version {result.model_version})")


@app.command()
def standardize(
    file: Annotated[Path, typer.Argument(help="Department export to standardize.")],
    mapping: MappingOption,
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .parquet or .xlsx.")],
) -> None:
    """Write the canonical and derived columns of one export (no store); rejected rows go beside it."""
    import pandas as pd

    from resolver.exports import check_output, write_table
    from resolver.ingest import prepare

    check_output(out)
    with steps(2, "standardize") as bar:
        advance(bar, "reading and standardizing")
        prepared = prepare(mapping, file)
        advance(bar, "writing")
        write_table(prepared.records, out)
        rejected_path = out.with_name(out.stem + ".rejected.csv")
        if prepared.rejections:
            pd.DataFrame([r.__dict__ for r in prepared.rejections]).to_csv(rejected_path, index=False)
    typer.echo(f"{file}: {len(prepared.records)} records written to {out}"
               + (f"; {len(prepared.rejections)} rejected rows with reasons in {rejected_path}"
                  if prepared.rejections else "; no rows rejected"))


export_app = typer.Typer(help="Export members or golden records (CSV, XLSX or Parquet).", no_args_is_help=True)
app.add_typer(export_app, name="export")


OutOption = Annotated[Path, typer.Option(
    "--out", help="Output file: .csv or .parquet (canonical English column names) or .xlsx (Chinese headers).")]


def _export(db: Path, domain: str, out: Path, what: str, pii: bool = True) -> None:
    from resolver.exports import (
        check_output,
        golden_frame,
        masked_golden,
        members_frame,
        write_table,
    )
    from resolver.store import open_store

    check_output(out)
    store = open_store(existing_store(db), read_only=True)
    with steps(2, f"export {what}") as bar:
        advance(bar, "reading")
        try:
            frame = (members_frame if what == "members" else golden_frame)(store, domain)
        finally:
            store.close()
        if frame.empty:
            raise InputError(f"{db}: no {domain} entities yet; run `resolver resolve --domain {domain}` first")
        if not pii:
            frame = masked_golden(frame, domain)
        advance(bar, "writing")
        write_table(frame, out, chinese_headers=True)
    versions = ", ".join(sorted(set(frame["model_version"].dropna())))
    typer.echo(f"{len(frame)} {what} rows written to {out} (model version {versions})")


@export_app.command("members")
def export_members(db: StoreOption, domain: DomainOption, out: OutOption) -> None:
    """Which master ID every source record belongs to. Columns: source, source_record_id,
    entity_id, model_version (CSV and Parquet keep these names; XLSX shows Chinese headers)."""
    _export(db, domain, out, "members")


@export_app.command("golden")
def export_golden(db: StoreOption, domain: DomainOption, out: OutOption,
                  pii: Annotated[bool, typer.Option(
                      "--pii", help="Personal fields in full (ID numbers, phones, birth dates); "
                      "without it they are masked as for an API caller without the pii scope.")] = False) -> None:
    """One golden record per entity (wide): entity_id, size, model_version, then one column per
    canonical field (CSV and Parquet keep these names; XLSX shows Chinese headers). Personal
    fields are masked unless --pii (docs/security.md)."""
    _export(db, domain, out, "golden", pii)
