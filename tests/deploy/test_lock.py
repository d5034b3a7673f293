"""The lock files (`make lock`) against pyproject.toml and against what is installed: a fresh
install gets the versions these tests pass with, and pyproject cannot gain a dependency, or a
range, that the lock does not satisfy."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# `name==version [; marker] \` opens each entry; hash and comment lines follow it indented.
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked(text: str) -> dict[str, tuple[Version, Marker | None, int]]:
    """name → (version, marker, number of hashes) of a lock file."""
    pins: dict[str, tuple[Version, Marker | None, int]] = {}
    name = ""
    for line in text.splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            pins[name] = (Version(match[2]), Marker(match[3]) if match[3] else None, 0)
        elif line.strip().startswith("--hash=") and name:
            got, marker, hashes = pins[name]
            pins[name] = (got, marker, hashes + 1)
    return pins


def lock(name: str) -> dict[str, tuple[Version, Marker | None, int]]:
    return locked((ROOT / name).read_text(encoding="utf-8"))


def unlocked(requirements: list[str], pins: dict[str, tuple[Version, Marker | None, int]]) -> list[str]:
    """The requirements the lock lacks or pins outside their range, one line each."""
    problems = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(req.name))
        if pin is None:
            problems.append(f"{req.name}: not in the lock (run `make lock`)")
        elif not req.specifier.contains(pin[0], prereleases=True):
            problems.append(f"{req.name}: locked {pin[0]}, pyproject asks {req.specifier} (run `make lock`)")
    return problems


DEV = PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["dev"]


def test_the_dev_lock_has_every_dependency_of_pyproject_in_range() -> None:
    assert unlocked(DEV, lock("requirements-dev.lock")) == []


def test_the_service_lock_has_the_runtime_dependencies_at_the_dev_locks_versions() -> None:
    service, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    assert unlocked(PYPROJECT["dependencies"], service) == []
    assert {name: pin[0] for name, pin in service.items()} == {
        name: dev[name][0] for name in service if name in dev}
    assert set(service) <= set(dev)
    assert "pytest" not in service and "pyspark" not in service  # the image carries no dev tools


def test_the_febrl_lock_is_in_the_extras_range_and_the_makefiles() -> None:
    febrl = PYPROJECT["optional-dependencies"]["febrl"]
    assert unlocked(febrl, lock("requirements-febrl.lock")) == []
    make = re.search(r"^FEBRL := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert make is not None and [make[1]] == febrl


def test_the_client_generator_lock_is_the_makefiles_range() -> None:
    make = re.search(r"^CLIENTGEN := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert make is not None
    assert unlocked([make[1]], lock("requirements-clientgen.lock")) == []


def test_every_locked_file_is_hashed() -> None:
    for name in ("requirements-dev.lock", "requirements.lock", "requirements-febrl.lock",
                 "requirements-clientgen.lock"):
        pins = lock(name)
        assert pins and all(hashes > 0 for _, _, hashes in pins.values()), name


def test_the_check_catches_a_new_dependency_and_a_range_the_lock_misses() -> None:
    pins = lock("requirements-dev.lock")
    duckdb = pins["duckdb"][0]
    assert unlocked([*DEV, "sqlalchemy>=2"], pins) == ["sqlalchemy: not in the lock (run `make lock`)"]
    assert unlocked([f"duckdb>{duckdb}"], pins) == [
        f"duckdb: locked {duckdb}, pyproject asks >{duckdb} (run `make lock`)"]


def test_what_is_installed_is_what_is_locked() -> None:
    """The environment running these tests has the locked versions (make test installs them):
    a package upgraded by hand, or a lock changed without reinstalling, fails here."""
    differ, missing = [], []
    for name, (pinned, marker, _) in lock("requirements-dev.lock").items():
        if marker is not None and not marker.evaluate():
            continue
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            missing.append(name)
            continue
        if installed != pinned:
            differ.append(f"{name}: installed {installed}, locked {pinned}")
    assert differ == [] and missing == [], "\n".join(differ + missing) + "\n(run `make` to reinstall)"

