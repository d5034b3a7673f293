"""The 漏管户 worklist engine (no HTTP): case facts, filters (district by any or old name), sort,
paging, case state and precision@k, on the scenario store with addresses that name streets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from unreg_store import AS_OF, build_store, scenario_rows

from resolver.errors import ConfigError, InputError, NotFoundError
from resolver.lookup.worklist import (
    Change,
    Filters,
    case_detail,
    update_case,
    worklist,
    worklist_stats,
)
from resolver.store import Store
from resolver.unregistered.cases import FALSE_ALARM, OPEN, REGISTERED
from resolver.unregistered.districts import resolve_district
from resolver.unregistered.offices import load_offices
from resolver.unregistered.worklist import precision_at_k, with_cases

PII = ("enterprise:pii",)


def _rows() -> list[dict[str, object]]:
    """The scenarios, with what standardize gives from these addresses (street, today's district)."""
    rows = scenario_rows()
    where = {
        # 文新街道 is listed under 西湖区 with its own office
        "c1": ("杭州市西湖区文新街道文三路1号", "文新街道", "西湖区", "330106", "13912345678"),
        # written with the old district (江干区): standardize files it under 上城区
        "c2": ("杭州市江干区凯旋街道机场路2号", "凯旋街道", "上城区", "330102", "0571-87654321"),
        # no street in the address: the district's office
        "c16": ("杭州市西湖区文三路16号", None, "西湖区", "330106", None),
    }
    for row in rows:
        address, town, district, code, phone = where.get(str(row["source_record_id"]), (None,) * 5)
        row.update(address=address, town=town, phone=phone)
        if district:
            row.update(district=district, district_code=code)
    return rows


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, str]]:
    store, labels = build_store(tmp_path_factory.mktemp("worklist") / "m.duckdb", _rows())
    yield store, labels
    store.close()


def _ids(page: dict[str, object]) -> list[str]:
    return [str(i["entity_id"]) for i in page["items"]]  # type: ignore[attr-defined]


def test_each_case_carries_address_street_office_contact_and_age(scenario):
    store, e = scenario
    page = worklist(store, Filters(as_of=AS_OF), limit=50)
    items = {i["entity_id"]: i for i in page["items"]}
    assert set(items) == {e["suspect_quality"], e["suspect_revenue"], e["head_and_branch"], e["suspect_sibling"]}
    c1 = items[e["suspect_quality"]]
    assert (c1["street"], c1["tax_office"]) == ("文新街道", "西湖区税务局文新税务所")
    assert c1["address"] == "杭州市西湖区文新街道文三路1号" and c1["legal_rep"] == "法人c1"
    assert c1["phone"] == "139****5678"  # masked as the entity answer masks it
    assert (c1["first_evidence"], c1["age_days"]) == ("2023-01-01", 546)  # the older of two inspections
    c2 = items[e["suspect_revenue"]]
    assert (c2["district"], c2["street"], c2["tax_office"]) == ("上城区", "凯旋街道", "上城区税务局凯旋税务所")
    assert c2["phone"] == "0571-****4321"
    c16 = items[e["suspect_sibling"]]
    assert (c16["street"], c16["tax_office"]) == (None, "西湖区税务局文新税务所")  # the district's office
    assert c16["nearest_tax_record_id"] == "t15" and c16["nearest_not_accepted_because"]
    assert all(i["case_status"] == OPEN for i in items.values())
    full = {i["entity_id"]: i for i in worklist(store, Filters(as_of=AS_OF), scopes=PII)["items"]}
    assert full[e["suspect_quality"]]["phone"] == "13912345678"


@pytest.mark.parametrize("asked", ["江干", "江干区", "330104", "上城区", "上城", "330102"])
def test_district_by_any_name_or_old_name(scenario, asked):
    store, e = scenario
    page = worklist(store, Filters(as_of=AS_OF, district=asked))
    assert _ids(page) == [e["suspect_revenue"]]
    assert page["district"]["name"] == "上城区"
    assert ("江干区" in (page["district"]["note"] or "")) == asked.startswith(("江干", "330104"))


