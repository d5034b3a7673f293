"""The data inventory (政务数据目录): `resolver inventory` (docs/inventory.md)."""

from __future__ import annotations

from pathlib import Path

from resolver.errors import InputError
from resolver.inventory.build import DomainInventory, Inventory, build_inventory

FORMATS = (".html", ".xlsx")

__all__ = ["FORMATS", "DomainInventory", "Inventory", "build_inventory", "check_output", "write_inventory"]


def check_output(out: str | Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"{out}: unknown output format '{out.suffix}' (use {', '.join(FORMATS)})")
    return out


def write_inventory(inventory: Inventory, out: str | Path) -> Path:
    """Write by extension: .html (a section and chart per department) or .xlsx (a sheet per table)."""
    out = check_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".html":
        from resolver.inventory.html import render_html

        out.write_text(render_html(inventory), encoding="utf-8")
    else:
        from resolver.inventory.tables import write_xlsx

        write_xlsx(inventory, out)
    return out
