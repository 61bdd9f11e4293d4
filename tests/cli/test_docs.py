"""docs/cli.md shows every command's real --help text and docs/json.md documents
every --json output from its schema; these tests keep both honest.

To refresh them after changing an option or a schema: REPRO_UPDATE_DOCS=1 make test
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from repro.cli import main
from repro.cli.contract import schema_path

DOCS = Path(__file__).resolve().parents[2] / "docs"
COMPLETION = """\
## Shell completion

click generates the completion script; load it from your shell's start-up file:

```
eval "$(_REPRO_COMPLETE=bash_source repro)"   # ~/.bashrc
eval "$(_REPRO_COMPLETE=zsh_source repro)"    # ~/.zshrc
_REPRO_COMPLETE=fish_source repro | source    # ~/.config/fish/completions/repro.fish
```

Commands, options and option values (such as `--color`) complete; paths complete as files.
"""


def render_cli() -> str:
    parts = [
        "# Command reference\n",
        "Generated from `repro <command> --help`; `tests/cli/test_docs.py` checks it. "
        "What each `--json` prints: [json.md](json.md).\n",
        COMPLETION,
    ]
    for cmd in ("", *sorted(main.commands)):
        args = [cmd, "--help"] if cmd else ["--help"]
        out = CliRunner(env={"COLUMNS": "80"}).invoke(main, args).output
        parts.append(f"## `repro {cmd}`\n" if cmd else "## `repro`\n")
        parts.append(f"```\n$ repro {' '.join(args)}\n{out.rstrip()}\n```\n")
    return "\n".join(parts)


def _type(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    t = prop.get("type", "any")
    return " or ".join(t) if isinstance(t, list) else t


def _rows(props: dict[str, Any], required: list[str], prefix: str = "") -> list[str]:
    rows = []
    for key, prop in props.items():
        name = f"{prefix}{key}"
        flag = "" if key in required else " (optional)"
        rows.append(f"| `{name}` | {_type(prop)}{flag} | {prop.get('description', '')} |")
        items = prop.get("items", {})
        if prop.get("type") == "array" and "properties" in items:
            rows += _rows(items["properties"], items.get("required", []), f"{name}[].")
        if prop.get("type") == "object" and "properties" in prop:
            rows += _rows(prop["properties"], prop.get("required", []), f"{name}.")
    return rows


def render_json() -> str:
    parts = [
        "# `--json` output\n",
        "Generated from the schemas in `schemas/cli/` (shipped in the wheel as "
        "`repro/schemas/cli/`); `tests/cli/test_docs.py` checks it.\n",
        "Every command prints exactly one JSON object on stdout under `--json` (test output "
        "and repro's own lines go to stderr). Every object has `schema_version`; a change "
        "that could break a reader bumps it and the schema's `$id`. Paths are absolute. "
        "A command that fails still prints one object, the `error` shape below, with the "
        "exit code of the README's table.\n",
    ]
    names = sorted(p.stem.split(".")[0] for p in schema_path("error").parent.glob("*.json"))
    for name in [n for n in names if n != "error"] + ["error"]:
        schema = json.loads(schema_path(name).read_text())
        title = f"`repro {name} --json`" if name != "error" else "Any command, on error"
        parts.append(f"## {title}\n")
        parts.append(f"{schema['description']} Schema: `schemas/cli/{name}.schema.json`.\n")
        rows = _rows(schema["properties"], schema.get("required", []))
        parts.append("\n".join(["| key | type | meaning |", "|---|---|---|", *rows]) + "\n")
    return "\n".join(parts)


def _check(doc: Path, text: str) -> None:
    if os.environ.get("REPRO_UPDATE_DOCS"):
        doc.write_text(text)
    assert doc.read_text() == text, f"{doc} is stale: run REPRO_UPDATE_DOCS=1 make test"


def test_cli_reference_matches_help_output():
    _check(DOCS / "cli.md", render_cli())


def test_json_reference_matches_the_schemas():
    _check(DOCS / "json.md", render_json())
