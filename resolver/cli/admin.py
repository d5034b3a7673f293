"""`resolver keys create|list|revoke` and `resolver audit export`: they use the access store
(`<db>.access.sqlite`), so they work while `resolver serve` runs on the same store."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from resolver.cli.app import app

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke. Work while the server runs.",
                       no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: export it, with its hash chain verified.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

DB = typer.Option(..., "--db", help="Master store (DuckDB file); keys and audit live beside it in DB.access.sqlite.")


def _access(db: Path):  # type: ignore[no-untyped-def]
    from resolver.access.access_store import access_path, open_access
    from resolver.errors import NotFoundError

    if not db.exists() and not access_path(db).exists():
        raise NotFoundError(f"{db}: no master store here (run `resolver ingest` first)")
    return open_access(db)


@keys_app.command("create")
def keys_create(
    db: Path = DB,
    department: str = typer.Option(..., "--department", help="Department the key belongs to, e.g. 公安 or tax."),
    scopes: str = typer.Option(..., "--scopes", help="Comma-separated: enterprise:read, person:read, "
                               "enterprise:pii, person:pii, records:write, unregistered:read, unregistered:write, metrics:read."),
    sources: str | None = typer.Option(
        None, "--sources", help="Sources the key may write through POST /records, e.g. tax,commerce. "
        "Default: the source named like the department, if there is one (else none)."),
    rate_limit: float | None = typer.Option(
        None, "--rate-limit", help="Calls per second for this key (0: unlimited). Default: the server's."),
    match_rate_limit: float | None = typer.Option(
        None, "--match-rate-limit", help="Match calls per second for this key (0: unlimited). Default: the server's."),
) -> None:
    """Create an API key and print it once; only its salted hash is stored."""
    from resolver.access.keys import create_key, list_keys

    access = _access(db)
    key_id, key = create_key(access, department, scopes, sources=sources, rate_limit=rate_limit,
                             match_rate_limit=match_rate_limit)
    made = next(k for k in list_keys(access) if k["key_id"] == key_id)
    typer.echo(f"key id:  {key_id}")
    typer.echo(f"key:     {key}")
    typer.echo(f"writes:  {made['sources'] or 'no source'}")
    typer.echo("Store the key now: it is not kept and cannot be shown again.", err=True)


@keys_app.command("list")
def keys_list(db: Path = DB) -> None:
    """List keys (id, department, scopes, sources, limits, created, revoked); never the keys themselves."""
    from resolver.access.keys import list_keys

    def limit(value: object) -> str:
        return "default" if value is None else ("unlimited" if value == 0 else f"{value:g}/s")

    for k in list_keys(_access(db)):
        state = f"revoked {str(k['revoked_at'])[:16]}" if k["revoked_at"] else "active"
        typer.echo(f"{k['key_id']}  {k['department']}  scopes={k['scopes']}  sources={k['sources'] or '-'}  "
                   f"rate={limit(k['rate_limit'])} match={limit(k['match_rate_limit'])}  "
                   f"created {str(k['created_at'])[:16]}  {state}")


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="Key id as shown by `keys list`."), db: Path = DB) -> None:
    """Revoke a key; a running server refuses it within 5 seconds."""
    from resolver.access.keys import revoke_key

    revoke_key(_access(db), key_id)
    typer.echo(f"revoked {key_id}")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv or .jsonl.")],
    db: Path = DB,
    since: Annotated[str | None, typer.Option("--since", help="Only rows logged on or after this UTC date "
                                              "(YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SS).")] = None,
) -> None:
    """Export the audit log and verify its hash chain (every row, not only those exported).

    Exits non-zero, after writing the file, if the chain does not verify."""
    from resolver.access.audit import AuditChainError, export_audit
    from resolver.errors import ResolverError

    if since is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?", since):
        raise ResolverError(f"--since {since!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] (UTC)")
    verified, written, head, broken = export_audit(_access(db), out, since)
    typer.echo(f"wrote {written} of {verified} audit rows to {out}")
    if broken:
        raise AuditChainError(f"audit chain broken at {broken}; the log was altered after it was written")
    typer.echo(f"hash chain verified: {verified} rows, head {head}")
