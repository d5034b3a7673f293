"""The frame path's standardizer for each field type (schema.yaml `type`, and `standard` for
identifiers): one function per type, over a field's distinct values (resolver.standardize.frame).

Column names come from the field's `parts`; the facts one field reads from another (the org
code inside a USCC, the operator's ID inside a personal tax number, the kind an enterprise name
reads as, the birth date and sex inside a resident ID) pass through `Job.facts`. Flags keep
their codes: `<field>_invalid`, `<field>_conflict`, `<field>_unknown`, `<field>_unparseable`,
`<field>_missing`, `id_<field>_mismatch`, `date_unparseable:<field>`, `number_unparseable:<field>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from resolver.domains import ADDRESS_PARTS, FieldSpec
from resolver.standardize import fields, generic, ids
from resolver.standardize.address import EMPTY as EMPTY_ADDRESS
from resolver.standardize.enterprise_name import MISSING
from resolver.standardize.frame import (
    Coded,
    Column,
    Frame,
    coded_mask,
    factorize,
    rows,
    take,
)
from resolver.standardize.person_name import name_pinyin
from resolver.standardize.plan import Plan
from resolver.standardize.tokens import NameTokenizer

INDIVIDUAL = "individual_business"


class Job:
    """One frame being standardized: its plan, the facts fields hand each other, the tokenizer."""

    def __init__(self, frame: Frame, plan: Plan, tokenizer: NameTokenizer | None,
                 trade_names: Iterable[str]):
        self.frame = frame
        self.plan = plan
        self._tokenizer = tokenizer
        self._own_tokenizer = tokenizer is None
        self._last_tokenized = next((f.name for f in reversed(plan.order)
                                     if f.type == "enterprise_name" and "tokens" in f.parts), None)
        self.trade_names = trade_names
        self.facts: dict[str, dict[str, Any]] = {}
        self._parsed: dict[str, tuple[np.ndarray, list[Any]]] = {}

    def tokenizer(self) -> NameTokenizer:
        if self._tokenizer is None:  # loading jieba's dictionary overlaps the worker's parsing
            self._tokenizer = NameTokenizer()
        return self._tokenizer

    def parsed(self, spec: FieldSpec, ahead: bool = False) -> tuple[np.ndarray, list[Any]]:
        """The field's parser over its distinct raw values. Another field may ask ``ahead``
        of the field's own step: then the result is kept for that step (and only till then,
        a big frame's parsed tuples are most of its memory)."""
        hit = self._parsed.get(spec.name) if ahead else self._parsed.pop(spec.name, None)
        if hit is None:
            parser = self.plan.parsers[spec.name]
            raw = self.frame.raw(spec.name)
            if parser.batch:
                hit = self.frame.distinct(raw, None, parser.func)  # type: ignore[arg-type]
            else:
                hit = self.frame.distinct(raw, parser.func)  # type: ignore[arg-type]
            if ahead:
                self._parsed[spec.name] = hit
        return hit

    def coded(self, spec: FieldSpec, width: int, ahead: bool = False) -> list[Coded]:
        codes, results = self.parsed(spec, ahead)
        return _fields(codes, results, width)

    def tokenized(self, field: str) -> None:
        """The last name is tokenized: a tokenizer of our own goes (jieba's dictionary is
        ~50 MB that the rest of a big frame can use)."""
        if self._own_tokenizer and field == self._last_tokenized:
            self._tokenizer = None

    def release(self, field: str) -> None:
        """Forget what ``field`` told other fields: none of them reads it any more."""
        self.facts.pop(field, None)
        self.frame.out.pop(_kind_key(field), None)

    def name_kind(self, field: str | None) -> np.ndarray:
        """Per row, the kind the enterprise name in ``field`` reads as (None without one)."""
        if field is None:
            return np.full(self.frame.n, None, dtype=object)
        return self.frame.out[_kind_key(field)]


def _kind_key(field: str) -> str:
    return f"~kind:{field}"  # never an output column: not a field name


def _fields(codes: np.ndarray, results: list[Any], width: int) -> list[Coded]:
    rows_ = [r if r is not None else (None,) * width for r in results]
    return [Coded(codes, [r[i] for r in rows_]) for i in range(width)]


def _each(test: Callable[[Any], bool]) -> Callable[[np.ndarray], np.ndarray]:
    """A per-value test (resolver.standardize.fields) over an object array."""
    return lambda values: np.fromiter((test(v) for v in values), dtype=bool, count=len(values))


