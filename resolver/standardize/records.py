"""Frame level: one call standardizes every canonical field of a source's records."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from resolver.standardize import fields, ids
from resolver.standardize.address import EMPTY as EMPTY_ADDRESS
from resolver.standardize.columns import (
    ADDRESS_COLUMNS,
    BOOL_COLUMNS,
    ENTERPRISE_COLUMNS,
    FLOAT_COLUMNS,
    PERSON_COLUMNS,
)
from resolver.standardize.dates import normalize_status, parse_date
from resolver.standardize.enterprise_name import MISSING
from resolver.standardize.frame import Coded, Column, Frame, coded_mask, rows, string_array, take
from resolver.standardize.person_name import name_pinyin
from resolver.standardize.phone import area_code_of, parse_phone
from resolver.standardize.tokens import NameTokenizer, build_trade_name_dictionary
from resolver.standardize.values import normalize_sex, parse_number

__all__ = ["build_trade_name_dictionary", "standardize_records", "NameTokenizer"]


_Frame = Frame
_Column = Column


def _fields(codes: np.ndarray, results: list[tuple | None], width: int) -> list[Coded]:
    rows = [r if r is not None else (None,) * width for r in results]
    return [Coded(codes, [r[i] for r in rows]) for i in range(width)]


def _each(test: Callable[[Any], bool]) -> Callable[[np.ndarray], np.ndarray]:
    """A per-value test (resolver.standardize.fields) over an object array."""
    return lambda values: np.fromiter((test(v) for v in values), dtype=bool, count=len(values))


_is_false = _each(fields.is_false)
_not_true = _each(fields.not_true)


def _present(column: _Column) -> np.ndarray:
    return column.codes >= 0


def _isnull(values: np.ndarray) -> np.ndarray:
    return pd.isna(values)


def _unmapped_mask(frame: _Frame, field: str, test: Callable[[Any], bool]) -> np.ndarray:
    """Per-row ``test`` of a field's raw cells as given (no strip, value map or blanking)."""
    codes, uniques = pd.factorize(frame.df[field].astype(object).to_numpy())
    table = np.fromiter((test(u) for u in uniques), dtype=bool, count=len(uniques))
    return np.append(table, False)[codes]


