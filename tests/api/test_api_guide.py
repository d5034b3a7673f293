"""docs/api.md holds: its Python client runs as printed against a real server, a client generated
from /openapi.json calls getEntity, searchEntities and matchRecords on it, every operation is in
the guide, and every document the guide links to is in the repository."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_support import header, make_keys, retire_some

from fixtures.live_server import Server

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "api.md"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def served(built, tmp_path_factory):
    db = tmp_path_factory.mktemp("guide") / "master.duckdb"
    shutil.copy(built.path, db)
    retired = retire_some(db)
    keys = make_keys(db)
    srv = Server(db, ENV, args=("--rate-limit", "0", "--match-rate-limit", "0"))
    yield srv, keys, retired
    srv.stop()


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
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")  # no formatter needed to import it
    generator = Path(sys.executable).with_name("openapi-python-client")
    made = subprocess.run([str(generator), "generate", "--path", str(spec), "--output-path",
                           str(tmp_path / "resolver_client"), "--meta", "none", "--config", str(tmp_path / "config.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
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

        gone = get_entity.sync(domain=enterprise, entity_id=retired.merged, client=client)
        assert gone.active is False and gone.successors == sorted([retired.keeper, retired.last])
        assert gone.event.kind.value == "merged"

        query = models.MatchRecordsRecord.from_dict({"name": row["name"], "legal_rep": row["legal_rep"]})
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
