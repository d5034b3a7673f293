"""For every kind of answer a caller without the pii scope can get on the sample store, try to
rebuild each personal value of every entity in the answer from everything in that answer.

Floors: a resident ID (or a tax number embedding one) must keep at least 10,000 candidates —
search by ID confirms a guess, one request each; a phone or a birth date more than 100 (nothing
confirms a guess of those: they are withheld from matching for such callers).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from rebuild import Answer, date_candidates, id_candidates, phone_candidates, strings

from resolver.standardize import ids

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ID_FLOOR = 10_000
OTHER_FLOOR = 100
_ENTITY = re.compile(r"\b[EP]\d{9}\b")


def _values(doc: dict[str, Any], field: str) -> set[str]:
    found = {str(g["value"]) for g in doc["golden"] if g["field"] == field and g["value"]}
    found |= {str(m[field]) for m in doc["members"] if m.get(field)}
    found |= {str(c["value"]) for c in doc["conflicts"] if c["field"] == field and c["value"]}
    return found


def _embeds_id(tax_id: str) -> bool:
    return (len(tax_id) == 20 and tax_id.isdigit()) or ids.is_valid_resident_id(tax_id)


def secrets(doc: dict[str, Any]) -> dict[str, set[str]]:
    """The entity's personal values, by kind."""
    id_like = _values(doc, "id_number") | _values(doc, "legal_rep_id")
    id_like |= {t for t in _values(doc, "tax_id") if _embeds_id(t)}
    phones = {re.sub(r"\D", "", p) for p in _values(doc, "phone")}
    dates = _values(doc, "birth_date") | _values(doc, "id_birth_date")
    return {"id": {i for i in id_like if len(i) in (18, 20)},
            "phone": {p for p in phones if len(p) >= 7},
            "date": {d for d in dates if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d)}}


def rebuilt(answer: Any, docs: dict[str, dict[str, Any]]) -> list[str]:
    """What the answer gives away: one line per personal value left with too few candidates."""
    read = Answer.read(answer)
    found = []
    for entity_id in sorted(set(_ENTITY.findall(" ".join(strings(answer))))):
        doc = docs.get(entity_id)
        if doc is None:
            continue
        kinds = secrets(doc)
        for value in kinds["id"]:
            n = id_candidates(value, read)
            if n < ID_FLOOR:
                found.append(f"{entity_id}: ID {value} → {n} candidate(s)")
        for value in kinds["phone"]:
            n = phone_candidates(value, read)
            if n <= OTHER_FLOOR:
                found.append(f"{entity_id}: phone {value} → {n} candidate(s)")
        for value in kinds["date"]:
            n = date_candidates(value, read, sorted(kinds["id"]))
            if n <= OTHER_FLOOR:
                found.append(f"{entity_id}: birth date {value} → {n} candidate(s)")
    return found


def _check(answers: list[tuple[str, Any]], docs: dict[str, dict[str, Any]]) -> None:
    leaks = [f"{what}: {line}" for what, answer in answers for line in rebuilt(answer, docs)]
    assert not leaks, f"{len(leaks)} personal value(s) rebuilt, e.g.\n" + "\n".join(leaks[:8])


@pytest.fixture(scope="module")
def reader(live):
    with live.client(live.reader) as c:
        yield c


