"""The 漏管户 worklist through a real `resolver serve` on a copy of the demo store (committed
sample, trained and resolved; tests/conftest.py): district filters by old names, case work and
its feedback (误报 suppressed until new evidence reopens it; 已办理税务登记 marked until the tax
record arrives), precision@k, scopes, masking, audit, the XLSX export; then the CLI after a
full re-resolve."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from fixtures.live_server import Server
from resolver.access.access_store import access_path, open_access
from resolver.access.keys import create_key
from resolver.standardize.ids import org_code_check_char, uscc_check_char

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

AS_OF = "2026-06-30"  # the sample's reference date (fixtures/sample/manifest.json)
CLI = [sys.executable, "-m", "resolver"]


@dataclass
class Demo:
    db: Path
    keys: dict[str, str]


@pytest.fixture(scope="module")
def demo(demo_copy: Callable[[str], Path]) -> Demo:
    db = demo_copy("worklist_demo")  # the session's demo store (tests/conftest.py), copied: the tests change it
    access = open_access(db)

    def key(department: str, scopes: str, sources: str | None = None) -> str:
        return create_key(access, department, scopes, sources=sources, rate_limit=0, match_rate_limit=0)[1]
    keys = {
        "inspector": key("税务稽查", "unregistered:read,unregistered:write"),
        "viewer": key("税务稽查二科", "unregistered:read"),
        "pii": key("税务稽查三科", "unregistered:read,enterprise:pii"),
        "reader": key("人社", "enterprise:read"),
        "commerce": key("commerce", "enterprise:read,records:write", "commerce"),
        "quality": key("quality", "enterprise:read,records:write", "quality"),
        "tax": key("tax", "enterprise:read,records:write", "tax"),
        "metrics": key("运维", "metrics:read"),
    }
    return Demo(db, keys)


def _uscc(org8: str, region: str = "330104") -> str:
    first17 = "91" + region + org8 + org_code_check_char(org8)
    return first17 + uscc_check_char(first17)


class Api:
    def __init__(self, url: str, keys: dict[str, str]):
        self.http = httpx.Client(base_url=url, timeout=60)
        self.keys = keys

    def get(self, path: str, key: str = "inspector", **params: Any) -> httpx.Response:
        params.setdefault("as_of", AS_OF)
        return self.http.get(path, params=params, headers={"X-API-Key": self.keys[key]})

    def cases(self, key: str = "inspector", **params: Any) -> dict[str, dict[str, Any]]:
        r = self.get("/v1/unregistered", key, limit=500, **params)
        assert r.status_code == 200, r.text
        return {i["entity_id"]: i for i in r.json()["items"]}

    def patch(self, entity_id: str, body: dict[str, Any], key: str = "inspector") -> httpx.Response:
        return self.http.patch(f"/v1/unregistered/{entity_id}", params={"as_of": AS_OF}, json=body,
                               headers={"X-API-Key": self.keys[key]})

    def post(self, source: str, record_id: str, fields: dict[str, Any]) -> str:
        r = self.http.post("/v1/enterprise/records", headers={"X-API-Key": self.keys[source]},
                           json={"source": source, "records": [{"source_record_id": record_id, "fields": fields}]})
        assert r.status_code == 200, r.text
        return str(r.json()["results"][0]["entity_id"])

    def misses(self) -> float:
        text = self.http.get("/metrics", headers={"X-API-Key": self.keys["metrics"]}).text
        return float(re.search(r'resolver_unregistered_cache_total\{result="miss"\} (\S+)', text).group(1))  # type: ignore[union-attr]


def test_worklist_on_a_live_server(demo: Demo, tmp_path: Path):
    with Server(demo.db, timeout=120) as server:
        api = Api(server.url, demo.keys)
        _old_district_names(api)
        _scopes_and_masking(api)
        _false_alarm_is_suppressed_then_reopened_by_new_evidence(api, demo.db, tmp_path)
        _registered_case_stays_marked_then_leaves_with_its_tax_record(api)
        _xlsx_export_is_the_filtered_list(api)
    _audit_rows(demo)


def _old_district_names(api: Api) -> None:
    # a business registered under the old district name, with an inspection: a new suspect
    code = _uscc("77665544")
    name = "杭州凯旋验证机械有限公司"
    entity = api.post("commerce", "wl-c1", {"name": name, "uscc": code, "status": "active", "established": "2019-05-01",
                                            "address": "杭州市江干区凯旋街道机场路88号", "legal_rep": "周验证"})
    assert api.post("quality", "wl-q1", {"name": name, "uscc": code, "activity_date": "2026-03-01",
                                         "phone": "13800001111"}) == entity
    everyone = api.cases()
    expected = {e for e, i in everyone.items() if i["district"] == "上城区"}
    assert entity in expected and len(expected) > 1
    for asked in ("江干", "江干区", "上城区", "上城", "330102", "330104"):
        r = api.get("/v1/unregistered", district=asked, limit=500)
        assert r.status_code == 200, r.text
        assert {i["entity_id"] for i in r.json()["items"]} == expected, asked
        assert r.json()["district"]["name"] == "上城区"
    assert "江干区" in api.get("/v1/unregistered", district="江干").json()["district"]["note"]
    case = everyone[entity]
    assert (case["street"], case["tax_office"], case["address"]) == (
        "凯旋街道", "上城区税务局凯旋税务所", "杭州市江干区凯旋街道机场路88号")
    assert case["legal_rep"] == "周验证" and case["age_days"] == 121  # inspected 2026-03-01
    # every district's cases add up to the whole list: no case lost by a name
    names = {i["district"] for i in everyone.values() if i["district"]}
    assert sum(api.get("/v1/unregistered", district=d).json()["total"] for d in names) == \
        sum(1 for i in everyone.values() if i["district"])
    r = api.get("/v1/unregistered", district="西胡")
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert "西胡" in r.json()["detail"] and "上城区" in r.json()["detail"] and "江干区→上城区" in r.json()["detail"]


def _scopes_and_masking(api: Api) -> None:
    assert api.get("/v1/unregistered", "reader").status_code == 403
    some = next(iter(api.cases()))
    assert api.patch(some, {"status": "核查中"}, key="viewer").status_code == 403
    assert api.patch(some, {"status": "核查中"}, key="reader").status_code == 403
    masked, full = api.cases(), api.cases(key="pii")
    phones = [(masked[e]["phone"], full[e]["phone"]) for e in masked if full[e]["phone"]]
    assert phones and all(m != f for m, f in phones)
    for m, f in phones:  # the entity answer's forms: mobile 3+4, landline area code + last 4
        assert re.fullmatch(r"1\d\d\*{4}\d{4}|0\d{2,3}-\**\d{4}", m), m
        assert m[-4:] == f[-4:] and "*" not in f


def _false_alarm_is_suppressed_then_reopened_by_new_evidence(api: Api, db: Path, tmp_path: Path) -> None:
    listed = api.cases()
    alarm = max(listed, key=lambda e: listed[e]["score"])
    r = api.patch(alarm, {"status": "误报"})
    assert r.status_code == 400 and "reason" in r.json()["detail"]
    assert api.patch(alarm, {"status": "满意"}).status_code == 422
    misses = api.misses()
    r = api.patch(alarm, {"status": "误报", "reason": "实地核查：该址为其已登记总公司的仓库", "assignee": "李四"})
    assert r.status_code == 200, r.text
    assert r.json()["case"]["department"] == "税务稽查"
    page = api.get("/v1/unregistered", limit=500).json()
    assert alarm not in {i["entity_id"] for i in page["items"]} and page["suppressed"] == 1
    assert api.misses() == misses  # recording an outcome never computes the list again
    case = api.get(f"/v1/unregistered/{alarm}").json()
    assert case["case"]["status"] == "误报" and case["case"]["reason"] == "实地核查：该址为其已登记总公司的仓库"
    assert [h["status"] for h in case["history"]] == ["误报"]
    shown = api.cases(status="误报")
    assert shown[alarm]["case_reason"] == "实地核查：该址为其已登记总公司的仓库"
    # the CLI beside the running server (a job inside it) reads the same case state
    for status, listed_there in ((None, False), ("误报", True)):
        out = tmp_path / f"cli-{status}.csv"
        r = subprocess.run([*CLI, "unregistered", "--db", str(db), "--out", str(out), "--as-of", AS_OF,
                            *(["--status", status] if status else [])], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        text = out.read_text(encoding="utf-8-sig")
        assert (alarm in text) == listed_there and ("实地核查：该址为其已登记总公司的仓库" in text) == listed_there
    # a new inspection record of the same business: new facts, the case is back
    row = listed[alarm]
    assert api.post("quality", "wl-q2", {"name": row["name"], "uscc": row["uscc"], "activity_date": "2026-06-01"}) == alarm
    back = api.cases()[alarm]
    assert (back["case_status"], back["case_reopened"], back["case_recorded_status"]) == ("待核查", True, "误报")
    assert back["case_reason"] == "实地核查：该址为其已登记总公司的仓库" and back["case_assignee"] == "李四"
    assert api.misses() == misses + 1  # the write changed the store: computed once more


def _registered_case_stays_marked_then_leaves_with_its_tax_record(api: Api) -> None:
    listed = api.cases()
    ranked = sorted(listed, key=lambda e: (-listed[e]["score"], e))
    registered = next(e for e in ranked if listed[e]["uscc"] and not listed[e]["case_reopened"])
    false_alarm = next(e for e in ranked if e != registered and not listed[e]["case_reopened"])
    assert api.patch(registered, {"status": "已办理税务登记", "note": "纳税人已于窗口补办"}).status_code == 200
    assert api.patch(false_alarm, {"status": "误报", "reason": "个体户已停业"}).status_code == 200
    marked = api.cases()[registered]
    assert marked["case_status"] == "已办理税务登记" and marked["case_awaiting_tax_record"] is True
    row = listed[registered]
    joined = api.post("tax", "wl-t1", {"name": row["name"], "tax_id": row["uscc"], "status": "active"})
    assert joined == registered
    assert registered not in api.cases(status=["待核查", "核查中", "已办理税务登记", "确认未经营", "误报"])
    case = api.get(f"/v1/unregistered/{registered}").json()
    assert case["listed"] is None and case["case"]["status"] == "已办理税务登记"
    stats = api.get("/v1/unregistered/stats", k=[1, 500]).json()
    top = {s["k"]: s for s in stats["precision_at_k"]}
    # ranked at its recorded score, the registered business is still counted as found
    assert (top[500]["real"], top[500]["false"], top[500]["precision"]) == (1, 1, 0.5)
    assert stats["status_counts"]["已办理税务登记"] == 1


def _xlsx_export_is_the_filtered_list(api: Api) -> None:
    want = [i["entity_id"] for i in api.get("/v1/unregistered", district="西湖", limit=500, sort="age").json()["items"]]
    assert want
    for path, extra in (("/v1/unregistered.xlsx", {}), ("/v1/unregistered", {"format": "xlsx"})):
        r = api.get(path, district="西湖", sort="age", **extra)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = openpyxl.load_workbook(io.BytesIO(r.content))
        sheet = book.worksheets[0]
        header = [c.value for c in sheet[1]]
        assert header[:3] == ["主体编号", "证据强度", "核查状态"] and "主管税务所" in header and "联系电话" in header
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{len(want) + 1}"
        assert sheet.freeze_panes == "A2"
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == want
        phones = [row[header.index("联系电话")] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert any(phones) and all("*" in p for p in phones if p)  # no pii scope: masked
        about = dict(book["说明"].iter_rows(min_row=2, values_only=True))
        assert about["筛选：district"] == "西湖区"


def _audit_rows(demo: Demo) -> None:
    con = sqlite3.connect(access_path(demo.db))
    try:
        rows = con.execute("SELECT endpoint, status, returned_ids, department FROM audit_log "
                           "WHERE endpoint LIKE '%/v1/unregistered%'").fetchall()
    finally:
        con.close()
    patches = [r for r in rows if r[0] == "PATCH /v1/unregistered/{entity_id}"]
    assert any(s == 200 and ids and d == "税务稽查" for _, s, ids, d in patches)
    assert any(s == 403 and d == "税务稽查二科" for _, s, _ids, d in patches)
    assert any(r[0] == "GET /v1/unregistered.xlsx" and r[1] == 200 and r[2] for r in rows)
    assert any(r[0] == "GET /v1/unregistered/{entity_id}" and r[1] == 200 for r in rows)


def test_cli_filters_and_case_state_survive_a_full_re_resolve(demo: Demo, tmp_path: Path):
    from resolver.lookup.worklist import Change, Filters, update_case, worklist
    from resolver.store import open_store

    store = open_store(demo.db)
    try:
        listed = worklist(store, Filters(as_of=AS_OF), limit=500)["items"]
        target = next(i for i in listed if i["district"] == "西湖区")["entity_id"]
        update_case(store, target, Change(status="确认未经营", note="现场已空置"), key_id=None, department="CLI测试",
                    as_of=AS_OF)
    finally:
        store.close()
    r = subprocess.run([*CLI, "resolve", "--db", str(demo.db), "--domain", "enterprise"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "xihu.xlsx"
    r = subprocess.run([*CLI, "unregistered", "--db", str(demo.db), "--out", str(out), "--as-of", AS_OF,
                        "--district", "西湖", "--status", "确认未经营"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "上城区" not in r.stdout and "西湖区" in r.stdout  # the district understood, said back
    sheet = openpyxl.load_workbook(out).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "主体编号" and [row[0] for row in rows[1:]] == [target]
    assert sheet.auto_filter.ref and sheet.freeze_panes == "A2"
    r = subprocess.run([*CLI, "unregistered", "--db", str(demo.db), "--out", str(tmp_path / "x.csv"),
                        "--district", "西胡"], capture_output=True, text=True)
    assert r.returncode == 1 and "unknown district '西胡'" in r.stderr and "上城区" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x.csv").exists()
