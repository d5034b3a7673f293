"""Store files this process holds open read-write (a server's store).

DuckDB refuses, in one process, a read-only connection beside a read-write one to the same
file. A verb that only reads opens its store read-only; run inside the server as a job
(resolver.jobs) it shares the server's instance instead (`open_store` asks `held`)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

_held: set[str] = set()
_lock = threading.Lock()


def hold(path: str | Path) -> None:
    with _lock:
        _held.add(os.path.realpath(path))


def held(path: str | Path) -> bool:
    return bool(_held) and os.path.realpath(path) in _held
