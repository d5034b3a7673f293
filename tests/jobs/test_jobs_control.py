"""The control file DB.serve.json: written atomically with mode 0600, read only while its pid
lives, removed only by the server that wrote it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from resolver.jobs.control import (
    control_path,
    local_url,
    read_control,
    remove_control,
    write_control,
)


def test_control_file_is_the_operators_alone_and_names_the_server(tmp_path: Path) -> None:
    db = tmp_path / "master.duckdb"
    written = write_control(db, "http://127.0.0.1:8123", "secret-token")
    path = control_path(db)
    assert path == tmp_path / "master.duckdb.serve.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["pid"] == os.getpid() and data["url"] == "http://127.0.0.1:8123"
    assert data["token"] == "secret-token" and data["db"] == str(db.resolve()) and data["started_at"]
    assert read_control(db) == written
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left beside it


def test_a_file_whose_process_is_gone_is_stale_and_ignored(tmp_path: Path) -> None:
    db = tmp_path / "master.duckdb"
    write_control(db, "http://127.0.0.1:1", "t")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    data = json.loads(control_path(db).read_text(encoding="utf-8"))
    control_path(db).write_text(json.dumps({**data, "pid": int(dead.stdout)}), encoding="utf-8")
    assert read_control(db) is None
    replaced = write_control(db, "http://127.0.0.1:2", "new")  # the next server writes over it
    assert read_control(db) == replaced


def test_unreadable_or_incomplete_files_are_ignored(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    assert read_control(db) is None
    control_path(db).write_text("{not json", encoding="utf-8")
    assert read_control(db) is None
    control_path(db).write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
    assert read_control(db) is None


def test_only_the_server_that_wrote_it_removes_it(tmp_path: Path) -> None:
    db = tmp_path / "master.duckdb"
    write_control(db, "http://127.0.0.1:8123", "mine")
    remove_control(db, "someone-elses")
    assert control_path(db).exists()
    remove_control(db, "mine")
    assert not control_path(db).exists()
    remove_control(db, "mine")  # already gone: nothing to do


def test_local_url_reaches_a_server_on_any_interface() -> None:
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("::", 8000) == "http://[::1]:8000"
    assert local_url("10.1.2.3", 80) == "http://10.1.2.3:80"
