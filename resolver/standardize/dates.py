"""Dates in the formats departments type them, and status words, to canonical values."""

from __future__ import annotations

import datetime
import re
import unicodedata

_SEP_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^(\d{1,5})(?:\.0+)?$")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Serials outside 1900-03-01 .. 2099 are not dates anyone exported.
_SERIAL_RANGE = (61, 73050)

STATUS_DEFAULTS: dict[str, str] = {
    "存续": "active", "在业": "active", "开业": "active", "正常": "active", "在营": "active",
    "存续(在营、开业、在册)": "active", "active": "active",
    "注销": "cancelled", "已注销": "cancelled", "cancelled": "cancelled",
    "吊销": "revoked", "已吊销": "revoked", "吊销,未注销": "revoked", "吊销未注销": "revoked",
    "revoked": "revoked",
    "迁出": "moved_out", "已迁出": "moved_out", "moved_out": "moved_out",
    "非正常": "abnormal", "非正常户": "abnormal", "异常": "abnormal", "经营异常": "abnormal",
    "abnormal": "abnormal",
}
STATUSES = frozenset({"active", "cancelled", "revoked", "moved_out", "abnormal"})


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_date(raw: str | None) -> str | None:
    """ISO ``YYYY-MM-DD`` from 2014-07-15, 2014/7/15, 20140715, 2014年7月15日, 2014.7.15 or an Excel serial."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw).strip()
    if m := _SEP_DATE.match(text):
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _COMPACT.match(text):
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _SERIAL.match(text):
        serial = int(m.group(1))
        if _SERIAL_RANGE[0] <= serial <= _SERIAL_RANGE[1]:
            return (_EXCEL_EPOCH + datetime.timedelta(days=serial)).isoformat()
    return None


def normalize_status(raw: str | None, value_map: dict[str, str] | None = None) -> str | None:
    """Map a status word to active/cancelled/revoked/moved_out/abnormal; None if unknown."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw).strip()
    if value_map and text in value_map:
        return value_map[text]
    text = text.replace("（", "(").replace("）", ")").replace(" ", "")
    if text in STATUS_DEFAULTS:
        return STATUS_DEFAULTS[text]
    lowered = text.lower()
    if lowered in STATUSES:
        return lowered
    # Longer words first: 非正常 contains 正常, 吊销,未注销 contains 注销.
    for word in ("非正常", "异常", "吊销", "注销", "迁出", "存续", "在业", "开业", "正常"):
        if word in text:
            return STATUS_DEFAULTS[word]
    return None
