"""Small scalar values: sex codes and numbers with Chinese units."""

from __future__ import annotations

import re
import unicodedata

_SEX = {"男": "M", "m": "M", "male": "M", "1": "M", "男性": "M",
        "女": "F", "f": "F", "female": "F", "2": "F", "0": "F", "女性": "F"}
_NUMBER = re.compile(r"^([-+]?\d+(?:\.\d+)?)\s*(万|亿|千)?")
_UNITS = {None: 1.0, "千": 1e3, "万": 1e4, "亿": 1e8}


def normalize_sex(raw: str | None) -> str | None:
    """M or F from 男/女, M/F, male/female, 1/2 (GB/T 2261); None when unknown."""
    if raw is None:
        return None
    return _SEX.get(unicodedata.normalize("NFKC", raw).strip().lower())


def parse_number(raw: str | None) -> float | None:
    """A number as typed (commas, 元 and spaces ignored); an explicit 万/亿 multiplies it."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw).replace(",", "").replace(" ", "").strip()
    m = _NUMBER.match(text)
    if not m:
        return None
    return float(m.group(1)) * _UNITS[m.group(2)]