_is_false = _each(fields.is_false)
_not_true = _each(fields.not_true)


def _present(column: Column) -> np.ndarray:
    return column.codes >= 0


def _isnull(values: np.ndarray) -> np.ndarray:
    return pd.isna(values)


def _unmapped_mask(frame: Frame, field: str, test: Callable[[Any], bool]) -> np.ndarray:
    """Per-row ``test`` of a field's raw cells as given (no strip, value map or blanking)."""
    codes, uniques = factorize(frame.cells(field))
    table = np.fromiter((test(u) for u in uniques), dtype=bool, count=len(uniques))
    return np.append(table, False)[codes]


def _combine(func: Callable[..., Any], *columns: np.ndarray) -> np.ndarray:
    """Per-row ``func`` of columns with few distinct values each (None allowed), evaluated
    once per distinct combination of them."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    tables: list[list[Any]] = []
    for column in columns:
        codes, uniques = factorize(np.asarray(column, dtype=object))
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


def _flag_missing(job: Job, spec: FieldSpec) -> None:
    if spec.search == "name":  # the domain's name: a record without one is worth a flag
        job.frame.flag(job.frame.mask(spec.name, _isnull), f"{spec.name}_missing")


# --- names -----------------------------------------------------------------------------


def enterprise_name(job: Job, spec: FieldSpec) -> None:
    frame, parts = job.frame, spec.parts
    raw = frame.raw(spec.name)
    tokenizer = job.tokenizer() if "tokens" in parts else None
    codes, parsed = job.parsed(spec)
    parsed = [p if p is not None else MISSING for p in parsed]
    values = list(zip(*parsed, strict=True)) if parsed else [()] * len(MISSING)
    columns = (spec.name, parts.get("core"), parts.get("trade_name"), parts.get("region"),
               parts.get("org_form"), _kind_key(spec.name), parts.get("parent"))
    for column, part in zip(columns, values, strict=False):
        if column is not None:
            frame.put(column, codes, part)
    if raw is not None:  # a raw '*' is an individual business without a name
        star = _unmapped_mask(frame, spec.name, fields.is_star_name)
        frame.out[_kind_key(spec.name)][star] = INDIVIDUAL
    if tokenizer is not None:
        cores, trades = values[1], values[2]
        tokenizer.add_trade_names(set(job.trade_names) | fields.learned_trade_names(trades))
        tokens = tokenizer.tokens
        frame.put(parts["tokens"], codes, [tokens(c, t) if c else None
                                          for c, t in zip(cores, trades, strict=True)])
        job.tokenized(spec.name)
    _flag_missing(job, spec)


def person_name(job: Job, spec: FieldSpec) -> None:
    codes, names = job.parsed(spec)
    job.frame.put(spec.name, codes, names)
    if "pinyin" in spec.parts:
        job.frame.put(spec.parts["pinyin"], codes, job.frame.map(name_pinyin, names))
    _flag_missing(job, spec)


def latin_name(job: Job, spec: FieldSpec) -> None:
    codes, names = job.parsed(spec)
    job.frame.put(spec.name, codes, names)
    if "phonetic" in spec.parts:
        job.frame.put(spec.parts["phonetic"], codes, [generic.soundex(n) for n in names])
    _flag_missing(job, spec)


# --- identifiers -----------------------------------------------------------------------


def _put_checked(job: Job, spec: FieldSpec, value: Any, valid: Any) -> None:
    job.frame.out[spec.name] = value
    job.frame.out[spec.parts["valid"]] = valid
    job.frame.flag(coded_mask(valid, _is_false), f"{spec.name}_invalid")


def uscc(job: Job, spec: FieldSpec) -> None:
    value, valid, org, org_valid = job.coded(spec, 4)
    _put_checked(job, spec, value, valid)
    job.facts[spec.name] = {"org": org, "org_valid": org_valid}


def reg_no(job: Job, spec: FieldSpec) -> None:
    _put_checked(job, spec, *job.coded(spec, 2))


def tax_number(job: Job, spec: FieldSpec) -> None:
    frame = job.frame
    value, valid, kind_c, org_c, org_valid_c, operator_c, other_c = job.coded(spec, 7)
    org, org_valid, operator, kinds = rows(org_c), rows(org_valid_c), rows(operator_c), rows(kind_c)
    # Numbers that read both as a USCC / region + org code and as a resident ID: the record
    # decides (the kind its name reads as, the resident ID it gives for the operator).
    other = rows(other_c)
    either = np.flatnonzero(~_isnull(other))
    if len(either):
        name_kind = job.name_kind(job.plan.kind_name)
        operator_field = job.plan.operator_of.get(spec.name)
        rep = rows(job.coded(job.plan.field(operator_field), 2, ahead=True)[0]) if operator_field \
            else np.full(frame.n, None, dtype=object)
        for i in either:
            if fields.reads_as_operator_id(other[i], name_kind[i], rep[i]):
                kinds[i], org[i], org_valid[i], operator[i] = "personal", None, None, other[i]
    _put_checked(job, spec, value, valid)
    if "kind" in spec.parts:
        frame.out[spec.parts["kind"]] = kinds
    job.facts[spec.name] = {"org": org, "org_valid": org_valid, "operator": operator}


def org_code(job: Job, spec: FieldSpec) -> None:
    """As given, else from the first `fill_from` field that holds one (a valid USCC, a valid
    15/18-digit tax number)."""
    if not spec.fill_from:
        _put_checked(job, spec, *job.coded(spec, 2))
        return
    given, given_valid = (rows(c) for c in job.coded(spec, 2))
    derived: Any = None
    derived_valid: Any = None
    for source in reversed(spec.fill_from):  # the first source that has one wins
        facts = job.facts[source]
        org, org_valid = (f if type(f) is not Coded else rows(f) for f in (facts["org"], facts["org_valid"]))
        if derived is None:
            derived, derived_valid = org, org_valid
        else:
            has = ~_isnull(org)
            derived, derived_valid = np.where(has, org, derived), np.where(has, org_valid, derived_valid)
    has_given = ~_isnull(given)
    frame = job.frame
    frame.out[spec.name] = np.where(has_given, given, derived)
    frame.out[spec.parts["valid"]] = np.where(has_given, given_valid, derived_valid)
    frame.flag(has_given & (given_valid == False), f"{spec.name}_invalid")  # noqa: E712
    frame.flag(has_given & ~_isnull(derived) & (given != derived), f"{spec.name}_conflict")


def resident_id(job: Job, spec: FieldSpec) -> None:
    """GB 11643; where none valid is given, the operator's ID from a `fill_from` personal tax
    number (a business taxed under a person's ID is that person's)."""
    frame = job.frame
    wide = job.plan.parsers[spec.name].func is ids.parse_resident_id
    value, valid, *more = job.coded(spec, 5 if wide else 2)
    _put_checked(job, spec, value, valid)
    job.facts[spec.name] = dict(zip(("birth_date", "sex", "region"), more, strict=False))
    for part, column in zip(("birth_date", "sex", "region"), more, strict=False):
        if part in spec.parts:
            frame.out[spec.parts[part]] = column
    for source in spec.fill_from:
        operator = job.facts[source]["operator"]
        derive = ~_isnull(operator)
        if derive.any():
            given, given_valid = frame.out[spec.name], frame.out[spec.parts["valid"]]
            derive &= given_valid != True  # noqa: E712 (None: no ID given)
            frame.out[spec.name] = np.where(derive, operator, given)
            frame.out[spec.parts["valid"]] = np.where(derive, True, given_valid)


def plain_identifier(job: Job, spec: FieldSpec) -> None:
    """No standard: normalized only; `valid` stays None (nothing to check)."""
    codes, results = job.parsed(spec)
    job.frame.put(spec.name, codes, results)
    job.frame.out[spec.parts["valid"]] = np.full(job.frame.n, None, dtype=object)


IDENTIFIERS: dict[str, Callable[[Job, FieldSpec], None]] = {
    "uscc": uscc, "org_code": org_code, "reg_no": reg_no, "tax_number": tax_number,
    "resident_id": resident_id, "none": plain_identifier,
}


def identifier(job: Job, spec: FieldSpec) -> None:
    IDENTIFIERS[spec.standard or "none"](job, spec)


# --- other types -----------------------------------------------------------------------


def address(job: Job, spec: FieldSpec) -> None:
    codes, results = job.parsed(spec)
    results = [r if r is not None else EMPTY_ADDRESS for r in results]
    columns = [spec.name, *(spec.parts.get(p) for p in ADDRESS_PARTS)]
    for i, column in enumerate(columns):
        if column is not None:
            job.frame.put(column, codes, [r[i] for r in results])


def phone(job: Job, spec: FieldSpec) -> None:
    frame = job.frame
    raw = frame.raw(spec.name)
    number, kind, valid = job.coded(spec, 3)
    frame.out[spec.name] = number
    for part, column in (("kind", kind), ("valid", valid)):
        if part in spec.parts:
            frame.out[spec.parts[part]] = column
    if raw is not None:
        frame.flag(_present(raw) & coded_mask(valid, _not_true), f"{spec.name}_unparseable")


def _unread(job: Job, spec: FieldSpec, code: str) -> None:
    """The field's parser over its values; a value given but not read is flagged ``code``."""
    raw = job.frame.raw(spec.name)
    job.frame.put(spec.name, *job.parsed(spec))
    if raw is not None:
        job.frame.flag(_present(raw) & job.frame.mask(spec.name, _isnull), code)


