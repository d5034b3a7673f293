"""`resolver unregistered`: the tax inspector's 漏管户 worklist with evidence, as CSV, XLSX or HTML,
cut by the same filters as GET /v1/unregistered (resolver.lookup.worklist)."""

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
                                      "evidence sheets, Chinese headers, autofilter) or .html (report with charts).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default today); "
                                              "the 30-day registration deadline counts back from it.")] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only this district: name (西湖区), short "
                                                 "name (西湖), old name (江干 → 上城区) or 6-digit code.")] = None,
    street: Annotated[str | None, typer.Option("--street", help="Only this street (街道/乡镇).")] = None,
    tax_office: Annotated[str | None, typer.Option("--office", help="Only cases of this tax office (主管税务所), "
                                                   "as tax_offices.yaml names it.")] = None,
    industry: Annotated[str | None, typer.Option("--industry", help="Only industry codes starting with this.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only entities established on or after this date.")] = None,
    score_min: Annotated[float | None, typer.Option("--score-min", help="Evidence score at least this (0-100).")] = None,
    score_max: Annotated[float | None, typer.Option("--score-max", help="Evidence score at most this.")] = None,
    age_min: Annotated[int | None, typer.Option("--age-min", help="At least this many days since the first "
                                                "sign of operation.")] = None,
    age_max: Annotated[int | None, typer.Option("--age-max", help="At most this many days since it.")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="Case status (repeat for several): 待核查, "
                                                     "核查中, 已办理税务登记, 确认未经营, 误报. Default: all but the "
                                                     "closed 误报 and 确认未经营.")] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="Only cases assigned to this person.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Part of the name, start of the USCC, or a master ID.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="score, age or district.")] = "score",
    order: Annotated[str | None, typer.Option("--order", help="asc or desc (default: score and age "
                                              "descending, district ascending).")] = None,
    all_lists: Annotated[bool, typer.Option("--all", help="Also dormant entities, status conflicts and link "
                                            "reviews, with a `list` column.")] = False,
    pii: Annotated[bool, typer.Option("--pii", help="Personal fields (phones, personal tax numbers) in full; "
                                      "without it they are masked as for an API caller without the pii scope.")] = False,
) -> None:
    """Businesses that operate but never registered for tax (漏管户), ranked by evidence strength,
    with each case's recorded status (PATCH /v1/unregistered/{entity_id})."""
    from resolver.access.masking import pii_scope
    from resolver.errors import NotFoundError
    from resolver.lookup.unregistered import list_domain
    from resolver.lookup.worklist import Filters, worklist_report
    from resolver.store import open_store
    from resolver.unregistered.detect import LISTS
    from resolver.unregistered.report import write_report
    from resolver.unregistered.worklist import check_sort

    if not db.exists():
        raise NotFoundError(f"{db}: no such store")
    filters = Filters(lists=LISTS if all_lists else ("suspect",), district=district, street=street,
                      tax_office=tax_office, industry=industry, since=since, score_min=score_min,
                      score_max=score_max, age_min=age_min, age_max=age_max, status=tuple(status or ()),
                      assignee=assignee, q=search, as_of=as_of)
    filters.check()  # a bad filter or sort is refused before the store is read
    check_sort(sort, order)
    store = open_store(db, read_only=True)
    try:
        with steps(2, "unregistered") as bar:
            advance(bar, "detecting")
            report = worklist_report(store, filters, sort, order, (pii_scope(list_domain()),) if pii else ())
            advance(bar, "writing")
            write_report(report, out)
    finally:
        store.close()
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    note = report.notes.get("district", "")
    typer.echo(f"{out}: {counts} (as of {report.as_of}, model {report.model_version})"
               + (f"; district {note}" if note else ""))
