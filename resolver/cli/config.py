"""A command's options from a TOML file and from environment variables.

`resolver serve --config resolver.toml` reads the file's `[serve]` table; every option of the
command is also `RESOLVER_<OPTION>` in the environment (RESOLVER_PORT, RESOLVER_LOG_LEVEL).
Precedence, highest first: flags, environment, file, the option's default. Nothing here names
an option: keys, types and variable names come from the command's own parameters, so an
option added to the command is configurable without a change here.

Click does the layering: an option's value comes from the command line, else its environment
variable (the context's `auto_envvar_prefix`), else the context's `default_map`, else its
default. `--config` is eager, so its callback fills `default_map` before the others are read.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import types
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import typer

from resolver.errors import ConfigError, ResolverError

ENV_PREFIX = "RESOLVER"
# For @app.command(context_settings=ENV_SETTINGS): every option also from RESOLVER_<NAME>.
ENV_SETTINGS: dict[str, Any] = {"auto_envvar_prefix": ENV_PREFIX}


def key_of(param: Any) -> str:
    """The option's key in the file: its long flag without dashes (`--rate-limit` → rate-limit)."""
    longs = [opt for opt in param.opts if opt.startswith("--")]
    return longs[0][2:] if longs else str(param.name)




def configurable(ctx: typer.Context, config_param: Any) -> dict[str, Any]:
    """The command's options a file may set, by key: exposed options other than --config."""
    return {key_of(p): p for p in ctx.command.params
            if isinstance(p, typer.core.TyperOption) and p.expose_value and p is not config_param}


def _plain(annotation: Any) -> Any:
    """`Path | None`, `Annotated[int, ...]` → the type a value must have."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _plain(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return _plain(rest[0]) if len(rest) == 1 else annotation
    return annotation


# TOML value types each Python annotation accepts, and how an error names them.
def _toml_types(annotation: Any) -> tuple[tuple[type, ...], str] | None:
    plain = _plain(annotation)
    if plain is bool:
        return (bool,), "a boolean (true or false)"
    if plain is int:
        return (int,), "an integer"
    if plain is float:
        return (int, float), "a number"
    if plain in (str, Path) or get_origin(plain) is Literal or (
            isinstance(plain, type) and issubclass(plain, Enum | os.PathLike)):
        return (str,), "a string"
    return None  # any other type: typer's own conversion decides


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def check_value(path: Path, table: str, key: str, param: Any, value: Any,
                ctx: typer.Context) -> tuple[Any, str | None]:
    """The value for default_map, or a problem naming the key and the expected type."""
    where = f"{table}.{key}"
    many = param.multiple or param.nargs != 1
    items = value if many and isinstance(value, list) else [value]
    if many and not isinstance(value, list):
        return None, f"{where}: expected an array, got {_type_name(value)}"
    annotation = _plain(param.type_descriptor.annotation)
    if many and get_origin(annotation) in (list, tuple) and get_args(annotation):
        annotation = get_args(annotation)[0]  # list[str]: each item a string
    expected = _toml_types(annotation)
    for item in items:
        if expected is not None and (not isinstance(item, expected[0]) or (
                isinstance(item, bool) and bool not in expected[0])):
            return None, f"{where}: expected {expected[1]}, got {_type_name(item)} ({item!r})"
    if param.type_descriptor.is_path:  # relative to the file, wherever the server starts
        items = [str((path.parent / item).absolute()) if isinstance(item, str) else item
                 for item in items]
    converted = items if many else items[0]
    try:  # ranges (--threads >= 1), choices: the option's own check, as for a flag
        param.get_runtime_param().coerce(converted, param=param, ctx=ctx)
    except typer.BadParameter as exc:
        return None, f"{where}: {exc.message.removeprefix('Value error, ')} (got {converted!r})"
    return converted, None


def read_config(path: Path, ctx: typer.Context, config_param: Any) -> dict[str, Any]:
    """The `[<command>]` table of the TOML file at `path`, checked against the command's options:
    every unknown key and wrong type is reported at once, naming the file and the key."""
    table = str(ctx.info_name)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ResolverError(f"{path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from exc
    options = configurable(ctx, config_param)
    problems = []
    for key in data:
        if key != table:
            hint = (f" (options go in the [{table}] table: {table}.{key})" if key in options
                    else f" (expected the table [{table}])")
            problems.append(f"{key}: unknown key{hint}")
    section = data.get(table, {})
    if not isinstance(section, dict):
        problems.append(f"{table}: expected a table, got {_type_name(section)}")
        section = {}
    values = {}
    for key, value in section.items():
        param = options.get(key)
        if param is None:
            close = difflib.get_close_matches(key.replace("_", "-"), options, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(sorted(options))}"
            problems.append(f"{table}.{key}: unknown key{hint}")
            continue
        converted, problem = check_value(path, table, key, param, value, ctx)
        if problem:
            problems.append(problem)
        else:
            values[str(param.name)] = converted
    if problems:
        raise ConfigError(str(path), problems)
    return values


def load_config(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
    """--config's callback: the file's values become the command's defaults (below flags and
    environment variables)."""
    prefix = ctx.auto_envvar_prefix
    for option in configurable(ctx, param).values():
        if prefix and option.envvar is None and option.allow_from_autoenv:
            # the variable click derives, named explicitly so that its errors name it too
            option.envvar = f"{prefix}_{str(option.name).upper()}"
    if value is not None:
        ctx.default_map = {**(ctx.default_map or {}), **read_config(value, ctx, param)}
    return value


def config_option(command: str) -> Any:
    """The --config option of `command` (with context_settings=ENV_SETTINGS on the command)."""
    return typer.Option(
        None, "--config", is_eager=True, callback=load_config, dir_okay=False,
        help=f"TOML file whose {command} table sets any option below, by its flag without dashes "
        f"({command}.port = 8000). Each option is also an environment variable, "
        f"{ENV_PREFIX}_<OPTION> ({ENV_PREFIX}_PORT). Flags win over the environment, "
        "the environment over the file. See docs/deploy.md.")