def test_district_short_name_and_unknown_district(scenario):
    store, e = scenario
    assert len(worklist(store, Filters(as_of=AS_OF, district="西湖"))["items"]) == 3
    assert worklist(store, Filters(as_of=AS_OF, district="滨江"))["total"] == 0  # known, no case there
    with pytest.raises(InputError) as err:
        worklist(store, Filters(as_of=AS_OF, district="西胡"))
    assert "西胡" in str(err.value) and "西湖区" in str(err.value) and "江干区→上城区" in str(err.value)
    assert resolve_district("钱塘新区").name == "钱塘区"


def test_filters_sort_and_paging(scenario):
    store, e = scenario

    def ids(**kw: object) -> list[str]:
        return _ids(worklist(store, Filters(as_of=AS_OF, **kw), limit=50))  # type: ignore[arg-type]

    assert ids(street="文新") == ids(street="文新街道") == [e["suspect_quality"]]
    assert ids(tax_office="上城区税务局凯旋税务所") == [e["suspect_revenue"]]
    scores = {i["entity_id"]: i["score"] for i in worklist(store, Filters(as_of=AS_OF))["items"]}
    top = max(scores, key=lambda k: scores[k])
    assert ids(score_min=scores[top]) == [top]
    assert set(ids(score_max=scores[top] - 0.1)) == set(scores) - {top}
    assert ids(age_min=500) == [e["suspect_quality"]]
    assert e["suspect_quality"] not in ids(age_max=200)
    assert ids(q="丙丁") == [e["suspect_revenue"]]
    assert ids(q=str(worklist(store, Filters(as_of=AS_OF, q="丙丁"))["items"][0]["uscc"]).lower()) == [e["suspect_revenue"]]
    by_age = worklist(store, Filters(as_of=AS_OF), sort="age")["items"]
    assert [i["age_days"] for i in by_age] == sorted((i["age_days"] for i in by_age), reverse=True)
    by_district = worklist(store, Filters(as_of=AS_OF), sort="district")["items"]
    assert by_district[0]["district"] == "上城区"  # 330102 before 330106
    page = worklist(store, Filters(as_of=AS_OF), offset=1, limit=2)
    assert page["total"] == 4 and len(page["items"]) == 2
    assert _ids(page) == _ids(worklist(store, Filters(as_of=AS_OF)))[1:3]
    with pytest.raises(InputError, match="sort"):
        worklist(store, Filters(as_of=AS_OF), sort="name")
    with pytest.raises(InputError, match="status"):
        worklist(store, Filters(as_of=AS_OF, status=("done",)))


def test_case_updates_suppress_keep_history_and_stay_marked(scenario):
    store, e = scenario
    alarm, registered = e["suspect_sibling"], e["head_and_branch"]
    with pytest.raises(InputError, match="reason"):
        update_case(store, alarm, Change(status=FALSE_ALARM), key_id="k", department="稽查", as_of=AS_OF)
    with pytest.raises(NotFoundError):
        update_case(store, e["registered"], Change(note="x"), key_id="k", department="稽查", as_of=AS_OF)
    update_case(store, alarm, Change(status="核查中", assignee="张三"), key_id="k1", department="稽查", as_of=AS_OF)
    update_case(store, alarm, Change(status=FALSE_ALARM, reason="与已登记的坎离电器为同一经营场所"), key_id="k2",
                department="稽查一科", as_of=AS_OF)
    update_case(store, registered, Change(status=REGISTERED, note="已补办"), key_id="k2", department="稽查一科",
                as_of=AS_OF)
    page = worklist(store, Filters(as_of=AS_OF))
    assert alarm not in _ids(page) and page["suppressed"] == 1
    marked = next(i for i in page["items"] if i["entity_id"] == registered)
    assert marked["case_status"] == REGISTERED and marked["case_awaiting_tax_record"] is True
    shown = worklist(store, Filters(as_of=AS_OF, status=(FALSE_ALARM,)))["items"]
    assert [(i["entity_id"], i["case_reason"], i["case_assignee"]) for i in shown] == [
        (alarm, "与已登记的坎离电器为同一经营场所", "张三")]
    assert _ids(worklist(store, Filters(as_of=AS_OF, assignee="张三", status=(FALSE_ALARM,)))) == [alarm]
    detail = case_detail(store, alarm, as_of=AS_OF)
    assert [h["status"] for h in detail["history"]] == ["核查中", FALSE_ALARM]
    assert [h["department"] for h in detail["history"]] == ["稽查", "稽查一科"]
    stats = worklist_stats(store, ks=(1, 4), as_of=AS_OF)
    assert stats["precision_at_k"][-1] == {"k": 4, "ranked": 4, "decided": 2, "real": 1, "false": 1,
                                           "precision": 0.5}