def date(job: Job, spec: FieldSpec) -> None:
    _unread(job, spec, f"date_unparseable:{spec.name}")
    if "either" in spec.parts and spec.either_with:  # the date given, else the resident ID's
        other = spec.either_with
        frame = job.frame
        birth = job.facts[other]["birth_date"]
        either = [ids.birth_date_for_blocking(b, i, n) for b, i, n in zip(
            frame.out[spec.name], rows(birth), frame.out[other], strict=True)]
        frame.out[spec.parts["either"]] = np.asarray(either, dtype=object)


def number(job: Job, spec: FieldSpec) -> None:
    _unread(job, spec, f"number_unparseable:{spec.name}")


def code(job: Job, spec: FieldSpec) -> None:
    _unread(job, spec, f"{spec.name}_unknown")


def sex(job: Job, spec: FieldSpec) -> None:
    frame = job.frame
    raw = frame.raw(spec.name)
    frame.put(spec.name, *job.parsed(spec))
    if raw is not None:
        frame.flag(_present(raw) & _isnull(frame.out[spec.name]), f"{spec.name}_unknown")
    if spec.check_against:  # the sex digit of the resident ID
        id_sex = rows(job.facts[spec.check_against]["sex"])
        frame.flag(_combine(fields.sex_mismatch, frame.out[spec.name], id_sex).astype(bool),
                   f"id_{spec.name}_mismatch")


