"""A command line made ready to run in the server: verb, store, relative paths made absolute
against the caller's working directory; verbs that cannot be jobs refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from resolver.cli import app
from resolver.errors import InputError
from resolver.jobs.runner import JobRefusedError, prepare
from resolver.jobs.verbs import job_line

CWD = Path("/home/operator/work")


def test_every_path_option_and_argument_becomes_absolute() -> None:
    line = job_line(app, ["--debug", "ingest", "exports/tax.csv", "--db", "m.duckdb", "--mapping=rules/tax.yaml",
                          "--incremental"], CWD)
    assert line.verb == ("ingest",) and line.writes
    assert line.args == ["--debug", "ingest", str(CWD / "exports/tax.csv"), "--db", str(CWD / "m.duckdb"),
                         f"--mapping={CWD / 'rules/tax.yaml'}", "--incremental"]
    assert line.db == CWD / "m.duckdb"


def test_absolute_paths_and_values_that_are_not_paths_stay_as_given() -> None:
    line = job_line(app, ["export", "golden", "--db", "/srv/m.duckdb", "--domain", "enterprise", "--out", "g.xlsx",
                          "--pii"], CWD)
    assert line.verb == ("export", "golden") and not line.writes
    assert line.args == ["export", "golden", "--db", "/srv/m.duckdb", "--domain", "enterprise",
                         "--out", str(CWD / "g.xlsx"), "--pii"]
    diff = job_line(app, ["model", "diff", "--db", "m.duckdb", "--domain", "enterprise", "v1", "v2"], CWD)
    assert diff.args[-2:] == ["v1", "v2"] and not diff.writes  # versions, not paths
    revoke = job_line(app, ["keys", "revoke", "k123", "--db", "m.duckdb"], CWD)
    assert revoke.args[2] == "k123"


def test_unknown_verbs_are_refused() -> None:
    with pytest.raises(InputError, match="no such verb: 'frobnicate'"):
        job_line(app, ["frobnicate", "--db", "m.duckdb"], CWD)
    with pytest.raises(InputError, match="no verb"):
        job_line(app, ["--debug"], CWD)


def test_serve_demo_other_stores_and_storeless_verbs_are_not_jobs(tmp_path: Path) -> None:
    served = tmp_path / "m.duckdb"
    served.touch()
    with pytest.raises(JobRefusedError, match="`serve` cannot run inside a server"):
        prepare(["serve", "--db", "m.duckdb"], str(tmp_path), str(served))
    with pytest.raises(JobRefusedError, match="`demo` builds its own store"):
        prepare(["demo"], str(tmp_path), str(served))
    with pytest.raises(JobRefusedError, match="this server serves"):
        prepare(["resolve", "--db", "other.duckdb", "--domain", "enterprise"], str(tmp_path), str(served))
    with pytest.raises(JobRefusedError, match="names no store"):
        prepare(["standardize", "x.csv", "--mapping", "m.yaml", "--out", "o.csv"], str(tmp_path), str(served))
    with pytest.raises(JobRefusedError, match="absolute working directory"):
        prepare(["resolve", "--db", "m.duckdb", "--domain", "enterprise"], "relative/dir", str(served))
    with pytest.raises(JobRefusedError, match="list of strings"):
        prepare("resolve --db m.duckdb", str(tmp_path), str(served))
    line = prepare(["resolve", "--db", "m.duckdb", "--domain", "enterprise"], str(tmp_path), str(served))
    assert line.db == served and line.writes