def test_a_closed_case_reopens_when_its_facts_change():
    frame = pd.DataFrame({"entity_id": ["E1", "E2"], "fingerprint": ["new", "same"], "list": "suspect",
                          "score": [50.0, 40.0]})
    case = {"status": FALSE_ALARM, "fingerprint": "old", "assignee": None, "note": None, "reason": "查无此户",
            "updated_at": "2026-01-01", "department": "稽查"}
    out = with_cases(frame, {"E1": case, "E2": {**case, "fingerprint": "same"}}).set_index("entity_id")
    assert (out.loc["E1", "case_status"], out.loc["E1", "case_reopened"]) == (OPEN, True)
    assert out.loc["E1", "case_recorded_status"] == FALSE_ALARM and out.loc["E1", "case_reason"] == "查无此户"
    assert (out.loc["E2", "case_status"], out.loc["E2", "case_reopened"]) == (FALSE_ALARM, False)


def test_precision_at_k_ranks_cases_that_left_the_list_at_their_recorded_score():
    frame = pd.DataFrame({"entity_id": ["A", "B", "C", "D"], "fingerprint": "f", "list": "suspect",
                          "score": [80.0, 70.0, 60.0, 50.0]})

    def case(status: str, score: float | None = None) -> dict[str, object]:
        return {"status": status, "fingerprint": "f", "assignee": None, "note": None, "reason": "r",
                "updated_at": "", "department": "", "score": score}
    cases = {"A": case(FALSE_ALARM), "C": case(REGISTERED), "Z": case(REGISTERED, 90.0)}
    stats = precision_at_k(with_cases(frame, cases), cases, ks=(1, 2, 3, 5))
    got = {s["k"]: (s["decided"], s["precision"]) for s in stats["precision_at_k"]}
    # ranking: Z 90 (registered, left the list), A 80 (误报), B 70, C 60 (registered), D 50
    assert got == {1: (1, 1.0), 2: (2, 0.5), 3: (2, 0.5), 5: (3, round(2 / 3, 4))}
    assert stats["status_counts"][REGISTERED] == 2


def test_tax_office_file_is_sample_data_and_covers_every_district():
    from resolver.unregistered.districts import current_districts

    offices = load_offices()
    assert offices.sample
    assert all(offices.office(d, None) for d in current_districts())
    assert offices.office("上城区", "凯旋") == offices.office("上城区", "凯旋街道") == "上城区税务局凯旋税务所"
    assert offices.office("上城区", "无此街道") == "上城区税务局湖滨税务所"


def test_tax_office_file_problems_are_reported_at_once(tmp_path: Path):
    bad = tmp_path / "tax_offices.yaml"
    bad.write_text("sample: yes please\ncolour: red\ndistricts:\n  江干区: {office: 江干所}\n  火星区: {office: x}\n"
                   "  西湖区:\n    office: 西湖所\n    streets: {文新街道: 甲所, 文新: 乙所, 古荡街道: 3}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_offices(bad)
    text = str(err.value)
    for expected in ("sample: must be true or false", "colour: unknown key", "districts.江干区: not today's name (use 上城区)",
                     "districts.火星区: not a district name", "districts.西湖区.streets.文新: listed twice",
                     "districts.西湖区.streets.古荡街道: must be an office name"):
        assert expected in text, expected
