"""Text cleaning shared by every kind of value: NFKC, brackets, spaces, traditional → simplified."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import opencc

# NFKC already folds full-width （） and ［］; these have no compatibility mapping.
_BRACKETS = {"【": "(", "】": ")", "〔": "(", "〕": ")", "［": "(", "］": ")", "[": "(", "]": ")",
             "{": "(", "}": ")", "〖": "(", "〗": ")", "《": "(", "》": ")", "﹙": "(", "﹚": ")"}
# str.translate costs ~100 ns a character; most text has none of these, and a regex scan
# plus one str.replace per bracket that is there is ~10x cheaper on long joined text.
_BRACKET_CHAR = re.compile("[" + re.escape("".join(_BRACKETS)) + "]")
_SPACES = re.compile(r"\s+")
# Values departments type when they have nothing to say.
_EMPTY_MARKERS = frozenset({"", "*", "-", "--", "/", "\\", "无", "空", "null", "none", "nan", "n/a", "na", "#"})


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def nfkc(value: str) -> str:
    """Unicode NFKC: full-width letters, digits and brackets become their ordinary forms."""
    return unicodedata.normalize("NFKC", value)


def unify_brackets(value: str) -> str:
    """All bracket styles become ASCII round brackets."""
    if _BRACKET_CHAR.search(value) is None:
        return value
    for old, new in _BRACKETS.items():
        value = value.replace(old, new)
    return value


def remove_spaces(value: str) -> str:
    """Drop every kind of whitespace (Chinese names and addresses carry none)."""
    return _SPACES.sub("", value)


def to_simplified(value: str) -> str:
    """Traditional Chinese to simplified (OpenCC t2s)."""
    return _converter().convert(value)


def to_simplified_many(values: Iterable[str]) -> list[str]:
    """Convert many strings in one OpenCC call; much faster than one call per value."""
    items = list(values)
    if not items:
        return []
    joined = "\n".join(v.replace("\n", " ") for v in items)
    out = _converter().convert(joined).split("\n")
    if len(out) != len(items):  # defensive: never misalign rows
        return [to_simplified(v) for v in items]
    return out


def is_blank(value: object) -> bool:
    """True for None/NA and for placeholder values such as '', '*', '无'."""
    if type(value) is not str:
        return True
    stripped = value.strip()
    return len(stripped) <= 4 and stripped.lower() in _EMPTY_MARKERS


def clean_text(value: str, simplify: bool = True) -> str:
    """NFKC, one bracket style, no whitespace, optionally simplified."""
    text = remove_spaces(unify_brackets(nfkc(value)))
    return to_simplified(text) if simplify else text
