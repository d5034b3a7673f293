"""Detection on a small resolved store with one entity per scenario (tests/unregistered/unreg_store.py)."""

import pandas as pd
import pytest
from unreg_store import AS_OF, MODEL, build_store

from resolver.errors import InputError, NotFoundError
from resolver.store import open_store
from resolver.unregistered import LISTS, find_unregistered, unregistered_evidence


@pytest.fixture
def scenario(tmp_path):
    store, labels = build_store(tmp_path / "m.duckdb")
    yield store, labels, {v: k for k, v in labels.items()}
    store.close()


def _listed(frame: pd.DataFrame, inv: dict[str, str]) -> dict[str, str]:
    return {inv[e]: lst for e, lst in zip(frame["entity_id"], frame["list"], strict=True)}


def test_each_scenario_lands_in_its_list_and_decoys_are_never_suspects(scenario):
    store, _, inv = scenario
    listed = _listed(find_unregistered(store, AS_OF, lists=LISTS), inv)
    assert {k for k, v in listed.items() if v == "suspect"} == {
        "suspect_quality", "suspect_revenue", "head_and_branch", "suspect_sibling"}
    assert listed["dormant"] == "dormant"
    assert listed["conflict_tax_cancelled"] == listed["conflict_commerce_revoked"] == "status_conflict"
    # the linker missed these tax records; strong evidence makes them link reviews, not suspects
    for decoy in ("decoy_old_name", "decoy_old_tax_number", "decoy_mistyped_id"):
        assert listed[decoy] == "link_review", decoy
    for decoy in ("decoy_grace", "decoy_cancelled", "decoy_moved_out", "decoy_branch_registered", "registered",
                  "registered_sibling", "excluded_coop"):
        assert decoy not in listed, decoy


def test_default_list_is_suspects_by_descending_score_with_reasons(scenario):
    store, _, inv = scenario
    frame = find_unregistered(store, AS_OF)
    assert set(frame["list"]) == {"suspect"}
    assert list(frame["score"]) == sorted(frame["score"], reverse=True)
    row = frame.set_index(frame["entity_id"].map(inv)).loc["suspect_quality"]
    assert "OPERATING_QUALITY_RECORD" in row["reason_codes"] and "有质监检查记录" in row["reasons"]
    assert row["n_operating"] == 2 and row["last_activity"] == "2024-05-01"
    assert row["operating_sources"] == "质监×2"  # the department's label from its mapping
    assert row["established"] == "2019-03-01" and row["uscc"] and row["district"] == "西湖区"
    assert row["model_version"] == MODEL and row["as_of"] == AS_OF
    revenue = frame.set_index(frame["entity_id"].map(inv)).loc["suspect_revenue"]
    assert "OPERATING_STATISTICS_REVENUE" in revenue["reason_codes"] and revenue["revenue"] == 2_000_000


def test_hidden_suspects_name_the_tax_record_that_was_refused(scenario):
    store, _, inv = scenario
    frame = find_unregistered(store, AS_OF)
    frame.index = frame["entity_id"].map(inv)
    branch = frame.loc["head_and_branch"]
    assert "BRANCH_WITHOUT_TAX" in branch["reason_codes"] and "TAX_OF_OTHER_ENTERPRISE" in branch["reason_codes"]
    assert branch["nearest_tax_record_id"] == "t13"
    assert "分支机构" in branch["nearest_not_accepted_because"]
    sibling = frame.loc["suspect_sibling"]
    assert sibling["nearest_tax_record_id"] == "t15"
    assert sibling["nearest_match_probability"] == pytest.approx(0.81)
    assert "统一社会信用代码不同" in sibling["nearest_not_accepted_because"]
    assert "NEAREST_TAX_VETOED" in sibling["reason_codes"]


def test_link_review_reports_the_nearest_tax_record_and_its_probability(scenario):
    store, _, inv = scenario
    frame = find_unregistered(store, AS_OF, lists=("link_review",))
    frame.index = frame["entity_id"].map(inv)
    assert frame.loc["decoy_mistyped_id", "nearest_tax_record_id"] == "t12"
    assert frame.loc["decoy_mistyped_id", "nearest_match_probability"] == pytest.approx(0.72)
    assert "统一社会信用代码相同" in frame.loc["decoy_old_name", "nearest_evidence"]
    assert "组织机构代码相同" in frame.loc["decoy_old_tax_number", "nearest_evidence"]


def test_grace_period_is_measured_from_as_of(scenario):
    store, _, inv = scenario
    listed = _listed(find_unregistered(store, "2024-07-21"), inv)
    assert "decoy_grace" in listed  # 31 days after establishment
    listed = _listed(find_unregistered(store, "2024-07-20"), inv)
    assert "decoy_grace" not in listed  # day 30: still within the deadline


