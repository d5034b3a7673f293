"""Field types with no country-specific knowledge: text, code, number, date, plain
identifiers and Latin-script names (resolver.standardize.generic)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver import domains
from resolver.standardize import generic
from resolver.standardize.generic import (
    clean_code,
    clean_identifier,
    clean_name,
    clean_number,
    clean_text,
    soundex,
)


def _array(*values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@pytest.mark.parametrize(("raw", "clean"), [
    ("  Winston   Hills ", "winston hills"),
    ("ＳＴＡＮＬＥＹ\tStreet", "stanley street"),   # full-width letters, a tab
    ("Straße", "strasse"),                           # case-folded, not just lower-cased
    ("   ", None),
    (None, None),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_clean_code_keeps_only_listed_values():
    states = frozenset({"nsw", "vic"})
    assert clean_code(" NSW", states) == "nsw"
    assert clean_code("qld", states) is None
    assert clean_code("qld") == "qld"


@pytest.mark.parametrize(("raw", "value"), [
    ("1,250", 1250.0), (" 42 ", 42.0), ("-3.5", -3.5), ("four", None), (None, None),
])
def test_clean_number(raw, value):
    assert clean_number(raw) == value


@pytest.mark.parametrize(("raw", "clean"), [
    ("5304218", "5304218"), ("530-4218", "5304218"), (" ab 12 c ", "AB12C"),
    ("ｘ９", "X9"), ("--", None), (None, None),
])
def test_clean_identifier(raw, clean):
    assert clean_identifier(raw) == clean


@pytest.mark.parametrize(("raw", "clean"), [
    ("Michaela", "michaela"), ("O'Brien", "o brien"), ("smith-jones", "smith jones"),
    ("  de  la cruz ", "de la cruz"), ("josé", "josé"), ("jo3hn", "jo hn"), ("'.", None),
])
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(("name", "code"), [
    # the reference values of the American Soundex (US National Archives)
    ("robert", "R163"), ("rupert", "R163"), ("rubin", "R150"), ("ashcraft", "A261"),
    ("tymczak", "T522"), ("pfister", "P236"), ("honeyman", "H555"), ("lee", "L000"),
    ("", None), (None, None),
])
def test_soundex(name, code):
    assert soundex(name) == code


@given(st.text(max_size=30))
def test_cleaning_is_idempotent(raw):
    for clean in (clean_text, clean_identifier, clean_name):
        once = clean(raw)
        assert clean(once) == once


def test_column_functions_clean_each_row_and_mark_what_they_cannot_read():
    result = generic.date(_array("19151111", "19560231", None, float("nan"), "", "1915-11-11"))
    assert result.values.tolist() == ["1915-11-11", None, None, None, None, "1915-11-11"]
    # only a given value that fails is unreadable; missing and blank cells are just missing
    assert result.unreadable.tolist() == [False, True, False, False, False, False]


def test_numbers_from_a_spreadsheet_read_as_their_digits():
    # XLSX cells arrive as floats: the code 4223 must not become "4223.0"
    assert generic.code(_array(4223.0, "4223")).values.tolist() == ["4223", "4223"]
    assert generic.identifier(_array(5304218.0)).values.tolist() == ["5304218"]
    assert generic.number(_array(12.5, "1,000", "x")).values.tolist() == [12.5, 1000.0, None]


def test_code_column_checks_the_schema_values():
    result = generic.code(_array("NSW", "vic", "xx", None), allowed=["nsw", "vic", "qld"])
    assert result.values.tolist() == ["nsw", "vic", None, None]
    assert result.unreadable.tolist() == [False, False, True, False]


def test_identifier_without_a_standard_has_no_validity():
    result = generic.identifier(_array("530 4218", None, "!!"))
    assert result.values.tolist() == ["5304218", None, None]
    assert result.parts["valid"].tolist() == [None, None, None]
    assert result.unreadable.tolist() == [False, False, True]


def test_name_column_carries_its_soundex():
    result = generic.name(_array("Smith", "SMYTH", None, "o'brien"))
    assert result.values.tolist() == ["smith", "smyth", None, "o brien"]
    assert result.parts["phonetic"].tolist() == ["S530", "S530", None, "O165"]


def test_text_column_keeps_row_order_over_repeated_values():
    values = _array("b", "a", "B ", None, "a")
    assert generic.text(values).values.tolist() == ["b", "a", "b", None, "a"]


def test_every_type_is_listed_for_the_dispatcher_in_the_schema_vocabulary():
    assert set(generic.TYPES) == {"text", "code", "number", "date", "identifier", "name"}
    assert set(generic.TYPES) <= set(domains.TYPES)
    for func in generic.TYPES.values():
        assert len(func(_array("x", None)).values) == 2
