"""Word tokens of enterprise name cores, with a user dictionary of trade names."""

from __future__ import annotations

import functools
import logging
import marshal
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from resolver.standardize.enterprise_name import parse_enterprise_name

if TYPE_CHECKING:
    import jieba

# Frequency given to learned trade names: high enough that jieba keeps 海康威视 whole
# instead of cutting it into 海康/威视.
_TRADE_NAME_FREQ = 100_000
_MAX_CACHE = 2_000_000


def build_trade_name_dictionary(names: Iterable[str | None]) -> set[str]:
    """Trade names (字号) of two to eight characters found in raw enterprise names."""
    found: set[str] = set()
    for raw in names:
        trade = parse_enterprise_name(raw).trade_name
        if trade and 2 <= len(trade) <= 8:
            found.add(trade)
    return found


@functools.cache
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's own dictionary (prefix frequencies, total), read once per process: every ingest,
    standardized frame and server makes a tokenizer."""
    # imported here: jieba's import costs ~0.4 CPU s (it imports pkg_resources), and most
    # processes that import this package (train, resolve, --help) never cut a name
    import jieba

    jieba.setLogLevel(logging.WARNING)
    base = jieba.Tokenizer()
    cached = _read_jieba_cache(base)
    if cached is not None:
        return cached
    base.initialize()  # no readable cache: jieba builds the dictionary and writes its cache
    return base.FREQ, base.total


def _read_jieba_cache(base: jieba.Tokenizer) -> tuple[dict[str, int], int] | None:
    """jieba's cache of its default dictionary, read whole then unmarshalled: jieba's own
    `marshal.load(file)` reads it in small pieces, 1.5 CPU s against 0.35 s for the same data."""
    import jieba

    if base.dictionary != jieba.DEFAULT_DICT:
        return None
    path = os.path.join(base.tmp_dir or tempfile.gettempdir(), base.cache_file or "jieba.cache")
    try:
        freq, total = marshal.loads(Path(path).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return (freq, total) if isinstance(freq, dict) and isinstance(total, int) else None


class NameTokenizer:
    """A private jieba tokenizer that knows the given trade names as words."""

    def __init__(self, trade_names: Iterable[str] = ()):
        import jieba

        freq, total = _base_dictionary()
        self._jieba = jieba.Tokenizer()
        # A copy (~15 ms for 0.5M words): add_word writes into it, and one tokenizer's trade
        # names must not reach another's.
        self._jieba.FREQ, self._jieba.total = dict(freq), total
        self._jieba.initialized = True
        self._known: set[str] = set()
        self._cache: dict[str, list[str]] = {}
        self.add_trade_names(trade_names)

    def add_trade_names(self, words: Iterable[str]) -> None:
        """Teach the tokenizer more trade names."""
        new = [w for w in words if w and w not in self._known]
        # What jieba's add_word(word, freq) does for a str word and a tokenizer already
        # initialized, without its per-call overhead (~1 s for 100k new names): the word with its
        # frequency, then each prefix not yet known with 0.
        freq = self._jieba.FREQ
        for word in new:
            freq[word] = _TRADE_NAME_FREQ
            for end in range(1, len(word)):
                freq.setdefault(word[:end], 0)
        self._jieba.total += _TRADE_NAME_FREQ * len(new)
        self._known.update(new)
        if new:
            self._cache.clear()

    def tokens(self, core: str | None, trade_name: str | None = None) -> list[str]:
        """jieba tokens of a name core (HMM off: unknown runs stay single characters)."""
        if not core:
            return []
        if trade_name and core.startswith(trade_name) and trade_name in self._known:
            # The trade name is a dictionary word, so it is one token; only the rest (a few
            # hundred distinct industry phrases) needs cutting, and that is cached.
            rest = core[len(trade_name):]
            return [trade_name, *(self._cut(rest) if rest else ())]
        return list(self._cut(core))

    def _cut(self, core: str) -> list[str]:
        cached = self._cache.get(core)
        if cached is None:
            cached = [t for t in self._jieba.lcut(core, HMM=False) if t.strip("() ")]
            if len(self._cache) < _MAX_CACHE:
                self._cache[core] = cached
        return cached
