"""The Typer application and the error handling every verb shares."""

from __future__ import annotations

import logging
import sys

import typer

from resolver.errors import ResolverError

app = typer.Typer(
    name="resolver",
    help="Master data and entity resolution: ingest departmental exports, link records, "
    "build golden records, find unregistered businesses, serve look-ups.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks and Splink's own log.")) -> None:
    state["debug"] = debug
    # Splink logs training details and untrained-level warnings at length; a command prints
    # its own one-line summary, and --debug brings Splink's log back.
    logging.getLogger("splink").setLevel(logging.INFO if debug else logging.ERROR)


def main() -> None:
    """Console entry point: a one-line reason and exit code 1 on failure, traceback with --debug."""
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=False)
    except typer.Exit as exc:  # raised by typer for --help and explicit exits
        sys.exit(exc.exit_code)
    except ResolverError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last resort: still one line unless --debug
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            print("aborted", file=sys.stderr)
            sys.exit(130)
        if debug:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        sys.exit(1)
