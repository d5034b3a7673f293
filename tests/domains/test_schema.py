"""Domain schema files (matching_rules/<domain>/schema.yaml) read by resolver.domains."""

import shutil

import pytest

from resolver.domains import domain_names, load_domains, load_schema
from resolver.errors import ConfigError
from resolver.mapping import load_mapping, sources_of
from resolver.paths import rules_dir


def test_reference_domains_and_their_departments_come_from_the_rules_folder():
    assert {"enterprise", "person"} <= set(domain_names())
    assert {"tax", "commerce"} <= set(sources_of("enterprise"))
    assert {"police"} <= set(sources_of("person"))
    prefixes = {s.id_prefix for s in load_domains().values()}
    assert len(prefixes) == len(load_domains())


def test_personal_columns_follow_from_sensitivity_and_derived_parts():
    person = load_schema("person")
    assert person.personal() == {
        "id_number": "id", "id_birth_date": "hide", "id_sex": "hide", "id_region": "hide",
        "birth_date": "year", "birth_date_any": "hide", "phone": "phone", "phone_kind": "hide"}
    enterprise = load_schema("enterprise")
    # the kind of a tax number is public; the number is personal only when it embeds an ID
    assert enterprise.personal() == {"tax_id": "id", "legal_rep_id": "id", "phone": "phone",
                                     "phone_kind": "hide"}
    assert enterprise.fields["tax_id"].pii_when == "embeds_resident_id"
    assert set(enterprise.query_personal()) == {"tax_id", "legal_rep_id", "phone"}


def test_every_problem_of_a_schema_is_reported_at_once_with_its_key(tmp_path):
    (tmp_path / "household").mkdir()
    (tmp_path / "household" / "schema.yaml").write_text("""
domain: households
id_prefix: h
colour: blue
fields:
  head:
    type: persn_name
  head_id:
    type: identifier
    standard: passport
    sensitivity: secret
    fill_from: [nowhere]
  moved:
    type: date
    derived: {either: moved_any, valid: moved_valid}
""", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_schema("household", tmp_path)
    text = str(err.value)
    for expected in ["domain: 'households' must equal the folder name", "id_prefix", "unknown key 'colour'",
                     "fields.head.type: 'persn_name'", "fields.head_id.standard: 'passport'",
                     "fields.head_id.sensitivity: 'secret'", "refers to 'nowhere'",
                     "fields.moved.derived.valid"]:
        assert expected in text, expected
    assert "schema.yaml" in text


def test_a_mapping_in_another_rules_folder_is_checked_against_that_folders_schema(tmp_path):
    shutil.copytree(rules_dir() / "person", tmp_path / "person")
    (tmp_path / "sources").mkdir()
    mapping = tmp_path / "sources" / "hospital.yaml"
    mapping.write_text("source: hospital\ndomain: person\nrecord_id: 病历号\n"
                       "columns: {姓名: name, 证件号: id_number, 血型: blood_type}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'blood_type' is not a canonical person field"):
        load_mapping(mapping)
    schema = (tmp_path / "person" / "schema.yaml").read_text(encoding="utf-8")
    (tmp_path / "person" / "schema.yaml").write_text(
        schema + "  blood_type:\n    type: code\n    values: [A, B, AB, O]\n", encoding="utf-8")
    assert load_mapping(mapping).columns["血型"] == "blood_type"
    assert list(sources_of("person", tmp_path)) == ["hospital"]


def test_two_domains_may_not_share_a_master_id_prefix(tmp_path):
    for domain in ("person", "enterprise"):
        shutil.copytree(rules_dir() / domain, tmp_path / domain)
    text = (tmp_path / "enterprise" / "schema.yaml").read_text(encoding="utf-8")
    (tmp_path / "enterprise" / "schema.yaml").write_text(text.replace("id_prefix: E", "id_prefix: P"),
                                                         encoding="utf-8")
    with pytest.raises(ConfigError, match="id_prefix: 'P' is also domain"):
        load_domains(tmp_path)
