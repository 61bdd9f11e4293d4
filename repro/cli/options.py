"""Options shared by several commands, each defined once (as pip-tools' options.py)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from repro.cli.app import META_CONFIG, F


def opt_json(fn: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of text."
    )(fn)


def opt_project(fn: F) -> F:
    return click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        show_default=True,
        help="The project whose tests are run.",
    )(fn)


def opt_project_of(what: str) -> Callable[[F], F]:
    """`--project` for commands that read outputs/: by default the project `what` belongs to."""

    def deco(fn: F) -> F:
        return click.option(
            "--project",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help=f"Project whose outputs/ is used [default: the project of {what}, else .].",
        )(fn)

    return deco


def opts_run(fn: F) -> F:
    for deco in reversed(
        [
            opt_project,
            click.option(
                "--outputs",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="Where runs and bundles go [default: PROJECT/outputs].",
            ),
            click.option(
                "--python",
                "python",
                default=sys.executable,
                show_default="this interpreter",
                help="Interpreter that runs the tests (needs pytest; repro need not be installed).",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=None,
                help="Stop the suite after SECONDS: SIGINT, grace, SIGTERM, SIGKILL.",
            ),
            click.option(
                "--grace",
                type=click.FloatRange(min=0),
                default=5.0,
                show_default=True,
                help="Seconds between SIGINT and SIGTERM when stopping.",
            ),
            click.option(
                "--redact",
                multiple=True,
                metavar="REGEX",
                help="Mask text matching REGEX in captured logs (repeatable).",
            ),
            click.option(
                "--no-mask",
                is_flag=True,
                help="Do not mask credentials in the run's files (recorded in run_metadata.json).",
            ),
            click.option(
                "--env-allow",
                multiple=True,
                metavar="NAME",
                help="Also record the value of environment variable NAME (repeatable).",
            ),
            click.option(
                "--drift-ignore",
                multiple=True,
                metavar="NAME",
                help="Package not to report as drift from the lock (repeatable; pip, "
                "setuptools, wheel and repro itself are always ignored).",
            ),
            opt_json,
            click.option(
                "-q",
                "--quiet",
                is_flag=True,
                help="Do not echo the test output (still captured; failures are still named) "
                "nor draw progress bars.",
            ),
            click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED),
        ]
    ):
        fn = deco(fn)
    return fn


def opts_lock(fn: F) -> F:
    for deco in reversed(
        [
            click.option(
                "--input",
                "inputs",
                multiple=True,
                type=click.Path(dir_okay=False, path_type=Path),
                help="A requirements .in file (repeatable). Default: what the tests need "
                "(docs/lock.md): requirements.in, else the runtime dependencies plus the "
                "test extra, group or requirements/<test>.in, else the installed env.",
            ),
            click.option(
                "--extra", "extras", multiple=True, help="Extra of pyproject.toml to lock."
            ),
            click.option("--all-extras", is_flag=True, help="Lock every extra."),
            click.option(
                "--group", "groups", multiple=True, help="Dependency group (PEP 735) to lock."
            ),
            click.option("--index-url", default=None, help="Base URL of the package index."),
            click.option(
                "--extra-index-url",
                "extra_index_urls",
                multiple=True,
                help="Another index to search (repeatable).",
            ),
            click.option(
                "--find-links",
                "find_links",
                multiple=True,
                help="A folder or page of distributions (repeatable).",
            ),
            click.option("--no-index", is_flag=True, help="Use only --find-links, never an index."),
            click.option(
                "--index-timeout",
                type=click.FloatRange(min=0.1),
                default=5.0,
                show_default=True,
                help="Seconds to wait for an index before falling back.",
            ),
            click.option(
                "--require-hashes",
                is_flag=True,
                help="Fail (exit 3) instead of writing an unhashed snapshot lock.",
            ),
            click.option(
                "--upgrade", is_flag=True, help="Resolve again even if the inputs are unchanged."
            ),
            click.option(
                "--pylock",
                is_flag=True,
                help="Also write pylock.toml (PEP 751) with `pip lock` (needs pip >= 25.1).",
            ),
            click.option(
                "--no-build-isolation",
                is_flag=True,
                help="Build project metadata with the build backend installed here.",
            ),
            click.option(
                "-o",
                "--output-file",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Write the lock here [default: PROJECT/requirements.lock].",
            ),
            click.option(
                "--force",
                is_flag=True,
                help="Replace a lock repro did not write, or a hashed lock by a snapshot.",
            ),
        ]
    ):
        fn = deco(fn)
    return fn


def lock_options(kw: dict[str, Any]) -> Any:
    """LockOptions from the options `opts_lock`, `--project` and `--python` define."""
    from repro.lock import LockOptions

    return LockOptions(
        project=kw["project"].resolve(),
        inputs=tuple(kw["inputs"]),
        extras=tuple(kw["extras"]),
        all_extras=kw["all_extras"],
        groups=tuple(kw["groups"]),
        index_url=kw["index_url"],
        extra_index_urls=tuple(kw["extra_index_urls"]),
        find_links=tuple(kw["find_links"]),
        no_index=kw["no_index"],
        upgrade=kw["upgrade"],
        require_hashes=kw["require_hashes"],
        index_timeout=kw["index_timeout"],
        python=kw["python"],
        build_isolation=not kw["no_build_isolation"],
        pylock=kw["pylock"],
        output=kw["output_file"].resolve() if kw["output_file"] else None,
        force=kw["force"],
    )


def effective_options() -> dict[str, dict[str, Any]]:
    """Every option of the command being run: its value and where it came from.

    Configured is not proof of in force, but the record must at least say what
    was configured and by whom (command line, which file's [tool.repro], the
    environment, or repro's default).
    """
    ctx = click.get_current_context()
    config_file = ctx.meta.get(META_CONFIG, "pyproject.toml")  # set by the group (app.py)
    names = {
        click.core.ParameterSource.COMMANDLINE: "command line",
        click.core.ParameterSource.ENVIRONMENT: "environment",
        click.core.ParameterSource.DEFAULT_MAP: f"[tool.repro] in {config_file}",
        click.core.ParameterSource.DEFAULT: "default",
    }
    out: dict[str, dict[str, Any]] = {}
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        where = names.get(source, "default") if source is not None else "default"
        out[name] = {"value": _recordable(value), "source": where}
    return out


def _recordable(value: Any) -> Any:
    """JSON-ready, and never a password given in an index URL."""
    from repro.redact import strip_url_credentials

    if isinstance(value, (tuple, list)):
        return [_recordable(v) for v in value]
    if isinstance(value, (Path, str)):
        return strip_url_credentials(str(value))
    return value


def run_options(kw: dict[str, Any], lock_path: Path | None) -> Any:
    """RunOptions from the options `opts_run` defines (popped from `kw`)."""
    import re

    from repro.capture import StopPolicy
    from repro.cli.colour import pytest_color_args
    from repro.lock import DRIFT_IGNORE
    from repro.redact import DEFAULT_ENV_ALLOW, strip_url_credentials
    from repro.runner import RunOptions

    for pattern in kw["redact"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise click.BadParameter(f"{pattern!r}: {exc}", param_hint="--redact") from exc
    project: Path = kw["project"]
    err = sys.stderr.buffer
    # With --json, stdout carries the JSON object alone; test output goes to stderr.
    echo_out = None if kw["quiet"] else err if kw["as_json"] else sys.stdout.buffer
    shown_on = sys.stderr if kw["as_json"] else sys.stdout
    colour = pytest_color_args(shown_on, kw["pytest_args"]) if echo_out else ()
    return RunOptions(
        project=project,
        # Absolute: pytest runs in the project folder, and is handed paths under outputs/.
        outputs=Path(os.path.abspath(kw["outputs"] or project / "outputs")),
        python=kw["python"],
        pytest_args=(*colour, *kw["pytest_args"]),
        policy=StopPolicy(timeout=kw["timeout"], grace=kw["grace"]),
        lock_path=lock_path,
        env_allow=(*DEFAULT_ENV_ALLOW, *kw["env_allow"]),
        drift_ignore=(*DRIFT_IGNORE, *kw["drift_ignore"]),
        redact=tuple(kw["redact"]),
        mask=not kw["no_mask"],
        repro_argv=("repro", *map(strip_url_credentials, sys.argv[1:])),
        echo_out=echo_out,
        echo_err=None if kw["quiet"] else err,
        options=effective_options(),
    )


def refuse_non_bundles(*paths: Path) -> None:
    """Refuse, as a usage error and before anything is read, what cannot be a bundle or a
    run folder: a folder without run_stamp.json, a FIFO (it would block the first read), a
    device (it never ends). Every command that takes a bundle refuses them alike; a path
    that is not there is left to each command's own message."""
    from repro.errors import UsageError

    for p in paths:
        if p.is_dir() and not (p / "run_stamp.json").is_file():
            raise UsageError(
                f"not a bundle or a run folder: {p}",
                hint="pass the bundle's .zip file, or a folder under outputs/runs/",
            )
        if p.exists() and not (p.is_file() or p.is_dir()):
            raise UsageError(f"not a regular file: {p}", hint="pass the bundle's .zip file")


DIGEST_RE = re.compile(r"sha256:[0-9a-fA-F]{64}")


def expect_digest(value: str | None) -> str | None:
    """Exactly `sha256:` and 64 hex digits: a prefix would let a bundle be swapped for another
    whose digest merely starts the same, so anything else is a usage error, not a verdict
    (in every command that takes --expect)."""
    from repro.errors import UsageError

    if value is None:
        return None
    if not DIGEST_RE.fullmatch(value):
        raise UsageError(
            f"--expect {value!r:.80} is not sha256:<64 hex digits>",
            hint="pass the whole digest you were given",
        )
    return value.lower()
