"""Text output for people: colour only on a terminal (NO_COLOR respected), 80 columns,
and nothing from a bundle printed raw (an escape sequence in a test id must not reach
the terminal)."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from repro.model import Outcome, Status
from repro.verify import printable

WIDTH = 80

OUTCOME_COLOURS = {
    Outcome.PASSED: "green",
    Outcome.FAILED: "red",
    Outcome.ERROR: "red",
    Outcome.XPASSED: "yellow",
    Outcome.SKIPPED: "yellow",
    Outcome.XFAILED: "yellow",
}


@dataclass(frozen=True)
class Style:
    colour: bool = False
    width: int = WIDTH

    def paint(self, text: str, fg: str | None = None, *, bold: bool = False) -> str:
        if not self.colour:
            return text
        import click

        return click.style(text, fg=fg, bold=bold)

    def heading(self, text: str) -> str:
        return self.paint(text, bold=True)

    def status(self, status: Status | None, text: str | None = None) -> str:
        label = text or (status.value if status else "unknown")
        fg = "green" if status is Status.PASSED else "red" if status else "yellow"
        return self.paint(label, fg, bold=True)

    def outcome(self, outcome: Outcome | None, text: str) -> str:
        return self.paint(text, OUTCOME_COLOURS.get(outcome, "magenta") if outcome else "magenta")

    def verdict_word(self, intact: bool, text: str) -> str:
        return self.paint(text, "green" if intact else "red", bold=True)

    def wrap(self, text: str, indent: str = "", hang: str | None = None) -> list[str]:
        """`text` (escaped) in lines of at most `width` columns."""
        return textwrap.wrap(
            safe(text),
            self.width,
            initial_indent=indent,
            subsequent_indent=indent + "  " if hang is None else hang,
            break_long_words=True,
            break_on_hyphens=False,
            drop_whitespace=True,
        ) or [indent.rstrip()]

    def field(self, label: str, value: str, indent: str = "  ") -> list[str]:
        """`  label    value`, wrapped under the value's column."""
        head = f"{indent}{label:<9}"
        return self.wrap(value, head, " " * len(head)) if value else []

    def cut(self, text: str, indent: str = "") -> str:
        """One line, escaped, cut to the width with an ellipsis."""
        line = indent + safe(text)
        return line if len(line) <= self.width else line[: self.width - 1] + "…"


def safe(text: str) -> str:
    """Bundle text made printable: control characters and escapes shown, not obeyed."""
    return printable(text.replace("\t", "    "))


def for_stream(stream: IO[str] | None = None) -> Style:
    stream = stream or sys.stdout
    from repro.cli import colour as colour_mode

    tty = bool(getattr(stream, "isatty", lambda: False)())
    colour = colour_mode.enabled(stream)  # --color, NO_COLOR, a terminal
    width = min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns) if tty else WIDTH
    return Style(colour=colour, width=max(width, 40))


def echo_lines(lines: Iterable[str], style: Style) -> None:
    import click

    click.echo("\n".join(lines), color=style.colour)
