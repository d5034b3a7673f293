"""Chinese identifiers: USCC, organization code, registration number, tax number, resident ID.

Every normaliser returns ``(value, valid)``. An invalid value is kept as typed (trimmed,
upper-cased, separators removed) and flagged; it is never "repaired" into a different ID.
"""

from __future__ import annotations

import datetime
import operator
import re
import unicodedata
from functools import lru_cache
from typing import Any, NamedTuple

from stdnum.cn import ric as _stdnum_ric
from stdnum.iso7064 import mod_11_10

from resolver.standardize.regions import known_region_code

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_RE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}")
_ORG_RE = re.compile(r"[0-9A-Z]{8}[0-9X]")
_SEPARATORS = re.compile(r"[\s\-_./·]+")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUES = {c: int(c, 36) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


class ResidentId(NamedTuple):
    """A resident ID in 18-digit form with what it tells about its holder."""

    number: str
    valid: bool
    birth_date: str | None
    sex: str | None
    region: str | None


def compact(raw: str) -> str:
    """NFKC, upper-case, separators and spaces removed: the form every ID is compared in."""
    if raw.isascii() and raw.isalnum():  # the common case, ~10x cheaper
        return raw.upper()
    code = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()
    # upper() can undo NFKC outside ASCII (a´ → Á); normalise again so compact is idempotent.
    return code if code.isascii() else _SEPARATORS.sub("", unicodedata.normalize("NFKC", code))


# --- unified social credit code (GB 32100-2015) ---------------------------------------


_USCC_VALUES = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """Check character of a USCC from its first 17 characters (GB 32100 weights, mod 31)."""
    # Same arithmetic as stdnum.cn.uscc.calc_check_digit, which spends ~100 µs in compact().
    total = sum(map(operator.mul, map(_USCC_VALUES.__getitem__, first17), _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is an 18-character USCC with a correct check character."""
    # stdnum.cn.uscc.validate demands 8 leading digits and so rejects codes issued by
    # authorities with letter codes (N2… farmer co-operatives, Y1… others) — GB 32100
    # allows any code character in positions 1-2.
    return bool(_USCC_RE.fullmatch(code)) and code[17] == uscc_check_char(code[:17])


def normalize_uscc(raw: str) -> tuple[str, bool]:
    """Compact a USCC and check it."""
    code = compact(raw)
    return code, is_valid_uscc(code)


# --- organization code (GB 11714-1997) -------------------------------------------------


def org_code_check_char(first8: str) -> str:
    """Check character of an organization code from its first 8 characters."""
    total = sum(map(operator.mul, map(_ORG_VALUES.__getitem__, first8), _ORG_WEIGHTS))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def is_valid_org_code(code: str) -> bool:
    """True if ``code`` is a 9-character organization code (no hyphen) with a correct check."""
    return bool(_ORG_RE.fullmatch(code)) and code[8] == org_code_check_char(code[:8])


def normalize_org_code(raw: str) -> tuple[str, bool]:
    """Remove the hyphen (12345678-9 → 123456789) and check the code."""
    code = compact(raw)
    return code, is_valid_org_code(code)


def org_code_from_uscc(code: str) -> str | None:
    """The organization code embedded in a USCC (characters 9-17), if it is an 18-char code."""
    return code[8:17] if len(code) == 18 else None


def org_code_from_tax_id(code: str) -> str | None:
    """The organization code in a 15-character tax number (region + org code) or an 18-char one."""
    if len(code) == 15 and code[:6].isdigit():
        return code[6:]
    return org_code_from_uscc(code)


# --- registration number (15 digits, ISO 7064 MOD 11,10) --------------------------------


def is_valid_reg_no(code: str) -> bool:
    """True if ``code`` is a 15-digit business registration number with a correct check digit."""
    return len(code) == 15 and code.isdigit() and code.isascii() and mod_11_10.is_valid(code)


def normalize_reg_no(raw: str) -> tuple[str, bool]:
    """Compact a registration number and check it."""
    code = compact(raw)
    return code, is_valid_reg_no(code)


# --- resident ID (GB 11643-1999) -------------------------------------------------------


def resident_id_check_char(first17: str) -> str:
    """Check character of an 18-digit resident ID from its first 17 digits."""
    return _stdnum_ric.calc_check_digit(first17 + "0")


def resident_id_15_to_18(code: str) -> str:
    """Convert a first-generation 15-digit ID (born 19xx) to its 18-digit form."""
    first17 = code[:6] + "19" + code[6:]
    return first17 + resident_id_check_char(first17)


@lru_cache(maxsize=65536)
def _region_valid(region: str) -> bool:
    """True if the 6-digit code is, or ever was, a county-level division."""
    # Not stdnum.cn.ric.validate: (1) it raises KeyError instead of failing for codes its
    # database lacks, e.g. 330113 临平区 and 330114 钱塘区 created in 2021; (2) it rejects a
    # code that did not exist in the holder's birth year, but the region in an ID is where
    # it was issued (from 1984 on), so everyone born in 西湖区 (330106, 1983-) before 1983
    # would be "invalid".
    info = {k: v for _, props in _numdb().info(region) for k, v in props.items()}
    return "county" in info or known_region_code(region)


@lru_cache(maxsize=1)
def _numdb() -> Any:
    from stdnum import numdb

    return numdb.get("cn/loc")


@lru_cache(maxsize=65536)
def _birth_date(digits: str) -> datetime.date | None:
    """Birth date from the 8 digits YYYYMMDD of an 18-digit ID, if it is a real past date."""
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    return born if datetime.date(1870, 1, 1) <= born <= datetime.date.today() else None


def is_valid_resident_id(code: str) -> bool:
    """True for an 18-digit ID with a correct check, a real birth date and a known region."""
    if len(code) != 18 or not code[:17].isdigit() or not code.isascii():
        return False
    if code[17] != resident_id_check_char(code[:17]):
        return False
    born = _birth_date(code[6:14])
    return born is not None and _region_valid(code[:6])


def parse_resident_id(raw: str) -> ResidentId:
    """Normalise a resident ID (15 → 18 digits) and read birth date, sex and region from it."""
    code = compact(raw)
    if len(code) == 15 and code.isdigit() and code.isascii():
        code = resident_id_15_to_18(code)
    if not is_valid_resident_id(code):
        return ResidentId(code, False, None, None, None)
    born = _birth_date(code[6:14])
    sex = "M" if int(code[16]) % 2 else "F"
    return ResidentId(code, True, born.isoformat() if born else None, sex, code[:6])


def birth_date_for_blocking(stated: str | None, from_id: str | None, number: str | None) -> str | None:
    """The stated birth date, else the one in the ID, else the ID's birth section read even
    though its check fails (a typo elsewhere in the number leaves the date intact).

    One column holding either, so a record that states only its birth date meets one whose
    birth date comes only from its ID number: blocking compares one column on both sides.
    """
    if stated:
        return stated
    if from_id:
        return from_id
    if number and len(number) == 18 and number[:14].isdigit() and number.isascii():
        born = _birth_date(number[6:14])
        return born.isoformat() if born else None
    return None


def normalize_resident_id(raw: str) -> tuple[str, bool]:
    """Normalise a resident ID to 18 digits and check it."""
    parsed = parse_resident_id(raw)
    return parsed.number, parsed.valid


# --- tax number ------------------------------------------------------------------------


def parse_tax_id(raw: str) -> tuple[str, bool, str | None]:
    """Compact a tax number; return ``(value, valid, kind)`` with kind uscc/region_org/personal.

    Personal tax numbers (个体工商户 taxed under the operator's resident ID) come as the ID itself
    (18 or 15 digits) or followed by a 2-digit serial (20 or 17). Fifteen digits are read as
    region + organization code when the code's check passes, else as an old resident ID when
    its region and birth date are real: the two forms share a length and cannot always be told
    apart, and the check character is the stronger evidence.
    """
    code = compact(raw)
    if len(code) == 18:
        if is_valid_uscc(code):
            return code, True, "uscc"
        if is_valid_resident_id(code):  # individuals may file under their ID number
            return code, True, "personal"
        return code, False, "uscc"
    if len(code) == 15:
        if code[:6].isdigit() and code.isascii() and is_valid_org_code(code[6:]):
            return code, True, "region_org"
        if is_old_resident_id(code):
            return code, True, "personal"
        return code, False, "region_org"
    if len(code) == 20:
        return code, code[18:].isdigit() and is_valid_resident_id(code[:18]), "personal"
    if len(code) == 17 and code.isdigit() and code.isascii() and is_old_resident_id(code[:15]):
        return code, True, "personal"
    return code, False, None


def is_old_resident_id(code: str) -> bool:
    """True for 15 digits that convert to a valid 18-digit ID (real region and birth date)."""
    return code.isdigit() and code.isascii() and is_valid_resident_id(resident_id_15_to_18(code))


def operator_id_from_tax_id(code: str | None, kind: str | None) -> str | None:
    """The operator's 18-digit resident ID inside a valid personal tax number, else None."""
    if kind != "personal" or not code:
        return None
    if len(code) in (15, 17):
        return resident_id_15_to_18(code[:15])
    return code[:18]