def test_filters(scenario):
    store, _, inv = scenario
    assert find_unregistered(store, AS_OF, district="上城区").empty
    assert len(find_unregistered(store, AS_OF, district="330106")) == 4
    assert len(find_unregistered(store, AS_OF, district="西湖区")) == 4
    assert len(find_unregistered(store, AS_OF, district="西湖")) == 4  # the short name, as people type it
    with pytest.raises(InputError, match="unknown district"):
        find_unregistered(store, AS_OF, district="西胡")  # an error naming the known ones, never an empty list
    assert find_unregistered(store, AS_OF, industry="C4").empty
    assert len(find_unregistered(store, AS_OF, industry="C3")) == 4
    assert find_unregistered(store, AS_OF, since="2020-01-01").empty
    with pytest.raises(InputError):
        find_unregistered(store, "30/06/2024")
    with pytest.raises(InputError):
        find_unregistered(store, AS_OF, lists=("everyone",))


def test_read_only_store_and_plain_connection_work(scenario, tmp_path):
    store, _, _ = scenario
    path = store.path
    store.close()
    ro = open_store(path, read_only=True)
    try:
        via_store = find_unregistered(ro, AS_OF)
        via_con = find_unregistered(ro.cursor(), AS_OF)
        assert len(via_store) == len(via_con) == 4
    finally:
        ro.close()
    scenario_store = open_store(path)  # the fixture closes it again
    scenario[0]._con = scenario_store._con  # the fixture closes the reopened store


def test_evidence_lists_every_member_record(scenario):
    store, labels, _ = scenario
    ev = unregistered_evidence(store, [labels["suspect_quality"], labels["head_and_branch"]])
    assert set(ev["source_record_id"]) == {"c1", "q1", "q1b", "c13", "t13", "c14", "q14"}
    first = ev[ev["entity_id"] == labels["head_and_branch"]]["source"].tolist()
    assert first[:2] == ["commerce", "commerce"]


def test_a_store_without_resolution_is_a_clear_error(tmp_path):
    store = open_store(tmp_path / "empty.duckdb")
    try:
        with pytest.raises(NotFoundError, match="resolver ingest"):
            find_unregistered(store, AS_OF)
    finally:
        store.close()


def test_a_department_counts_by_the_role_its_mapping_declares(tmp_path):
    """work_safety (安监) and economy_it (经信委) are not named anywhere in the rule or the code:
    their mappings give them the roles `permit` and `revenue_report`. A valid permit makes the
    dormant company a suspect; a lapsed one or a zero return does not."""
    from unreg_store import rec, scenario_rows, uscc

    def listed_with(*extra):
        store, labels = build_store(tmp_path / f"m{len(list(tmp_path.iterdir()))}.duckdb", scenario_rows() + list(extra))
        try:
            frame = find_unregistered(store, AS_OF, lists=LISTS)
        finally:
            store.close()
        return frame.set_index(frame["entity_id"].map({v: k for k, v in labels.items()}))

    name = "杭州庚辛咨询有限公司"
    lapsed = listed_with(rec("work_safety", "w1", "dormant", name, uscc=uscc(4), status="cancelled",
                             activity_date="2020-01-01"),
                         rec("economy_it", "j1", "dormant", name, uscc=uscc(4), revenue=0))
    assert lapsed.loc["dormant", "list"] == "dormant" and lapsed.loc["dormant", "n_operating"] == 0
    valid = listed_with(rec("work_safety", "w1", "dormant", name, uscc=uscc(4), status="active",
                            activity_date="2024-03-01"))
    row = valid.loc["dormant"]
    assert row["list"] == "suspect" and "OPERATING_VALID_PERMIT" in row["reason_codes"]
    assert "持有有效的安监许可或证书" in row["reasons"] and row["operating_sources"] == "安监×1"
    assert row["last_activity"] == "2024-03-01"  # an activity role: its date is activity
    revenue = listed_with(rec("economy_it", "j1", "dormant", name, uscc=uscc(4), revenue=1500))
    assert revenue.loc["dormant", "list"] == "suspect"
    assert "经信委报表有营业收入" in revenue.loc["dormant", "reasons"]


def test_a_rule_part_without_any_source_is_a_config_error(scenario, tmp_path):
    """Mappings with no `tax_registration` source: the rule cannot judge, and says which key."""
    import shutil

    from resolver.errors import ConfigError
    from resolver.paths import rules_dir
    from resolver.unregistered.roles import load_departments

    store, _, _ = scenario
    (tmp_path / "sources").mkdir()
    shutil.copytree(rules_dir() / "enterprise", tmp_path / "enterprise")
    for source in ("commerce", "quality", "statistics"):
        shutil.copy(rules_dir() / "sources" / f"{source}.yaml", tmp_path / "sources")
    with pytest.raises(ConfigError, match=r"roles.covering: no enterprise source mapping .* role 'tax_registration'"):
        find_unregistered(store, AS_OF, departments=load_departments("enterprise", tmp_path))
