"""Layers import downwards only: the engines sit below linking, the facade on top."""

import subprocess
import sys


def _imported_after(module: str) -> set[str]:
    """The resolver modules a fresh interpreter holds after importing `module`."""
    code = f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('resolver.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_engines_do_not_import_linking():
    for module in ("resolver.engines.duckdb", "resolver.engines.spark", "resolver.engines.inputs"):
        above = sorted(m for m in _imported_after(module)
                       if m.startswith(("resolver.linking", "resolver.engine", "resolver.store")) and
                       not m.startswith("resolver.engines"))
        assert above == [], f"{module} imports {above}"


def test_linking_does_not_import_the_facade():
    loaded = _imported_after("resolver.linking")
    assert "resolver.engine" not in loaded and "resolver.rules" not in loaded
