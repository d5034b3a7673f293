"""Frame level: one call standardizes every canonical field of a source's records."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from resolver.standardize import ids
from resolver.standardize.address import EMPTY as EMPTY_ADDRESS
from resolver.standardize.address import parse_cleaned_address
from resolver.standardize.columns import (
    ADDRESS_COLUMNS,
    BOOL_COLUMNS,
    ENTERPRISE_COLUMNS,
    ENTITY_KINDS,
    FLOAT_COLUMNS,
    PERSON_COLUMNS,
)
from resolver.standardize.dates import normalize_status, parse_date
from resolver.standardize.enterprise_name import MISSING, parse_cleaned_name
from resolver.standardize.person_name import name_pinyin, simplify_person_names, tidy_person_name
from resolver.standardize.phone import area_code_of, parse_phone
from resolver.standardize.text import (
    is_blank,
    nfkc,
    remove_spaces,
    to_simplified_many,
    unify_brackets,
)
from resolver.standardize.tokens import NameTokenizer, build_trade_name_dictionary
from resolver.standardize.values import normalize_sex, parse_number

__all__ = ["build_trade_name_dictionary", "standardize_records", "NameTokenizer"]


_INNER_SPACES = re.compile(r"[^\S\n]+")


class _Frame:
    """Output columns and per-row flags, filled one field at a time over distinct values."""

    def __init__(self, df: pd.DataFrame, value_maps: dict[str, dict[str, str]]):
        self.df = df
        self.n = len(df)
        self.value_maps = value_maps
        self.out: dict[str, Any] = {}
        self.flags: list[tuple[np.ndarray, str]] = []

    def raw(self, field: str) -> np.ndarray | None:
        """Values of a field as an object array with None for missing/blank; None if absent."""
        if field not in self.df.columns:
            return None
        values = self.df[field].astype(object).to_numpy()
        mapping = self.value_maps.get(field)
        codes, uniques = pd.factorize(values)
        cleaned = [_raw_value(u, mapping) for u in uniques]
        return _take(cleaned, codes)

    def distinct(self, values: np.ndarray | None, func: Callable[[Any], Any],
                 batch: Callable[[list[Any]], list[Any]] | None = None) -> tuple[np.ndarray, list]:
        """Apply ``func`` (or ``batch`` over the list) once per distinct non-null value."""
        if values is None:
            return np.full(self.n, -1, dtype=np.intp), []
        codes, uniques = pd.factorize(values)
        items = list(uniques)
        return codes, (batch(items) if batch else [func(u) for u in items])

    def put(self, name: str, codes: np.ndarray, results: Sequence[Any]) -> None:
        self.out[name] = _take(results, codes)

    def flag(self, mask: np.ndarray, code: str) -> None:
        if mask.any():
            self.flags.append((mask, code))


def _raw_value(value: Any, mapping: dict[str, str] | None) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    if mapping and text.strip() in mapping:
        text = mapping[text.strip()]
    return None if is_blank(text) else text.strip()


def _take(results: Sequence[Any], codes: np.ndarray) -> np.ndarray:
    """Per-row array from per-distinct results; code -1 (missing) gives None."""
    table = np.empty(len(results) + 1, dtype=object)
    table[: len(results)] = results
    table[len(results)] = None
    return table[codes]


def _fields(codes: np.ndarray, results: list[tuple | None], width: int) -> list[np.ndarray]:
    rows = [r if r is not None else (None,) * width for r in results]
    return [_take([r[i] for r in rows], codes) for i in range(width)]


def _isnull(values: np.ndarray) -> np.ndarray:
    return pd.isna(pd.Series(values, dtype=object)).to_numpy()


# --- enterprise ------------------------------------------------------------------------


def _clean_many(values: list[str]) -> list[str]:
    """clean_text over many values at once: one NFKC and one OpenCC call on the joined text."""
    joined = "\n".join(v.replace("\n", " ") for v in values)
    joined = _INNER_SPACES.sub("", unify_brackets(nfkc(joined)))
    out = to_simplified_many([joined])[0].split("\n") if values else []
    if len(out) != len(values):  # NFKC never makes or eats a newline; stay safe anyway
        return to_simplified_many(remove_spaces(unify_brackets(nfkc(v))) for v in values)
    return out


def _names(frame: _Frame, tokenizer: NameTokenizer | None, trade_names: Iterable[str]) -> None:
    raw = frame.raw("name")
    codes, parsed = frame.distinct(raw, None, lambda items: [  # type: ignore[arg-type]
        parse_cleaned_name(c) for c in _clean_many(items)])
    fields = ["name", "name_core", "trade_name", "name_region", "org_form", "entity_kind",
              "parent_name"]
    parsed = [p if p is not None else MISSING for p in parsed]
    for i, col in enumerate(fields):
        frame.put(col, codes, [p[i] for p in parsed])
    if raw is not None:  # a raw '*' is an individual business without a name
        star = frame.df["name"].astype("string").str.strip().eq("*").fillna(False).to_numpy(bool)
        frame.out["entity_kind"][star] = "individual_business"
    learned = {p.trade_name for p in parsed if p.trade_name and 2 <= len(p.trade_name) <= 8}
    if tokenizer is None:
        tokenizer = NameTokenizer()
    tokenizer.add_trade_names(set(trade_names) | learned)
    token_lists = [tokenizer.tokens(p.core, p.trade_name) if p.core else None for p in parsed]
    frame.put("name_tokens", codes, token_lists)
    frame.flag(_isnull(frame.out["name"]), "name_missing")


def _identifiers(frame: _Frame) -> None:
    for field, func in (("uscc", ids.normalize_uscc), ("reg_no", ids.normalize_reg_no)):
        codes, results = frame.distinct(frame.raw(field), func)
        value, valid = _fields(codes, results, 2)
        frame.out[field], frame.out[f"{field}_valid"] = value, valid
        frame.flag(valid == False, f"{field}_invalid")  # noqa: E712 (object array)
    codes, results = frame.distinct(frame.raw("tax_id"), ids.parse_tax_id)
    tax, tax_valid, tax_kind = _fields(codes, results, 3)
    frame.out.update(tax_id=tax, tax_id_valid=tax_valid, tax_id_kind=tax_kind)
    frame.flag(tax_valid == False, "tax_id_invalid")  # noqa: E712

    # The organization code: as given, else from a valid USCC, else from a valid tax number.
    codes, results = frame.distinct(frame.raw("org_code"), ids.normalize_org_code)
    given, _ = _fields(codes, results, 2)
    from_uscc = _derive(frame.out["uscc"], frame.out["uscc_valid"], ids.org_code_from_uscc)
    from_tax = _derive(tax, tax_valid, ids.org_code_from_tax_id)
    derived = np.where(_isnull(from_uscc), from_tax, from_uscc)
    org = np.where(_isnull(given), derived, given)
    codes, results = frame.distinct(org, ids.is_valid_org_code)
    frame.out["org_code"], frame.out["org_code_valid"] = org, _take(results, codes)
    frame.flag(~_isnull(given) & (frame.out["org_code_valid"] == False), "org_code_invalid")  # noqa: E712
    frame.flag(~_isnull(given) & ~_isnull(derived) & (given != derived), "org_code_conflict")

    codes, results = frame.distinct(frame.raw("legal_rep_id"), ids.normalize_resident_id)
    rep_id, rep_valid = _fields(codes, results, 2)
    frame.out["legal_rep_id"], frame.out["legal_rep_id_valid"] = rep_id, rep_valid
    frame.flag(rep_valid == False, "legal_rep_id_invalid")  # noqa: E712


def _derive(values: np.ndarray, valid: np.ndarray, func: Callable[[str], str | None]) -> np.ndarray:
    ok = valid == True  # noqa: E712 (object array holding None)
    out = np.full(len(values), None, dtype=object)
    out[ok] = [func(v) for v in values[ok]]
    return out


def _entity_kind(frame: _Frame) -> None:
    kind = frame.out["entity_kind"]
    uscc = frame.out["uscc"]
    # USCC positions 1-2 = 92: registered by market regulation as an individual business.
    individual = np.array([isinstance(u, str) and u.startswith("92") for u in uscc], dtype=bool)
    individual &= frame.out["uscc_valid"] == True  # noqa: E712
    kind = np.where(individual & (kind != "branch"), "individual_business", kind)
    given = frame.raw("entity_kind")
    if given is not None:
        ok = np.isin(given.astype(str), list(ENTITY_KINDS))
        kind = np.where(ok, given, kind)
    frame.out["entity_kind"] = kind


def _person_names(frame: _Frame, field: str, out: str, pinyin: bool) -> None:
    def clean(items: list[str]) -> list[str | None]:
        tidied = [tidy_person_name(v) for v in items]
        present = [t for t in tidied if t]
        simple = iter(simplify_person_names(present))
        return [next(simple) if t else None for t in tidied]

    codes, names = frame.distinct(frame.raw(field), None, clean)  # type: ignore[arg-type]
    frame.put(out, codes, names)
    if pinyin:
        frame.put("name_pinyin", codes, [name_pinyin(n) for n in names])


def _address(frame: _Frame, default_city: str) -> None:
    codes, results = frame.distinct(frame.raw("address"), None, lambda items: [  # type: ignore[arg-type]
        parse_cleaned_address(c, default_city) for c in _clean_many(items)])
    results = [r if r is not None else EMPTY_ADDRESS for r in results]
    for i, col in enumerate(ADDRESS_COLUMNS):
        frame.put(col, codes, [r[i] for r in results])


def _phone(frame: _Frame, default_area_code: str) -> None:
    raw = frame.raw("phone")
    codes, results = frame.distinct(raw, lambda v: parse_phone(v, default_area_code))
    number, kind, valid = _fields(codes, results, 3)
    frame.out.update(phone=number, phone_kind=kind, phone_valid=valid)
    if raw is not None:
        frame.flag(~_isnull(raw) & (valid != True), "phone_unparseable")  # noqa: E712


def _dates(frame: _Frame, fields: Iterable[str]) -> None:
    for field in fields:
        raw = frame.raw(field)
        codes, results = frame.distinct(raw, parse_date)
        frame.put(field, codes, results)
        if raw is not None:
            frame.flag(~_isnull(raw) & _isnull(frame.out[field]), f"date_unparseable:{field}")


def _enterprise_scalars(frame: _Frame) -> None:
    raw = frame.raw("status")
    codes, results = frame.distinct(raw, lambda v: normalize_status(v))
    frame.put("status", codes, results)
    if raw is not None:
        frame.flag(~_isnull(raw) & _isnull(frame.out["status"]), "status_unknown")
    industry = frame.raw("industry_code")
    frame.out["industry_code"] = industry if industry is not None else np.full(frame.n, None)
    for field in ("registered_capital", "employees", "revenue"):
        raw = frame.raw(field)
        codes, results = frame.distinct(raw, parse_number)
        frame.put(field, codes, results)
        if raw is not None:
            frame.flag(~_isnull(raw) & _isnull(frame.out[field]), f"number_unparseable:{field}")


def _person_ids(frame: _Frame) -> None:
    codes, results = frame.distinct(frame.raw("id_number"), ids.parse_resident_id)
    number, valid, birth, sex, region = _fields(codes, results, 5)
    frame.out.update(id_number=number, id_number_valid=valid, id_birth_date=birth, id_sex=sex,
                     id_region=region)
    frame.flag(valid == False, "id_number_invalid")  # noqa: E712
    raw_sex = frame.raw("sex")
    codes, results = frame.distinct(raw_sex, normalize_sex)
    frame.put("sex", codes, results)
    if raw_sex is not None:
        frame.flag(~_isnull(raw_sex) & _isnull(frame.out["sex"]), "sex_unknown")
    both = ~_isnull(frame.out["sex"]) & ~_isnull(sex)
    frame.flag(both & (frame.out["sex"] != sex), "id_sex_mismatch")


# --- assembly --------------------------------------------------------------------------


def _finish(frame: _Frame, columns: list[str]) -> pd.DataFrame:
    df = frame.df
    source = df["source"].astype(str).to_numpy(dtype=object) if "source" in df else None
    record = (df["source_record_id"].astype(str).to_numpy(dtype=object)
              if "source_record_id" in df else None)
    frame.out["source"] = source
    frame.out["source_record_id"] = record
    frame.out["unique_id"] = (source + ":" + record) if source is not None and record is not None \
        else None
    frame.out["row_number"] = df["row_number"].to_numpy() if "row_number" in df else None
    flags = np.full(frame.n, "", dtype=object)
    for mask, code in frame.flags:
        flags = np.where(mask, flags + code + ";", flags)
    frame.out["std_flags"] = np.array([f[:-1] for f in flags], dtype=object) \
        if frame.flags else flags
    data: dict[str, Any] = {}
    for col in columns:
        values = frame.out.get(col)
        if values is None:
            values = np.full(frame.n, None, dtype=object)
        if col in BOOL_COLUMNS:
            data[col] = pd.array(values, dtype="boolean")
        elif col in FLOAT_COLUMNS:
            data[col] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(float)
        elif col == "row_number":
            data[col] = pd.array(values, dtype="Int64")
        elif col == "name_tokens":
            data[col] = pd.Series(values, dtype=object, index=df.index)
        else:
            data[col] = pd.Series(values, dtype="string", index=df.index)
    out = pd.DataFrame(data, index=df.index)
    return out.reset_index(drop=True)


def standardize_records(
    df: pd.DataFrame,
    domain: str,
    value_maps: dict[str, dict[str, str]] | None = None,
    default_city: str = "杭州市",
    trade_names: Iterable[str] = (),
    tokenizer: NameTokenizer | None = None,
) -> pd.DataFrame:
    """Canonical and derived columns (docs/columns.md) for records of one domain; never raises on bad values."""
    if domain not in ("enterprise", "person"):
        raise ValueError(f"unknown domain {domain!r}: expected 'enterprise' or 'person'")
    frame = _Frame(df, value_maps or {})
    default_area_code = area_code_of(default_city)
    if domain == "enterprise":
        _names(frame, tokenizer, trade_names)
        _identifiers(frame)
        _entity_kind(frame)
        _person_names(frame, "legal_rep", "legal_rep", pinyin=False)
        _address(frame, default_city)
        _phone(frame, default_area_code)
        _dates(frame, ("established", "activity_date"))
        _enterprise_scalars(frame)
        return _finish(frame, ENTERPRISE_COLUMNS)
    _person_names(frame, "name", "name", pinyin=True)
    frame.flag(_isnull(frame.out["name"]), "name_missing")
    _person_ids(frame)
    _dates(frame, ("birth_date",))
    _address(frame, default_city)
    _phone(frame, default_area_code)
    return _finish(frame, PERSON_COLUMNS)
