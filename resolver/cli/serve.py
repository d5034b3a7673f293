"""`resolver serve` (keys and audit commands: resolver.cli.admin)."""

from __future__ import annotations

from pathlib import Path

import typer

from resolver.access.limits import DEFAULT_MATCH_RATE_LIMIT, DEFAULT_RATE_LIMIT
from resolver.cli.app import app
from resolver.cli.config import ENV_SETTINGS, config_option

DB = typer.Option(..., "--db", help="Master store (DuckDB file).")
CONFIG = config_option("serve")


# Options come from flags, RESOLVER_<OPTION> variables and --config's [serve] table (cli/config.py).
@app.command(context_settings=ENV_SETTINGS)
def serve(db: Path = DB,
          config: Path | None = CONFIG,
          host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
          port: int = typer.Option(8000, "--port", help="TCP port."),
          log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
          threads: int = typer.Option(4, "--threads", min=1,
                                      help="Worker threads for look-ups (few is faster: they share the GIL)."),
          rate_limit: float = typer.Option(DEFAULT_RATE_LIMIT, "--rate-limit", min=0,
                                           help="Calls per second per key (0: unlimited); a key's own limit wins."),
          match_rate_limit: float = typer.Option(
              DEFAULT_MATCH_RATE_LIMIT, "--match-rate-limit", min=0,
              help="Match calls per second per key (0: unlimited); a key's own limit wins."),
          docs: bool = typer.Option(False, "--docs", help="Serve /docs, /redoc and /openapi.json to anyone "
                                    "(without it /docs is off and /openapi.json needs a key)."),
          audit_sync: str = typer.Option("full", "--audit-sync", help="full: each answer waits until its audit "
                                         "row is fsynced (survives power loss); normal: until the OS has it "
                                         "(survives a killed server, not a power cut; faster on slow disks)."),
          log_format: str = typer.Option("text", "--log-format", help="text, or json: one JSON object per line "
                                         "(time, level, logger, message, request_id)."),
          access_log: bool = typer.Option(False, "--access-log", help="One log line per request: method, route "
                                          "template, status, duration, key ID, request ID."),
          match_batch_max: int = typer.Option(100, "--match-batch-max", min=1, max=10_000,
                                              help="Most named queries one POST /match call may hold."),
          ) -> None:
    """Serve the look-up API over the master store DB."""
    from api import create_app
    from api.http_protocol import ProblemHTTPProtocol
    from api.logs import FORMATS, log_config
    from resolver.access.access_store import SYNC_MODES
    from resolver.access.limits import RateLimits
    from resolver.errors import NotFoundError, ResolverError

    if not db.exists():
        raise NotFoundError(f"{db}: no master store here (run `resolver ingest` first)")
    from resolver.lookup.service import check_published_models

    check_published_models(db)  # a model that cannot be loaded: one line, before listening
    if audit_sync not in SYNC_MODES:
        raise ResolverError(f"--audit-sync {audit_sync}: expected one of {', '.join(SYNC_MODES)}")
    if log_format not in FORMATS:
        raise ResolverError(f"--log-format {log_format}: expected one of {', '.join(FORMATS)}")
    app_ = create_app(db, threads, limits=RateLimits(rate_limit, match_rate_limit), open_docs=docs,
                      audit_sync=audit_sync, match_batch_max=match_batch_max)
    from resolver.jobs.control import serve_with_control

    # uvicorn.run, plus the control file DB.serve.json that lets CLI verbs run here as jobs
    serve_with_control(db, app_, host=host, port=port, log_level=log_level, access_log=False,
                       http=ProblemHTTPProtocol,
                       log_config=log_config(log_format, log_level, access_log))  # access lines: api.observe
