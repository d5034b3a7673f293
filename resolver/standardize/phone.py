"""Phone numbers: one normal form (13812345678, 0571-87654321) and mobile/landline kind."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import phonenumbers


class Phone(NamedTuple):
    """A normalised phone number."""

    number: str
    kind: str | None  # mobile / landline / other
    valid: bool


# Trunk area codes of Zhejiang's prefectures, for bare local numbers.
AREA_CODES = {"杭州": "0571", "宁波": "0574", "温州": "0577", "嘉兴": "0573", "湖州": "0572",
              "绍兴": "0575", "金华": "0579", "衢州": "0570", "舟山": "0580", "台州": "0576",
              "丽水": "0578"}
_SPLIT = re.compile(r"[,，;；/、|]|\s{2,}|或")
_EXTENSION = re.compile(r"(?:转|ext\.?|x|分机).*$", re.IGNORECASE)
_NOT_DIGIT = re.compile(r"\D")


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    # phonenumbers' own metadata for China, matched directly: parse() per value costs ~35 µs.
    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert meta is not None and meta.mobile and meta.fixed_line
    other = "|".join(
        d.national_number_pattern
        for d in (meta.toll_free, meta.shared_cost, meta.premium_rate, meta.voip, meta.uan)
        if d is not None and d.national_number_pattern
    )
    return (re.compile(meta.mobile.national_number_pattern or r"(?!)"),
            re.compile(meta.fixed_line.national_number_pattern or r"(?!)"),
            re.compile(other or r"(?!)"))


def area_code_of(city: str) -> str:
    """Area code of a Zhejiang prefecture by name (杭州市 → 0571); 0571 when unknown."""
    return AREA_CODES.get(city.removesuffix("市"), "0571")


def _national(digits: str, default_area_code: str) -> str:
    """Strip country prefixes and the trunk 0; bare local numbers get the default area code."""
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) in (10, 11, 12):
            digits = digits[len(prefix):]
            break
    if len(digits) in (7, 8) and not digits.startswith(("0", "1")):
        digits = default_area_code + digits
    return digits.removeprefix("0")


def _digits(raw: str) -> str:
    """The digits of the first phone in ``raw`` (NFKC; no extension)."""
    text = unicodedata.normalize("NFKC", raw).strip()
    first = next((p for p in _SPLIT.split(text) if p.strip()), "")
    return _NOT_DIGIT.sub("", _EXTENSION.sub("", first))


def parse_phone(raw: str | None, default_area_code: str = "0571") -> Phone | None:
    """Normalise the first phone in ``raw``; invalid numbers keep their digits and valid=False."""
    if raw is None:
        return None
    # Most cells are ASCII digits only, which every step of _digits leaves as they are (~4 µs).
    digits = raw if raw.isascii() and raw.isdigit() else _digits(raw)
    if not digits:
        return None
    mobile, fixed, other = _patterns()
    national = _national(digits, default_area_code.removeprefix("0"))
    if mobile.fullmatch(national):
        return Phone(national, "mobile", True)
    if fixed.fullmatch(national):
        # Area codes are 2 digits for 10 (Beijing) and 2x, 3 digits elsewhere.
        split = 2 if national[0] in "12" else 3
        return Phone(f"0{national[:split]}-{national[split:]}", "landline", True)
    if other.fullmatch(national):
        return Phone(national, "other", True)
    if len(national) == 11 and national.startswith("1"):
        # Mobile-shaped but outside the allocated ranges: still one form with or without +86,
        # so two departments writing the same number agree.
        return Phone(national, None, False)
    return Phone(digits, None, False)
