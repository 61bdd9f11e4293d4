"""The `repro` group, the one error path, and the output helpers every command shares.

No real work happens in `repro.cli`: every command is a call into a stage module
that returns a frozen dataclass, rendered as text or, with --json, as one object.

The contract every command falls under without doing anything for it lives in
`ReproGroup` (the group's class) and `ReproCommand` (the class `@main.command`
gives every command): every failure, click's usage errors included, leaves as
one line `repro: error: <what> (<what to do>)` and, under --json, one object
`{"error", "exit_code"}` on stdout; `--config` is accepted after the command;
command descriptions are never cut in `repro --help`.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from repro import __version__
from repro.cli import argv, colour, contract
from repro.errors import EXIT_INTERRUPTED, EXIT_USAGE, ReproError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
# 80 columns: what a terminal opens with, and what docs/cli.md is rendered at.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 80}
META_CONFIG = "repro.config"
_scan = argv.Scan([], None, None, False)  # the command line being handled


def emit_json(obj: dict[str, Any]) -> None:
    """Print the command's one JSON object, checked against its schema (contract.py)."""
    ctx = click.get_current_context(silent=True)
    command = ctx.command.name if ctx is not None and ctx.command.name else "repro"
    out = {"schema_version": contract.SCHEMA_VERSION, **obj}
    contract.check(out, command)
    click.echo(json.dumps(out, indent=2, sort_keys=True, default=str))


def say(msg: str, kind: str | None = None) -> None:
    """One of repro's own lines, on stderr; `kind` colours it (colour.STYLES)."""
    colour.echo(msg, kind, err=True)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str) -> str:
    """click's message as the <what> of our line: lower-case start, no final full stop."""
    msg = _one_line(text).rstrip(".").replace(". Did you mean", "; did you mean")
    return msg[:1].lower() + msg[1:]


def _usage_hint(ctx: click.Context | None) -> str:
    path = ctx.command_path if ctx is not None else "repro"
    return f"see `{path} --help`"


def _config_value_error(exc: click.BadParameter) -> str | None:
    """`timeout = "abc"` in [tool.repro] of pyproject.toml: ... when the value came from there."""
    ctx, param = exc.ctx, exc.param
    if ctx is None or param is None or param.name is None:
        return None
    if ctx.get_parameter_source(param.name) is not ParameterSource.DEFAULT_MAP:
        return None
    source = ctx.find_root().meta.get(META_CONFIG, "pyproject.toml")
    key = next((o[2:] for o in param.opts if o.startswith("--")), param.name)
    value = (ctx.default_map or {}).get(param.name)
    return f"`{key} = {json.dumps(value)}` in [tool.repro] of {source}: {_sentence(exc.message)}"


def describe(exc: BaseException) -> tuple[str, int]:
    """What to print after `repro: error: ` and the exit code, for any failure."""
    if isinstance(exc, ReproError):
        # Every line says what to do: an error raised without a hint points at the help.
        hint = exc.hint or _usage_hint(click.get_current_context(silent=True))
        return f"{_one_line(exc.message)} ({_one_line(hint)})", exc.exit_code
    if isinstance(exc, click.BadParameter):
        from_config = _config_value_error(exc)
        if from_config is not None:
            return f"{from_config} (fix or remove the key)", EXIT_USAGE
    if isinstance(exc, click.UsageError):
        return f"{_sentence(exc.format_message())} ({_usage_hint(exc.ctx)})", EXIT_USAGE
    if isinstance(exc, click.ClickException):
        return f"{_sentence(exc.format_message())} (see `repro --help`)", EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt | click.Abort):
        return "interrupted (run the command again to finish)", EXIT_INTERRUPTED
    raise exc


