"""`resolver demo`: the whole pipeline on the fixtures, ending with a printed summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resolver.cli.app import app


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--workdir", help="Where the store, models and reports go.")] = Path(
        "out/demo"),
    records: Annotated[int | None, typer.Option(
        "--records", help="Generate this many source records instead of using the committed sample.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for --records.")] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the API on the demo store.")] = False,
    port: Annotated[int, typer.Option("--port", help="Port for --serve.")] = 8000,
) -> None:
    """Fixtures → ingest → train → resolve → evaluate → 漏管户 report, then a summary (and --serve)."""
    from resolver.demo import run_demo

    run_demo(workdir, records, seed, say=typer.echo)
    if serve:
        from resolver.access.access_store import open_access
        from resolver.access.keys import create_key
        from resolver.access.limits import DEFAULT_MATCH_RATE_LIMIT, DEFAULT_RATE_LIMIT
        from resolver.cli.serve import serve as serve_command

        db = workdir / "master.duckdb"
        from resolver.domains import domain_names

        scopes = ",".join([*(f"{d}:read" for d in domain_names()), "unregistered:read"])
        _, key = create_key(open_access(db), "demo", scopes)
        typer.echo(f"demo API key (read scopes, personal fields masked): {key}")
        typer.echo(f"try: curl -H 'X-API-Key: {key}' http://127.0.0.1:{port}/v1/unregistered")
        serve_command(db=db, host="127.0.0.1", port=port, log_level="info", threads=4,
                      rate_limit=DEFAULT_RATE_LIMIT, match_rate_limit=DEFAULT_MATCH_RATE_LIMIT, docs=False, audit_sync="full")
