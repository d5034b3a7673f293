"""What follows from a domain's schema.yaml alone: scopes, tables, master IDs, masking, search
(no HTTP, no standardizer: a third domain written into a temp rules folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from resolver.access.access_store import route_shape
from resolver.access.keys import known_scopes, parse_scopes
from resolver.access.masking import mask_fields, withhold_personal
from resolver.errors import ConfigError, InputError, NotFoundError, ResolverError
from resolver.lookup.entity import check_master_id
from resolver.lookup.queries import check_domain, lookup_columns
from resolver.lookup.search import classify_identifier
from resolver.paths import rules_dir
from resolver.store.master_ids import format_id
from resolver.store.store import column_type, records_table

HOUSEHOLD = """
domain: household
id_prefix: H
fields:
  head:
    type: person_name
    search: name
  head_id:
    type: identifier
    standard: resident_id
    search: identifier
    sensitivity: pii
    derived: {birth_date: head_birth}
  booklet_no:
    type: identifier
    search: identifier
  phone:
    type: phone
    sensitivity: pii
  members:
    type: number
"""


@pytest.fixture
def household(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(rules_dir(), root, ignore=shutil.ignore_patterns("models"))
    (root / "household").mkdir()
    (root / "household" / "schema.yaml").write_text(HOUSEHOLD, encoding="utf-8")
    monkeypatch.setenv("RESOLVER_RULES", str(root))
    return root


def test_a_new_domain_gets_scopes_a_table_and_master_ids(household: Path) -> None:
    assert {"household:read", "household:pii"} <= set(known_scopes())
    assert parse_scopes("household:read") == frozenset({"household:read"})
    assert records_table("household") == "records_household" and check_domain("household") == "household"
    assert format_id("household", 7) == "H000000007"
    check_master_id("household", "H000000007")
    with pytest.raises(InputError, match="H followed by 9 digits"):
        check_master_id("household", "E000000007")
    assert column_type("members") == "DOUBLE"
    assert route_shape("GET /v1/household/H000000007") == "GET /v1/household/{…}"


def test_an_unknown_domain_is_refused_everywhere(household: Path) -> None:
    with pytest.raises(NotFoundError):
        records_table("vehicle")
    with pytest.raises(NotFoundError):
        check_master_id("vehicle", "V000000001")
    with pytest.raises(NotFoundError):
        check_master_id("../household", "H000000001")
    with pytest.raises(ResolverError, match="unknown scope"):
        parse_scopes("vehicle:read")
    with pytest.raises(ConfigError):
        mask_fields("vehicle", {"plate": "x"}, unmasked=False)


def test_a_new_domain_is_masked_and_searched_by_its_schema(household: Path) -> None:
    row = {"head": "王伟", "head_id": "33018219791005148X", "head_id_valid": True,
           "head_birth": "1979-10-05", "booklet_no": "HB001", "phone": "13812345678",
           "phone_kind": "mobile", "members": 3}
    assert mask_fields("household", row, unmasked=False) == {
        "head": "王伟", "head_id": "330182************", "head_id_valid": True, "booklet_no": "HB001",
        "phone": "138****5678", "members": 3}
    assert withhold_personal("household", {"head": "王伟", "phone": "13812345678"}, unmasked=False) == (
        {"head": "王伟"}, ["phone"])
    assert set(lookup_columns("household")) == {"head", "head_id", "booklet_no"}
    resident = classify_identifier("household", "330182791005148")  # 15-digit ID → 18
    assert resident.kind == "head_id" and len(resident.value) == 18
    booklet = classify_identifier("household", "hb-001")  # no check: read as it is, normalised
    assert (booklet.kind, booklet.value, booklet.lookups) == ("booklet_no", "HB001", (("booklet_no", "HB001"),))


def test_the_reference_identifiers_keep_their_lookups() -> None:
    uscc = classify_identifier("enterprise", "91330106MA2B00001X")
    assert [c for c, _ in uscc.lookups][:2] == ["uscc", "tax_id"]
    old_tax = classify_identifier("enterprise", "330106" + "MA2B0000X")
    assert old_tax.kind == "tax_id" and [c for c, _ in old_tax.lookups][:2] == ["tax_id", "reg_no"]
