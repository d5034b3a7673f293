"""The CLI's side of a job: is this verb's store held by a live server? then send the line
there and print what comes back, as if the verb had run here."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import orjson

from resolver.errors import ResolverError
from resolver.jobs.control import TOKEN_HEADER, Control, control_path, read_control
from resolver.jobs.verbs import is_local

JOBS_PATH = "/admin/jobs"


class ServerGoneError(ResolverError):
    """The server stopped, or the connection broke, before the job's end."""


def store_of(app: Any, args: list[str]) -> tuple[Path | None, int | None]:
    """Parse `args` as the command will (usage errors are raised here, before anything is
    sent); return (the verb's --db, None), or (None, exit code) when parsing answered alone
    (--help, --version). A verb that needs no DuckDB store gives no --db."""
    import typer.main
    from typer._click.utils import _detect_program_name
    from typer.exceptions import Exit

    command = typer.main.get_command(app)
    verb: list[str] = []
    try:
        ctx = command.make_context(_detect_program_name(), list(args))
        while hasattr(command, "commands"):  # as TyperGroup.invoke walks down to the verb
            rest = [*ctx._protected_args, *ctx.args]
            if not rest:
                return None, None  # `resolver` alone, or a group without its verb: the run says so
            name, command, rest = command.resolve_command(ctx, rest)  # type: ignore[attr-defined]
            verb.append(name)
            ctx = command.make_context(name, rest, parent=ctx)
    except Exit as exc:
        return None, exc.exit_code
    db = ctx.params.get("db")
    if db is None or is_local(tuple(verb)):
        return None, None
    return Path(db), None


_LOCKED = re.compile(r"Could not set lock on file")
_PID = re.compile(r"\(PID (\d+)\)")


def when_locked(db: Path, exc: BaseException, args: list[str]) -> int | None:
    """After `exc` opening `db`: None when it is not DuckDB's lock error; else the job's exit
    code when a live server holds the store (the line is sent there), or 1 with one line
    naming the process that holds it."""
    text = str(exc)
    if not _LOCKED.search(text):
        return None
    server = read_control(db)
    code = send(server, args) if server is not None else None
    if code is not None:
        return code
    pid = _PID.search(text)
    who = f"process {pid.group(1)}" if pid else "another process"
    why = (f"its control file names a server at {server.url} that does not answer" if server is not None
           else f"which is not a resolver server on it (no live {control_path(db).name})")
    print(f"error: {db} is open in {who}, {why}; wait for it to finish or stop it", file=sys.stderr)
    return 1


def send(server: Control, args: list[str]) -> int | None:
    """Run `args` in the server; print its output lines as they come; return its exit code.
    None when nothing answers at the server's URL (nothing was sent)."""
    import httpx

    body = {"argv": args, "cwd": os.getcwd()}
    timeout = httpx.Timeout(10.0, read=None)  # a job may print nothing for minutes
    code: int | None = None
    try:
        with httpx.stream("POST", server.url + JOBS_PATH, content=orjson.dumps(body), timeout=timeout,
                          headers={TOKEN_HEADER: server.token, "content-type": "application/json"}) as answer:
            if answer.status_code != 200:
                answer.read()
                raise ResolverError(f"the server on {server.db} refused the job: {_detail(answer)}")
            for raw in answer.iter_lines():
                if not raw:
                    continue
                message = orjson.loads(raw)
                if "exit" in message:
                    code = int(message["exit"])
                    break
                out = sys.stderr if message.get("stream") == "stderr" else sys.stdout
                print(message.get("line", ""), file=out, flush=True)
    except httpx.ConnectError:
        return None
    except KeyboardInterrupt:  # a thread cannot be stopped: say so rather than pretend
        print(f"interrupted: the job goes on in the server ({server.url}) to its end; its output is no longer "
              "shown here", file=sys.stderr)
        return 130
    except httpx.HTTPError as exc:
        raise ServerGoneError(f"the server on {server.db} ({server.url}) did not finish the job: {exc}") from exc
    if code is None:
        raise ServerGoneError(f"the server on {server.db} stopped before the job finished; every write is one "
                              "transaction, so the store holds what the job committed before")
    return code


def _detail(answer: Any) -> str:
    try:
        return str(answer.json().get("detail") or answer.status_code)
    except ValueError:
        return f"HTTP {answer.status_code}"
