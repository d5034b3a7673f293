"""A domain's rule files, all of them, loaded once: `DomainRules`.

``matching_rules/<domain>/`` holds the domain's schema (``schema.yaml``), how records are
linked (``blocking``, ``comparisons``, ``training``, ``clustering``), how golden records
are built (``survivorship``) and, where present, the 漏管户 rule (``unregistered``).
`DomainRules.load` reads and validates every one of them and raises one ConfigError that
lists every problem of every file, each naming its file and key. `rules_hash` is a hash
of their content: it goes into the model version, and the clustering and survivorship
rules are recorded with the published model, so a model version alone determines a
resolution (resolver.engine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resolver import yamlfile
from resolver.domains import DomainSchema, load_schema
from resolver.errors import ConfigError
from resolver.linking.rules import RULE_FILES, RuleSet, load_rules
from resolver.paths import rules_dir
from resolver.store.golden import Survivorship, parse_survivorship, read_survivorship
from resolver.unregistered.rules import UnregisteredRules
from resolver.unregistered.rules import load_rules as load_unregistered

SCHEMA_FILE = "schema.yaml"
SURVIVORSHIP_FILE = "survivorship.yaml"
UNREGISTERED_FILE = "unregistered.yaml"
# Every file that decides a result; the hash covers these (a file absent counts as absent).
HASHED_FILES = (SCHEMA_FILE, *RULE_FILES, SURVIVORSHIP_FILE, UNREGISTERED_FILE)


@dataclass(frozen=True)
class DomainRules:
    """Every rule file of one domain, validated, with one content hash."""

    domain: str
    path: Path                      # the domain's folder
    linking: RuleSet                # blocking, comparisons, training, clustering
    survivorship: Survivorship
    survivorship_doc: dict[str, Any]  # survivorship.yaml as data: recorded with the model version
    unregistered: UnregisteredRules | None  # only domains with an unregistered.yaml
    schema: DomainSchema            # schema.yaml: fields, types, sensitivity, master-ID prefix
    rules_hash: str

    @property
    def clustering(self) -> dict[str, Any]:
        return self.linking.clustering

    @classmethod
    def load(cls, domain: str, root: str | Path | None = None) -> DomainRules:
        """Load `<root>/<domain>/*.yaml` (root: $RESOLVER_RULES or matching_rules/); raise one
        ConfigError naming every problem of every file."""
        base = Path(root) if root is not None else rules_dir()
        folder = base / domain
        if not folder.is_dir():
            raise ConfigError(str(folder), [f"no rule folder for domain '{domain}'"])
        problems: list[str] = []
        linking = _collect(problems, "", lambda: load_rules(domain, base))
        survivorship_doc = _collect(problems, SURVIVORSHIP_FILE,
                                    lambda: read_survivorship(folder / SURVIVORSHIP_FILE))
        survivorship = None
        if survivorship_doc is not None:
            survivorship = _collect(problems, SURVIVORSHIP_FILE,
                                    lambda: parse_survivorship(survivorship_doc, str(folder / SURVIVORSHIP_FILE)))
        unregistered = None
        if (folder / UNREGISTERED_FILE).exists():
            unregistered = _collect(problems, UNREGISTERED_FILE,
                                    lambda: load_unregistered(folder / UNREGISTERED_FILE))
        schema = _collect(problems, SCHEMA_FILE, lambda: load_schema(domain, base))
        if problems or linking is None or survivorship is None or survivorship_doc is None or schema is None:
            raise ConfigError(str(folder), problems)
        digest = rules_hash(folder)
        # the model version is named after this hash, not the linking files' alone
        linking = dataclasses.replace(linking, rules_hash=digest)
        return cls(domain, folder, linking, survivorship, survivorship_doc, unregistered, schema, digest)


def rules_hash(folder: Path) -> str:
    """A stable hash of the rule files' content: the YAML data, not its bytes, so a comment or
    a re-indent changes nothing and any changed value changes the hash."""
    content: dict[str, Any] = {}
    for name in HASHED_FILES:
        path = folder / name
        if path.exists():
            content[name] = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _collect(problems: list[str], file: str, load: Any) -> Any:
    """Run one loader; its ConfigError's problems join `problems`, each prefixed with its file."""
    try:
        return load()
    except ConfigError as exc:
        prefix = f"{file}: " if file else ""
        for problem in exc.problems:  # a file two loaders read (schema.yaml) is reported once
            line = problem if problem.startswith(prefix) else prefix + problem
            if line not in problems:
                problems.append(line)
        return None
