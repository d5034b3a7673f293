"""standardize_one (the match path) gives exactly what standardize_records gives, on real
fixture exports of both domains: every column, every flag."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from resolver.canonical import apply_mapping
from resolver.lookup.one_record import standardize_one
from resolver.mapping import CANONICAL_FIELDS, load_mapping
from resolver.paths import REPO_ROOT
from resolver.readers import read_export
from resolver.standardize.records import standardize_records
from resolver.standardize.tokens import NameTokenizer

SAMPLE = REPO_ROOT / "fixtures" / "sample"


def _canonical(source: str, file: str, domain: str, n: int) -> pd.DataFrame:
    mapping = load_mapping(REPO_ROOT / "matching_rules" / "sources" / f"{source}.yaml")
    raw, _ = read_export(SAMPLE / file, mapping)
    frame, _ = apply_mapping(raw.head(n), mapping, file)
    keep = ["source", "source_record_id", *[c for c in CANONICAL_FIELDS[domain] if c in frame.columns]]
    return frame[keep].reset_index(drop=True)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if hasattr(a, "__len__") and not isinstance(a, str):
        return list(a) == list(b)  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize("source,file,domain", [
    ("commerce", "commerce_registry.csv", "enterprise"),
    ("tax", "tax_taxpayers.csv", "enterprise"),
    ("police", "police_household.csv", "person"),
    ("housing_fund", "housing_fund_accounts.csv", "person"),
])
def test_one_record_equals_the_frame_standardizer(source, file, domain):
    raw = _canonical(source, file, domain, 300)
    tokenizer = NameTokenizer()
    # the frame call teaches the tokenizer every trade name of the batch; the single-record
    # calls then see the same dictionary, so token lists are comparable
    expected = standardize_records(raw, domain, tokenizer=tokenizer)
    flagged = 0
    for i, record in enumerate(raw.to_dict("records")):
        ours = standardize_one(domain, {k: v for k, v in record.items() if v is not None and v == v},
                               tokenizer)
        want = {k: (None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v)
                for k, v in expected.iloc[i].to_dict().items()}
        assert set(ours) == set(want)
        diff = {k: (ours[k], want[k]) for k in want
                if not (ours[k] is None and want[k] is None) and not _same(ours[k], want[k])}
        assert diff == {}, (record, diff)
        flagged += bool(ours["std_flags"])
    assert flagged > 0  # the sample's noise exercises the flags too
