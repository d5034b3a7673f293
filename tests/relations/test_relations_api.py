"""GET /v1/{domain}/{entity_id}/relations and /verification on a real `resolver serve` over the
sample-shape store: scopes (403 without them), masking, paging, one audit row per answer, and
a verification answer checked department by department against the fixture truth."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
from relations_support import ShapeStore, relation_pairs, truth_of_masters

from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.access.audit import iter_audit
from resolver.access.keys import create_key


@dataclass
class Live:
    url: str
    db: Path         # the served store (the server holds its lock)
    original: Path   # the store it is a copy of, read by the tests
    data: Path
    keys: dict[str, str]

    def get(self, key: str, path: str, **params: object) -> httpx.Response:
        return httpx.get(self.url + path, headers={"X-API-Key": self.keys[key]}, params=params, timeout=30)


@pytest.fixture(scope="module")
def live(sample_store: ShapeStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    db = tmp_path_factory.mktemp("relations_api") / "m.duckdb"
    shutil.copy(sample_store.db, db)
    access = open_access(db)
    scopes = {"reader": "enterprise:read,person:read", "one_domain": "enterprise:read",
              "pii": "enterprise:read,enterprise:pii,person:read,person:pii",
              "verifier": "verification:read", "verifier_pii": "verification:read,person:pii"}
    keys = {name: create_key(access, "民政", s, rate_limit=0)[1] for name, s in scopes.items()}
    with Server(db, timeout=120) as server:
        yield Live(server.url, db, sample_store.db, sample_store.data, keys)


def _audit(db: Path) -> list[dict]:
    return list(iter_audit(open_access(db)))


def _a_legal_rep(db: Path) -> tuple[str, str]:
    rows = relation_pairs(db)
    legal = rows[(rows["relation"] == "legal_representative") & (rows["confidence"] == "exact_id")]
    return str(legal["from_id"].iloc[0]), str(legal["to_id"].iloc[0])


def test_relations_need_read_on_both_domains_and_are_audited(live):
    enterprise, person = _a_legal_rep(live.original)
    before = len(_audit(live.db))
    assert live.get("one_domain", f"/v1/enterprise/{enterprise}/relations").status_code == 403
    assert live.get("verifier", f"/v1/enterprise/{enterprise}/relations").status_code == 403
    answer = live.get("reader", f"/v1/enterprise/{enterprise}/relations")
    assert answer.status_code == 200, answer.text
    page = answer.json()
    legal = [i for i in page["items"] if i["relation"] == "legal_representative"]
    assert [i["related"]["entity_id"] for i in legal] == [person]
    assert legal[0]["confidence"] == "exact_id" and legal[0]["evidence"][0]["source"] in ("commerce", "tax")
    assert legal[0]["related"]["fields"]["id_number"].endswith("*" * 12)  # masked without person:pii
    full = live.get("pii", f"/v1/enterprise/{enterprise}/relations").json()
    shown = [i for i in full["items"] if i["relation"] == "legal_representative"][0]["related"]["fields"]
    assert "*" not in shown["id_number"] and len(shown["id_number"]) == 18
    # the person's side shows the same link, incoming
    back = live.get("reader", f"/v1/person/{person}/relations").json()
    assert any(i["related"]["entity_id"] == enterprise and i["direction"] == "incoming" for i in back["items"])
    rows = _audit(live.db)[before:]
    assert [r["status"] for r in rows] == [403, 403, 200, 200, 200]
    assert all(r["endpoint"] == "GET /v1/{domain}/{entity_id}/relations" for r in rows)
    assert enterprise in rows[2]["returned_ids"] and person in rows[2]["returned_ids"]


def test_relations_are_paged(live):
    rows = relation_pairs(live.original)
    busiest = rows[rows["relation"] == "employer"]["to_id"].value_counts().index[0]
    first = live.get("reader", f"/v1/enterprise/{busiest}/relations", limit=1).json()
    assert first["total"] >= 2 and len(first["items"]) == 1 and first["limit"] == 1
    second = live.get("reader", f"/v1/enterprise/{busiest}/relations", offset=1, limit=1).json()
    assert second["items"][0]["related"]["entity_id"] != first["items"][0]["related"]["entity_id"]
    assert live.get("reader", f"/v1/enterprise/{busiest}/relations", limit=0).status_code == 422
    assert live.get("reader", "/v1/enterprise/E999999999/relations").status_code == 404


def _applicant(live: Live) -> tuple[str, str]:
    """(master ID, truth ID) of a person who represents an enterprise and holds social security
    and housing fund records, all of whose records form that one master entity."""
    truth = pd.read_csv(live.data / "truth_members.csv", dtype=str)
    relations = pd.read_csv(live.data / "truth_relations.csv", dtype=str)
    reps = set(relations.loc[relations["relation"] != "employer", "related_entity_id"])
    held = truth[truth["domain"] == "person"].groupby("entity_id")["source"].agg(set)
    masters = truth_of_masters(live.original, live.data)
    clean = pd.Series(masters).value_counts()
    for master, person in sorted(masters.items()):
        sources = held.get(person, set())
        if person in reps and {"social_security", "housing_fund"} <= sources and clean[person] == 1 \
                and master.startswith("P"):
            return master, person
    raise AssertionError("no applicant of that kind in the sample")


def test_verification_matches_the_truth_department_by_department(live):
    master, person = _applicant(live)
    before = len(_audit(live.db))
    assert live.get("reader", f"/v1/person/{master}/verification").status_code == 403  # read is not verification
    answer = live.get("verifier", f"/v1/person/{master}/verification")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    truth = pd.read_csv(live.data / "truth_members.csv", dtype=str)
    mine = truth[truth["entity_id"] == person]
    by_department = {d["source"]: d for d in result["departments"]}
    for source in ("police", "social_security", "housing_fund"):  # the checks relations.yaml declares
        expected = set(mine.loc[mine["source"] == source, "source_record_id"])
        got = {i["source_record_id"] for i in by_department.get(source, {"items": []})["items"]}
        assert got == expected, source
        for item in by_department.get(source, {"items": []})["items"]:
            assert item["date"] and item["source"] == source
    # enterprises represented or operated: the truth's, each with its status and a revenue band
    relations = pd.read_csv(live.data / "truth_relations.csv", dtype=str)
    expected = set(relations.loc[(relations["relation"] != "employer") & (relations["related_entity_id"] == person),
                                 "entity_id"])
    masters = truth_of_masters(live.original, live.data)
    items = [i for d in result["departments"] for i in d["items"] if i["check"] == "enterprises"]
    assert {masters[i["related"]["entity_id"]] for i in items} == expected
    assert all(i["fields"].get("status") and i["date"] for i in items)
    assert all(not str(i["fields"].get("revenue", "万元")).replace(".", "").isdigit() for i in items)  # banded
    # insured employment: each record's employer is the truth's employer of that person
    employers = set(relations.loc[(relations["relation"] == "employer") & (relations["entity_id"] == person),
                                  "related_entity_id"])
    linked = [i["related"] for s in ("social_security", "housing_fund") for i in by_department[s]["items"]]
    assert linked and all(r is not None and masters[r["entity_id"]] in employers for r in linked)
    # masked without person:pii, in full with it
    assert result["masked"] and result["subject"]["id_number"].endswith("*" * 12)
    full = live.get("verifier_pii", f"/v1/person/{master}/verification").json()
    assert not full["masked"] and "*" not in full["subject"]["id_number"]
    rows = _audit(live.db)[before:]
    assert [r["status"] for r in rows] == [403, 200, 200]
    assert all(r["endpoint"] == "GET /v1/{domain}/{entity_id}/verification" for r in rows)


def test_verification_is_declared_for_one_domain_only(live):
    enterprise, _ = _a_legal_rep(live.original)
    assert live.get("verifier", f"/v1/enterprise/{enterprise}/verification").status_code == 404
    assert live.get("verifier", "/v1/person/not-an-id/verification").status_code == 400
