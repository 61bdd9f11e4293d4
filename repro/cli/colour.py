"""When to colour: `--color auto|always|never`, NO_COLOR (https://no-color.org), a TTY.

repro's own lines go to stderr and are coloured when stderr is a terminal;
pytest's output is echoed on stdout, so pytest is asked for colour when stdout
is a terminal. The captured logs are stripped of colour either way (repro.ansi).
"""

from __future__ import annotations

import os
from typing import IO, Any, Literal

Mode = Literal["auto", "always", "never"]
MODES: tuple[Mode, ...] = ("auto", "always", "never")

_mode: Mode = "auto"

STYLES = {
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow"},
    "passed": {"fg": "green"},
    "bad": {"fg": "red"},
    "note": {"fg": "cyan"},
}


def set_mode(mode: Mode) -> None:
    global _mode
    _mode = mode


def enabled(stream: IO[Any]) -> bool:
    if _mode != "auto":
        return _mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def style(text: str, kind: str, stream: IO[Any]) -> str:
    if not enabled(stream):
        return text
    import click

    return click.style(text, **STYLES[kind])  # type: ignore[arg-type]


def pytest_color_args(stdout: IO[Any], pytest_args: tuple[str, ...]) -> tuple[str, ...]:
    """`--color=yes` for pytest when repro's stdout shows colour and the user chose nothing."""
    if any(a == "--color" or a.startswith("--color=") for a in pytest_args):
        return ()
    return ("--color=yes",) if enabled(stdout) else ()


def echo(text: str, kind: str | None = None, *, err: bool = False) -> None:
    """click.echo, coloured by `kind` when the stream shows colour (and never stripped then)."""
    import sys

    import click

    stream = sys.stderr if err else sys.stdout
    on = enabled(stream)
    click.echo(style(text, kind, stream) if kind else text, err=err, color=on)
