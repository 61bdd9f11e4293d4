"""docs/cli.md shows every command's real --help text; this test keeps it honest.

To refresh it after changing an option: REPRO_UPDATE_DOCS=1 make test
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from repro.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
COMMANDS = ("", "lock", "run", "pack", "bundle", "verify", "show", "diff", "report")


def render() -> str:
    parts = [
        "# Command reference\n",
        "Generated from `repro <command> --help`; `tests/cli/test_docs.py` checks it.\n",
    ]
    for cmd in COMMANDS:
        args = [cmd, "--help"] if cmd else ["--help"]
        out = CliRunner().invoke(main, args, terminal_width=100, prog_name="repro").output
        parts.append(f"## `repro {cmd}`\n" if cmd else "## `repro`\n")
        parts.append(f"```\n$ repro {' '.join(args)}\n{out.rstrip()}\n```\n")
    return "\n".join(parts)


def test_cli_reference_matches_help_output():
    text = render()
    if os.environ.get("REPRO_UPDATE_DOCS"):
        DOC.write_text(text)
    assert DOC.read_text() == text, "docs/cli.md is stale: run REPRO_UPDATE_DOCS=1 make test"
