"""Individual businesses taxed under the operator's resident ID: the tax number gives legal_rep_id."""

import pandas as pd
import pytest

from resolver.standardize import ids, standardize_records
from resolver.standardize.one import standardize_one
from resolver.standardize.tokens import NameTokenizer

AMBIGUOUS = "330106800101109"  # org code 800101109 passes its check; 1980-01-01 is a real birth date
assert ids.is_valid_org_code(AMBIGUOUS[6:]) and ids.is_old_resident_id(AMBIGUOUS)
ID_AS_USCC = "510902197602049121"  # a resident ID whose digits also pass the USCC check
assert ids.is_valid_uscc(ID_AS_USCC) and ids.is_valid_resident_id(ID_AS_USCC)


@pytest.mark.parametrize(
    ("name", "tax_id", "given", "kind", "legal_rep_id", "org_code"),
    [
        # the usual 20 digits: ID + 2-digit serial; lowercase x and full-width digits as typed
        ("西湖区张三小吃店", "11010519491231002x01", None, "personal", "11010519491231002X", None),
        ("西湖区张三小吃店", "１１０１０５１９４９１２３１００２Ｘ", None, "personal", "11010519491231002X", None),
        # the old 15-digit ID, bare or with the serial: converted to 18 digits
        ("*", "110105491231002", None, "personal", "11010519491231002X", None),
        ("*", "11010549123100201", None, "personal", "11010519491231002X", None),
        # an invalid ID given beside it is replaced; a valid one (another person) is kept
        ("*", "11010519491231002X01", "110105194912310021", "personal", "11010519491231002X", None),
        ("*", "11010519491231002X01", "330106198001011091", "personal", "330106198001011091", None),
        # 15 digits that read both ways: an individual business's is its operator's ID ...
        ("拱墅区李四五金店", AMBIGUOUS, None, "personal", "330106198001011091", None),
        ("杭州华新科技有限公司", AMBIGUOUS, "330106198001011091", "personal", "330106198001011091", None),
        # ... a company's is region + organization code
        ("杭州华新科技有限公司", AMBIGUOUS, None, "region_org", None, "800101109"),
        ("杭州华新科技有限公司", "91330000733796106P", None, "uscc", None, "733796106"),
        # the same for 18 digits that pass both the USCC and the resident ID checks
        ("*", ID_AS_USCC, None, "personal", ID_AS_USCC, None),
        ("钱塘区许世雄修理部", ID_AS_USCC, None, "personal", ID_AS_USCC, None),
        ("杭州华新科技有限公司", ID_AS_USCC, None, "uscc", None, "760204912"),
    ],
)
def test_operator_id_from_tax_number(name, tax_id, given, kind, legal_rep_id, org_code):
    record = {"source": "tax", "source_record_id": "1", "name": name, "tax_id": tax_id, "legal_rep_id": given}
    frame = standardize_records(pd.DataFrame([record]), "enterprise").iloc[0]
    one = standardize_one("enterprise", record, NameTokenizer())
    for out in (frame, one):
        assert out["tax_id_kind"] == kind and bool(out["tax_id_valid"])
        assert (out["legal_rep_id"] if pd.notna(out["legal_rep_id"]) else None) == (legal_rep_id or given)
        assert (out["org_code"] if pd.notna(out["org_code"]) else None) == org_code
        if legal_rep_id:
            assert bool(out["legal_rep_id_valid"])
