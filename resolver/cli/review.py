"""`resolver review list|decide`: the data steward's review queue and decisions, without the API
(the same functions GET /v1/review/{domain} and POST /v1/review/{domain}/decisions call)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from resolver.cli.app import DomainOption, app, existing_store
from resolver.cli.link import DbOption

review_app = typer.Typer(help="The review queue: uncertain pairs, splits, golden-value conflicts; decide them.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")


@review_app.command("list")
def list_queue(
    db: DbOption,
    domain: DomainOption,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="pair, split or conflict (repeat; all by default).")] = None,
    offset: Annotated[int, typer.Option("--offset", help="Items to skip.")] = 0,
    limit: Annotated[int, typer.Option("--limit", help="Items to show (at most 500).")] = 20,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the page as JSON (records unmasked).")] = None,
) -> None:
    """The review queue, highest priority first (records a decision can move x uncertainty): one
    line per item with its two source records; --out writes them side by side in full."""
    from resolver.review import review_queue
    from resolver.store import open_store

    store = open_store(existing_store(db), read_only=True)
    try:
        page = review_queue(store, domain, kind=kind, offset=offset, limit=limit, unmasked=True)
    finally:
        store.close()
    counts = ", ".join(f"{n} {k}" for k, n in page["counts"].items())
    typer.echo(f"{domain}: {page['total']} items to review ({counts}); thresholds {page['thresholds']['predict']} / "
               f"{page['thresholds']['match']} of model version {page['model_version']}")
    for item in page["items"]:
        p = item["match_probability"]
        why = item.get("kept_apart_by") or (f"field {item['field']}" if item["kind"] == "conflict" else "")
        typer.echo(f"  {item['priority']:7.2f}  {item['kind']:<8} p={'-' if p is None else f'{p:.3f}':<6} "
                   f"{item['left']['unique_id']} ({item['left']['entity_id']}) ~ "
                   f"{item['right']['unique_id']} ({item['right']['entity_id']})  {why}".rstrip())
    if out is not None:
        out.write_text(json.dumps(page, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        typer.echo(f"page written: {out}")
    typer.echo(f"decide: resolver review decide --db {db} --domain {domain} LEFT RIGHT same|different|unsure")


@review_app.command("decide")
def decide(
    db: DbOption,
    domain: DomainOption,
    left: Annotated[str, typer.Argument(help="A source record: source:source_record_id.")],
    right: Annotated[str, typer.Argument(help="The other source record.")],
    decision: Annotated[str, typer.Argument(help="same, different or unsure.")],
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the decision).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who decides (default: the user running the command).")] = None,
) -> None:
    """Record a decision on two source records; the next `resolve` honours it (same: joined,
    different: never in one entity, unsure: nothing)."""
    from resolver.review import record_decision
    from resolver.store import open_store

    store = open_store(existing_store(db))
    try:
        stored = record_decision(store, domain, left, right, decision, note=note, key_id="cli",
                                 department=by or getpass.getuser())
    finally:
        store.close()
    typer.echo(f"decision {stored['decision_id']}: {stored['unique_id_l']} and {stored['unique_id_r']} are "
               f"{stored['decision']} (by {stored['department']}); the next `resolver resolve` honours it")
