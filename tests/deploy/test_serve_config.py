"""`resolver serve --config FILE` and RESOLVER_<OPTION> variables, with a real server: which value
wins (flags > environment > file > default), and what a wrong file says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fixtures.live_server import Server, free_port

pytestmark = pytest.mark.slow  # make test-slow; see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]


def env(**variables: str) -> dict[str, str]:
    """This process's environment without RESOLVER_ options, the checkout importable, plus `variables`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RESOLVER_")}
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**base, "PYTHONPATH": path, "COLUMNS": "200", **variables}


def cli(*args: object, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resolver", *map(str, args)], capture_output=True,
                          text=True, env=env(**variables), timeout=120)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty master store: serving it needs no data, and it starts in a few seconds."""
    from resolver.store import open_store

    db = tmp_path_factory.mktemp("config") / "master.duckdb"
    open_store(db).close()
    return db


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def refused(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
    except httpx.ConnectError:
        return True
    return False


def test_the_port_and_store_come_from_the_file(store: Path, tmp_path: Path) -> None:
    port = free_port()
    # db relative to the file's folder, not to where the server starts
    config = write(store.parent / "resolver.toml",
                   f'[serve]\ndb = "{store.name}"\nport = {port}\nlog-level = "warning"\n')
    with Server(store, env=env(), args=("--config", str(config)), cwd=tmp_path, port=port,
                flags=False) as server:
        answer = httpx.get(server.url + "/health", timeout=5).json()
    assert answer["store"] == store.name


def test_the_environment_wins_over_the_file(store: Path, tmp_path: Path) -> None:
    in_file, in_env = free_port(), free_port()
    config = write(tmp_path / "resolver.toml", f"[serve]\nport = {in_file}\n")
    with Server(store, env=env(RESOLVER_PORT=str(in_env), RESOLVER_DB=str(store)),
                args=("--config", str(config)), port=in_env, flags=False) as server:
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200
        assert refused(in_file)


def test_a_flag_wins_over_the_environment_and_the_file(store: Path, tmp_path: Path) -> None:
    in_file, in_env, flag = free_port(), free_port(), free_port()
    config = write(tmp_path / "resolver.toml", f"[serve]\nport = {in_file}\n")
    with Server(store, env=env(RESOLVER_PORT=str(in_env)), args=("--config", str(config)),
                port=flag) as server:  # flags=True: --db and --port on the command line
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200
        assert refused(in_file) and refused(in_env)


def test_the_config_file_itself_can_come_from_the_environment(store: Path, tmp_path: Path) -> None:
    port = free_port()
    config = write(tmp_path / "resolver.toml", f'[serve]\ndb = "{store}"\nport = {port}\n')
    with Server(store, env=env(RESOLVER_CONFIG=str(config)), port=port, flags=False) as server:
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200


def test_the_example_file_serves(store: Path) -> None:
    """deploy/resolver.toml (the image's) is accepted; its host and store are overridden here."""
    with Server(store, env=env(), args=("--config", str(ROOT / "deploy" / "resolver.toml"),
                                        "--host", "127.0.0.1")) as server:
        assert httpx.get(server.url + "/health", timeout=5).status_code == 200


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_an_unknown_key_exits_1_naming_the_file_the_key_and_a_close_match(store: Path,
                                                                          tmp_path: Path) -> None:
    config = write(tmp_path / "bad.toml", "[serve]\nprot = 8000\n")
    line = one_error(cli("serve", "--db", store, "--config", config))
    assert str(config) in line and "serve.prot: unknown key" in line and "did you mean port?" in line


def test_a_key_outside_the_serve_table_is_unknown(store: Path, tmp_path: Path) -> None:
    config = write(tmp_path / "flat.toml", "port = 8000\n")
    line = one_error(cli("serve", "--db", store, "--config", config))
    assert f"{config}: port: unknown key" in line and "serve.port" in line


def test_a_wrong_type_names_the_file_the_key_and_the_type(store: Path, tmp_path: Path) -> None:
    config = write(tmp_path / "types.toml", '[serve]\nport = "8000"\n')
    line = one_error(cli("serve", "--db", store, "--config", config))
    assert line == f"error: {config}: serve.port: expected an integer, got a string ('8000')"


def test_every_problem_of_a_file_is_reported_at_once(store: Path, tmp_path: Path) -> None:
    config = write(tmp_path / "many.toml", "[serve]\nthreads = 0\ndocs = 1\nrate_limit = 5\n")
    result = cli("serve", "--db", store, "--config", config)
    assert result.returncode == 1
    assert f"{config}: 3 problem(s)" in result.stderr
    assert "serve.threads: Input should be greater than or equal to 1 (got 0)" in result.stderr
    assert "serve.docs: expected a boolean (true or false), got an integer (1)" in result.stderr
    assert "serve.rate_limit: unknown key; did you mean rate-limit?" in result.stderr


def test_a_file_that_is_not_toml_or_missing_is_one_line(store: Path, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.toml", "[serve]\nport = \n")
    assert f"{broken}: not valid TOML" in one_error(cli("serve", "--db", store, "--config", broken))
    missing = tmp_path / "missing.toml"
    assert one_error(cli("serve", "--db", store, "--config", missing)) == (
        f"error: {missing}: No such file or directory")


def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(store: Path) -> None:
    result = cli("serve", "--db", store, RESOLVER_PORT="eighty")
    assert result.returncode == 2
    assert "RESOLVER_PORT" in result.stderr and "--port" in result.stderr


def test_help_shows_config_and_each_options_variable() -> None:
    result = cli("serve", "--help")
    assert result.returncode == 0
    for text in ("--config", "RESOLVER_CONFIG", "RESOLVER_DB", "RESOLVER_PORT", "RESOLVER_THREADS"):
        assert text in result.stdout, text
