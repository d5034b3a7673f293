"""Addresses: province, city, district (current 2021+ Hangzhou codes), road, house number, rest."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from resolver.standardize.numerals import NUMERAL_CHARS, chinese_to_int
from resolver.standardize.regions import (
    Division,
    division_by_code,
    division_by_name,
    division_names,
    moved_town_code,
    original_code,
)
from resolver.standardize.text import clean_text, is_blank


class Address(NamedTuple):
    """The parts of one address."""

    address: str | None
    province: str | None
    city: str | None
    district: str | None
    district_code: str | None
    town: str | None
    road: str | None
    house_number: str | None
    rest: str | None


EMPTY = Address(None, None, None, None, None, None, None, None, None)

_NUM = rf"[0-9{NUMERAL_CHARS}]"
_TOWN = re.compile(r"^([^0-9路街道巷弄号]{1,8}?(?:街道|镇|乡))")
_ROAD = re.compile(rf"^([^0-9号]+?(?:大道|大街|路|街|巷|弄|胡同))(?=$|{_NUM}|\(|\d)")
_HOUSE = re.compile(rf"^({_NUM}+(?:-{_NUM}+)?)号")
_HAS_CN_NUMERAL = re.compile(f"[{NUMERAL_CHARS}]")
_OTHER_DISTRICT = re.compile(r"^([^0-9路街道巷弄号]{2,3}?(?:区|县|市))")
# Building parts typed in Chinese numerals: 三单元 → 3单元 (only before these words). A run
# of plain digits would come back unchanged, so only runs with a Chinese numeral match.
_PART = re.compile(rf"([0-9]*[{NUMERAL_CHARS}]{_NUM}*)(?=幢|栋|号楼|单元|楼|层|室|号|弄)")


def _to_digits(m: re.Match[str]) -> str:
    text = m.group(1)
    if text.isdigit():
        return text
    parts = [str(chinese_to_int(p)) if chinese_to_int(p) is not None else p
             for p in text.split("-")]
    return "-".join(parts)


@lru_cache(maxsize=1)
def _prefix_re() -> re.Pattern[str]:
    names = division_names("province") + division_names("city") + division_names("district")
    # Escaped: an alias with brackets (高新区(滨江)) is text to find, not a group
    return re.compile("^(" + "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)) + ")")


@lru_cache(maxsize=1)
def _prefix_run_re() -> re.Pattern[str]:
    """Up to three division names in a row, each chosen as _prefix_re would choose it."""
    one = _prefix_re().pattern.removeprefix("^")
    return re.compile("^" + one + one + "?" + one + "?")  # a fourth could only end the loop


def _admin_prefix(text: str) -> tuple[list[tuple[str, Division]], str]:
    """Strip leading division names; return what was found (as written) and the rest."""
    found, consumed = _accepted(_prefix_words(text))
    return list(found), text[consumed:]


def _prefix_words(text: str) -> tuple[str | None, ...]:
    m = _prefix_run_re().match(text)
    if m is None:
        return ()
    return m.groups()  # one group per copy of the alternation


@lru_cache(maxsize=4096)
def _accepted(words: tuple[str | None, ...]) -> tuple[tuple[tuple[str, Division], ...], int]:
    """The leading names that count as divisions, and how many characters they take."""
    found: list[tuple[str, Division]] = []
    consumed = 0
    for word in words:
        if word is None:
            break
        division = division_by_name(word)
        if division is None:
            break
        # A bare short district name counts only right after its city (杭州西湖…).
        if division.level == "district" and word == division.short and word[-1] not in "区县市":
            if not found or found[-1][1].code != division.parent_code:
                break
        if any(d.level == division.level for _, d in found):
            break
        found.append((word, division))
        consumed += len(word)
    return tuple(found), consumed


class _Divisions(NamedTuple):
    province: Division | None
    city: Division | None
    district: Division | None
    district_code: str | None
    outside: bool


@lru_cache(maxsize=4096)
def _divisions(words: tuple[str | None, ...], default_city: str) -> _Divisions:
    """Province, city and district from the leading names; a bare district means default_city's."""
    found = _accepted(words)[0]
    levels = {d.level: d for _, d in found}
    province, city, district = levels.get("province"), levels.get("city"), levels.get("district")
    district_code = None
    if district is not None:
        city_of_district = division_by_code(district.parent_code or "")
        default = division_by_name(default_city)
        if city is None or (city_of_district and city.code == city_of_district.code):
            city = city_of_district if city is not None or default is None or (
                default.code == district.parent_code) else None
        if city is None:
            district = None  # a district name of another city than default_city
        else:
            district_code = district.code
    outside = city is not None or (province is not None and province.name.endswith("市"))
    if city is not None and province is None:
        province = division_by_code(city.parent_code or "")
    return _Divisions(province, city, district, district_code, outside)


def parse_address(raw: str | None, default_city: str = "杭州市") -> Address:
    """Split an address into admin divisions and street parts; a bare district means default_city's."""
    if raw is None or is_blank(raw):
        return EMPTY
    return parse_cleaned_address(clean_text(raw), default_city)


def parse_cleaned_address(text: str, default_city: str = "杭州市") -> Address:
    """Parse an address already cleaned with text.clean_text."""
    if is_blank(text):
        return EMPTY
    if _HAS_CN_NUMERAL.search(text):
        text = _PART.sub(_to_digits, text)
    words = _prefix_words(text)
    found, consumed = _accepted(words)
    rest = text[consumed:]
    province, city, district, district_code, outside = _divisions(words, default_city)
    if district is None and outside and (m := _OTHER_DISTRICT.match(rest)):
        other = m.group(1)  # a district of a city outside our table: name only, no code
        rest = rest[m.end():]
    else:
        other = None
    town = None
    if m := _TOWN.match(rest):
        town, rest = m.group(1), rest[m.end():]
        written = next((w for w, d in found if d.level == "district"), None)
        old = original_code(written) if written else None
        moved = moved_town_code(old, town.removesuffix("街道").rstrip("镇乡")) if old else None
        if moved and (new := division_by_code(moved)):
            district, district_code = new, new.code
    road = house = None
    if m := _ROAD.match(rest):
        road, rest = m.group(1), rest[m.end():]
        if h := _HOUSE.match(rest):
            digits = h.group(1)
            house = (digits if digits.isdigit() else _to_digits(h)) + "号"
            rest = rest[h.end():]
    return Address(
        text,
        province.name if province else None,
        city.name if city else None,
        district.name if district else other,
        district_code,
        town,
        road,
        house,
        rest or None,
    )
