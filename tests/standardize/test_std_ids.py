"""Identifiers: check characters, normal forms, derivations and the stdnum bugs we wrap."""

import pytest
import stdnum.iso7064.mod_11_10 as mod_11_10
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from resolver.standardize import ids

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@pytest.mark.parametrize(
    ("raw", "value", "valid"),
    [
        ("91110000600037341L", "91110000600037341L", True),  # stdnum's own example
        ("91330000733796106P", "91330000733796106P", True),
        (" 9133 0000 7337 9610 6p ", "91330000733796106P", True),
        ("９１３３００００７３３７９６１０６Ｐ", "91330000733796106P", True),  # full-width
        ("N2330100MA2B00000L", "N2330100MA2B00000L", True),  # farmer co-operative (农业)
        ("Y1330100MA2B00019C", "Y1330100MA2B00019C", True),  # "other" authority
        ("91330000733796106Q", "91330000733796106Q", False),  # wrong check, kept raw
        ("91330000733796106", "91330000733796106", False),  # too short
        ("91330000733796I06P", "91330000733796I06P", False),  # I is not a code character
    ],
)
def test_uscc(raw, value, valid):
    assert ids.normalize_uscc(raw) == (value, valid)


def test_stdnum_uscc_rejects_letter_authorities_we_accept():
    # stdnum demands 8 leading digits; GB 32100 allows letters in positions 1-2.
    for code in ("N2330100MA2B00000L", "Y1330100MA2B00019C"):
        assert not stdnum_uscc.is_valid(code)
        assert ids.is_valid_uscc(code)


@pytest.mark.parametrize(
    ("raw", "value", "valid"),
    [
        ("60003734-1", "600037341", True),
        ("600037341", "600037341", True),
        ("73379610-6", "733796106", True),
        ("73379610-7", "733796107", False),
        ("7337961", "7337961", False),
    ],
)
def test_org_code(raw, value, valid):
    assert ids.normalize_org_code(raw) == (value, valid)


def test_reg_no():
    assert ids.normalize_reg_no("330100000012342") == ("330100000012342", True)
    assert ids.normalize_reg_no("330100000012343") == ("330100000012343", False)
    assert ids.normalize_reg_no("33010000001234") == ("33010000001234", False)


@pytest.mark.parametrize(
    ("raw", "kind", "valid"),
    [
        ("91330000733796106P", "uscc", True),
        ("330100733796106", "region_org", True),
        ("330100733796107", "region_org", False),
        ("11010519491231002X", "personal", True),
        ("11010519491231002X01", "personal", True),
        ("11010519491231002101", "personal", False),
        ("1234", None, False),
    ],
)
def test_tax_id(raw, kind, valid):
    value, ok, k = ids.parse_tax_id(raw)
    assert (k, ok) == (kind, valid)
    assert value == ids.compact(raw)


def test_uscc_and_old_tax_number_share_the_org_code():
    uscc = "91330000733796106P"
    assert ids.org_code_from_uscc(uscc) == "733796106"
    assert ids.org_code_from_tax_id("330100733796106") == "733796106"
    assert ids.org_code_from_tax_id(uscc) == "733796106"


def test_resident_id_15_to_18_known_value():
    assert ids.resident_id_15_to_18("110105491231002") == "11010519491231002X"
    parsed = ids.parse_resident_id("110105491231002")
    assert parsed == ("11010519491231002X", True, "1949-12-31", "F", "110105")


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("11010519491231002x", True),  # lower-case x is upper-cased
        ("11010519491231002X", True),
        ("110105194912310021", False),  # wrong check
        ("110105194902300025", False),  # 30 February, check digit right
        ("999999199001011238", False),  # no such region
    ],
)
def test_resident_id(raw, valid):
    assert ids.parse_resident_id(raw).valid is valid


def _with_check(first17: str) -> str:
    return first17 + ids.resident_id_check_char(first17)


def test_stdnum_ric_raises_for_2021_districts_we_accept():
    for region in ("330113", "330114"):  # 临平区, 钱塘区 (2021)
        code = _with_check(region + "19900101123")
        with pytest.raises(KeyError):
            stdnum_ric.is_valid(code)
        assert ids.parse_resident_id(code).valid


def test_stdnum_ric_rejects_people_born_before_their_district_code():
    # 330106 西湖区 exists since 1983; an ID issued there to someone born in 1961 is real.
    code = _with_check("33010619611003404")
    assert not stdnum_ric.is_valid(code)
    assert ids.parse_resident_id(code).valid


