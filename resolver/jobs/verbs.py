"""Which verbs run as jobs, and a command line made ready to run in the server: its verb,
its store, and its relative paths made absolute against the caller's working directory (the
server has its own)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resolver.errors import InputError

# Verbs that only read the store: they run beside writers, without the write lock. (`blocking stats`
# has no verb yet: named ahead of it, so that it never waits.)
READS = {("export", "members"), ("export", "golden"), ("export", "open"), ("unregistered",), ("evaluate",),
         ("model", "show"), ("model", "diff"), ("inventory",), ("blocking", "stats"), ("review", "list"),
         ("verify",)}
# Verbs a job cannot be, with the reason.
REFUSED = {("serve",): "`serve` cannot run inside a server; this store is served already",
           ("demo",): "`demo` builds its own store; run it without a server on that folder"}
# Verbs the CLI runs itself beside a server: they use no DuckDB store (keys and audit live in
# SQLite beside it), or no store at all.
LOCAL = {("keys",), ("audit",), ("standardize",)}


@dataclass(frozen=True)
class JobLine:
    """A command line ready to run in the server."""

    args: list[str]
    verb: tuple[str, ...]
    db: Path | None

    @property
    def writes(self) -> bool:
        """Anything not known to only read takes the write lock (a new verb is safe by default)."""
        return self.verb not in READS


def is_local(verb: tuple[str, ...]) -> bool:
    return verb[:1] in LOCAL


def _command(app: Any) -> Any:
    import typer.main

    return typer.main.get_command(app)


def job_line(app: Any, args: list[str], cwd: str | Path) -> JobLine:
    """`args` with every path-valued option and argument made absolute against `cwd`.

    Walks the command tree of `app` as click parses it (group options before the verb, then the
    verb's options, `--opt value` or `--opt=value`, and its arguments in order); the full parse
    happens when the job runs."""
    cwd = Path(cwd)
    command = _command(app)
    out: list[str] = []
    verb: list[str] = []
    at = 0
    while hasattr(command, "commands"):  # a group: its options (flags), then the verb
        if at >= len(args):
            raise InputError("no verb given")
        token = args[at]
        at += 1
        out.append(token)
        if token.startswith("-"):
            continue
        sub = command.commands.get(token)
        if sub is None:
            raise InputError(f"no such verb: {token!r}")
        verb.append(token)
        command = sub
    options = {name: p for p in command.params if p.param_type_name == "option"
               for name in [*p.opts, *p.secondary_opts]}
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    db: Path | None = None
    only_positional = False
    placed = 0

    def absolute(param: Any, value: str) -> str:
        nonlocal db
        if param is None or not param.type_descriptor.is_path or not value or value == "-":
            return value
        path = Path(value) if Path(value).is_absolute() else cwd / value
        if param.name == "db":
            db = path
        return str(path)

    while at < len(args):
        token = args[at]
        at += 1
        if not only_positional and token == "--":
            only_positional = True
            out.append(token)
            continue
        if not only_positional and token.startswith("-") and len(token) > 1:
            name, eq, value = token.partition("=")
            param = options.get(name)
            if param is None or getattr(param, "is_flag", False) or getattr(param, "count", False):
                out.append(token)
            elif eq:
                out.append(f"{name}={absolute(param, value)}")
            else:
                out.append(token)
                if at < len(args):
                    out.append(absolute(param, args[at]))
                    at += 1
            continue
        param = arguments[placed] if placed < len(arguments) else None
        out.append(absolute(param, token))
        if param is not None and param.nargs != -1:
            placed += 1
    return JobLine(out, tuple(verb), db)
