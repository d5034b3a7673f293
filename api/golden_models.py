"""Each domain's golden record as /openapi.json documents it: a `<Domain>Golden` component with
one property per canonical field, typed as answers carry it (resolver.lookup.entity.typed_value):
a number field a JSON number, a date field an ISO date, a personal field text (masked, such as
`1990-**-**`, without the domain's pii scope), anything else text. Derived values an answer may
add (an address's district) are further properties.

The answers' `golden` stays one object type for every domain (the route serves every domain),
so a generated client reads it as a mapping; `<Domain>Golden.from_dict(…)` types it."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import models_json_schema

from resolver.domains import DomainSchema, FieldSpec


def model_name(domain: str) -> str:
    return "".join(part.title() for part in domain.split("_")) + "Golden"


def _field(domain: str, spec: FieldSpec) -> tuple[Any, Any]:
    if spec.pii:
        return str | None, Field(None, description=f"{spec.type}; personal: masked without {domain}:pii")
    if spec.type == "number":
        return int | float | None, Field(None, description="number")
    if spec.type == "date":
        return date | None, Field(None, description="date (YYYY-MM-DD)")
    values = f": one of {', '.join(spec.values)}" if spec.values else ""
    return str | None, Field(None, description=f"{spec.type}{values}")


def golden_model(schema: DomainSchema) -> type[BaseModel]:
    """The pydantic model of one domain's golden record."""
    fields = {name: _field(schema.name, spec) for name, spec in schema.fields.items()}
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        model_name(schema.name), __config__=ConfigDict(extra="allow", title=model_name(schema.name)), **fields)
    model.__doc__ = f"The golden record of a {schema.name} entity ({schema.label}), typed by its schema.yaml."
    return model


def document(openapi: dict[str, Any], schemas: dict[str, DomainSchema]) -> None:
    """Add every domain's `<Domain>Golden` to the document's components, and name them where a
    golden record is described."""
    if not schemas:
        return
    models = [golden_model(s) for s in schemas.values()]
    _, defs = models_json_schema([(m, "serialization") for m in models], ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(defs.get("$defs", {}))
    names = ", ".join(f"{d}: {model_name(d)}" for d in schemas)
    for owner in ("Entity", "SearchHit"):
        golden = components.get(owner, {}).get("properties", {}).get("golden")
        if golden is not None:
            golden["description"] = f"{golden.get('description', '')}. Typed per domain as {names}"