# --- properties ---------------------------------------------------------------------------

uscc_bodies = st.tuples(
    st.text(USCC_CHARS, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(USCC_CHARS, min_size=9, max_size=9),
).map("".join)
org_bodies = st.text(ORG_CHARS, min_size=8, max_size=8)
birth_dates = st.dates(min_value=__import__("datetime").date(1900, 1, 1),
                       max_value=__import__("datetime").date(1999, 12, 31))
regions = st.sampled_from(["110105", "330106", "330102", "330113", "330114", "330104"])
resident_ids = st.builds(
    lambda r, d, s: _with_check(r + d.strftime("%Y%m%d") + f"{s:03d}"),
    regions, birth_dates, st.integers(0, 999),
)


def _change_one(code: str, position: int, alphabet: str, data) -> str:
    other = data.draw(st.sampled_from([c for c in alphabet if c != code[position]]))
    return code[:position] + other + code[position + 1:]


@settings(max_examples=200)
@given(uscc_bodies, st.data())
def test_uscc_generated_valid_and_any_single_change_fails(body, data):
    code = body + ids.uscc_check_char(body)
    assert ids.is_valid_uscc(code)
    assert ids.normalize_uscc(code) == (code, True)
    position = data.draw(st.integers(0, 17))
    alphabet = "0123456789" if 2 <= position < 8 else USCC_CHARS
    assert not ids.is_valid_uscc(_change_one(code, position, alphabet, data))


@settings(max_examples=200)
@given(st.text("0123456789", min_size=8, max_size=8), st.data())
def test_org_code_generated_valid_and_any_single_digit_change_fails(body, data):
    code = body + ids.org_code_check_char(body)
    assert ids.is_valid_org_code(code)
    position = data.draw(st.integers(0, 8))
    alphabet = "0123456789X" if position == 8 else "0123456789"
    assert not ids.is_valid_org_code(_change_one(code, position, alphabet, data))


@given(org_bodies)
def test_org_code_generated_with_letters_validates(body):
    assert ids.is_valid_org_code(body + ids.org_code_check_char(body))


def test_org_code_check_cannot_see_letters_eleven_apart():
    # GB 11714 sums value × weight mod 11 with letter values up to 35, so M (22) and 0
    # at the same place give the same check: a limit of the standard, not of our code.
    assert ids.org_code_check_char("M0000000") == ids.org_code_check_char("00000000")


@settings(max_examples=200)
@given(resident_ids, st.data())
def test_resident_id_generated_valid_and_any_single_change_fails(code, data):
    assert ids.parse_resident_id(code).valid
    position = data.draw(st.integers(0, 17))
    alphabet = "0123456789X" if position == 17 else "0123456789"
    assert not ids.is_valid_resident_id(_change_one(code, position, alphabet, data))


@settings(max_examples=200)
@given(regions, birth_dates, st.integers(0, 999))
def test_15_to_18_round_trips_birth_date_and_sex(region, born, seq):
    old = region + born.strftime("%y%m%d") + f"{seq:03d}"
    parsed = ids.parse_resident_id(old)
    assert parsed.valid
    assert parsed.birth_date == born.isoformat()
    assert parsed.sex == ("M" if seq % 2 else "F")
    assert parsed.number[:6] + parsed.number[8:17] == old


@given(org_bodies, st.sampled_from(["91", "92", "N2"]), st.sampled_from(["330100", "330106"]))
def test_uscc_and_15_digit_tax_number_yield_the_same_org_code(body, prefix, region):
    org = body + ids.org_code_check_char(body)
    first17 = prefix + region + org
    uscc = first17 + ids.uscc_check_char(first17)
    tax = region + org
    assert ids.parse_tax_id(tax)[1] and ids.parse_tax_id(uscc)[1]
    assert ids.org_code_from_uscc(uscc) == ids.org_code_from_tax_id(tax) == org


@given(st.text(max_size=25))
def test_id_normalisers_are_idempotent_and_never_raise(raw):
    for normalise in (ids.normalize_uscc, ids.normalize_org_code, ids.normalize_reg_no,
                      ids.normalize_resident_id):
        once, _ = normalise(raw)
        assert normalise(once)[0] == once
    value, _, _ = ids.parse_tax_id(raw)
    assert ids.parse_tax_id(value)[0] == value


@given(st.text("0123456789", min_size=14, max_size=14))
def test_reg_no_check_digit_agrees_with_iso7064(body):
    code = body + mod_11_10.calc_check_digit(body)
    assert ids.normalize_reg_no(code) == (code, True)
