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

    By default the lock holds what the tests need: requirements.in if there is
    one, else the runtime dependencies plus the first extra, dependency group or
    requirements/<name>.in named test, tests, testing or dev, else the installed
    environment (docs/lock.md). A failed resolve never replaces a hashed lock,
    and a lock repro did not write is never replaced without --force.

    \b
    Example:
      repro lock --no-index --find-links wheels/  # offline, from a wheelhouse
      repro lock -o locks/tests.txt --no-index --find-links wheels/  # elsewhere
    """
    from repro import lock as lockmod
    from repro.cli.progress import reporter

    opts = lock_options({**kw, "project": project, "python": python})
    res = lockmod.lock(opts, progress=reporter())
    if as_json:
        emit_json(lock_summary(res))
        return
    for w in res.warnings:
        say(f"repro: warning: {w}", "warning")
    verb = "reused" if res.reused else "wrote"
    click.echo(f"{verb} {res.path} ({res.kind}, {res.packages} packages, from {res.source})")
    if res.record.get("selected_by"):
        say(f"repro: inputs: {res.record['selected_by']}")
