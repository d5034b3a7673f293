"""A small resolved store with one entity per 漏管户 scenario (suspects, decoys, conflicts)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resolver.standardize.ids import org_code_check_char, uscc_check_char
from resolver.store import Store, open_store

AS_OF = "2024-06-30"
MODEL = "enterprise-test-m1"


def uscc(n: int, prefix: str = "91") -> str:
    """A valid USCC whose embedded org code is valid too."""
    org8 = f"{n:08d}"
    first17 = prefix + "3301" + "06" + org8 + org_code_check_char(org8)
    return first17 + uscc_check_char(first17)


def broken(code: str) -> str:
    """The same code with one digit changed so the check character fails."""
    d = "1" if code[10] != "1" else "2"
    return code[:10] + d + code[11:]


def rec(source: str, rid: str, entity: str, name: str, **kw: object) -> dict[str, object]:
    code = kw.pop("uscc", None)
    tax_id = kw.pop("tax_id", None)
    trade = kw.pop("trade_name", name[2:4])
    row: dict[str, object] = {
        "source": source, "source_record_id": rid, "_cluster": entity, "name": name,
        "name_core": kw.pop("name_core", name[2:6]), "trade_name": trade,
        "district": "西湖区", "district_code": "330106", "industry_code": kw.pop("industry_code", "C39"),
        "uscc": code, "uscc_valid": None if code is None else kw.pop("uscc_valid", True),
        "tax_id": tax_id, "tax_id_valid": None if tax_id is None else kw.pop("tax_id_valid", True),
        "org_code": None, "org_code_valid": None,
        "legal_rep": kw.pop("legal_rep", "法人" + rid), "road": "文三路", "house_number": kw.pop("house", rid),
        "established": kw.pop("established", "2019-03-01" if source == "commerce" else None),
        "activity_date": kw.pop("activity_date", None), "status": kw.pop("status", None),
        "entity_kind": kw.pop("entity_kind", "company"), "revenue": kw.pop("revenue", None),
        "employees": kw.pop("employees", None),
    }
    assert not kw, kw
    return row


def scenario_rows() -> list[dict[str, object]]:
    """(entity label → records); labels say what the entity is."""
    A, H, S = uscc(1001), uscc(2001), uscc(3001)
    rows = [
        # suspect: active, old enough, inspected twice, no tax record anywhere
        rec("commerce", "c1", "suspect_quality", "杭州甲乙机械有限公司", uscc=uscc(1), status="active"),
        rec("quality", "q1", "suspect_quality", "杭州甲乙机械有限公司", uscc=uscc(1), activity_date="2024-05-01",
            employees=40),
        rec("quality", "q1b", "suspect_quality", "杭州甲乙机械有限公司", uscc=uscc(1), activity_date="2023-01-01"),
        # suspect by statistics revenue only
        rec("commerce", "c2", "suspect_revenue", "杭州丙丁贸易有限公司", uscc=uscc(2), status="active"),
        rec("statistics", "s2", "suspect_revenue", "杭州丙丁贸易有限公司", uscc=uscc(2), revenue=2_000_000,
            activity_date="2023-12-31"),
        # registered: commerce + tax
        rec("commerce", "c3", "registered", "杭州戊己科技有限公司", uscc=uscc(3), status="active"),
        rec("tax", "t3", "registered", "杭州戊己科技有限公司", tax_id=uscc(3), status="active"),
        rec("quality", "q3", "registered", "杭州戊己科技有限公司", activity_date="2024-01-01"),
        # dormant: no sign of operating (statistics with zero revenue does not count)
        rec("commerce", "c4", "dormant", "杭州庚辛咨询有限公司", uscc=uscc(4), status="active"),
        rec("statistics", "s4", "dormant", "杭州庚辛咨询有限公司", revenue=0),
        # grace period: established 10 days before as-of
        rec("commerce", "c5", "decoy_grace", "杭州壬癸餐饮有限公司", uscc=uscc(5), status="active",
            established="2024-06-20"),
        rec("quality", "q5", "decoy_grace", "杭州壬癸餐饮有限公司", activity_date="2024-06-25"),
        # cancelled / revoked / moved out in commerce
        rec("commerce", "c6", "decoy_cancelled", "杭州子丑服装有限公司", uscc=uscc(6), status="cancelled"),
        rec("quality", "q6", "decoy_cancelled", "杭州子丑服装有限公司", activity_date="2022-01-01"),
        rec("commerce", "c7", "decoy_moved_out", "杭州寅卯电子有限公司", uscc=uscc(7), status="moved_out"),
        rec("quality", "q7", "decoy_moved_out", "杭州寅卯电子有限公司", activity_date="2022-01-01"),
        # status conflicts
        rec("commerce", "c8", "conflict_tax_cancelled", "杭州辰巳物流有限公司", uscc=uscc(8), status="active"),
        rec("tax", "t8", "conflict_tax_cancelled", "杭州辰巳物流有限公司", tax_id=uscc(8), status="cancelled"),
        rec("commerce", "c9", "conflict_commerce_revoked", "杭州午未食品有限公司", uscc=uscc(9), status="revoked"),
        rec("tax", "t9", "conflict_commerce_revoked", "杭州午未食品有限公司", tax_id=uscc(9), status="active"),
        # decoy: tax under the old name, same code, left unlinked by the linker
        rec("commerce", "c10", "decoy_old_name", "杭州申酉新材料有限公司", uscc=A, status="active"),
        rec("quality", "q10", "decoy_old_name", "杭州申酉新材料有限公司", activity_date="2024-02-01"),
        rec("tax", "t10", "decoy_old_name_tax", "杭州旧名建材有限公司", tax_id=A, status="active"),
        # decoy: only the old 15-digit tax number (region + org code)
        rec("commerce", "c11", "decoy_old_tax_number", "杭州戌亥包装有限公司", uscc=H, status="active"),
        rec("quality", "q11", "decoy_old_tax_number", "杭州戌亥包装有限公司", activity_date="2024-02-01"),
        rec("tax", "t11", "decoy_old_tax_number_tax", "杭州戌亥包装有限公司", tax_id="330106" + H[8:17],
            status="active"),
        # decoy: mistyped code in tax, same name and legal rep, a pair scored below threshold
        rec("commerce", "c12", "decoy_mistyped_id", "杭州乾坤印刷有限公司", uscc=S, status="active",
            legal_rep="赵六"),
        rec("quality", "q12", "decoy_mistyped_id", "杭州乾坤印刷有限公司", activity_date="2024-02-01"),
        rec("tax", "t12", "decoy_mistyped_id_tax", "杭州乾坤印刷有限公司", tax_id=broken(S),
            tax_id_valid=False, status="active", legal_rep="赵六"),
        # suspect: branch without its own tax record, over-merged with its registered head office
        rec("commerce", "c13", "head_and_branch", "杭州震巽电器有限公司", uscc=uscc(13), status="active",
            legal_rep="钱七", name_core="震巽电器"),
        rec("tax", "t13", "head_and_branch", "杭州震巽电器有限公司", tax_id=uscc(13), status="active",
            legal_rep="钱七", name_core="震巽电器"),
        rec("commerce", "c14", "head_and_branch", "杭州震巽电器有限公司西湖分公司", uscc=uscc(14),
            status="active", entity_kind="branch", legal_rep="钱七", name_core="震巽电器"),
        rec("quality", "q14", "head_and_branch", "杭州震巽电器有限公司西湖分公司", activity_date="2024-03-01"),
        # suspect: sibling sharing trade name and legal rep with a registered company
        rec("commerce", "c15", "registered_sibling", "杭州坎离电器有限公司", uscc=uscc(15), status="active",
            legal_rep="孙八", trade_name="坎离", name_core="坎离电器"),
        rec("tax", "t15", "registered_sibling", "杭州坎离电器有限公司", tax_id=uscc(15), status="active",
            legal_rep="孙八", trade_name="坎离", name_core="坎离电器"),
        rec("commerce", "c16", "suspect_sibling", "杭州坎离电器销售有限公司", uscc=uscc(16), status="active",
            legal_rep="孙八", trade_name="坎离", name_core="坎离电器销售"),
        rec("quality", "q16", "suspect_sibling", "杭州坎离电器销售有限公司", activity_date="2024-04-01"),
        # decoy: branch with its own tax record
        rec("commerce", "c17", "decoy_branch_registered", "杭州艮兑电器有限公司滨江分公司", uscc=uscc(17),
            status="active", entity_kind="branch"),
        rec("tax", "t17", "decoy_branch_registered", "杭州艮兑电器有限公司滨江分公司", tax_id=uscc(17),
            status="active", entity_kind="branch"),
        rec("quality", "q17", "decoy_branch_registered", "杭州艮兑电器有限公司滨江分公司",
            activity_date="2024-03-01"),
        # excluded: a farmer co-operative (USCC 93…) operating without a tax record
        rec("commerce", "c18", "excluded_coop", "杭州市西湖区青禾农民专业合作社", uscc=uscc(18, "93"),
            status="active", entity_kind="other"),
        rec("quality", "q18", "excluded_coop", "杭州市西湖区青禾农民专业合作社", activity_date="2024-03-01"),
    ]
    return rows


def pairs_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "unique_id_l": ["commerce:c12", "commerce:c16"], "unique_id_r": ["tax:t12", "tax:t15"],
        "match_probability": [0.72, 0.81], "match_weight": [1.4, 2.1], "match_key": ["4", "4"],
    })


def build_store(path: Path, rows: list[dict[str, object]] | None = None) -> tuple[Store, dict[str, str]]:
    """Ingest the scenario records, save a resolution; return the store and label → entity_id."""
    frame = pd.DataFrame(rows or scenario_rows())
    frame["unique_id"] = frame["source"] + ":" + frame["source_record_id"]
    frame["row_number"] = range(1, len(frame) + 1)
    frame["raw"] = frame["name"]
    frame["record_hash"] = frame["unique_id"]
    frame["tax_id_kind"] = [{18: "uscc", 15: "region_org"}.get(len(t)) if isinstance(t, str) else None
                            for t in frame["tax_id"]]
    store = open_store(path)
    store.ingest_frame("enterprise", frame.drop(columns="_cluster"), [], "scenarios.csv")
    clusters = pd.DataFrame({"unique_id": frame["unique_id"], "cluster_id": frame["_cluster"]})
    store.save_resolution("enterprise", clusters, pairs_frame(), MODEL)
    members = store.membership("enterprise").set_index("unique_id")["entity_id"]
    labels = {str(lbl): str(members[uid]) for lbl, uid in zip(frame["_cluster"], frame["unique_id"], strict=True)}
    return store, labels
