"""Request models built from each domain's schema.yaml when the app is created: a record of the
domain's canonical fields, typed by field type (identifiers and names as text with their
lengths, dates in the forms the standardizer reads, numbers as numbers, code lists with their
values), with a description and an example each; the match body (one record, or named queries);
the records body. /openapi.json documents them (`document`), and the routes validate with them
(`check`), so a field the domain does not have is a 422 naming it.

The routes keep one path per operation (`/v1/{domain}/match`), so FastAPI cannot pick the body
model from the path: the routes read the body and validate it with the domain's model here,
and the OpenAPI document lists every domain's models (`anyOf`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
)
from pydantic.json_schema import models_json_schema

from api.examples import example_value
from resolver.domains import DomainSchema, load_schema
from resolver.errors import ConfigError
from resolver.lookup.match import MAX_VALUE_LENGTH

DEFAULT_MATCH_BATCH = 100
BATCH_KEY = "queries"  # a match body with this key is a batch; no domain may have a field of that name
QUERY_NAME = r"^[A-Za-z0-9_.:-]{1,64}$"
_PLAIN = re.compile(r"[a-z_][a-z0-9_]{0,39}")
_QUERY_NAME = re.compile(QUERY_NAME)
# The forms resolver.standardize.dates reads: 2014-07-15, 2014/7/15, 2014.7.15, 2014年7月15日,
# 20140715, an Excel serial (37645); a time after the date is ignored.
DATE_PATTERN = (r"^\s*(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?([ T].*)?|\d{8}|\d{1,5}(\.0+)?)\s*$")

_STANDARDS = {
    "uscc": ("unified social credit code (GB 32100-2015): 18 characters, digits and capitals but I O Z S V",
             18, 40),
    "org_code": ("organization code (GB 11714): 8 characters and a check character, a dash allowed", 9, 20),
    "reg_no": ("registration number: 15 digits (MOD 11,10)", 15, 30),
    "tax_number": ("tax number: 15 (region + organization code), 18 (the USCC) or 20 (operator's resident "
                   "ID + 2) characters", 15, 40),
    "resident_id": ("resident ID (GB 11643): 18 characters, or the first-generation 15 digits", 15, 40),
    "none": ("an identifier, normalized only (no check)", 1, 64),
}
_TYPES = {
    "enterprise_name": "company name as registered or as a department wrote it (杭州华新科技有限公司, "
                       "华新科技(杭州)有限公司)",
    "person_name": "a human's name in Chinese characters, simplified or traditional",
    "name": "a name in Latin script",
    "address": "an address; district, road and house number are read from it",
    "phone": "a phone number: mobile or landline, with or without +86, spaces and dashes",
    "date": "a date: 2014-07-15, 2014/7/15, 2014.7.15, 2014年7月15日, 20140715 or an Excel serial number",
    "sex": "sex: M/F, 男/女",
    "code": "a code",
    "entity_kind": "kind of entity (read from the name and code when not given)",
    "number": "a number (a JSON number; a numeric string is read too)",
    "text": "free text",
}


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number is expected, not true or false")
    return value


Number = Annotated[float, BeforeValidator(_no_bool), Field(allow_inf_nan=False)]


def _text(min_length: int, max_length: int, pattern: str | None = None) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)]


def _field(domain: DomainSchema, name: str) -> tuple[Any, Any]:
    """(type, Field) of one canonical field: optional, described, with an example."""
    spec = domain.fields[name]
    if spec.type == "identifier":
        what, shortest, longest = _STANDARDS.get(str(spec.standard), _STANDARDS["none"])
        # as written: spaces, dashes and lower case are read, so the lengths allow for them
        kind: Any = _text(min(shortest, 8), longest)
        description = f"{what}; spaces, dashes and lower case are read"
    elif spec.type == "number":
        kind, description = Number, _TYPES["number"]
    elif spec.type == "date":
        kind, description = _text(1, 40, DATE_PATTERN), _TYPES["date"]
    elif spec.type == "phone":
        kind, description = _text(3, 40), _TYPES["phone"]
    else:
        kind, description = _text(1, MAX_VALUE_LENGTH), _TYPES.get(spec.type, spec.type)
    if spec.values:
        description += f"; one of {', '.join(spec.values)} (a department's own words for them are read too)"
    if spec.pii:
        description += (f". Personal ({domain.pii_scope}): without that scope it is left out of a match "
                        "and masked in answers")
    example = spec.values[0] if spec.values else example_value(spec)
    extra: dict[str, Any] = {"examples": [float(example) if spec.type == "number" and example is not None
                                          else example]}
    return kind | None, Field(None, description=description, json_schema_extra=extra)


def _title(domain: str) -> str:
    return "".join(part.title() for part in domain.split("_"))


@dataclass(frozen=True)
class DomainModels:
    """One domain's request models."""

    record: type[BaseModel]
    batch: type[BaseModel]
    incoming: type[BaseModel]
    records_in: type[BaseModel]


