"""The Typer application, the options every verb shares, and the error handling around them."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from typer.exceptions import TyperException

from resolver.domains import domain_names
from resolver.errors import ConfigError, NotFoundError, ResolverError

app = typer.Typer(
    name="resolver",
    help="Master data and entity resolution: ingest departmental exports, link records, "
    "build golden records, find unregistered businesses, serve look-ups.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

state = {"debug": False}

# The domains of the rules folder ($RESOLVER_RULES as the command starts). A Literal lets
# `--help` list them and makes any other value a usage error (exit 2); to a type checker it is str.
if TYPE_CHECKING:
    DomainName = str
else:
    DomainName = Literal[domain_names() or ("",)]
DomainOption = Annotated[DomainName, typer.Option("--domain", help="Kind of entity.")]


def existing_store(db: Path) -> Path:
    """`db` when the master store file exists; commands other than ingest never create one."""
    if not db.is_file():
        raise NotFoundError(f"{db}: no master store here (run `resolver ingest --db {db} ...` first)")
    return db


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from resolver import __version__

        try:
            engines = f" (splink {version('splink')}, duckdb {version('duckdb')})"
        except PackageNotFoundError:
            engines = ""
        typer.echo(f"resolver {__version__}{engines}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and Splink's own log."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    state["debug"] = debug
    # Splink logs training details and untrained-level warnings at length; a command prints
    # its own one-line summary, and --debug brings Splink's log back.
    logging.getLogger("splink").setLevel(logging.INFO if debug else logging.ERROR)


def _reason(exc: BaseException) -> str:
    """One line for an exception we did not raise on purpose."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def main() -> None:
    """Console entry point: `run` the command line and exit with its code."""
    sys.exit(run(sys.argv[1:]))


def run(args: list[str], *, as_job: bool = False) -> int:
    """Run one command line; return its exit code. Usage errors print the usage line and give 2
    (click's convention); any other failure prints one line and gives 1; --debug shows the
    traceback instead.

    A verb whose --db is held by a live `resolver serve` is sent to that server as a job
    (resolver.jobs): its output is printed here as it comes, with the job's exit code.
    `as_job`: this line runs inside the server already (never sent on)."""
    debug = "--debug" in args
    if debug:  # accepted anywhere on the line, as users type it: `resolver resolve ... --debug`
        args = ["--debug", *(a for a in args if a != "--debug")]
    db: Path | None = None
    try:
        if not as_job:
            from resolver.jobs import client

            db, code = client.store_of(app, args)  # parses the line: usage errors stay local
            if code is not None:  # --help or --version answered while parsing
                return code
            server = client.read_control(db) if db is not None else None
            sent = client.send(server, args) if server is not None else None
            if sent is not None:
                return sent  # else nothing answered there: run here (a store still locked says so)
        # Not standalone: typer would print Python tracebacks for our own errors.
        code = app(args=args, standalone_mode=False, prog_name="resolver" if as_job else None)
    except TyperException as exc:  # typer's bundled click: UsageError (exit 2), ClickException
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            print(f"Error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except ResolverError as exc:
        if debug:
            traceback.print_exc()
        # A rule file with several problems lists them all, one a line, under the first.
        if isinstance(exc, ConfigError) and len(exc.problems) == 1:
            print(f"error: {exc.path}: {exc.problems[0]}", file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - last resort: still one line unless --debug
        if db is not None and not as_job:
            from resolver.jobs import client

            locked = client.when_locked(db, exc, args)  # held by a server (sent there) or by what?
            if locked is not None:
                return locked
        if debug:
            traceback.print_exc()
        else:
            print(f"error: {_reason(exc)} (run with --debug for the traceback)", file=sys.stderr)
        return 1
    # typer.Exit (from --help, --version or a command) comes back as its exit code.
    return code if isinstance(code, int) else 0
