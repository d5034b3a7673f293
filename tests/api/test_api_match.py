"""POST /v1/{domain}/match as a department system calls it, against a real `resolver serve`:
named-query batches (a configured limit, one audit row per query, a query's own error), the
single-record body as before, match decisions, explanations, reasons for no match, and the
typed request models /openapi.json shows."""

from __future__ import annotations

import os
import shutil

import httpx
import pytest
from api_support import header, make_keys

from fixtures.live_server import Server
from resolver.access.access_store import open_access
from resolver.access.audit import read_audit
from resolver.access.keys import create_key

BATCH_MAX = 20


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    db = tmp_path_factory.mktemp("match") / "master.duckdb"
    shutil.copy(built.path, db)
    keys = make_keys(db)
    # 2 matches a second: a bucket of 2 lets a second single call through at once; a batch of 10
    # leaves it 8 short, 4.5 s to refill, so the call after it is refused even on a loaded box
    limited = create_key(open_access(db), "统计", "enterprise:read", rate_limit=0, match_rate_limit=2)[1]
    srv = Server(db, dict(os.environ), ("--match-batch-max", str(BATCH_MAX), "--rate-limit", "0",
                                        "--match-rate-limit", "0"))
    yield srv, keys, built, db, limited
    srv.stop()


def _post(srv, key, body, **params):
    return httpx.post(srv.url + "/v1/enterprise/match", json=body, params=params, headers=header(key), timeout=30)


def _queries(built, n):
    rows = built.enterprises.drop_duplicates("truth").head(n)
    return {f"q{i}": {"name": r.name, "legal_rep": r.legal_rep, "address": r.address}
            for i, r in enumerate(rows.itertuples())}, rows


def test_a_batch_answers_each_query_under_its_name_as_the_single_form_does(server):
    srv, keys, built, db, _ = server
    queries, rows = _queries(built, 12)
    queries["only_personal"] = {"phone": "13812345678"}  # a query of its own error: the others still answered
    before = len(read_audit(open_access(db), limit=100_000))
    r = _post(srv, keys.reader, {"queries": queries}, top=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body["responses"]) == list(queries)
    bad = body["responses"].pop("only_personal")
    assert bad["status"] == 400 and "phone" in bad["detail"] and "13812345678" not in bad["detail"]
    for (name, answer), row in zip(body["responses"].items(), rows.itertuples(), strict=True):
        assert answer["status"] == 200 and answer["model_version"] == body["model_version"]
        top = answer["candidates"][0]
        members = set(built.enterprises.loc[built.enterprises["truth"] == row.truth, "unique_id"])
        assert top["best_record"] in members and top["match"] is True
        single = _post(srv, keys.reader, queries[name], top=3).json()
        assert single == {k: v for k, v in answer.items() if k != "status"}  # the single form, unchanged
    rows_after = read_audit(open_access(db), limit=100_000)
    batch_rows = [a for a in rows_after[: len(rows_after) - before]
                  if a["endpoint"] == "POST /v1/{domain}/match"]
    assert len(rows_after) - before == len(queries) + 12  # one per query of the batch, one per single call
    assert sorted(a["status"] for a in batch_rows).count(400) == 1


def test_the_batch_limit_is_the_servers_and_a_clear_422(server):
    srv, keys, built, _, _ = server
    queries, _ = _queries(built, BATCH_MAX + 1)
    r = _post(srv, keys.reader, {"queries": queries})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith("body.queries: at most 20 named queries")
    del queries[next(iter(queries))]
    assert _post(srv, keys.reader, {"queries": queries}).status_code == 200
    assert _post(srv, keys.reader, {"queries": {}}).status_code == 422
    r = _post(srv, keys.reader, {"queries": {"bad name": {"name": "x"}}})
    assert r.status_code == 422 and "query name" in r.json()["detail"]