def build_domain(schema: DomainSchema, batch_max: int) -> DomainModels:
    if BATCH_KEY in schema.fields:
        raise ConfigError(schema.path, [f"fields.{BATCH_KEY}: the name is taken by the match body's named "
                                         "queries; call the field something else"])
    title = _title(schema.name)
    example: dict[str, Any] = {n: v for n, spec in schema.fields.items() if (v := example_value(spec)) is not None
                               and spec.type in ("enterprise_name", "person_name", "address")}
    record = create_model(  # type: ignore[call-overload]
        f"{title}Record", __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]}),
        __doc__=f"A {schema.label} record in the domain's canonical fields (its schema.yaml); any subset, "
                "at least one value.",
        **{name: _field(schema, name) for name in schema.fields})
    name = Annotated[str, StringConstraints(pattern=QUERY_NAME)]
    batch = create_model(  # type: ignore[call-overload]
        f"{title}MatchQueries", __config__=ConfigDict(extra="forbid", json_schema_extra={
            "examples": [{BATCH_KEY: {"q1": example, "q2": example}}]}),
        __doc__=f"Up to {batch_max} named queries, each answered under its name.",
        **{BATCH_KEY: (dict[name, record], Field(min_length=1, max_length=batch_max,  # type: ignore[valid-type]
                                                  description=f"query name ({QUERY_NAME}) → record"))})
    incoming = create_model(
        f"{title}IncomingRecord", __config__=ConfigDict(extra="forbid"),
        source_record_id=(str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")),
        fields=(record, Field(description="canonical field names of the domain")))
    records_in = create_model(
        f"{title}RecordsIn", __config__=ConfigDict(extra="forbid"),
        source=(str, Field(description="the department's source name (its mapping's `source:`)")),
        records=(list[incoming], Field(min_length=1, max_length=100)))  # type: ignore[valid-type]
    return DomainModels(record, batch, incoming, records_in)


class RequestModels:
    """Every domain's request models, built once when the app is created."""

    def __init__(self, domains: tuple[str, ...], batch_max: int = DEFAULT_MATCH_BATCH):
        self.batch_max = batch_max
        self.by_domain = {d: build_domain(load_schema(d), batch_max) for d in domains}

    def of(self, domain: str) -> DomainModels:
        found = self.by_domain.get(domain)
        if found is None:  # a domain whose rules appeared after the start
            found = self.by_domain[domain] = build_domain(load_schema(domain), self.batch_max)
        return found


def _shown(part: Any, after_fields: bool) -> str:
    """A location element as an error may repeat it: a field name only when it is a plain
    lower-case name, a query name only when it is a valid one (either could carry an ID)."""
    text = str(part)
    if isinstance(part, int) or _PLAIN.fullmatch(text):
        return text
    return text if not after_fields and _QUERY_NAME.fullmatch(text) else "(not shown)"


def _errors(exc: ValidationError, prefix: tuple[str | int, ...], fields: tuple[str, ...]) -> RequestValidationError:
    out = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = list(error["loc"])
        shown = [_shown(p, after_fields=i == len(loc) - 1 and error["type"] == "extra_forbidden")
                 for i, p in enumerate(loc)]
        msg = str(error["msg"])
        if error["type"] == "extra_forbidden":
            msg = f"not a field of this domain (fields: {', '.join(fields)})"
        elif "[key]" in loc:
            msg = f"a query name is 1-64 characters of A-Za-z0-9_.:- ({QUERY_NAME})"
        elif error["type"] == "too_long" and loc == [BATCH_KEY]:
            msg = f"at most {error.get('ctx', {}).get('max_length')} named queries per call (the server's " \
                  "--match-batch-max): send the others in another call"
        elif error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == DATE_PATTERN:
            msg = f"not a date in a form that is read: {_TYPES['date'].removeprefix('a date: ')}"
        out.append({"loc": (*prefix, *shown), "type": error["type"], "msg": msg})
    return RequestValidationError(out)


def check(model: type[BaseModel], value: Any, prefix: tuple[str | int, ...] = ("body",),
          fields: tuple[str, ...] = ()) -> BaseModel:
    """`value` validated by `model`; a RequestValidationError (422) naming what is wrong where."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _errors(exc, prefix, fields) from None


def document(openapi: dict[str, Any], models: RequestModels) -> None:
    """Add every domain's request models to an OpenAPI document and point the match and records
    operations' bodies at them."""
    every = [m for d in models.by_domain.values() for m in (d.record, d.batch, d.records_in)]
    _, defs = models_json_schema([(m, "validation") for m in every], ref_template="#/components/schemas/{model}")
    openapi.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    domains = list(models.by_domain.values())
    bodies = {
        ("/v1/{domain}/match", "post"): (
            "One record (its fields at the top level, as before), or up to "
            f"{models.batch_max} named queries under `{BATCH_KEY}`: the domain's model for the domain in the path.",
            [ref(m) for d in domains for m in (d.record, d.batch)]),
        ("/v1/{domain}/records", "post"): (
            "Records in the domain's canonical fields: the domain's model for the domain in the path.",
            [ref(d.records_in) for d in domains]),
    }
    for (path, method), (description, choices) in bodies.items():
        operation = openapi.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = {"required": True, "description": description,
                                        "content": {"application/json": {"schema": {"anyOf": choices}}}}