def _combine(func: Callable[..., Any], *columns: np.ndarray) -> np.ndarray:
    """Per-row ``func`` of columns with few distinct values each (None allowed), evaluated
    once per distinct combination of them."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    tables: list[list[Any]] = []
    for column in columns:
        codes, uniques = pd.factorize(np.asarray(column, dtype=object))
        table = [None, *uniques]  # code -1 (None or NaN) is None
        key = key * len(table) + (codes + 1)
        tables.append(table)
    combos, inverse = np.unique(key, return_inverse=True)
    results = []
    for combo in combos.tolist():
        args = []
        for table in reversed(tables):
            combo, code = divmod(combo, len(table))
            args.append(table[code])
        results.append(func(*reversed(args)))
    out = np.empty(len(results), dtype=object)
    out[:] = results
    return out[inverse.reshape(-1)]


# --- enterprise ------------------------------------------------------------------------


def _names(frame: _Frame, tokenizer: NameTokenizer | None, trade_names: Iterable[str]) -> None:
    raw = frame.raw("name")
    if tokenizer is None:  # loading jieba's dictionary overlaps the worker's parsing
        tokenizer = NameTokenizer()
    codes, parsed = frame.distinct(raw, None, fields.parse_names)  # type: ignore[arg-type]
    columns = ["name", "name_core", "trade_name", "name_region", "org_form", "entity_kind",
               "parent_name"]
    parsed = [p if p is not None else MISSING for p in parsed]
    parts = list(zip(*parsed, strict=True)) if parsed else [()] * len(MISSING)
    for col, part in zip(columns, parts, strict=False):
        frame.put(col, codes, part)
    if raw is not None:  # a raw '*' is an individual business without a name
        star = _unmapped_mask(frame, "name", fields.is_star_name)
        frame.out["entity_kind"][star] = "individual_business"
    cores, trades = parts[1], parts[2]
    tokenizer.add_trade_names(set(trade_names) | fields.learned_trade_names(trades))
    tokens = tokenizer.tokens
    token_lists = [tokens(c, t) if c else None for c, t in zip(cores, trades, strict=True)]
    frame.put("name_tokens", codes, token_lists)
    frame.flag(frame.mask("name", _isnull), "name_missing")


def _identifiers(frame: _Frame) -> None:
    codes, results = frame.distinct(frame.raw("uscc"), fields.uscc_with_org)
    uscc, uscc_valid, uscc_org_c, uscc_org_valid_c = _fields(codes, results, 4)
    frame.out.update(uscc=uscc, uscc_valid=uscc_valid)
    frame.flag(coded_mask(uscc_valid, _is_false), "uscc_invalid")
    codes, results = frame.distinct(frame.raw("reg_no"), ids.normalize_reg_no)
    frame.out["reg_no"], frame.out["reg_no_valid"] = _fields(codes, results, 2)
    frame.flag(frame.mask("reg_no_valid", _is_false), "reg_no_invalid")
    codes, results = frame.distinct(frame.raw("tax_id"), fields.tax_with_org)
    tax, tax_valid, tax_kind, tax_org_c, tax_org_valid_c, operator_c, other_c = _fields(codes, results, 7)
    codes, results = frame.distinct(frame.raw("legal_rep_id"), ids.normalize_resident_id)
    rep_id, rep_valid = _fields(codes, results, 2)
    tax_org, tax_org_valid, operator = rows(tax_org_c), rows(tax_org_valid_c), rows(operator_c)
    kinds = rows(tax_kind)
    # Numbers that read both as a USCC / region + org code and as a resident ID: the record decides
    other = rows(other_c)
    either = np.flatnonzero(~_isnull(other))
    if len(either):
        name_kind, rep = frame.out["entity_kind"], rows(rep_id)
        for i in either:
            if fields.reads_as_operator_id(other[i], name_kind[i], rep[i]):
                kinds[i], tax_org[i], tax_org_valid[i], operator[i] = "personal", None, None, other[i]
    frame.out.update(tax_id=tax, tax_id_valid=tax_valid, tax_id_kind=kinds)
    frame.flag(coded_mask(tax_valid, _is_false), "tax_id_invalid")

    # The organization code: as given, else from a valid USCC, else from a valid tax number.
    codes, results = frame.distinct(frame.raw("org_code"), ids.normalize_org_code)
    given, given_valid = (rows(c) for c in _fields(codes, results, 2))
    uscc_org, uscc_org_valid = rows(uscc_org_c), rows(uscc_org_valid_c)
    has_given, has_uscc = ~_isnull(given), ~_isnull(uscc_org)
    derived = np.where(has_uscc, uscc_org, tax_org)
    frame.out["org_code"] = np.where(has_given, given, derived)
    frame.out["org_code_valid"] = np.where(
        has_given, given_valid, np.where(has_uscc, uscc_org_valid, tax_org_valid))
    frame.flag(has_given & (given_valid == False), "org_code_invalid")  # noqa: E712
    frame.flag(has_given & ~_isnull(derived) & (given != derived), "org_code_conflict")

    frame.out["legal_rep_id"], frame.out["legal_rep_id_valid"] = rep_id, rep_valid
    frame.flag(coded_mask(rep_valid, _is_false), "legal_rep_id_invalid")
    # A business taxed under a person's resident ID: that person is its operator (legal rep).
    derive = ~_isnull(operator)
    if derive.any():
        given, given_valid = rows(rep_id), rows(rep_valid)
        derive &= given_valid != True  # noqa: E712 (None: no ID given)
        frame.out["legal_rep_id"] = np.where(derive, operator, given)
        frame.out["legal_rep_id_valid"] = np.where(derive, True, given_valid)


def _entity_kind(frame: _Frame) -> None:
    uscc, valid = frame.out.stored("uscc"), frame.out.stored("uscc_valid")
    if type(uscc) is Coded and type(valid) is Coded and uscc.codes is valid.codes:
        test = [fields.is_individual_uscc(c, v) for c, v in zip(uscc.results, valid.results,
                                                                   strict=True)]
        individual = rows(Coded(uscc.codes, test)) == True  # noqa: E712 (missing: None)
    else:
        individual = np.fromiter(map(fields.is_individual_uscc, frame.out["uscc"],
                                     frame.out["uscc_valid"]), dtype=bool, count=frame.n)
    raw = frame.raw("entity_kind")
    given = take([fields.given_entity_kind(v) for v in raw.items], raw.codes) if raw is not None \
        else np.full(frame.n, None, dtype=object)
    frame.out["entity_kind"] = _combine(fields.entity_kind_of, frame.out["entity_kind"],
                                        individual, given)


def _person_names(frame: _Frame, field: str, out: str, pinyin: bool) -> None:
    codes, names = frame.distinct(frame.raw(field), None, fields.clean_person_names)  # type: ignore[arg-type]
    frame.put(out, codes, names)
    if pinyin:
        frame.put("name_pinyin", codes, frame.map(name_pinyin, names))


def _address(frame: _Frame, default_city: str) -> None:
    parse = partial(fields.parse_addresses, default_city=default_city)
    codes, results = frame.distinct(frame.raw("address"), None, parse)  # type: ignore[arg-type]
    results = [r if r is not None else EMPTY_ADDRESS for r in results]
    for i, col in enumerate(ADDRESS_COLUMNS):
        frame.put(col, codes, [r[i] for r in results])


def _phone(frame: _Frame, default_area_code: str) -> None:
    raw = frame.raw("phone")
    parse = partial(parse_phone, default_area_code=default_area_code)
    codes, results = frame.distinct(raw, parse)
    number, kind, valid = _fields(codes, results, 3)
    frame.out.update(phone=number, phone_kind=kind, phone_valid=valid)
    if raw is not None:
        frame.flag(_present(raw) & coded_mask(valid, _not_true), "phone_unparseable")


def _dates(frame: _Frame, fields: Iterable[str]) -> None:
    for field in fields:
        raw = frame.raw(field)
        codes, results = frame.distinct(raw, parse_date)
        frame.put(field, codes, results)
        if raw is not None:
            frame.flag(_present(raw) & frame.mask(field, _isnull), f"date_unparseable:{field}")


def _enterprise_scalars(frame: _Frame) -> None:
    raw = frame.raw("status")
    codes, results = frame.distinct(raw, normalize_status)
    frame.put("status", codes, results)
    if raw is not None:
        frame.flag(_present(raw) & frame.mask("status", _isnull), "status_unknown")
    frame.out["industry_code"] = frame.values(frame.raw("industry_code"))
    for field in ("registered_capital", "employees", "revenue"):
        raw = frame.raw(field)
        codes, results = frame.distinct(raw, parse_number)
        frame.put(field, codes, results)
        if raw is not None:
            frame.flag(_present(raw) & frame.mask(field, _isnull),
                       f"number_unparseable:{field}")


def _person_ids(frame: _Frame) -> None:
    codes, results = frame.distinct(frame.raw("id_number"), ids.parse_resident_id)
    number, valid, birth, sex_c, region = _fields(codes, results, 5)
    frame.out.update(id_number=number, id_number_valid=valid, id_birth_date=birth, id_sex=sex_c,
                     id_region=region)
    frame.flag(coded_mask(valid, _is_false), "id_number_invalid")
    sex = rows(sex_c)
    raw_sex = frame.raw("sex")
    codes, results = frame.distinct(raw_sex, normalize_sex)
    frame.put("sex", codes, results)
    if raw_sex is not None:
        frame.flag(_present(raw_sex) & _isnull(frame.out["sex"]), "sex_unknown")
    frame.flag(_combine(fields.sex_mismatch, frame.out["sex"], sex).astype(bool),
               "id_sex_mismatch")


def _birth_date_any(frame: _Frame) -> None:
    either = [ids.birth_date_for_blocking(b, i, n) for b, i, n in zip(
        frame.out["birth_date"], frame.out["id_birth_date"], frame.out["id_number"],
        strict=True)]
    frame.out["birth_date_any"] = np.asarray(either, dtype=object)


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
        values = frame.out.stored(col)
        if values is None:
            values = np.full(frame.n, None, dtype=object)
        if col not in BOOL_COLUMNS | FLOAT_COLUMNS | {"row_number", "name_tokens"}:
            data[col] = pd.Series(string_array(values), index=df.index)
            continue
        if type(values) is Coded:
            values = rows(values)
        if col in BOOL_COLUMNS:
            data[col] = pd.array(values, dtype="boolean")
        elif col in FLOAT_COLUMNS:
            data[col] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(float)
        elif col == "row_number":
            data[col] = pd.array(values, dtype="Int64")
        else:  # name_tokens
            data[col] = pd.Series(values, dtype=object, index=df.index)
    out = pd.DataFrame(data, index=df.index)
    return out.reset_index(drop=True)


def standardize_records(
    df: pd.DataFrame,
    domain: str,
    value_maps: dict[str, dict[str, str]] | None = None,
    default_city: str = "杭州市",
    trade_names: Iterable[str] = (),
    tokenizer: NameTokenizer | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """Canonical and derived columns (docs/columns.md) for records of one domain; never raises on bad values.

    ``trade_names`` adds to the jieba dictionary learned from these names (e.g. one learned
    from the registry); pass a ``tokenizer`` to reuse one across calls. ``workers`` > 1 uses
    a second process for the distinct values of big frames (default: 2 from 200k rows).
    """
    if domain not in ("enterprise", "person"):
        raise ValueError(f"unknown domain {domain!r}: expected 'enterprise' or 'person'")
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(df) >= 200_000 else 1
    if workers <= 1:
        return _standardize(_Frame(df, value_maps or {}), domain, default_city, trade_names,
                            tokenizer)
    # fork: the worker inherits the loaded tables and needs no importable __main__; it only
    # runs pure-Python parsers, never pandas/pyarrow, so inherited thread state is not touched.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
        frame = _Frame(df, value_maps or {}, pool)
        return _standardize(frame, domain, default_city, trade_names, tokenizer)


def _standardize(frame: _Frame, domain: str, default_city: str, trade_names: Iterable[str],
                 tokenizer: NameTokenizer | None) -> pd.DataFrame:
    default_area_code = area_code_of(default_city)
    _prefetch(frame, domain, default_city, default_area_code)
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
    _birth_date_any(frame)
    _address(frame, default_city)
    _phone(frame, default_area_code)
    return _finish(frame, PERSON_COLUMNS)


def _prefetch(frame: _Frame, domain: str, default_city: str, default_area_code: str) -> None:
    """Queue the worker's share of every parsed field up front, so it never waits for us."""
    if frame.pool is None:
        return
    address = partial(fields.parse_addresses, default_city=default_city)
    phone = partial(parse_phone, default_area_code=default_area_code)
    if domain == "enterprise":
        frame.prefetch("name", batch=fields.parse_names)
        for field, func in (("uscc", fields.uscc_with_org), ("reg_no", ids.normalize_reg_no),
                            ("tax_id", fields.tax_with_org), ("org_code", ids.normalize_org_code),
                            ("legal_rep_id", ids.normalize_resident_id)):
            frame.prefetch(field, func)
        frame.prefetch("legal_rep", batch=fields.clean_person_names)
        frame.prefetch("address", batch=address)
        frame.prefetch("phone", phone)
        frame.prefetch("established", parse_date)
        frame.prefetch("activity_date", parse_date)
    else:
        frame.prefetch("name", batch=fields.clean_person_names)
        frame.prefetch("id_number", ids.parse_resident_id)
        frame.prefetch("birth_date", parse_date)
        frame.prefetch("address", batch=address)
        frame.prefetch("phone", phone)
