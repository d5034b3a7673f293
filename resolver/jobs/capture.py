"""Each job's stdout and stderr, apart from the server's and from other jobs'.

`redirect_stdout` swaps `sys.stdout` for the whole process: two jobs, or a job and the
server's own prints, would mix. Here `sys.stdout` and `sys.stderr` become proxies, installed
once, that send what a job's thread writes to that job's sink and everything else to the
real stream. The server's log handlers hold the real streams and never pass through them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# the line, and "stdout" or "stderr"
Emit = Callable[[str, str], None]

_sinks: dict[int, _Sink] = {}  # thread ident → the job running in it
_install_lock = threading.Lock()


class _Sink:
    """One job's output, passed on a whole line at a time."""

    def __init__(self, emit: Emit):
        self.emit = emit
        self.partial = {"stdout": "", "stderr": ""}

    def write(self, stream: str, text: str) -> None:
        *lines, self.partial[stream] = (self.partial[stream] + text).split("\n")
        for line in lines:
            self.emit(stream, line)

    def flush(self) -> None:
        for stream, rest in self.partial.items():
            if rest:
                self.emit(stream, rest)
            self.partial[stream] = ""


class _ThreadRouted:
    """A text stream that writes to the current thread's job, if it runs one, else to `real`."""

    def __init__(self, real: TextIO, name: str):
        self._real = real
        self._name = name

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # a text stream refuses bytes (click probes with b"")
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        sink = _sinks.get(threading.get_ident())
        if sink is None:
            return self._real.write(text)
        sink.write(self._name, text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in _sinks:
            self._real.flush()

    def isatty(self) -> bool:  # a job's output is not a terminal: no progress bars, no colours
        return threading.get_ident() not in _sinks and self._real.isatty()

    @property
    def encoding(self) -> str:
        return "utf-8" if threading.get_ident() in _sinks else (self._real.encoding or "utf-8")

    @property
    def errors(self) -> str:
        return getattr(self._real, "errors", None) or "strict"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install() -> None:
    """Put the routing proxies in place of sys.stdout and sys.stderr (once per process)."""
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadRouted):
            sys.stdout = _ThreadRouted(sys.stdout, "stdout")  # type: ignore[assignment]
        if not isinstance(sys.stderr, _ThreadRouted):
            sys.stderr = _ThreadRouted(sys.stderr, "stderr")  # type: ignore[assignment]


@contextmanager
def captured(emit: Emit) -> Iterator[None]:
    """While inside, what this thread prints goes to `emit(stream, line)`, a line at a time."""
    install()
    sink = _sinks[threading.get_ident()] = _Sink(emit)
    try:
        yield
    finally:
        sink.flush()
        del _sinks[threading.get_ident()]
