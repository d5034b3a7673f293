"""`resolver inventory` (政务数据目录) and `resolver export open` (数据开放)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resolver.cli.app import DomainName, DomainOption, app, existing_store
from resolver.cli.data import OutOption, StoreOption, export_app
from resolver.cli.progress import advance, steps


@app.command()
def inventory(
    db: StoreOption,
    out: Annotated[Path, typer.Option("--out", help="Output: .html (a section and chart per department) or "
                                      ".xlsx (a sheet per table, Chinese headers, autofilter).")],
    domain: Annotated[DomainName | None, typer.Option("--domain", help="Only this domain (default: every "
                                                      "domain the store holds records of).")] = None,
) -> None:
    """The data inventory per department and field: completeness, validity, distinct values,
    freshness, quarantine share, and overlaps and disagreements between departments (docs/inventory.md)."""
    from resolver.errors import InputError
    from resolver.inventory import build_inventory, check_output, write_inventory
    from resolver.store import open_store

    check_output(out)
    store = open_store(existing_store(db), read_only=True)
    try:
        with steps(2, "inventory") as bar:
            advance(bar, "counting")
            result = build_inventory(store, domain or None)
            if not result.domains:
                raise InputError(f"{db}: no records{f' of {domain}' if domain else ''} ingested yet")
            advance(bar, "writing")
            write_inventory(result, out)
    finally:
        store.close()
    summary = "; ".join(f"{d.label} {len(d.sources)} departments, {int(d.sources['records'].sum()):,} records"
                        for d in result.domains)
    typer.echo(f"{out}: {summary}")


@export_app.command("open")
def export_open(
    db: StoreOption, domain: DomainOption, out: OutOption,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date ages are counted at, YYYY-MM-DD "
                                              "(default today); for domains published as counts.")] = None,
) -> None:
    """De-identified open data (数据开放), as the domain's schema declares it (`open_data:`): golden
    records with public fields only, or counts by two dimensions with small cells suppressed
    (docs/inventory.md)."""
    from resolver.exports import check_output, write_table
    from resolver.open_data.export import open_frame
    from resolver.store import open_store

    check_output(out)
    store = open_store(existing_store(db), read_only=True)
    try:
        with steps(2, "export open") as bar:
            advance(bar, "reading")
            frame = open_frame(store, domain, as_of)
            advance(bar, "writing")
            write_table(frame, out, chinese_headers=True)
    finally:
        store.close()
    hidden = f", {int(frame['suppressed'].sum())} cells suppressed" if "suppressed" in frame.columns else ""
    versions = ", ".join(sorted(set(frame["model_version"].dropna())))
    typer.echo(f"{len(frame)} open {domain} rows written to {out}{hidden} (model version {versions})")
