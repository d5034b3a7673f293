"""The attacker of tests/security/rebuild.py finds what it should: the suite can fail."""

from __future__ import annotations

from rebuild import Answer, date_candidates, id_candidates, phone_candidates

ID = "33018219791005148X"


def test_old_id_mask_plus_any_birth_date_form_rebuilds_the_id():
    for date in ("1979-10-05", "19791005", "1979/10/5", "1979年10月5日", "29133"):  # 29133: Excel's day number
        answer = Answer.read({"id_number": "330182********148X", "raw": {"出生日期": date}})
        assert id_candidates(ID, answer) == 1, date


def test_two_masks_of_one_value_are_combined():
    answer = Answer.read({"a": "330182********148X", "b": ["3301821979100*****"]})
    assert id_candidates(ID, answer) == 1
    assert phone_candidates("15402000553", Answer.read({"a": "154****0553", "b": "1540200****"})) == 1


def test_phones_in_clear_are_found_whatever_the_separators():
    for text in ("159 4632 5453", "+86 159-4632-5453", "(86)15946325453", "电话:159.4632.5453"):
        assert phone_candidates("15946325453", Answer.read({"联系电话": text})) == 1, text
    assert phone_candidates("057187654321", Answer.read({"x": "0571-8765 4321"})) == 1


def test_region_year_and_sex_leave_many_candidates():
    answer = Answer.read({"id_number": "330182************", "birth_date": "1979-**-**", "sex": "F"})
    assert id_candidates(ID, answer) >= 180_000
    assert date_candidates("1979-10-05", answer, [ID]) == 365
    assert phone_candidates("15402000553", Answer.read({"phone": "154****0553"})) == 10_000


def test_a_20_digit_tax_number_gives_away_the_id_it_embeds():
    answer = Answer.read({"tax_id": ID + "01", "legal_rep_id": "330182************"})
    assert id_candidates(ID, answer) == 1


def test_the_tail_of_the_15_digit_form_in_clear_fills_the_birth_date_and_sequence():
    # an org code read from a tax number that is an old ID: region + this tail is the ID
    answer = Answer.read({"legal_rep_id": "341002************", "org_code": "801012298"})
    assert id_candidates("34100219801012298X", answer) <= 2  # the century is all that is left
