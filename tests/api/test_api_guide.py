"""docs/api.md holds: its Python client runs as printed against a real server, a client generated
from /openapi.json calls getEntity, searchEntities and matchRecords on it, every operation is in
the guide, and every document the guide links to is in the repository."""

from __future__ import annotations

import datetime
import importlib
import json
import os
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import header

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "api.md"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def served(contract_server):
    return contract_server


def client_example() -> str:
    found = re.findall(r"```python\n(# resolver_client\.py.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert len(found) == 1, "docs/api.md should hold exactly one `# resolver_client.py` example"
    return found[0]


def test_the_guides_client_runs_against_a_real_server(served, built, tmp_path):
    srv, keys, retired = served
    script = tmp_path / "resolver_client.py"
    script.write_text(client_example(), encoding="utf-8")
    row = built.enterprises.dropna(subset=["uscc"]).iloc[2]
    expected = httpx.get(srv.url + "/v1/enterprise", params={"id": row["uscc"]}, headers=header(keys.reader)).json()
    done = subprocess.run([sys.executable, str(script), row["uscc"], retired.merged], capture_output=True, text=True,
                          timeout=120, env={**ENV, "RESOLVER_URL": srv.url, "RESOLVER_API_KEY": keys.reader})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    entity_id = expected["results"][0]["entity_id"]
    assert report["found"] == [entity_id] and report["revalidated"] is True
    assert report["golden"]["name"] and report["history"][0] == "created"
    assert report["match"] and report["match"][0][0] == entity_id
    assert report["current"] == sorted([retired.keeper, retired.last])  # the retired ID followed to its successors
    assert report["missing"] == [404, "/problems/not-found"]


def test_a_generated_client_calls_get_entity_search_and_match(served, built, tmp_path):
    srv, keys, retired = served
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(srv.url + "/openapi.json", headers=header(keys.reader)).content)
    # the library, not its command line: the CLI needs typer < 0.28, resolver's own CLI a newer one
    from openapi_python_client import generate
    from openapi_python_client.config import Config, ConfigFile, MetaType
    from openapi_python_client.parser.errors import ErrorLevel

    config = Config.from_sources(ConfigFile(post_hooks=[]), MetaType.NONE, spec, "utf-8", overwrite=True,
                                 output_path=tmp_path / "resolver_client")  # no formatter needed to import it
    problems = [f"{e.header}: {e.detail}" for e in generate(config=config) if e.level == ErrorLevel.ERROR]
    assert problems == []
    sys.path.insert(0, str(tmp_path))
    try:
        generated, models = importlib.import_module("resolver_client"), importlib.import_module("resolver_client.models")
        get_entity, search_entities, match_records = (importlib.import_module(f"resolver_client.api.{name}") for name in
                                                      ("entities.get_entity", "entities.search_entities",
                                                       "match.match_records"))
        client = generated.AuthenticatedClient(srv.url, token=keys.reader, auth_header_name="X-API-Key", prefix="")
        enterprise = models.Domain("enterprise")
        row = built.enterprises.dropna(subset=["uscc"]).iloc[4]

        found = search_entities.sync(domain=enterprise, id=row["uscc"], client=client)
        assert isinstance(found, models.SearchResult) and found.total == 1 and found.offset == 0
        entity_id = found.results[0].entity_id

        entity = get_entity.sync(domain=enterprise, entity_id=entity_id, client=client)
        assert isinstance(entity, models.Entity) and entity.active and entity.members
        assert entity.golden.additional_properties["uscc"] == row["uscc"]
        typed = models.EnterpriseGolden.from_dict(entity.golden.to_dict())  # the domain's golden model
        assert typed.uscc == row["uscc"] and isinstance(typed.established, datetime.date)

        gone = get_entity.sync(domain=enterprise, entity_id=retired.merged, client=client)
        assert gone.active is False and gone.successors == sorted([retired.keeper, retired.last])
        assert gone.event.kind.value == "merged"

        query = request_body(match_records.sync, {"name": row["name"], "legal_rep": row["legal_rep"]})
        matched = match_records.sync(domain=enterprise, body=query, client=client)
        assert isinstance(matched, models.MatchResult) and matched.candidates[0].entity_id == entity_id

        denied = get_entity.sync_detailed(
            domain=enterprise, entity_id=entity_id,
            client=generated.AuthenticatedClient(srv.url, token=keys.police_only, auth_header_name="X-API-Key", prefix=""))
        assert denied.status_code == 403 and isinstance(denied.parsed, models.Problem)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "resolver_client" or m.startswith("resolver_client.")]:
            del sys.modules[name]


def request_body(operation: Any, values: dict[str, Any]) -> Any:
    """The generated body model `operation` takes (the first of a union that keeps `values`), made from `values`."""
    hint = typing.get_type_hints(operation)["body"]
    for kind in typing.get_args(hint) or (hint,):
        if hasattr(kind, "from_dict"):
            try:
                made = kind.from_dict(values)
            except (KeyError, TypeError, ValueError):
                continue
            if made.to_dict() == values:
                return made
    raise AssertionError(f"no generated body model of {operation.__module__} takes {sorted(values)}")


def test_every_operation_is_in_the_guide(served):
    srv, keys, _ = served
    spec = httpx.get(srv.url + "/openapi.json", headers=header(keys.reader)).json()
    guide = GUIDE.read_text(encoding="utf-8")
    missing = [f"{method.upper()} {path} ({op['operationId']})" for path, ops in spec["paths"].items()
               for method, op in ops.items() if f"`{op['operationId']}`" not in guide]
    assert missing == [], f"operations not documented in docs/api.md: {missing}"


def test_the_guides_links_resolve_in_the_repository():
    guide = GUIDE.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", guide)
    assert "../CHANGELOG.md" in targets
    missing = [t for t in targets if not t.startswith("http") and not (GUIDE.parent / t).resolve().is_file()]
    assert missing == []
