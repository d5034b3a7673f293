"""Phones: one normal form for mobiles and landlines."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.standardize import phone
from resolver.standardize.phone import Phone, parse_phone


@pytest.mark.parametrize(
    ("raw", "number", "kind", "valid"),
    [
        ("13812345678", "13812345678", "mobile", True),
        ("138 1234 5678", "13812345678", "mobile", True),
        ("+86 138-1234-5678", "13812345678", "mobile", True),
        ("0086 13812345678", "13812345678", "mobile", True),
        ("８７６５４３２１", "0571-87654321", "landline", True),  # bare 8 digits: 0571
        ("0571-87654321", "0571-87654321", "landline", True),
        ("(0571)87654321", "0571-87654321", "landline", True),
        ("057187654321", "0571-87654321", "landline", True),
        ("+86 571 8765 4321", "0571-87654321", "landline", True),
        ("0571-87654321转123", "0571-87654321", "landline", True),
        ("010-12345678", "010-12345678", "landline", True),
        ("13812345678/0571-87654321", "13812345678", "mobile", True),
        ("4008123123", "4008123123", "other", True),
        ("12345", "12345", None, False),
        ("8765432", "8765432", None, False),  # 7 digits: Hangzhou numbers have 8
    ],
)
def test_phone(raw, number, kind, valid):
    assert tuple(parse_phone(raw)) == (number, kind, valid)


def test_default_area_code():
    assert parse_phone("87654321", default_area_code="0574").number == "0574-87654321"


def test_no_digits():
    assert parse_phone("无") is None


@given(st.text(alphabet=st.sampled_from(list("0123456789+-() 转/")), max_size=20))
def test_idempotent(raw):
    once = parse_phone(raw)
    if once is not None:
        assert parse_phone(once.number) == once


def test_unallocated_mobile_range_keeps_one_form_with_or_without_country_code():
    forms = {parse_phone(raw) for raw in ("+86 179 6713 4602", "8617967134602", "17967134602", "0086-17967134602")}
    assert forms == {Phone("17967134602", None, False)}


@pytest.mark.parametrize("raw", ["13812345678", "057187654321", "87654321", "008613812345678", "8613812345678",
                                 "4008123456", "110", "0", "12345678901234567890"])
def test_digits_only_cells_skip_steps_that_leave_them_as_they_are(raw):
    # parse_phone takes ASCII digit strings as their own digits; the full steps must agree
    assert phone._digits(raw) == raw
