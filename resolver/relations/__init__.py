"""Relations across domains (legal representative, operator, employer …) declared in
relations.yaml, and the 协查 verification answer built on them (docs/relations.md)."""