def test_a_batch_spends_one_match_token_per_query(server):
    srv, _, built, _, limited = server
    queries, _ = _queries(built, 10)
    assert _post(srv, limited, {"queries": queries}).status_code == 200
    r = _post(srv, limited, {"name": "杭州华新科技有限公司"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_every_candidate_carries_its_decision_and_an_explanation_that_adds_up(server):
    srv, keys, built, _, _ = server
    queries, _ = _queries(built, 20)
    for key, masked in ((keys.reader, True), (keys.pii, False)):
        body = _post(srv, key, {"queries": queries}, top=10).json()
        decisions = set()
        for answer in body["responses"].values():
            thresholds = answer["thresholds"]
            assert thresholds == body["thresholds"] and thresholds["review"] <= thresholds["match"] == answer["threshold"]
            for c in answer["candidates"]:
                items = c["explanation"]
                assert items[0]["kind"] == "prior"
                assert round(sum(i["match_weight"] for i in items), 4) == pytest.approx(c["match_weight"])
                assert c["match_probability"] == pytest.approx(1 / (1 + 2 ** -c["match_weight"]), abs=1e-6)
                p = c["match_probability"]
                assert c["match"] == (True if p >= thresholds["match"] else "review" if p >= thresholds["review"]
                                      else False)
                decisions.add(c["match"])
                for item in items:
                    if item["kind"] == "comparison":
                        assert set(item["query"]) == set(item["candidate"]) and item["level"]
                assert masked or "phone" in {i.get("comparison") for i in items}
        assert True in decisions  # below the threshold: test_no_match_says_why


def test_the_explanation_shows_the_values_compared_and_term_frequencies(server):
    srv, keys, built, _, _ = server
    row = built.enterprises.dropna(subset=["uscc"]).iloc[2]
    c = _post(srv, keys.reader, {"name": row["name"], "uscc": row["uscc"], "legal_rep": row["legal_rep"]}
              ).json()["candidates"][0]
    by = {i["comparison"]: i for i in c["explanation"] if i["kind"] == "comparison"}
    assert by["uscc"]["query"] == {"uscc": row["uscc"], "uscc_valid": True} == by["uscc"]["candidate"]
    assert by["name"]["query"]["name"] == row["name"]
    tf = [i for i in c["explanation"] if i["kind"] == "term_frequency"]
    assert tf and all(0 < i["term_frequency"] <= 1 and i["column"] for i in tf)


def test_no_match_says_why(server):
    srv, keys, built, _, _ = server
    row = built.enterprises.iloc[0]
    no_key = _post(srv, keys.reader, {"legal_rep": row["legal_rep"]}).json()
    assert no_key["candidates"] == [] and no_key["reason"]["code"] == "no_blocking_key"
    assert ["name"] in no_key["reason"]["add_fields"] and "name" in no_key["reason"]["message"]
    unknown = _post(srv, keys.reader, {"name": "杭州前所未闻测绘有限公司"}).json()
    assert unknown["candidates"] == [] and unknown["reason"]["code"] == "no_candidates"
    assert unknown["reason"]["keys"] == ["full_name"]
    # the full name agrees, the legal representative and the district do not: scored, not a match
    other = "余杭区" if "西湖区" in row["address"] else "西湖区"
    weak = {"name": row["name"], "legal_rep": "欧阳修远", "address": f"杭州市{other}无名路9号"}
    body = _post(srv, keys.reader, weak).json()
    assert body["candidates"] and not any(c["match"] is True for c in body["candidates"])
    assert body["reason"]["code"] == "below_threshold"
    assert body["reason"]["best_match_probability"] == max(c["match_probability"] for c in body["candidates"])
    cut = _post(srv, keys.reader, weak, min_probability=0.9).json()  # left out below 0.9: an empty answer
    assert cut["candidates"] == [] and cut["reason"]["code"] == "below_threshold"
    found = _post(srv, keys.reader, {"name": row["name"], "legal_rep": row["legal_rep"]}).json()
    assert found["reason"] is None and found["candidates"][0]["match"] is True


def test_the_request_models_come_from_the_schema(server):
    srv, keys, _, _, _ = server
    spec = httpx.get(srv.url + "/openapi.json", headers=header(keys.reader)).json()
    record = spec["components"]["schemas"]["EnterpriseRecord"]
    assert record["additionalProperties"] is False
    props = record["properties"]
    assert {"name", "uscc", "legal_rep_id", "registered_capital", "established"} <= set(props)
    assert {"type": "number"} in props["registered_capital"]["anyOf"]
    assert any("pattern" in t for t in props["established"]["anyOf"]) and props["uscc"]["description"]
    assert "enterprise:pii" in props["legal_rep_id"]["description"] and props["name"]["examples"]
    body = spec["paths"]["/v1/{domain}/match"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    refs = {choice["$ref"].rsplit("/", 1)[1] for choice in body["anyOf"]}
    assert {"EnterpriseRecord", "EnterpriseMatchQueries", "PersonRecord"} <= refs
    batch = spec["components"]["schemas"]["EnterpriseMatchQueries"]["properties"]["queries"]
    assert batch["maxProperties"] == BATCH_MAX
    records = spec["paths"]["/v1/{domain}/records"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/EnterpriseRecordsIn"} in records["anyOf"]
    r = _post(srv, keys.reader, {"name": "杭州华新科技有限公司", "legal_rep_nmae": "王伟"})
    assert r.status_code == 422 and r.json()["detail"].startswith("body.legal_rep_nmae: not a field")
    r = _post(srv, keys.reader, {"name": "x", "330106199001021234": "y"})  # a key that could be an ID: not echoed
    assert r.status_code == 422 and "330106199001021234" not in r.text
    r = _post(srv, keys.reader, {"name": "杭州华新科技有限公司", "registered_capital": 92})  # a number is a number
    assert r.status_code == 200
    r = _post(srv, keys.reader, {"queries": {"a": {"name": "x", "established": "last year"}}})
    assert r.status_code == 422 and r.json()["detail"].startswith("body.queries.a.established: not a date")
    r = httpx.post(srv.url + "/v1/enterprise/records", headers=header(keys.writer), timeout=30,
                   json={"source": "tax", "records": [{"source_record_id": "t1", "fields": {"nmae": "x"}}]})
    assert r.status_code == 422 and r.json()["detail"].startswith("body.records.0.fields.nmae: not a field")