def fail(exc: BaseException) -> NoReturn:
    """The one place a failure becomes a line on stderr (and an object under --json)."""
    message, code = describe(exc)
    say(f"repro: error: {message}", "error")
    ctx = click.get_current_context(silent=True)
    as_json = bool(ctx is not None and ctx.params.get("as_json")) or _scan.wants_json
    if as_json:
        err = {"schema_version": contract.SCHEMA_VERSION, "error": message, "exit_code": code}
        contract.check(err, contract.ERROR)
        click.echo(json.dumps(err, indent=2, sort_keys=True))
    sys.exit(code)


def handle_errors(fn: F) -> F:
    """Route a command's failures through `fail` while its context is still current
    (so --json is known even when given through [tool.repro])."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ReproError, click.ClickException, KeyboardInterrupt, click.Abort) as exc:
            fail(exc)

    return wrapper  # type: ignore[return-value]


class ReproCommand(click.Command):
    """What every command gets: `--config` documented and accepted after the command
    and `--color` (moved in front by argv.scan), and its first help sentence shown whole
    in `repro --help`."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        # Parsed by the group (argv.scan moves them there); listed here so that each
        # command's help shows them.
        group = [
            click.Option(
                ["--config"],
                metavar="FILE",
                expose_value=False,
                help="Read option defaults from FILE's [tool.repro].",
            ),
            click.Option(
                ["--color"],
                type=click.Choice(colour.MODES),
                expose_value=False,
                help="Colour on a terminal unless NO_COLOR (auto), always or never.",
            ),
        ]
        params = super().get_params(ctx)
        helps = [p for p in params if set(ctx.help_option_names) & set(getattr(p, "opts", ()))]
        return [*(p for p in params if p not in helps), *group, *helps]

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help:
            return self.short_help
        first = (self.help or "").split("\n\n")[0]
        return _one_line(first.split(". ")[0]).rstrip(".")


class ReproGroup(click.Group):
    command_class = ReproCommand

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        global _scan
        scan = _scan = argv.scan(list(sys.argv[1:] if args is None else args))
        if not standalone_mode:
            return super().main(scan.args, prog_name, complete_var, False, **extra)
        try:
            rv = super().main(scan.args, prog_name or "repro", complete_var, False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except (ReproError, click.ClickException, KeyboardInterrupt, click.Abort) as exc:
            fail(exc)
        sys.exit(rv if isinstance(rv, int) else 0)


def _config_path(explicit: Path | None, project: str | None) -> tuple[Path, bool]:
    """The file to read [tool.repro] from, and whether it must exist."""
    if explicit is not None:
        return explicit, True
    return Path(project or ".") / "pyproject.toml", False


@click.group("repro", cls=ReproGroup, context_settings=CONTEXT, invoke_without_command=True)
@click.version_option(__version__, "-V", "--version", prog_name="repro")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Read option defaults from FILE's [tool.repro]. "
    "[default: pyproject.toml of --project, else of this folder]",
)
@click.option(
    "--color",
    "color",
    type=click.Choice(colour.MODES),
    default="auto",
    show_default=True,
    help="Colour repro's lines and pytest's output (auto: on a terminal, unless NO_COLOR).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, color: colour.Mode) -> None:
    """Evidence that a test suite ran: where, with what, and with what result.

    \b
      repro bundle                 lock + run the tests + pack a verifiable zip
      repro verify BUNDLE.zip      check a bundle you were handed

    Exit codes: 0 ok, 1 tests failed or bundle invalid, 2 usage error,
    3 environment or I/O error, 130 interrupted, 143 terminated (SIGTERM).
    Shell completion: eval "$(_REPRO_COMPLETE=bash_source repro)" (docs/cli.md).
    """
    from repro import config

    colour.set_mode(color)
    path, required = _config_path(config_path, _scan.project)
    if required and not path.is_file():
        raise UsageError(f"config file not found: {path}", hint="check the path given to --config")
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    ctx.meta[META_CONFIG] = path
    table = config.load(path)
    if table:
        assert isinstance(ctx.command, click.Group)
        ctx.default_map = config.default_map(table, ctx.command.commands, path)
