"""The attacker: from everything in one answer, how close does one get to each personal value?

Written without resolver's masking code: it knows the true values (read from the store before
the server starts) and reads the answer as an attacker would —

- clear text: every digit run, separators (space, dash, plus, brackets, slash, dot) removed
  (`+86 159 4632 5453` → `8615946325453`); a personal value inside one is a plain leak;
- masked values: any string with `*`; its visible characters fill the positions they hold,
  and all masked forms of one value are combined (an ID shown as region + last 4 in one
  place and region + birth date in another is rebuilt);
- dates in any form (`1979-10-05`, `19791005`, `1979/10/5`, `1979年10月5日`, an Excel serial,
  a year alone as in `1979-**-**`) fill the birth-date digits of an ID; sex fills the parity
  of its 17th digit; the check character of an 18-digit ID follows from the other 17.

`candidates` is the number of values still consistent with all that: 1 means rebuilt.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

_RUN = re.compile(r"\d[\d \-+()/.]*\d|\d")
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_YEAR_ONLY = re.compile(r"((?:19|20)\d{2})-\*\*-\*\*")
_MASKED = re.compile(r"[0-9A-Za-z*][0-9A-Za-z* \-+]*\*[0-9A-Za-z* \-+]*")
_SEX = {"M": 1, "F": 0, "男": 1, "女": 0}


def strings(answer: Any) -> Iterator[str]:
    """Every key and scalar of a JSON answer as text."""
    if isinstance(answer, dict):
        for k, v in answer.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(answer, list):
        for v in answer:
            yield from strings(v)
    elif answer is not None:
        yield str(answer)


@dataclass
class Answer:
    """What an attacker reads from one answer."""

    runs: set[str]
    masked: list[str]
    dates: set[str]  # YYYYMMDD
    years: set[str]
    sexes: set[int]

    @classmethod
    def read(cls, answer: Any) -> Answer:
        texts = list(strings(answer))
        runs: set[str] = set()
        masked: list[str] = []
        dates: set[str] = set()
        years: set[str] = set()
        sexes: set[int] = set()
        for text in texts:
            for m in _RUN.finditer(text):
                runs.add(re.sub(r"\D", "", m.group(0)))
            if "*" in text:
                masked += [re.sub(r"[ \-+]", "", m.group(0)) for m in _MASKED.finditer(text)]
            for m in _DATE.finditer(text):
                dates.add(f"{m.group(1)}{int(m.group(2)):02d}{int(m.group(3)):02d}")
            years.update(m.group(1) for m in _YEAR_ONLY.finditer(text))
            if text in _SEX:
                sexes.add(_SEX[text])
        for run in list(runs):
            if len(run) == 8 and _is_date(run):
                dates.add(run)
            if len(run) == 5 and 10000 <= int(run) <= 60000:  # Excel's day count
                dates.add((datetime.date(1899, 12, 30) + datetime.timedelta(days=int(run))).strftime("%Y%m%d"))
        years |= {d[:4] for d in dates}
        return cls(runs, masked, dates, years, sexes)

    def in_clear(self, digits: str) -> bool:
        return any(digits in run for run in self.runs)


def _is_date(text: str) -> bool:
    try:
        datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return 1900 <= int(text[:4]) <= 2030


_ALL_DATES = [(datetime.date(1900, 1, 1) + datetime.timedelta(days=i)).strftime("%Y%m%d")
              for i in range((datetime.date(2030, 12, 31) - datetime.date(1900, 1, 1)).days + 1)]


# one row of characters per date: a count is a few column comparisons, not 48,000 Python loops
_DATE_CHARS = np.array([list(d) for d in _ALL_DATES])


@lru_cache(maxsize=4096)
def _dates_like(known: tuple[str | None, ...]) -> int:
    """How many real dates YYYYMMDD agree with the known digits."""
    agree = np.ones(len(_DATE_CHARS), dtype=bool)
    for i, k in enumerate(known):
        if k is not None:
            agree &= _DATE_CHARS[:, i] == k
    return int(agree.sum())


def _fill(known: list[str | None], secret: str, pattern: str, offset: int = 0) -> None:
    """Visible characters of a masked `pattern` that agree with `secret` at `offset` are known."""
    if any(c != "*" and secret[offset + i] != c.upper() for i, c in enumerate(pattern)):
        return  # another value's mask
    for i, c in enumerate(pattern):
        if c != "*":
            known[offset + i] = c.upper()


def id_candidates(secret: str, answer: Answer) -> int:
    """Values of a resident ID (18 characters), or of a 20-digit tax number embedding one,
    consistent with the answer."""
    secret = secret.upper()
    if answer.in_clear(secret[:17]) or answer.in_clear(secret[:6] + secret[8:17]):
        return 1
    known: list[str | None] = [None] * len(secret)
    for p in answer.masked:
        if len(p) == len(secret):
            _fill(known, secret, p)
        elif len(p) == 15 and len(secret) >= 18:  # the first-generation 15-digit form
            short = secret[:6] + secret[8:17]
            part: list[str | None] = [None] * 15
            _fill(part, short, p)
            for i, c in enumerate(part):
                if c is not None:
                    known[i if i < 6 else i + 2] = c
        elif len(p) in (18, 20) and len(secret) in (18, 20):  # an ID inside a tax number, or the reverse
            _fill(known, secret, p[:min(len(p), len(secret))])
    if len(secret) >= 18 and answer.in_clear(secret[8:17]):  # what follows the region in the 15-digit form
        known[8:17] = list(secret[8:17])
    birth = secret[6:14]
    for d in answer.dates:
        if d == birth:
            known[6:14] = list(birth)
    for y in answer.years:
        if y == birth[:4]:
            known[6:10] = list(y)
    n = _dates_like(tuple(known[6:14]))
    for i in (*range(6), 14, 15):
        n *= 1 if known[i] is not None else 10
    if known[16] is None:
        n *= 5 if any(s == int(secret[16]) % 2 for s in answer.sexes) else 10
    if known[17] is not None and None in known[:17]:
        n = max(1, n // 11)  # a visible check character rules out 10 of every 11 fillings
    for i in range(18, len(secret)):
        n *= 1 if known[i] is not None else 10
    return n


def phone_candidates(digits: str, answer: Answer) -> int:
    """Values of a phone (its digits, area code included) consistent with the answer."""
    if answer.in_clear(digits):
        return 1
    known: list[str | None] = [None] * len(digits)
    for p in answer.masked:
        p = p[2:] if p.startswith("86") and len(p) == len(digits) + 2 else p
        if len(p) == len(digits) and set(p) <= set("0123456789*"):
            _fill(known, digits, p)
    return 10 ** sum(k is None for k in known)


def date_candidates(date: str, answer: Answer, ids: list[str]) -> int:
    """Values of a birth date (YYYY-MM-DD) consistent with the answer and the IDs' visible digits."""
    digits = date.replace("-", "")
    if digits in answer.dates:
        return 1
    known: list[str | None] = [digits[:4][i] if digits[:4] in answer.years else None for i in range(4)] + [None] * 4
    for secret in ids:
        if secret[6:14] != digits:
            continue
        for p in answer.masked:
            if len(p) == len(secret):
                part: list[str | None] = [None] * len(secret)
                _fill(part, secret.upper(), p)
                known = [k if k is not None else part[6 + i] for i, k in enumerate(known)]
    return _dates_like(tuple(known))

