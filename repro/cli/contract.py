"""The --json contract: every command's output object has a schema in schemas/cli/.

`schemas/cli/<command>.schema.json` describes what `repro <command> --json`
prints; `schemas/cli/error.schema.json` what any command prints under --json
when it fails. Every object carries `schema_version`, so a script can refuse a
shape it does not know. Paths in these objects are absolute (see docs/json.md).

With REPRO_CHECK_JSON=1 (the test suite sets it) every object is validated
against its schema before it is printed, so each test that runs a command with
--json checks the contract too.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
ERROR = "error"


def schema_path(command: str) -> Path:
    from repro.records import schema_dir

    return schema_dir() / "cli" / f"{command}.schema.json"


@functools.cache
def load(command: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path(command).read_text())
    return schema


def errors(obj: Any, command: str) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(load(command))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    ]


def check(obj: Any, command: str) -> None:
    """Validate when REPRO_CHECK_JSON is set: a mismatch is a bug in repro."""
    if not os.environ.get("REPRO_CHECK_JSON"):
        return
    problems = errors(obj, command)
    if problems:
        from repro.errors import RecordInvalid

        raise RecordInvalid(
            f"`repro {command} --json` printed an object its schema rejects: {problems[0]}",
            hint=f"fix {schema_path(command).name} or the command",
        )


def abspath(p: str | os.PathLike[str]) -> str:
    """The one path convention of --json output: absolute, symlinks kept as named."""
    return os.path.abspath(p)
