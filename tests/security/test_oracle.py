"""Explanations without an oracle (finding 4): a caller without the pii scope learns nothing
from a guessed personal value, neither from the per-field explanation nor from the match
probability; and values written through POST /records come back masked (finding 2)."""

from __future__ import annotations

import copy

import pytest
from rebuild import Answer

from resolver.access.masking import withhold_personal
from resolver.lookup.one_record import Standardizer
from resolver.lookup.scoring import compile_model, score

PERSONAL_COMPARISONS = {"person": {"id_number", "birth_date", "phone"}, "enterprise": {"phone"}}


def _person(live, index: int = 0) -> dict[str, str]:
    docs = [d for e, d in sorted(live.sample.docs.items()) if live.sample.domain_of[e] == "person"]
    golden = {g["field"]: g["value"] for g in docs[index]["golden"]}
    return {f: str(golden[f]) for f in ("name", "address", "id_number", "birth_date", "phone") if golden.get(f)}


def _wrong(value: str) -> str:
    return value[:-2] + ("00" if value[-2:] != "00" else "11")


def test_a_guessed_phone_or_id_changes_nothing_in_the_answer(live):
    people = [p for p in (_person(live, i) for i in range(0, 400, 7)) if "phone" in p and "id_number" in p]
    assert len(people) > 20
    with live.client(live.reader) as c:
        found = 0
        for p in people:
            right = c.post("/v1/person/match", json=p).json()
            found += bool(right["candidates"])
            for field in ("phone", "id_number", "birth_date"):
                guess = {**p, field: _wrong(p[field])}
                wrong = c.post("/v1/person/match", json=guess).json()
                assert wrong == right, (field, p["name"])
            assert right["withheld_fields"] == ["birth_date", "id_number", "phone"]
            for cand in right["candidates"]:
                assert not {x["comparison"] for x in cand["comparisons"]} & PERSONAL_COMPARISONS["person"]
        assert found > 5  # name + address still find people


def test_a_pii_caller_still_gets_the_personal_comparisons(live):
    p = next(p for p in (_person(live, i) for i in range(50)) if "phone" in p)
    with live.client(live.pii) as c:
        body = c.post("/v1/person/match", json=p).json()
    top = body["candidates"][0]
    assert body["withheld_fields"] == [] and {"id_number", "phone"} <= {x["comparison"] for x in top["comparisons"]}


def test_only_personal_fields_is_a_clear_error_that_names_no_value(live):
    p = _person(live)
    with live.client(live.reader) as c:
        r = c.post("/v1/person/match", json={"phone": p["phone"]})
    assert r.status_code == 400 and "person:pii" in r.json()["detail"] and p["phone"] not in r.text


@pytest.mark.parametrize("domain", ["person", "enterprise"])
def test_scoring_does_not_depend_on_a_candidates_personal_values(live, domain):
    """Without the pii scope the query has no personal field, so no comparison level can set a
    candidate's personal value against anything: changing those values changes no weight."""
    model = compile_model(live.sample.models[domain])
    std = Standardizer()
    docs = [d for e, d in sorted(live.sample.docs.items()) if live.sample.domain_of[e] == domain][:60]
    personal = {"person": ("id_number", "id_birth_date", "id_sex", "id_region", "birth_date", "phone",
                           "phone_kind", "id_number_valid", "phone_valid"),
                 "enterprise": ("legal_rep_id", "legal_rep_id_valid", "phone", "phone_kind", "phone_valid",
                                "tax_id", "tax_id_valid", "tax_id_kind")}[domain]
    for doc in docs:
        golden = {g["field"]: str(g["value"]) for g in doc["golden"] if g["value"] is not None}
        allowed = {k: v for k, v in golden.items() if k in model.columns or k in ("name", "address")}
        query, _ = withhold_personal(domain, allowed, unmasked=False)
        if not query:
            continue
        row = std.one(domain, {"source": "query", "source_record_id": "0", **query})
        candidates = [{c: m.get(c) for c in ("unique_id", *model.columns)} for m in doc["members"]]
        changed = copy.deepcopy(candidates)
        for cand in changed:
            for col in personal:
                if col in cand:
                    cand[col] = {"id_number_valid": True, "legal_rep_id_valid": True, "phone_valid": True}.get(
                        col, "0")
        assert score(model, row, candidates, {}) == score(model, row, changed, {})


def test_a_spaced_legal_rep_id_written_through_the_api_comes_back_masked(live):
    rep_id = "3301 0619 8001 0112 3X"  # valid: 33010619800101123X
    with live.client(live.writer) as c:
        r = c.post("/v1/enterprise/records", json={"source": "tax", "records": [{
            "source_record_id": "sec-1", "fields": {"name": "杭州安全测试科技有限公司", "legal_rep": "王伟",
                                                    "legal_rep_id": rep_id, "phone": "0571-8765 4321"}}]})
        assert r.status_code == 200, r.text
        entity_id = r.json()["results"][0]["entity_id"]
        body = c.get(f"/v1/enterprise/{entity_id}").json()
    seen = Answer.read(body)
    assert not seen.in_clear("19800101") and not seen.in_clear("87654321")
    member = next(m for m in body["members"] if m["source_record_id"] == "sec-1")
    assert member["raw"]["legal_rep_id"] == "330106************" and member["raw"]["phone"] == "0571-****4321"
    assert member["file"] and "/" not in member["file"]
