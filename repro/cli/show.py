"""`repro show`."""

from __future__ import annotations

from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import expect_digest, opt_json, refuse_non_bundles
from repro.errors import UsageError


@main.command(context_settings=CONTEXT)
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--failed", "failed_only", is_flag=True, help="Only the verdict and what failed.")
@click.option(
    "--test", "test_id", default=None, metavar="ID", help="One test in full (an id or its tail)."
)
@click.option(
    "--all",
    "every_test",
    is_flag=True,
    help="Also every test in run order: outcome, duration, id (with --json: where, and the "
    "message's first line, cut at 200 characters).",
)
@click.option("--expect", default=None, metavar="DIGEST", help="The digest the bundle must have.")
@opt_json
@handle_errors
def show(
    bundle: Path,
    failed_only: bool,
    test_id: str | None,
    every_test: bool,
    expect: str | None,
    as_json: bool,
) -> None:
    """Show what a bundle (or run folder) holds, after verifying it.

    The verdict and digest first; then what ran (command, commit, when, how
    long), where (Python, OS, CPUs), the status and counts, each failure and
    error with the first lines of its traceback, the test in flight if the run
    died, the slowest tests, and the lock with any drift.

    Exits 0 when the bundle is intact, 1 when it is not (what could still be
    read is shown either way).

    --all adds every test the bundle records, in run order, after the rest
    (each failure's full report stays under its failure, or --test ID).

    \b
    Example:
      repro show BUNDLE.zip --failed
      repro show outputs/latest --test test_one
      repro show outputs/latest --all --json
    """
    import sys

    from repro.cli.show_text import render, render_test, verdict_lines
    from repro.cli.style import echo_lines, for_stream
    from repro.errors import EXIT_BAD
    from repro.reader import open_bundle
    from repro.show import build, candidates, find_test

    if every_test and (failed_only or test_id is not None):
        other = "--failed" if failed_only else "--test"
        raise UsageError(f"--all lists every test; it cannot be combined with {other}")
    refuse_non_bundles(bundle)
    opened = open_bundle(bundle, expect=expect_digest(expect))
    view = build(opened, every_test=every_test)
    style = for_stream()
    if test_id is not None:
        test = find_test(opened, test_id)
        if test is None:
            near = candidates(opened, test_id)
            hint = f"did you mean: {', '.join(near)}" if near else "list them with --all"
            raise UsageError(f"no single test named {test_id!r} in {bundle}", hint=hint)
        if as_json:
            from repro.model import to_jsonable

            emit_json({"verdict": view.verdict.to_json(), "test": to_jsonable(test)})
        else:
            echo_lines(verdict_lines(view, style) + render_test(test, style), style)
    elif as_json:
        doc = view.to_json()
        if failed_only:
            doc = {k: doc[k] for k in ("verdict", "problems", "failures", "in_flight")}
        emit_json(doc)
    else:
        echo_lines(render(view, style, failed_only=failed_only), style)
    sys.exit(0 if view.verdict.intact else EXIT_BAD)
