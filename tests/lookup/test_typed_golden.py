"""Golden values (stored as text) typed by their field's schema type in answers."""

from __future__ import annotations

import pytest

from resolver.lookup.entity import golden_record, typed_value


@pytest.mark.parametrize(("kind", "text", "typed"), [
    ("number", "92.0", 92), ("number", "92", 92), ("number", "1.5", 1.5), ("number", "-0.25", -0.25),
    ("number", "1e20", 1e20), ("number", "nan", "nan"), ("number", "inf", "inf"), ("number", "九十二", "九十二"),
    ("date", "2015-03-01", "2015-03-01"), ("date", "2015-03-01 00:00:00", "2015-03-01"),
    ("date", "1990-**-**", "1990-**-**"), ("date", "2015-3-1", "2015-3-1"),
    ("text", "92.0", "92.0"), ("number", None, None), ("number", 7, 7),
])
def test_typed_value(kind, text, typed):
    got = typed_value(kind, text)
    assert got == typed and type(got) is type(typed)


def _golden(values: dict[str, str]) -> dict[str, dict[str, str | None]]:
    return {f: {"value": v, "source": "police", "source_record_id": "r1", "rule": "source_priority"}
            for f, v in values.items()}


def test_a_masked_date_stays_masked_text_and_an_unmasked_one_is_a_date():
    golden = _golden({"name": "王伟", "birth_date": "1990-01-02 00:00:00"})
    masked, _ = golden_record("person", golden, unmasked=False)
    full, _ = golden_record("person", golden, unmasked=True)
    assert masked["birth_date"] == "1990-**-**" and full["birth_date"] == "1990-01-02"


def test_enterprise_numbers_are_numbers():
    values, lineage = golden_record("enterprise", _golden({"registered_capital": "500.0", "employees": "12",
                                                           "established": "2015-03-01", "name": "杭州华新科技有限公司"}),
                                    unmasked=False)
    assert values == {"registered_capital": 500, "employees": 12, "established": "2015-03-01",
                      "name": "杭州华新科技有限公司"}
    assert set(lineage) == set(values)
