"""`resolver unregistered`: the tax inspector's list of 漏管户 with evidence, as CSV, XLSX or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resolver.cli.app import app
from resolver.cli.progress import advance, steps


@app.command()
def unregistered(
    db: Annotated[Path, typer.Option("--db", help="Master store (DuckDB file) after `resolver resolve`.")],
    out: Annotated[Path, typer.Option("--out", help="Output: .csv (one row per entity), .xlsx (list + "
                                      "evidence sheets, Chinese headers) or .html (report with charts).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default today); "
                                              "the 30-day registration deadline counts back from it.")] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only this district (name or 6-digit code).")] = None,
    industry: Annotated[str | None, typer.Option("--industry", help="Only industry codes starting with this.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only entities established on or after this date.")] = None,
    all_lists: Annotated[bool, typer.Option("--all", help="Also dormant entities, status conflicts and link "
                                            "reviews, with a `list` column.")] = False,
) -> None:
    """Businesses that operate but never registered for tax (漏管户), ranked by evidence strength."""
    from resolver.errors import NotFoundError
    from resolver.store import open_store
    from resolver.unregistered.detect import LISTS
    from resolver.unregistered.report import build_report, write_report

    if not db.exists():
        raise NotFoundError(f"{db}: no such store")
    lists = LISTS if all_lists else ("suspect",)
    store = open_store(db, read_only=True)
    try:
        with steps(2, "unregistered") as bar:
            advance(bar, "detecting")
            report = build_report(store, as_of, lists, district, industry, since)
            advance(bar, "writing")
            write_report(report, out)
    finally:
        store.close()
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    typer.echo(f"{out}: {counts} (as of {report.as_of}, model {report.model_version})")