def _get(c: httpx.Client, path: str, **params: Any) -> Any:
    r = c.get(path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()


@pytest.mark.parametrize("domain", ["person", "enterprise"])
def test_get_by_id_members_and_raw_rows_rebuild_nothing(live, reader, domain):
    docs = live.sample.docs
    answers = [(f"GET {e}", _get(reader, f"/v1/{domain}/{e}"))
               for e in sorted(docs) if live.sample.domain_of[e] == domain]
    assert len(answers) > 1000
    assert all(a["masked"] for _, a in answers)
    _check(answers, docs)
    files = {m["file"] for _, a in answers for m in a["members"]}
    assert files and not any("/" in f or "\\" in f for f in files if f), sorted(files)[:3]


IDENTIFIERS = {"person": ("id_number",), "enterprise": ("uscc", "org_code", "reg_no", "tax_id")}


def _raw_ids(doc: dict[str, Any]) -> set[str]:
    """Identifiers as departments wrote them (a 15-digit ID, a dashed org code)."""
    import json

    out = set()
    for m in doc["members"]:
        raw = json.loads(m["raw"]) if m.get("raw") else {}
        out |= {str(v) for k, v in raw.items() if isinstance(v, str) and re.fullmatch(r"[\dA-Z\- ]{9,22}", v)
                and re.search(r"号码|代码|识别号|注册号|证件", k)}
    return out


@pytest.mark.parametrize("domain", ["person", "enterprise"])
def test_search_by_every_identifier_rebuilds_nothing(live, reader, domain):
    docs = live.sample.docs
    answers = []
    for e in sorted(docs)[::3]:
        if live.sample.domain_of[e] != domain:
            continue
        values = {str(m[f]) for m in docs[e]["members"] for f in IDENTIFIERS[domain] if m.get(f)} | _raw_ids(docs[e])
        for value in sorted(values):
            r = reader.get(f"/v1/{domain}", params={"id": value})
            answers.append((f"search id={value}", r.json()))
        name = next((g["value"] for g in docs[e]["golden"] if g["field"] == "name"), None)
        if name:
            answers.append((f"search name={name}", _get(reader, f"/v1/{domain}", name=name)))
    assert sum(bool(a.get("results")) for _, a in answers) > 300
    _check(answers, docs)


@pytest.mark.parametrize("domain", ["person", "enterprise"])
def test_match_answers_rebuild_nothing(live, reader, domain):
    docs = live.sample.docs
    fields = {"person": ("name", "id_number", "sex", "birth_date", "address", "phone"),
              "enterprise": ("name", "uscc", "org_code", "legal_rep", "legal_rep_id", "address", "phone")}[domain]
    answers = []
    for e in sorted(docs)[1::3]:
        if live.sample.domain_of[e] != domain:
            continue
        golden = {g["field"]: g["value"] for g in docs[e]["golden"]}
        record = {f: str(golden[f]) for f in fields if golden.get(f)}
        r = reader.post(f"/v1/{domain}/match", json=record, params={"top": 10})
        assert r.status_code == 200, r.text[:300]
        answers.append((f"match {e}", r.json()))
    assert sum(bool(a["candidates"]) for _, a in answers) > 100
    _check(answers, docs)


def test_unregistered_list_rebuilds_nothing(live):
    docs = live.sample.docs
    answers = []
    with live.client(live.inspector) as c:
        for name in ("suspect", "dormant", "status_conflict", "link_review"):
            answers.append((name, _get(c, "/v1/unregistered", list=name, limit=500, as_of="2026-06-30")))
    assert sum(len(a["items"]) for _, a in answers) > 20
    _check(answers, docs)


def test_errors_do_not_echo_a_submitted_identifier(live, reader):
    person = next(d for e, d in sorted(live.sample.docs.items()) if live.sample.domain_of[e] == "person")
    full = next(g["value"] for g in person["golden"] if g["field"] == "id_number")
    tries = [
        reader.get(f"/v1/person/{full}"),  # an ID where a master ID belongs
        reader.get("/v1/person", params={"id": full + "9"}),  # too long
        reader.get("/v1/person", params={"id": full[:10]}),  # too short
        reader.get("/v1/person", params={"id": full[:9] + "#" + full[10:]}),  # not an identifier
        reader.get("/v1/enterprise", params={"id": full[:16]}),
        reader.post("/v1/person/match", json={full: "x"}),  # an ID as a field name
        reader.post("/v1/person/match", json={"id_number": full}),  # only personal fields
        reader.get(f"/v1/nothing/{full}"),
    ]
    for r in tries:
        assert r.status_code in (400, 403, 404, 422), (r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/problem+json")
        assert full[6:14] not in r.text and full[:10] not in r.text, r.text[:300]
