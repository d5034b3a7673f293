"""Acceptance of issue 16: a new domain and new departments are YAML files, not code.

The rules folder is copied to a temp folder, a `vehicle` domain (schema, comparisons, blocking,
training, clustering, survivorship) and two departments that feed it (a vehicle registry and a
parking operator, with their own Chinese column names) are added as YAML, and the CLI runs
ingest → train → resolve → serve on them with RESOLVER_RULES pointing at that folder. A real
uvicorn server then answers GET /v1/vehicle/{master ID} and a search by plate.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from fixtures.live_server import Server
from resolver.paths import REPO_ROOT, rules_dir

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

SCHEMA = """
domain: vehicle
label: 机动车
id_prefix: V
fields:
  plate:
    type: identifier          # no check character: normalized only
    search: identifier
    distinct_when_valid: true
  vin:
    type: identifier
    search: identifier
  owner:
    type: person_name
    search: name
  owner_phone:
    type: phone
    sensitivity: pii
  color:
    type: code
    values: [white, black, red, blue, silver]
  registered:
    type: date
"""
RULES = {
    "comparisons.yaml": """
comparisons:
  - name: plate
    levels:
      - {kind: missing, columns: [plate]}
      - {kind: exact, column: plate, label: plate equal}
      - {kind: else}
  - name: vin
    levels:
      - {kind: missing, columns: [vin]}
      - {kind: exact, column: vin, label: vin equal}
      - {kind: else}
  - name: owner
    levels:
      - {kind: missing, columns: [owner]}
      - {kind: exact, column: owner, label: owner equal}
      - {kind: else}
  - name: color
    levels:
      - {kind: missing, columns: [color]}
      - {kind: exact, column: color, label: color equal}
      - {kind: else}
""",
    "blocking.yaml": """
rules:
  - name: plate
    columns: [plate]
    max_block_size: 20
  - name: owner
    columns: [owner]
    max_block_size: 20
""",
    "training.yaml": """
u_max_pairs: 100000
seed: 42
probability_two_random_records_match: 0.01
em_max_pairs: 100000
em_max_iterations: 30
em_convergence: 0.0001
em_rules:                     # each rule's columns are left untrained by it: two rules
  - name: em_owner
    columns: [owner]
    max_block_size: 20
  - name: em_plate
    columns: [plate]
    max_block_size: 20
prior:
  deterministic_rules: [plate]
  recall: 0.95
""",
    "clustering.yaml": """
predict_threshold: 0.5
match_probability_threshold: 0.9
""",
    "survivorship.yaml": """
source_priority: [vehicle_registry, parking]
fields:
  plate: {rule: source_priority, conflicts: true}
  vin: {rule: source_priority}
  owner: {rule: source_priority}
  owner_phone: {rule: source_priority}
  color: {rule: source_priority}
  registered: {rule: source_priority}
""",
}
SOURCES = {
    "vehicle_registry": """
source: vehicle_registry      # 车管所机动车登记
domain: vehicle
record_id: 登记编号
columns: {号牌号码: plate, 车辆识别代号: vin, 所有人: owner, 联系电话: owner_phone, 车身颜色: color, 注册日期: registered}
values:
  color: {白: white, 黑: black, 红: red, 蓝: blue, 银: silver}
""",
    "parking": """
source: parking               # 停车场经营者的月租车辆登记
domain: vehicle
record_id: 月卡号
columns: {车牌: plate, 车主: owner, 手机: owner_phone, 颜色: color}
values:
  color: {白色: white, 黑色: black, 红色: red, 蓝色: blue, 银色: silver}
