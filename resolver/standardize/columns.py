"""Column lists of standardized frames (see docs/columns.md)."""

KEY_COLUMNS = ["source", "source_record_id", "unique_id", "row_number"]

ADDRESS_COLUMNS = ["address", "province", "city", "district", "district_code", "town", "road",
                   "house_number", "address_rest"]
PHONE_COLUMNS = ["phone", "phone_kind", "phone_valid"]

ENTERPRISE_COLUMNS = [
    *KEY_COLUMNS,
    "name", "name_core", "trade_name", "name_region", "org_form", "name_tokens", "entity_kind",
    "parent_name",
    "uscc", "uscc_valid", "org_code", "org_code_valid", "reg_no", "reg_no_valid",
    "tax_id", "tax_id_valid", "tax_id_kind",
    "legal_rep", "legal_rep_id", "legal_rep_id_valid",
    *ADDRESS_COLUMNS, *PHONE_COLUMNS,
    "established", "activity_date", "status",
    "industry_code", "registered_capital", "employees", "revenue",
    "std_flags",
]

PERSON_COLUMNS = [
    *KEY_COLUMNS,
    "name", "name_pinyin", "id_number", "id_number_valid", "id_birth_date", "id_sex", "id_region",
    "sex", "birth_date", "birth_date_any",
    *ADDRESS_COLUMNS, *PHONE_COLUMNS,
    "std_flags",
]

BOOL_COLUMNS = frozenset(c for c in ENTERPRISE_COLUMNS + PERSON_COLUMNS if c.endswith("_valid"))
FLOAT_COLUMNS = frozenset({"registered_capital", "employees", "revenue"})
ENTITY_KINDS = frozenset({"company", "branch", "individual_business", "other"})
