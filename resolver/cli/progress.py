"""Progress for long commands: one bar over named steps, on stderr, quiet when not a terminal."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def steps(total: int, desc: str) -> Iterator[tqdm]:
    """A bar over `total` named steps, advanced with `advance(bar, "what now")`.

    One step (training, scoring pairs) can take minutes, so the elapsed time is redrawn every
    second: a bar that does not move looks like a hung command."""
    bar = tqdm(total=total, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False,
               bar_format="{desc}: {n}/{total} {bar}{postfix} [{elapsed}]")
    done = threading.Event()
    ticker = None
    if not bar.disable:
        ticker = threading.Thread(target=_tick, args=(bar, done), daemon=True)
        ticker.start()
    try:
        yield bar
    finally:
        done.set()
        if ticker is not None:
            ticker.join()
        bar.close()


def _tick(bar: tqdm, done: threading.Event) -> None:
    while not done.wait(1.0):
        bar.refresh()


def advance(bar: tqdm, label: str) -> None:
    bar.set_postfix_str(label)
    bar.update()