""",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
COLORS = ["白", "黑", "红", "蓝", "银"]


def _write_rules(root: Path) -> None:
    shutil.copytree(rules_dir(), root, ignore=shutil.ignore_patterns("models"))
    (root / "vehicle").mkdir()
    (root / "vehicle" / "schema.yaml").write_text(SCHEMA, encoding="utf-8")
    for name, text in RULES.items():
        (root / "vehicle" / name).write_text(text, encoding="utf-8")
    for source, text in SOURCES.items():
        (root / "sources" / f"{source}.yaml").write_text(text, encoding="utf-8")


def _write_data(folder: Path, n: int = 60) -> tuple[Path, Path]:
    """A registry export of `n` vehicles and a parking export of about two thirds of them."""
    rng = random.Random(7)
    registry, parking = folder / "registry.csv", folder / "parking.csv"
    vehicles = []
    for i in range(n):
        owner = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        vehicles.append({"plate": f"浙A{rng.choice('BCDEFG')}{i:04d}", "vin": f"LSVAB{i:012d}",
                         "owner": owner, "phone": f"13{rng.randrange(10**8, 10**9)}",
                         "color": rng.choice(COLORS), "registered": f"20{rng.randrange(10, 24)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}"})
    with registry.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["登记编号", "号牌号码", "车辆识别代号", "所有人", "联系电话", "车身颜色", "注册日期"])
        for i, v in enumerate(vehicles):
            w.writerow([f"R{i:05d}", v["plate"], v["vin"], v["owner"], v["phone"], v["color"], v["registered"]])
    with parking.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["月卡号", "车牌", "车主", "手机", "颜色"])
        for i, v in enumerate(vehicles[: n * 2 // 3]):
            plate = v["plate"] if i % 3 else v["plate"][:2] + " " + v["plate"][2:].lower()  # typed as seen
            w.writerow([f"K{i:05d}", plate, v["owner"], v["phone"], v["color"] + "色"])
    return registry, parking


def _run(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "resolver", *map(str, args)], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, f"{args[0]}: {result.stderr[-3000:]}"
    return result



def test_a_domain_and_departments_added_as_yaml_run_from_ingest_to_the_api(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    _write_rules(rules)
    registry, parking = _write_data(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RESOLVER_RULES": str(rules), "COLUMNS": "200"}
    db = tmp_path / "master.duckdb"
    _run(env, "ingest", "--db", db, "--mapping", rules / "sources" / "vehicle_registry.yaml", registry)
    _run(env, "ingest", "--db", db, "--mapping", rules / "sources" / "parking.yaml", parking)
    _run(env, "train", "--db", db, "--domain", "vehicle", "--models-dir", tmp_path / "models")
    _run(env, "resolve", "--db", db, "--domain", "vehicle")
    _run(env, "export", "members", "--db", db, "--domain", "vehicle", "--out", tmp_path / "members.csv")
    members = pd.read_csv(tmp_path / "members.csv", dtype=str)
    assert len(members) == 100 and members["entity_id"].str.fullmatch(r"V\d{9}").all()
    # every parking record joins its vehicle's registry record, and nothing else merges
    by_entity = members.groupby("entity_id")["source"].apply(sorted)
    assert len(by_entity) == 60
    assert (by_entity.apply(len) <= 2).all() and by_entity.apply(lambda s: s == ["parking", "vehicle_registry"]).sum() == 40
    key = _run(env, "keys", "create", "--db", db, "--department", "交警", "--scopes", "vehicle:read").stdout
    api_key = next(w for w in key.split() if w.startswith("rk_"))

    with Server(db, env, timeout=90) as server:
        url = server.url
        pair = by_entity[by_entity.apply(len) == 2].index[0]
        answer = httpx.get(f"{url}/v1/vehicle/{pair}", headers={"X-API-Key": api_key}, timeout=10)
        assert answer.status_code == 200, answer.text
        entity = answer.json()
        assert entity["domain"] == "vehicle" and {m["source"] for m in entity["members"]} == {"vehicle_registry", "parking"}
        assert entity["golden"]["plate"] and entity["masked"] is True
        assert "*" in entity["golden"]["owner_phone"]  # pii by the schema: masked without vehicle:pii
        plate = entity["golden"]["plate"]
        found = httpx.get(f"{url}/v1/vehicle", params={"id": plate}, headers={"X-API-Key": api_key}, timeout=10)
        assert found.status_code == 200, found.text
        assert [r["entity_id"] for r in found.json()["results"]] == [pair]
        spec = httpx.get(f"{url}/openapi.json", headers={"X-API-Key": api_key}, timeout=10).json()
        params = spec["paths"]["/v1/{domain}/{entity_id}"]["get"]["parameters"]
        assert next(p for p in params if p["name"] == "domain")["schema"] == {"$ref": "#/components/schemas/Domain"}
        assert "vehicle" in spec["components"]["schemas"]["Domain"]["enum"]
