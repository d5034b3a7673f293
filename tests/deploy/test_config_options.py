"""resolver/cli/config.py names no option: a command's options become file keys and environment
variables as they are declared. Checked on a command made here with kinds of options `serve`
does not have yet (a choice, a list, a path), so adding such an option to `serve` needs no
change there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import typer

from resolver.cli.config import ENV_SETTINGS, config_option
from resolver.errors import ConfigError

app = typer.Typer()
seen: dict[str, Any] = {}
CONFIG = config_option("run")


@app.callback()
def _root() -> None:
    pass


@app.command(context_settings=ENV_SETTINGS)
def run(config: Path | None = CONFIG,
        log_format: Annotated[Literal["text", "json"], typer.Option("--log-format")] = "text",
        control_file: Annotated[Path | None, typer.Option("--control-file")] = None,
        tag: Annotated[list[str] | None, typer.Option("--tag")] = None,
        workers: Annotated[int, typer.Option("--workers", min=1, max=8)] = 2,
        quiet: Annotated[bool, typer.Option("--quiet")] = False) -> None:
    seen.update(log_format=log_format, control_file=control_file, tag=tag, workers=workers,
                quiet=quiet)


def invoke(*args: str) -> dict[str, Any]:
    seen.clear()
    app(args=["run", *args], standalone_mode=False)
    return dict(seen)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOG_FORMAT", "CONTROL_FILE", "TAG", "WORKERS", "QUIET", "CONFIG"):
        monkeypatch.delenv(f"RESOLVER_{name}", raising=False)


def test_defaults_without_a_file() -> None:
    assert invoke() == {"log_format": "text", "control_file": None, "tag": None, "workers": 2,
                        "quiet": False}


def test_every_kind_of_option_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[run]\nlog-format = "json"\ncontrol-file = "run/ctl.json"\n'
                      'tag = ["a", "b"]\nworkers = 3\nquiet = true\n')
    got = invoke("--config", str(config))
    assert got == {"log_format": "json", "control_file": tmp_path / "run" / "ctl.json",
                   "tag": ["a", "b"], "workers": 3, "quiet": True}


def test_environment_over_file_and_flag_over_environment(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[run]\nlog-format = "json"\nworkers = 3\n')
    monkeypatch.setenv("RESOLVER_WORKERS", "5")
    assert invoke("--config", str(config))["workers"] == 5
    assert invoke("--config", str(config), "--workers", "7")["workers"] == 7
    assert invoke("--config", str(config))["log_format"] == "json"  # the file still sets the rest


@pytest.mark.parametrize(("text", "problem"), [
    ('log-format = "yaml"', "run.log-format: "),
    ("workers = 9", "run.workers: Input should be less than or equal to 8 (got 9)"),
    ('tag = "a"', "run.tag: expected an array, got a string"),
    ("tag = [1]", "run.tag: expected a string, got an integer (1)"),
    ("quiet = 'yes'", "run.quiet: expected a boolean (true or false), got a string ('yes')"),
    ("config = 'other.toml'", "run.config: unknown key"),
    ("log_fromat = 'json'", "run.log_fromat: unknown key; did you mean log-format?"),
])
def test_a_wrong_value_names_the_key(tmp_path: Path, text: str, problem: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[run]\n{text}\n")
    with pytest.raises(ConfigError) as caught:
        invoke("--config", str(config))
    assert caught.value.path == str(config)
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(problem), \
        caught.value.problems
