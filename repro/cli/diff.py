"""`repro diff`."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import opt_json, refuse_non_bundles


@main.command(context_settings=CONTEXT)
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@opt_json
@handle_errors
def diff(a: Path, b: Path, as_json: bool) -> None:
    """Compare two runs (bundles or run folders), A before B.

    Both are verified first. Then: status and counts, commit, environment
    (Python, OS, CPUs, locale), packages added, removed and changed, the lock
    and its drift, each test whose outcome changed (now failing, now passing,
    missing, new) and durations that changed more than 2x and more than 0.5 s.

    Exits 0 when both are intact and every test has the same outcome, 1 when
    the outcomes differ (or a bundle is not intact).

    \b
    Example:
      repro diff BUNDLE.zip outputs/latest
      repro diff BUNDLE.zip BUNDLE.zip --json
    """
    from repro.cli.diff_text import render
    from repro.cli.style import echo_lines, for_stream
    from repro.compare import compare
    from repro.errors import EXIT_BAD
    from repro.reader import open_bundles

    refuse_non_bundles(a, b)
    # A diff runs once and is done: it makes some 100,000 objects per bundle and no
    # reference cycles worth collecting, and the cyclic collector, walking them again and
    # again as they accumulate, was 3% of its CPU (the fork inherits this too).
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = compare(*open_bundles(a, b))
    finally:
        if enabled:  # as it was: the command may run inside another program (tests)
            gc.enable()
    if as_json:
        emit_json(result.to_json())
    else:
        style = for_stream()
        echo_lines(render(result, style), style)
    sys.exit(0 if result.same_outcomes else EXIT_BAD)
