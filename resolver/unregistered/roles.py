"""Which departments play which part in the 漏管户 rule: roles → source names, read at run time.

The rule file names roles (`business_registry`, `tax_registration`, `inspection` …); each source
mapping in the rules folder's sources/ says which roles its records have. A new department that
shows operation joins the rule by declaring a role, without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resolver.domains import sources_of
from resolver.errors import ConfigError
from resolver.paths import rules_dir
from resolver.unregistered.rules import Evidence, UnregisteredRules


@dataclass(frozen=True)
class Departments:
    """The sources of the list's domain: their roles and display names."""

    domain: str
    folder: str
    roles: dict[str, tuple[str, ...]]  # role -> source names holding it, sorted
    labels: dict[str, str]             # source -> the department's name (税务 …)

    def sources(self, role: str) -> tuple[str, ...]:
        return self.roles.get(role, ())

    def label(self, source: str) -> str:
        return self.labels.get(source, source)


def load_departments(domain: str, root: str | Path | None = None) -> Departments:
    """The mappings of `domain` in the rules folder `root` (default: the configured one), read
    from its sources/; a broken mapping is reported as for ingest, its roles being unknown."""
    base = Path(root) if root else rules_dir()
    roles: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for source, mapping in sources_of(domain, base).items():
        labels[source] = mapping.label
        for role in mapping.roles:
            roles.setdefault(role, []).append(source)
    return Departments(domain, str(base / "sources"), {r: tuple(sorted(set(s))) for r, s in roles.items()}, labels)


def require(departments: Departments, role: str, key: str, rules_path: str) -> tuple[str, ...]:
    """The sources holding `role`, or a ConfigError naming the rule key and the mappings folder."""
    found = departments.sources(role)
    if not found:
        raise ConfigError(rules_path, [f"{key}: no {departments.domain} source mapping in {departments.folder} "
                                       f"has the role '{role}'"])
    return found


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A SQL IN list of string literals; NULL for none (so `x IN (NULL)` is never true)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


class Parts:
    """The rule's parts as SQL lists of the source names holding their roles."""

    def __init__(self, rules: UnregisteredRules, departments: Departments):
        self.domain = rules.domain
        self.departments = departments
        self.registry = sql_list(require(departments, rules.roles["registry"], "roles.registry", rules.path))
        self.covering = sql_list(require(departments, rules.roles["covering"], "roles.covering", rules.path))
        self.activity = sql_list(departments.sources(rules.roles["activity"]))

    def passes(self, sign: Evidence) -> str:
        """SQL true for a record (unqualified columns) that counts towards `sign`."""
        cond = f"source IN ({sql_list(self.departments.sources(sign.role))})"
        if sign.revenue_above is not None:
            cond += f" AND coalesce(revenue > {float(sign.revenue_above)}, false)"
        if sign.statuses:
            cond += f" AND coalesce(status IN ({sql_list(sign.statuses)}), false)"
        return f"({cond})"
