"""The `resolver` command as a user runs it: a real subprocess, its exit code, stdout and stderr.

One small store is built from the committed sample's enterprise exports; `train` and `resolve`
run on it as subprocesses, and the export tests read the files they write."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import openpyxl
import pandas as pd
import pytest

import resolver
from resolver.cli.app import DomainName
from resolver.cli.link import EngineName
from resolver.domains import domain_names
from resolver.engines import ENGINES

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
SOURCES = ROOT / "matching_rules" / "sources"
ENTERPRISE_FILES = {"tax": "tax_taxpayers.csv", "commerce": "commerce_registry.csv",
                    "quality": "quality_inspections.xlsx", "statistics": "statistics_units.csv"}


def run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "resolver", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)


@dataclass
class Resolved:
    db: Path
    records: int
    train: subprocess.CompletedProcess[str]
    resolve: subprocess.CompletedProcess[str]
    again: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> Resolved:
    from resolver.ingest import ingest_file
    from resolver.store import open_store

    folder = tmp_path_factory.mktemp("cli")
    db = folder / "master.duckdb"
    store = open_store(db)
    try:
        records = sum(ingest_file(store, SOURCES / f"{source}.yaml", SAMPLE / name).loaded
                      for source, name in ENTERPRISE_FILES.items())
    finally:
        store.close()
    train = run("train", "--db", db, "--domain", "enterprise", "--models-dir", folder / "models")
    assert train.returncode == 0, train.stderr
    resolve = run("resolve", "--db", db, "--domain", "enterprise")
    assert resolve.returncode == 0, resolve.stderr
    again = run("resolve", "--db", db, "--domain", "enterprise")
    assert again.returncode == 0, again.stderr
    return Resolved(db, records, train, resolve, again)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


# --- usage ---------------------------------------------------------------------------------

def test_an_unknown_option_exits_2_with_the_usage_line() -> None:
    result = run("export", "members", "--bogus")
    assert result.returncode == 2
    assert "Usage: " in result.stderr and "export members [OPTIONS]" in result.stderr
    assert "No such option: --bogus" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_required_option_exits_2(tmp_path: Path) -> None:
    result = run("resolve", "--domain", "enterprise")
    assert result.returncode == 2
    assert "Usage: " in result.stderr and "Missing option '--db'" in result.stderr


def test_version_names_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"resolver {resolver.__version__} (splink ")


def test_domain_offers_its_choices_and_refuses_others(tmp_path: Path) -> None:
    help_text = run("export", "members", "--help")
    assert help_text.returncode == 0
    assert "enterprise|person" in help_text.stdout
    result = run("export", "members", "--db", tmp_path / "m.duckdb", "--domain", "household",
                 "--out", tmp_path / "m.csv")
    assert result.returncode == 2
    assert "Usage: " in result.stderr
    assert "'household' is not one of 'enterprise', 'person'" in result.stderr
    assert not (tmp_path / "m.csv").exists()


def test_the_choices_are_the_domains_and_engines_the_product_has() -> None:
    assert get_args(DomainName) == domain_names()
    assert get_args(EngineName) == ENGINES


# --- failures: one line, exit 1, traceback only with --debug -----------------------------

def test_a_missing_store_is_one_line_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "nowhere.duckdb"
    for args in (["resolve", "--db", db, "--domain", "person"],
                 ["train", "--db", db, "--domain", "enterprise"],
                 ["export", "golden", "--db", db, "--domain", "enterprise", "--out", tmp_path / "g.csv"]):
        result = run(*args)
        assert result.returncode == 1, args
        line = one_error_line(result)
        assert str(db) in line and "no master store" in line
    assert not db.exists()


def test_a_missing_export_file_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "tax_2024.csv"
    result = run("ingest", "--db", tmp_path / "m.duckdb", "--mapping", SOURCES / "tax.yaml", missing)
    assert result.returncode == 1
    assert str(missing) in one_error_line(result)
    mapping = tmp_path / "no_such_mapping.yaml"
    result = run("ingest", "--db", tmp_path / "m.duckdb", "--mapping", mapping, SAMPLE / "tax_taxpayers.csv")
    assert result.returncode == 1
    assert one_error_line(result) == f"error: {mapping}: file not found"
    assert not (tmp_path / "m.duckdb").exists()


def test_an_unexpected_failure_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    db = tmp_path / "broken.duckdb"
    db.write_bytes(b"this is not a DuckDB file" * 100)
    result = run("export", "members", "--db", db, "--domain", "enterprise", "--out", tmp_path / "m.csv")
    assert result.returncode == 1
    assert "run with --debug for the traceback" in one_error_line(result)
    debug = run("--debug", "export", "members", "--db", db, "--domain", "enterprise", "--out", tmp_path / "m.csv")
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    at_the_end = run("resolve", "--db", tmp_path / "nowhere.duckdb", "--domain", "person", "--debug")
    assert at_the_end.returncode == 1
    assert "Traceback (most recent call last)" in at_the_end.stderr
    assert at_the_end.stderr.strip().splitlines()[-1].startswith("error: ")


def test_an_unknown_output_format_is_refused_before_any_work(tmp_path: Path) -> None:
    result = run("export", "golden", "--db", tmp_path / "m.duckdb", "--domain", "enterprise",
                 "--out", tmp_path / "golden.txt")
    assert result.returncode == 1
    assert "unknown output format '.txt'" in one_error_line(result)


# --- resolve's summary ---------------------------------------------------------------------

def test_resolve_prints_a_short_summary_that_agrees_with_the_store(resolved: Resolved, tmp_path: Path) -> None:
    out = resolved.resolve.stdout
    assert "ResolutionSummary(" not in out and "{" not in out
    lines = out.strip().splitlines()
    assert len(lines) == 4, out
    head = re.fullmatch(r"enterprise: (\d+) source records -> (\d+) entities \(model version (\S+)\)", lines[0])
    assert head, lines[0]
    records, entities, version = int(head[1]), int(head[2]), head[3]
    assert records == resolved.records
    assert f"model version {version}" in resolved.train.stdout
    links = re.fullmatch(r"  links: +(\d+) merges from (\d+) scored pairs at match probability >= 0\.9 "
                         r"\(the model version's\); (\d+) refused by constraint( \(.+\))?", lines[1])
    assert links, lines[1]
    assert int(links[1]) == records - entities  # every merge joins two clusters into one
    created = re.fullmatch(r"  master IDs: (\d+) created, 0 merged, 0 split, 0 retired; (\d+) entities changed",
                           lines[2])
    assert created and int(created[1]) == entities and int(created[2]) == entities, lines[2]
    largest = re.fullmatch(r"  largest entity: (\d+) source records", lines[3])
    assert largest, lines[3]

    members = tmp_path / "members.parquet"
    assert run("export", "members", "--db", resolved.db, "--domain", "enterprise", "--out", members).returncode == 0
    frame = pd.read_parquet(members)
    assert frame["entity_id"].nunique() == entities
    assert frame.groupby("entity_id").size().max() == int(largest[1])
    assert set(frame["model_version"]) == {version}


def test_resolving_again_changes_no_master_id(resolved: Resolved) -> None:
    lines = resolved.again.stdout.strip().splitlines()
    assert lines[0] == resolved.resolve.stdout.strip().splitlines()[0]
    assert lines[2] == "  master IDs: 0 created, 0 merged, 0 split, 0 retired; 0 entities changed"


# --- the export contract -------------------------------------------------------------------

MEMBERS = ["source", "source_record_id", "entity_id", "model_version"]
MEMBERS_ZH = ["来源部门", "来源记录编号", "主体编号", "模型版本"]


def _model_version(resolved: Resolved) -> str:
    found = re.search(r"model version (\S+)\)", resolved.resolve.stdout)
    assert found
    return found[1]


def test_members_export_keeps_english_names_in_csv_and_parquet_and_chinese_in_xlsx(
        resolved: Resolved, tmp_path: Path) -> None:
    version = _model_version(resolved)
    for suffix in ("csv", "parquet", "xlsx"):
        result = run("export", "members", "--db", resolved.db, "--domain", "enterprise",
                     "--out", tmp_path / f"members.{suffix}")
        assert result.returncode == 0, result.stderr
        assert f"{resolved.records} members rows written" in result.stdout and version in result.stdout
    csv = pd.read_csv(tmp_path / "members.csv", encoding="utf-8-sig", dtype=str)
    parquet = pd.read_parquet(tmp_path / "members.parquet")
    for frame in (csv, parquet):
        assert list(frame.columns) == MEMBERS
        assert len(frame) == resolved.records
        assert set(frame["model_version"]) == {version}
        assert set(frame["source"]) == set(ENTERPRISE_FILES)
    # the same rows in both files, source record IDs kept as text (leading zeros and all)
    assert sorted(zip(csv["source"], csv["source_record_id"], strict=True)) == sorted(
        zip(parquet["source"], parquet["source_record_id"].astype(str), strict=True))
    rows = list(openpyxl.load_workbook(tmp_path / "members.xlsx", read_only=True).active.values)
    assert list(rows[0]) == MEMBERS_ZH
    assert len(rows) == resolved.records + 1
    assert {r[3] for r in rows[1:]} == {version}


def test_golden_export_keeps_english_names_in_csv_and_parquet_and_chinese_in_xlsx(
        resolved: Resolved, tmp_path: Path) -> None:
    version = _model_version(resolved)
    for suffix in ("csv", "parquet", "xlsx"):
        result = run("export", "golden", "--db", resolved.db, "--domain", "enterprise",
                     "--out", tmp_path / f"golden.{suffix}")
        assert result.returncode == 0, result.stderr
    csv = pd.read_csv(tmp_path / "golden.csv", encoding="utf-8-sig", dtype=str)
    parquet = pd.read_parquet(tmp_path / "golden.parquet")
    for frame in (csv, parquet):
        assert list(frame.columns)[:5] == ["entity_id", "size", "model_version", "name", "uscc"]
        assert not any(re.search(r"[\u4e00-\u9fff]", c) for c in frame.columns), list(frame.columns)
        assert set(frame["model_version"]) == {version}
        assert frame["entity_id"].is_unique
    assert len(csv) == len(parquet) == parquet["entity_id"].nunique()
    header = list(next(openpyxl.load_workbook(tmp_path / "golden.xlsx", read_only=True).active.values))
    assert header[:5] == ["主体编号", "记录数", "模型版本", "名称", "统一社会信用代码"]


# --- progress --------------------------------------------------------------------------------

def test_resolve_shows_its_steps_on_a_terminal_and_nothing_in_a_pipe(resolved: Resolved) -> None:
    import fcntl
    import pty
    import struct
    import termios

    assert "resolve enterprise" not in resolved.resolve.stderr  # a pipe: no bar in logs
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "resolver", "resolve", "--db", str(resolved.db),
                             "--domain", "enterprise"], stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closes when the command exits
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = proc.communicate(timeout=600)
    os.close(master)
    assert proc.returncode == 0
    shown = seen.decode("utf-8", "replace")
    for step in ("loading source records", "scoring candidate pairs", "clustering under constraints",
                 "saving master IDs and golden records"):
        assert step in shown, shown
    assert stdout.decode().startswith("enterprise: ")


def test_golden_export_masks_personal_fields_unless_pii(resolved: Resolved, tmp_path: Path) -> None:
    for name, extra in (("masked", ()), ("full", ("--pii",))):
        result = run("export", "golden", "--db", resolved.db, "--domain", "enterprise",
                     "--out", tmp_path / f"{name}.csv", *extra)
        assert result.returncode == 0, result.stderr
    masked = pd.read_csv(tmp_path / "masked.csv", encoding="utf-8-sig", dtype=str).set_index("entity_id")
    full = pd.read_csv(tmp_path / "full.csv", encoding="utf-8-sig", dtype=str).set_index("entity_id")
    assert "phone_kind" not in masked.columns
    ids = full["legal_rep_id"].dropna()
    assert len(ids) and ids.str.fullmatch(r"\d{17}[\dX]").all()
    shown = masked.loc[ids.index, "legal_rep_id"]
    assert (shown == ids.str[:6] + "*" * 12).all()  # the region only (docs/security.md)
    phones = full["phone"].dropna()
    assert len(phones) and not (masked.loc[phones.index, "phone"] == phones).any()
    assert (masked["name"].fillna("") == full["name"].fillna("")).all()
