"""Chinese numerals to digits (一百二十 → 120), for house numbers and building parts."""

from __future__ import annotations

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS)


def chinese_to_int(text: str) -> int | None:
    """Value of a Chinese numeral (一百二十, 十五, 二〇八); None if it is not one."""
    if not text or any(c not in _DIGITS and c not in _UNITS for c in text):
        return None
    if not any(c in _UNITS for c in text):  # digit by digit: 二〇八 → 208
        return int("".join(str(_DIGITS[c]) for c in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current
