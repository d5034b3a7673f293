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


def test_an_answer_lists_golden_values_in_the_schema_order_whatever_the_documents_order(monkeypatch):
    """A document's golden list comes in the order DuckDB's threads aggregated it, which changes
    from one save to the next: the answer's bytes (and so its ETag) must not."""
    import random

    import orjson

    from resolver.domains import load_schema
    from resolver.lookup import entity, queries

    golden = [{"field": f, "value": v, "source": "commerce", "source_record_id": "c1", "rule": "source_priority"}
              for f, v in [("name", "杭州华新科技有限公司"), ("uscc", "91330106MA27U0X30A"), ("phone", "0571-88888888"),
                           ("registered_capital", "500.0"), ("address", "杭州市西湖区文三路1号"), ("unknown_field", "x")]]
    doc = {"entity_id": "E000000001", "active": True, "size": 1, "created_at": None, "updated_at": None,
           "model_version": "m", "golden": golden, "conflicts": [], "members": []}
    answers = set()
    for seed in range(6):
        shuffled = golden[:]
        random.Random(seed).shuffle(shuffled)
        monkeypatch.setattr(queries, "entity_doc", lambda *_a, d={**doc, "golden": shuffled}: d)
        answer = entity.get_entity(None, "enterprise", "E000000001", unmasked=True)  # type: ignore[arg-type]
        answers.add(orjson.dumps(answer))
    assert len(answers) == 1
    order = list(load_schema("enterprise").fields)
    shown = list(orjson.loads(answers.pop())["golden"])
    assert shown == sorted(shown, key=lambda f: order.index(f) if f in order else len(order))
