"""relations.yaml's relations as the store builds them: each key with the `_valid` flags of
its fields (an identifier links only when its check passes on both sides)."""

from __future__ import annotations

from pathlib import Path

from resolver.domains import DomainSchema, load_domains
from resolver.relations.rules import Relation, load_relations
from resolver.store.relations import KeySql, RelationSql


def _valid_column(schema: DomainSchema, column: str) -> str | None:
    spec = schema.fields.get(column)
    return spec.valid_column if spec is not None and spec.type == "identifier" else None


def relation_sql(rel: Relation, schemas: dict[str, DomainSchema]) -> RelationSql:
    left, right = schemas[rel.source_domain], schemas[rel.target_domain]
    steps = tuple((step.confidence, tuple(KeySql(a, b, _valid_column(left, a), _valid_column(right, b))
                                          for a, b in step.keys)) for step in rel.steps)
    return RelationSql(rel.name, rel.source_domain, rel.target_domain, steps, dict(rel.where), rel.single)


def relations_to_rebuild(domain: str, root: str | Path | None = None) -> list[RelationSql]:
    """Every relation touching `domain`, ready for Store.save_resolution (none without relations.yaml)."""
    rules = load_relations(root)
    touching = rules.touching(domain)
    if not touching:
        return []
    schemas = load_domains(root)
    return [relation_sql(r, schemas) for r in touching]
