"""Published model versions live inside the master store: the model JSON itself, so a copy of
the store file serves anywhere. Stores from before schema v3 registered a file path; on
open the file is imported when it can be found (see `read_model_file`)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from resolver.errors import ModelMissingError, NotFoundError


def model_file_candidates(path: str, store_dir: Path | None) -> list[Path]:
    """Where a registered model file may be: as registered (absolute, or relative to the
    working directory of the run that trained it), then relative to the store's folder."""
    p = Path(path)
    out = [p.absolute()]
    if store_dir is not None and not p.is_absolute():
        out += [store_dir / p, store_dir / "models" / p.name]
    return list(dict.fromkeys(out))


def read_model_file(path: str, version: str, store_dir: Path | None) -> str | None:
    """The JSON text of `version` found at one of the candidate paths, else None."""
    for p in model_file_candidates(path, store_dir):
        try:
            text = p.read_text(encoding="utf-8")
            if json.loads(text).get("resolver", {}).get("version") == version:
                return text
        except (OSError, ValueError, AttributeError):
            continue
    return None


def import_model_files(con: duckdb.DuckDBPyConnection, store_dir: Path | None) -> None:
    """Schema v3: add the JSON column and fill it from the registered files that can be found."""
    con.execute("ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS model_json VARCHAR")
    rows = con.execute("SELECT version, path FROM model_versions "
                       "WHERE model_json IS NULL AND path IS NOT NULL").fetchall()
    for version, path in rows:
        text = read_model_file(path, version, store_dir)
        if text is not None:
            con.execute("UPDATE model_versions SET model_json = ? WHERE version = ?", [text, version])


def _has_json_column(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                            "'model_versions' AND column_name = 'model_json'").fetchone()[0])  # type: ignore[index]


def model_json(con: duckdb.DuckDBPyConnection, store_path: str, domain: str, version: str | None = None
               ) -> tuple[str, str]:
    """(version, model JSON) of the domain's latest model version, or of `version`."""
    col = "model_json" if _has_json_column(con) else "NULL"
    sql = f"SELECT version, path, {col} FROM model_versions WHERE domain = ?"
    params = [domain]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    rows = con.execute(sql + " ORDER BY created_at DESC, version DESC LIMIT 1", params).fetchall()
    if not rows:
        what = f"model version {version!r}" if version else "model version"
        raise NotFoundError(f"{store_path}: no {domain} {what} published: run `resolver train --db "
                            f"{store_path} --domain {domain}`")
    found, path, text = rows[0]
    if text is None and path:
        text = read_model_file(path, found, Path(store_path).resolve().parent)
    if text is None:
        looked = ", ".join(str(p) for p in model_file_candidates(path or "", Path(store_path).resolve().parent))
        raise ModelMissingError(
            f"{store_path}: {domain} model version {found} is registered by file path only, and the file "
            f"was not found (looked at {looked}); put the file there and open the store again, "
            f"or publish a new model with `resolver train --db {store_path} --domain {domain}`")
    return found, text
