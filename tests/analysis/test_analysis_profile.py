"""field_profile / quarantine_summary: completeness, validity and reasons per source."""

from __future__ import annotations

import math

import pandas as pd

from resolver.analysis.profile import field_profile, quarantine_summary, reason_kind


def test_present_and_valid_shares_per_source():
    records = pd.DataFrame({
        "source": ["tax", "tax", "tax", "tax", "commerce"],
        "uscc": ["A", "B", None, "D", None],
        "uscc_valid": pd.array([True, False, pd.NA, True, pd.NA], dtype="boolean"),
        "name": ["n1", None, "n3", "n4", "n5"],
    })
    prof = field_profile(records, ["uscc", "name", "phone"],
                         mapped={"tax": ["uscc", "name"], "commerce": ["name"]})
    tax = prof[prof["source"] == "tax"].set_index("field")
    assert tax.loc["uscc", "present"] == 0.75
    assert abs(tax.loc["uscc", "valid"] - 2 / 3) < 1e-12
    assert tax.loc["name", "present"] == 0.75 and math.isnan(tax.loc["name", "valid"])
    assert tax.loc["phone", "present"] == 0.0 and not tax.loc["phone", "mapped"]
    com = prof[prof["source"] == "commerce"].set_index("field")
    assert com.loc["uscc", "present"] == 0.0 and math.isnan(com.loc["uscc", "valid"])
    assert bool(com.loc["name", "mapped"]) and not bool(com.loc["uscc", "mapped"])
    assert set(prof["records"]) == {4, 1}


def test_reasons_are_grouped_without_row_detail():
    assert reason_kind("duplicate record id 'SW1' (first at row 3)") == "duplicate record id '…'"
    q = pd.DataFrame({
        "source": ["tax", "tax", "tax"],
        "file": ["/tmp/x/tax.csv"] * 3,
        "field": ["记录编号", "记录编号", "成立日期"],
        "reason": ["duplicate record id 'A' (first at row 2)",
                   "duplicate record id 'B' (first at row 4)", "unreadable date '2020-13-45'"],
    })
    summary = quarantine_summary(q)
    assert summary.to_dict("records")[0] == {"source": "tax", "file": "tax.csv", "field": "记录编号",
                                             "reason_kind": "duplicate record id '…'", "rows": 2}
    assert summary["rows"].sum() == 3
    assert quarantine_summary(q.iloc[0:0]).empty