def text(job: Job, spec: FieldSpec) -> None:
    """As given (stripped, value map applied, placeholders missing)."""
    job.frame.out[spec.name] = job.frame.values(job.frame.raw(spec.name))


def entity_kind(job: Job, spec: FieldSpec) -> None:
    """A stated kind wins; else an individual business by USCC (a branch stays a branch); else
    the kind the name reads as."""
    frame = job.frame
    individual = np.zeros(frame.n, dtype=bool)
    code_field = spec.sources_of_kind.get("code")
    if code_field is not None:
        valid_column = job.plan.field(code_field).parts["valid"]
        value, valid = frame.out.stored(code_field), frame.out.stored(valid_column)
        if type(value) is Coded and type(valid) is Coded and value.codes is valid.codes:
            test = [fields.is_individual_uscc(c, v) for c, v in zip(value.results, valid.results,
                                                                       strict=True)]
            individual = rows(Coded(value.codes, test)) == True  # noqa: E712 (missing: None)
        else:
            individual = np.fromiter(map(fields.is_individual_uscc, frame.out[code_field],
                                         frame.out[valid_column]), dtype=bool, count=frame.n)
    raw = frame.raw(spec.name)
    allowed = frozenset(spec.values)
    given = take([fields.given_entity_kind(v, allowed) for v in raw.items], raw.codes) \
        if raw is not None else np.full(frame.n, None, dtype=object)
    name_kind = job.name_kind(spec.sources_of_kind.get("name"))
    frame.out[spec.name] = _combine(fields.entity_kind_of, name_kind, individual, given)


TYPES: dict[str, Callable[[Job, FieldSpec], None]] = {
    "enterprise_name": enterprise_name, "person_name": person_name, "name": latin_name,
    "identifier": identifier, "address": address, "phone": phone, "date": date, "number": number,
    "code": code, "sex": sex, "text": text, "entity_kind": entity_kind,
}
