"""`resolver serve` and `resolver keys create|list|revoke`."""

from __future__ import annotations

from pathlib import Path

import typer

from resolver.cli.app import app

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

DB = typer.Option(..., "--db", help="Master store (DuckDB file).")


@app.command()
def serve(db: Path = DB,
          host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
          port: int = typer.Option(8000, "--port", help="TCP port."),
          log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
          threads: int = typer.Option(4, "--threads", min=1,
                                      help="Worker threads for look-ups (few is faster: they share the GIL).")
          ) -> None:
    """Serve the look-up API (OpenAPI at /openapi.json) over the master store DB."""
    import uvicorn

    from api import create_app
    from resolver.errors import NotFoundError

    if not db.exists():
        raise NotFoundError(f"{db}: no master store here (run `resolver ingest` first)")
    from resolver.lookup.service import check_published_models

    check_published_models(db)  # a model that cannot be loaded: one line, before listening
    uvicorn.run(create_app(db, threads), host=host, port=port, log_level=log_level, access_log=False)


@keys_app.command("create")
def keys_create(db: Path = DB,
                department: str = typer.Option(..., "--department", help="Department the key belongs to, e.g. 公安."),
                scopes: str = typer.Option(..., "--scopes", help="Comma-separated: enterprise:read, person:read, "
                                           "enterprise:pii, person:pii, records:write, unregistered:read.")) -> None:
    """Create an API key and print it once; only its salted hash is stored."""
    from resolver.access.keys import create_key
    from resolver.store import open_store

    store = open_store(db)
    try:
        key_id, key = create_key(store, department, scopes)
    finally:
        store.close()
    typer.echo(f"key id: {key_id}")
    typer.echo(f"key:    {key}")
    typer.echo("Store the key now: it is not kept and cannot be shown again.", err=True)


@keys_app.command("list")
def keys_list(db: Path = DB) -> None:
    """List keys (id, department, scopes, created, revoked); never the keys themselves."""
    from resolver.access.keys import list_keys
    from resolver.store import open_store

    store = open_store(db)
    try:
        for k in list_keys(store):
            revoked = f"revoked {k['revoked_at']:%Y-%m-%d %H:%M}" if k["revoked_at"] else "active"
            typer.echo(f"{k['key_id']}  {k['department']}  {k['scopes']}  {k['created_at']:%Y-%m-%d %H:%M}  {revoked}")
    finally:
        store.close()


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="Key id as shown by `keys list`."), db: Path = DB) -> None:
    """Revoke a key; the next request with it gets 401."""
    from resolver.access.keys import revoke_key
    from resolver.store import open_store

    store = open_store(db)
    try:
        revoke_key(store, key_id)
    finally:
        store.close()
    typer.echo(f"revoked {key_id}")
