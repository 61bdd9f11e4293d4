"""`[tool.repro]` in pyproject.toml: defaults for any command-line option.

Keys are the long option names without dashes (`index-url`, `env-allow`, ...);
a key applies to every command that has that option. The command line wins
over the file, which wins over repro's defaults (through click's default_map).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from repro.errors import UsageError


def parse_toml(text: str, source: object) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except ValueError as exc:
        raise UsageError(f"cannot read {source}: {exc}") from exc
    return data


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_toml(text, path)


def load(path: Path) -> dict[str, Any]:
    """The [tool.repro] table of `path`, or {} when there is none."""
    if not path.is_file():
        return {}
    data = read_toml(path)
    table = data.get("tool", {}).get("repro", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.repro] must be a table")
    return table


def _relative_to(base: Path, param: Any, value: Any) -> Any:
    """A relative path in the file is relative to the file's folder, not to the cwd:
    `repro --project sub run` reads sub/pyproject.toml, whose `outputs = "out"` is sub/out."""
    import click

    if not isinstance(getattr(param, "type", None), click.Path):
        return value
    if isinstance(value, str):
        return value if Path(value).is_absolute() else str(base / value)
    if isinstance(value, list):
        return [_relative_to(base, param, v) for v in value]
    return value


def default_map(table: dict[str, Any], commands: Mapping[str, Any], source: Path) -> dict[str, Any]:
    """Turn config keys into click's {command: {param_name: value}}."""
    out: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for name, cmd in commands.items():
        for param in getattr(cmd, "params", []):
            if not getattr(param, "expose_value", True):
                continue  # `--config` itself: a file cannot name another file
            for opt in getattr(param, "opts", []):
                key = opt.lstrip("-")
                if opt.startswith("--") and key in table:
                    value = table[key]
                    if getattr(param, "multiple", False) and isinstance(value, str):
                        value = [value]
                    value = _relative_to(source.parent, param, value)
                    out.setdefault(name, {})[param.name] = value
                    used.add(key)
    unknown = sorted(set(table) - used)
    if unknown:
        raise UsageError(
            f"{source}: unknown key(s) in [tool.repro]: {', '.join(unknown)}",
            hint="see docs/config.md for the keys repro reads",
        )
    return out
