"""A master store of fixture records for a notebook, ingested once and copied after that.

Ingest (read, map, standardize) is most of a notebook's run time on the sample, and every
tuning notebook starts from the same source records. The first call ingests into a pristine
store in `cache_dir`; later calls copy that file. The copy is keyed by the content of the
fixtures' manifest, the source mapping files and the code that ingests, so an edit to any of
them ingests afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from resolver.paths import REPO_ROOT, rules_dir
from resolver.store import Store, open_store

_INGEST_CODE = ("resolver/ingest.py", "resolver/canonical.py", "resolver/readers.py",
                "resolver/mapping.py", "resolver/standardize", "resolver/store")


def _manifest(fixtures: Path) -> dict:
    return json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))


def ingest_key(fixtures: Path, domains: Iterable[str]) -> str:
    """Hash of what decides the ingested records: fixtures, mappings, ingest code, domains."""
    h = hashlib.sha256()
    h.update((fixtures / "manifest.json").read_bytes())
    h.update(",".join(sorted(domains)).encode())
    files = sorted(rules_dir().joinpath("sources").glob("*.yaml"))
    for part in _INGEST_CODE:
        p = REPO_ROOT / part
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    for f in files:
        h.update(str(f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def ingest_domains(store: Store, fixtures: Path, domains: Iterable[str]) -> None:
    """Ingest every export of the fixtures whose domain is in `domains`, in manifest order."""
    from resolver.ingest import ingest_file

    wanted = set(domains)
    for entry in _manifest(fixtures)["files"]:
        if entry["domain"] in wanted:
            ingest_file(store, rules_dir() / "sources" / f"{entry['source']}.yaml",
                        fixtures / entry["file"])


def sample_store(path: str | Path, fixtures: Path, domains: Iterable[str],
                 cache_dir: str | Path) -> Store:
    """Open a fresh store at `path` holding the fixtures' records of `domains` (any old one is replaced)."""
    domains = sorted(set(domains))
    path = Path(path)
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    pristine = cache / f"sample-{'-'.join(domains)}-{ingest_key(fixtures, domains)}.duckdb"
    if not pristine.exists():
        tmp = cache / f"{pristine.stem}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        store = open_store(tmp)
        try:
            ingest_domains(store, fixtures, domains)
        finally:
            store.close()  # checkpoints: the file alone holds everything
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        os.replace(tmp, pristine)
    shutil.copyfile(pristine, path)
    return open_store(path)
