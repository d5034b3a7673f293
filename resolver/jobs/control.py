"""The control file `DB.serve.json`: a running server's pid, URL and control token.

`resolver serve` writes it once it listens and removes it when it stops cleanly. Its mode is
0600: whoever can read it is the store's local operator, and may run any verb inside the
server with its token. A file whose pid is gone (a killed server) is stale: ignored by the
CLI and replaced by the next server.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TOKEN_HEADER = "X-Resolver-Control"


@dataclass(frozen=True)
class Control:
    """What the control file holds."""

    pid: int
    url: str
    token: str
    started_at: str
    db: str


def control_path(db: str | Path) -> Path:
    """`DB.serve.json` beside the store file (the file itself, through any symlink: the server and
    the CLI may name it differently)."""
    db = Path(os.path.realpath(db))
    return db.with_name(db.name + ".serve.json")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def read_control(db: str | Path) -> Control | None:
    """The control file of `db` when a live process wrote it; None when absent, unreadable or stale."""
    try:
        data = json.loads(control_path(db).read_text(encoding="utf-8"))
        control = Control(**{k: data[k] for k in Control.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return control if pid_alive(control.pid) else None


def write_control(db: str | Path, url: str, token: str) -> Control:
    """Write the control file atomically (a reader sees the old file or the whole new one), mode 0600."""
    control = Control(pid=os.getpid(), url=url, token=token,
                      started_at=datetime.now(UTC).isoformat(timespec="seconds"), db=str(Path(db).resolve()))
    target = control_path(db)
    # mkstemp creates the file 0600 before anything is written into it
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(control), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return control


def remove_control(db: str | Path, token: str) -> None:
    """Remove the control file if it is still ours (its token)."""
    path = control_path(db)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("token") == token:
            path.unlink()
    except (OSError, ValueError):
        pass


def new_token() -> str:
    return secrets.token_urlsafe(32)


def local_url(host: str, port: int) -> str:
    """The URL a process on this machine reaches a server listening on `host`:`port` by."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_with_control(db: str | Path, app: Any, **uvicorn_options: Any) -> None:
    """`uvicorn.run(app, **uvicorn_options)` that writes the control file once listening and
    removes it when the server stops; the app checks job requests against its token
    (`app.state.control_token`)."""
    import uvicorn

    token = new_token()
    app.state.control_token = token

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                port = self.servers[0].sockets[0].getsockname()[1] if self.servers else self.config.port
                write_control(db, local_url(self.config.host, port), token)

        async def shutdown(self, sockets: Any = None) -> None:
            remove_control(db, token)  # first: no new job is sent to a server that is stopping
            await super().shutdown(sockets=sockets)

    server = Server(uvicorn.Config(app, **uvicorn_options))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        remove_control(db, token)
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run
