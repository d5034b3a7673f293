"""The Dockerfile, compose.yaml and .dockerignore checked without a container runtime: the image's
command is one the real CLI accepts, the health checks ask a route the app has, the store is on
the volume, every copied file is in the build context and nothing heavy or private is."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from container_files import Instruction, ignore_patterns, ignored, instructions, only

from resolver.cli import serve as _serve  # noqa: F401 - registers the serve command
from resolver.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = instructions(ROOT / "Dockerfile")
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICE: dict[str, Any] = COMPOSE["services"]["resolver"]
IGNORED = ignore_patterns(ROOT / ".dockerignore")
COMMAND = only(DOCKERFILE, "ENTRYPOINT").exec_form() + only(DOCKERFILE, "CMD").exec_form()


def copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY from the build context."""
    out = []
    for copy in (i for i in DOCKERFILE if i.keyword == "COPY"):
        words = [w for w in copy.exec_form() if not w.startswith("--")]
        assert "--from" not in copy.arguments
        out.append((words[:-1], words[-1]))
    return out


def flag(name: str) -> str:
    return COMMAND[COMMAND.index(name) + 1]


@pytest.fixture
def serve_params(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The image's command parsed by the real `resolver serve` (every option converted, --config
    read), with the config file the Dockerfile copies to the path the command names."""
    for name in [n for n in os.environ if n.startswith("RESOLVER_")]:
        monkeypatch.delenv(name)
    assert COMMAND[0] == "resolver" and COMMAND[1] == "serve", COMMAND
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "resolver" in scripts
    in_image = flag("--config")
    copied = [sources for sources, dest in copies() if dest == in_image]
    assert copied == [["deploy/resolver.toml"]], f"nothing copied to {in_image}"
    args = [str(ROOT / copied[0][0]) if a == in_image else a for a in COMMAND[2:]]
    group = typer.main.get_command(app)
    root = group.make_context("resolver", ["serve"])
    command = group.get_command(root, "serve")  # type: ignore[attr-defined]
    assert command is not None
    with command.make_context("serve", args, parent=root) as ctx:
        return dict(ctx.params)


def test_the_image_command_is_accepted_by_the_real_cli(serve_params: dict[str, Any]) -> None:
    assert serve_params["host"] == "0.0.0.0"
    assert serve_params["db"] == Path("/data/master.duckdb")
    assert serve_params["port"] == 8000
    assert serve_params["threads"] == 4 and serve_params["audit_sync"] == "full"  # from the file


def test_the_image_is_python_311_slim_and_runs_as_a_user() -> None:
    assert only(DOCKERFILE, "FROM").arguments == "python:3.11-slim"
    user = only(DOCKERFILE, "USER").arguments
    assert user not in ("root", "0") and user.split(":")[0] != "0"
    assert any(i.keyword == "RUN" and "useradd" in i.arguments and user in i.arguments
               for i in DOCKERFILE)


def test_the_image_installs_the_service_lock_with_hashes() -> None:
    keywords = [(i.keyword, i.arguments) for i in DOCKERFILE]
    install = next(n for n, (k, a) in enumerate(keywords)
                   if k == "RUN" and "pip install --require-hashes -r requirements.lock" in a)
    assert any(k == "COPY" and "requirements.lock" in a for k, a in keywords[:install])
    project = next(a for k, a in keywords if k == "RUN" and "pip install --no-deps" in a)
    assert "-e ." in project  # rule files are read beside the package (resolver/paths.py)


def health_urls() -> list[str]:
    image = only(DOCKERFILE, "HEALTHCHECK").arguments
    assert image.split()[0].startswith("--") and " CMD " in f" {image} "
    compose = " ".join(SERVICE["healthcheck"]["test"])
    urls = [u for text in (image, compose) for u in re.findall(r"http://[^'\" ]+", text)]
    assert len(urls) == 2, urls
    return urls


def answered_by_a_route(app: Any, path: str) -> bool:
    """Whether a GET of `path` reaches one of the app's routes (as the app itself dispatches)."""
    from starlette.routing import Match

    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"",
             "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)


def test_the_health_checks_ask_a_route_the_app_has_on_the_served_port(tmp_path: Path) -> None:
    from api import create_app

    app_ = create_app(tmp_path / "none.duckdb")
    assert not answered_by_a_route(app_, "/no-such-route")
    for url in health_urls():
        found = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S*)", url)
        assert found is not None, url
        assert found[1] == flag("--port"), url
        assert answered_by_a_route(app_, found[2]), url


def test_the_store_is_on_the_volume() -> None:
    (volume,) = only(DOCKERFILE, "VOLUME").exec_form()
    assert Path(flag("--db")).parent == Path(volume)
    name, target = SERVICE["volumes"][0].split(":")[:2]
    assert target == volume
    assert name in COMPOSE["volumes"]  # a named volume: it outlives the container


def test_compose_builds_the_image_and_publishes_the_served_port() -> None:
    assert SERVICE["build"] == "."
    assert only(DOCKERFILE, "EXPOSE").arguments == flag("--port")
    assert [p.rsplit(":", 1)[1] for p in SERVICE["ports"]] == [flag("--port")]


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    sources = [s for sources, _ in copies() for s in sources]
    assert {"requirements.lock", "resolver", "api", "matching_rules"} <= set(sources)
    for source in sources:
        path = ROOT / source
        assert path.exists(), source
        files = [path] if path.is_file() else [
            f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts
            and not f.name.endswith((".duckdb", ".sqlite")) and "models" not in f.parts]
        assert files, source
        dropped = [str(f.relative_to(ROOT)) for f in files
                   if ignored(f.relative_to(ROOT).as_posix(), IGNORED)]
        assert dropped == [], f".dockerignore drops files the Dockerfile copies: {dropped[:5]}"


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".venv-lock/bin/uv", ".git/HEAD", "out/demo/master.duckdb", "data/x.csv",
    "master.duckdb", "fixtures/sample/x.duckdb", "store/master.duckdb.wal",
    "master.duckdb.access.sqlite", "master.duckdb.access.sqlite-wal", "master.duckdb.audit-secret",
    "resolver/__pycache__/app.cpython-311.pyc", "matching_rules/enterprise/models/m.json",
    "resolver.egg-info/PKG-INFO"])
def test_dockerignore_keeps_out_venvs_stores_secrets_and_outputs(path: str) -> None:
    assert ignored(path, IGNORED)


@pytest.mark.parametrize("path", ["resolver/cli/serve.py", "matching_rules/enterprise/blocking.yaml",
                                  "api/static/swagger-ui.css", "deploy/resolver.toml", "Dockerfile"])
def test_dockerignore_keeps_the_sources(path: str) -> None:
    assert not ignored(path, IGNORED)


def test_the_dockerfile_reader_joins_continuations_and_reads_both_forms(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('# c\nFROM x\nRUN a \\\n    && b\nCMD ["serve", "--port", "1"]\nCMD serve --db "a b"\n')
    found = instructions(dockerfile)
    assert [i.keyword for i in found] == ["FROM", "RUN", "CMD", "CMD"]
    assert found[1] == Instruction("RUN", "a      && b")
    assert found[2].exec_form() == ["serve", "--port", "1"]
    assert only(found, "CMD").exec_form() == ["serve", "--db", "a b"]
