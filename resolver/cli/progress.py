"""Progress for long commands: one bar over named steps, on stderr, quiet when not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def steps(total: int, desc: str) -> Iterator[tqdm]:
    """A bar advanced with `bar.step("what now")`-style calls: `bar.set_postfix_str(..); bar.update()`."""
    bar = tqdm(total=total, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False,
               bar_format="{desc}: {n}/{total} {bar} {postfix} [{elapsed}]")
    try:
        yield bar
    finally:
        bar.close()


def advance(bar: tqdm, label: str) -> None:
    bar.set_postfix_str(label)
    bar.update()
