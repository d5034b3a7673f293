"""Person names: simplified characters, one middle dot, no spaces, and a pinyin blocking key."""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from importlib import resources

from resolver.standardize.text import is_blank, nfkc, to_simplified

# Separators typed between the parts of a transliterated name (阿卜杜·热合曼).
_DOTS = re.compile(r"[・･•.·‧∙⋅●。]+")
_SPACES = re.compile(r"\s+")
# OpenCC t2s merges these surname characters into other surnames (於→于, 乾→干).
_GUARDED = ("於", "乾")
_PLACEHOLDERS = "\ue000\ue001"
_NON_LETTERS = re.compile(r"[^a-z]")


def _guard(text: str) -> str:
    for ch, ph in zip(_GUARDED, _PLACEHOLDERS, strict=True):
        text = text.replace(ch, ph)
    return text


def _unguard(text: str) -> str:
    for ch, ph in zip(_GUARDED, _PLACEHOLDERS, strict=True):
        text = text.replace(ph, ch)
    return text


def tidy_person_name(text: str) -> str | None:
    """Dots and spaces only (no character conversion); None when nothing is left."""
    text = _DOTS.sub("·", _SPACES.sub("", nfkc(text))).strip("·")
    return text or None


def clean_person_name(raw: str | None) -> str | None:
    """Simplified name with one middle dot style and no spaces; surname 於/乾 kept."""
    if raw is None or is_blank(raw):
        return None
    text = tidy_person_name(raw)
    return _unguard(to_simplified(_guard(text))) if text else None


def simplify_person_names(tidied: list[str]) -> list[str]:
    """Batch t2s for names already tidied, with the surname guard."""
    from resolver.standardize.text import to_simplified_many

    return [_unguard(s) for s in to_simplified_many(_guard(t) for t in tidied)]


@lru_cache(maxsize=1)
def _surnames() -> dict[str, str]:
    text = resources.files("resolver.standardize").joinpath("data", "surname_pinyin.csv")
    lines = [ln for ln in text.read_text("utf-8").splitlines() if ln and not ln.startswith("#")]
    return {r["surname"]: r["pinyin"] for r in csv.DictReader(io.StringIO("\n".join(lines)))}


def name_pinyin(name: str | None) -> str | None:
    """Toneless pinyin of a cleaned name, surname read as a surname (单 → shan); for blocking."""
    if not name:
        return None
    surnames = _surnames()
    head = ""
    for length in (2, 1):
        if name[:length] in surnames:
            head, name = surnames[name[:length]], name[length:]
            break
    # imported here: pypinyin's import costs ~0.5 CPU s, and most processes that import this
    # package (train, resolve, unregistered, the CLI's --help) never read a name's pinyin
    from pypinyin import Style, lazy_pinyin

    tail = "".join(lazy_pinyin(name, style=Style.NORMAL, errors="default"))
    key = _NON_LETTERS.sub("", (head + tail).lower())
    return key or None
