"""Match explanations on the sample store, over the real server: for every entity matched by its
golden values, with and without the pii scope, every candidate's items (prior, levels,
term-frequency adjustments) add up to its match weight, its probability follows from that
weight and its `match` from the model version's thresholds; without the scope, no item shows a
personal value in clear (tests/security/test_rebuild.py attacks the same answers as a whole)."""

from __future__ import annotations

import math
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

FIELDS = {"person": ("name", "id_number", "sex", "birth_date", "address", "phone"),
          "enterprise": ("name", "uscc", "org_code", "legal_rep", "legal_rep_id", "address", "phone")}


def _queries(live: Any, domain: str) -> dict[str, dict[str, str]]:
    out = {}
    for e, doc in sorted(live.sample.docs.items()):
        if live.sample.domain_of[e] == domain:
            golden = {g["field"]: g["value"] for g in doc["golden"]}
            out[e] = {f: str(golden[f]) for f in FIELDS[domain] if golden.get(f)}
    return out


def _answers(client: Any, domain: str, queries: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    names = sorted(queries)
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), 100):
        batch = {n: queries[n] for n in names[start:start + 100]}
        r = client.post(f"/v1/{domain}/match", json={"queries": batch}, params={"top": 3})
        assert r.status_code == 200, r.text[:300]
        out |= r.json()["responses"]
    return out


def _check_candidate(c: dict[str, Any], thresholds: dict[str, float], masked: bool, domain: str) -> None:
    items = c["explanation"]
    assert items[0]["kind"] == "prior" and items[0]["match_weight"] < 0
    assert items[0]["match_weight"] == pytest.approx(math.log2(items[0]["probability"] / (1 - items[0]["probability"])),
                                                     abs=1e-3)
    assert round(sum(i["match_weight"] for i in items), 4) == pytest.approx(c["match_weight"], abs=1e-9)
    assert c["match_probability"] == pytest.approx(1 / (1 + 2 ** -c["match_weight"]), abs=1e-6)
    expected = True if c["match_probability"] >= thresholds["match"] else \
        "review" if c["match_probability"] >= thresholds["review"] else False
    assert c["match"] == expected
    levels = {i["comparison"]: i for i in items if i["kind"] == "comparison"}
    assert [x["comparison"] for x in c["comparisons"]] == list(levels)
    for summary in c["comparisons"]:  # the per-field summary is the level plus its adjustment
        adjust = sum(i["match_weight"] for i in items if i["kind"] == "term_frequency"
                     and i["comparison"] == summary["comparison"])
        assert summary["match_weight"] == pytest.approx(levels[summary["comparison"]]["match_weight"] + adjust, abs=2e-4)
        assert summary["level"] == levels[summary["comparison"]]["level"]
    if masked:
        assert not [i for i in items if i["kind"] == "withheld"]
        personal = {"person": {"id_number", "birth_date", "phone"}, "enterprise": {"phone", "legal_rep_id"}}[domain]
        assert not personal & set(levels)  # those comparisons are left out, as the query's values were
        for item in levels.values():
            for side in ("query", "candidate"):
                for column in ("id_number", "birth_date", "phone", "id_birth_date", "legal_rep_id"):
                    value = item[side].get(column)
                    assert value is None or "*" in str(value), (column, value)


@pytest.mark.parametrize("domain", ["person", "enterprise"])
def test_every_candidates_explanation_adds_up_with_and_without_the_scope(live, domain):
    queries = _queries(live, domain)
    assert len(queries) > 1000
    seen = tf_items = 0
    for key, masked in ((live.reader, True), (live.pii, False)):
        with live.client(key) as client:
            answers = _answers(client, domain, queries)
        assert set(answers) == set(queries)
        for name, answer in answers.items():
            assert answer["status"] == 200 and answer["masked"] is masked
            for c in answer["candidates"]:
                _check_candidate(c, answer["thresholds"], masked, domain)
                tf_items += sum(i["kind"] == "term_frequency" for i in c["explanation"])
                seen += 1
            top = answer["candidates"][0] if answer["candidates"] else None
            if masked is False:  # with every golden value, the entity itself comes first, as a match
                assert top is not None and top["entity_id"] == name and top["match"] is True, name
            else:
                assert (answer["reason"] is None) == any(c["match"] is True for c in answer["candidates"])
    assert seen > len(queries) and tf_items > 100
