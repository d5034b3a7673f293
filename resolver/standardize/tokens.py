"""Word tokens of enterprise name cores, with a user dictionary of trade names."""

from __future__ import annotations

import logging
import marshal
import os
import tempfile
from collections.abc import Iterable

import jieba

from resolver.standardize.enterprise_name import parse_enterprise_name

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


def _initialize(tokenizer: jieba.Tokenizer) -> None:
    """jieba's `initialize`, its dictionary cache read whole: its own marshal.load(file) reads
    the 9 MB file piece by piece, 1.5 CPU s against 0.35 s for marshal.loads of the bytes (the
    same dictionary). Without a cache (or a custom dictionary) jieba builds and writes it."""
    path = os.path.join(tokenizer.tmp_dir or tempfile.gettempdir(), "jieba.cache")
    if tokenizer.dictionary == jieba.DEFAULT_DICT and not tokenizer.cache_file and os.path.isfile(path):
        try:
            with open(path, "rb") as f:
                tokenizer.FREQ, tokenizer.total = marshal.loads(f.read())
            tokenizer.initialized = True
            return
        except Exception:  # noqa: BLE001 (a broken cache: jieba rebuilds it, as its own load does)
            pass
    tokenizer.initialize()


class NameTokenizer:
    """A private jieba tokenizer that knows the given trade names as words."""

    def __init__(self, trade_names: Iterable[str] = ()):
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        _initialize(self._jieba)
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
