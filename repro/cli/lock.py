"""`repro lock`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import lock_options, opt_json, opt_project, opts_lock
from repro.cli.render import lock_summary


@main.command(context_settings=CONTEXT)
@opt_project
@click.option(
    "--python",
    "python",
    default=sys.executable,
    show_default="this interpreter",
    help="Interpreter whose installed packages are snapshotted when there is no input.",
)
@opts_lock
@opt_json
@handle_errors
def lock(project: Path, python: str, as_json: bool, **kw: Any) -> None:
    """Write requirements.lock with pip-tools (hashes), or an exact snapshot.

    Inputs: requirements.in, requirements/*.in, pyproject.toml or setup.cfg;
    with none, the installed environment is snapshotted.

    \b
    Example:
      repro lock --no-index --find-links wheels/  # offline, from a wheelhouse
    """
    from repro import lock as lockmod
    from repro.cli.progress import reporter

    opts = lock_options({**kw, "project": project, "python": python})
    res = lockmod.lock(opts, progress=reporter())
    if as_json:
        emit_json(lock_summary(res))
        return
    for w in res.warnings:
        say(f"repro: warning: {w}")
    verb = "reused" if res.reused else "wrote"
    click.echo(f"{verb} {res.path} ({res.kind}, {res.packages} packages, from {res.source})")
