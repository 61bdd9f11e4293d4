"""The `repro` group, the one error path, and the output helpers every command shares.

No real work happens in `repro.cli`: every command is a call into a stage module
that returns a frozen dataclass, rendered as text or, with --json, as one object.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from repro import __version__
from repro.errors import EXIT_INTERRUPTED, ReproError

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def say(msg: str) -> None:
    click.echo(msg, err=True)


def warn(msg: str) -> None:
    say(f"repro: warning: {msg}")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def handle_errors(fn: F) -> F:
    """The one place a ReproError becomes a line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ReproError as exc:
            say(f"repro: error: {exc.diagnostics()}")
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            say("repro: interrupted")
            sys.exit(EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="repro")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="pyproject.toml",
    show_default=True,
    help="File whose [tool.repro] table sets option defaults.",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path) -> None:
    """Evidence that a test suite ran: where, with what, and with what result.

    \b
      repro bundle                 lock + run the tests + pack a verifiable zip
      repro verify BUNDLE.zip      check a bundle you were handed

    Exit codes: 0 ok, 1 tests failed or bundle invalid, 2 usage error,
    3 environment or I/O error, 130 interrupted.
    """
    from repro import config

    try:
        table = config.load(config_path)
        if table:
            assert isinstance(ctx.command, click.Group)
            ctx.default_map = config.default_map(table, ctx.command.commands, config_path)
    except ReproError as exc:
        say(f"repro: error: {exc.diagnostics()}")
        sys.exit(exc.exit_code)
