"""The workbench ships whole and offline: every template and asset is package data of the wheel
(pyproject's package-data globs), and nothing a page loads comes from another host."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "api" / "ui"


def test_every_template_and_asset_is_package_data():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["api"]
    files = [p.relative_to(ROOT / "api").as_posix() for p in UI.rglob("*")
             if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert any(f.startswith("ui/templates/") for f in files) and any(f.startswith("ui/static/") for f in files)
    missing = [f for f in files if not any(fnmatch(f, g) for g in globs)]
    assert missing == [], f"not in pyproject's package-data: {missing}"


def test_no_page_or_asset_loads_anything_from_another_host():
    external = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.IGNORECASE)
    for path in [*UI.rglob("*.html"), *UI.rglob("*.css"), *UI.rglob("*.js")]:
        text = path.read_text(encoding="utf-8")
        assert not external.search(text), f"{path.relative_to(ROOT)} loads from another host"
