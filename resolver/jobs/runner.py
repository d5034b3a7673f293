"""A job in the server: one CLI command line, run by the same code as at a terminal, in a
thread of its own (not the look-ups' thread pool), its output captured line by line.

Its `open_store(db)` connects to the server's own DuckDB instance (one per file per process),
so it sees the server's commits and the server sees its. Writers take `service.write_lock`,
the lock every writer in the server takes (POST /records included), so two writes never
interleave; readers take nothing and read committed data (DuckDB's MVCC).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from resolver.errors import InputError
from resolver.jobs.capture import captured
from resolver.jobs.verbs import REFUSED, JobLine, job_line
from resolver.store.held import hold

log = logging.getLogger("resolver.jobs")

# what the job sends back, in order: {"stream": "stdout"|"stderr", "line": …} …, then {"exit": code}
Message = dict[str, Any]


class JobRefusedError(InputError):
    """A command line the server does not run as a job (HTTP 400), with the reason."""


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def prepare(args: Any, cwd: str, served: str) -> JobLine:
    """The command line ready to run, or JobRefusedError: a verb that cannot be a job, or one
    on another store than `served`."""
    from resolver.cli import app

    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise JobRefusedError("argv: expected a list of strings")
    if not cwd or not Path(cwd).is_absolute():
        raise JobRefusedError("cwd: expected the caller's absolute working directory")
    line = job_line(app, args, cwd)
    if line.verb in REFUSED:
        raise JobRefusedError(REFUSED[line.verb])
    if line.db is None:
        raise JobRefusedError(f"`{' '.join(line.verb)}` names no store (--db): run it without the server")
    if not _same_file(line.db, served):
        raise JobRefusedError(f"{line.db}: this server serves {served}; a job runs on the served store only")
    return line


def start(line: JobLine, service: Any, emit: Callable[[Message], None]) -> threading.Thread:
    """Run `line` in a new thread; `emit` gets its output lines, then its exit code."""
    thread = threading.Thread(target=_run, args=(line, service, emit), daemon=True,
                              name=f"job {' '.join(line.verb)}")
    thread.start()
    return thread


def _run(line: JobLine, service: Any, emit: Callable[[Message], None]) -> None:
    from resolver.cli.app import run

    hold(service.store.path)  # a read-only open of this store shares the server's connection
    code = 1
    log.info("job started: %s", " ".join(line.verb))
    try:
        with captured(lambda stream, text: emit({"stream": stream, "line": text})):
            with service.write_lock if line.writes else nullcontext():
                code = run(line.args, as_job=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:  # noqa: BLE001 - `run` answers for the command; this is the job machinery failing
        log.exception("job failed: %s", " ".join(line.verb))
        emit({"stream": "stderr", "line": "error: the job failed in the server; the server's log has the details"})
    finally:
        log.info("job finished: %s (exit %s)", " ".join(line.verb), code)
        emit({"exit": code})
