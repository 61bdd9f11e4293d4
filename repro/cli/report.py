"""`repro report`: a bundle or a run folder as one self-contained HTML page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import expect_digest, opt_json, refuse_non_bundles
from repro.errors import EXIT_BAD


@main.command(context_settings=CONTEXT)
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file to write [default: SOURCE's name + .html, in the current folder].",
)
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    help="The digest you were given (sha256:<hex>); the header says FAIL if it differs.",
)
@click.option(
    "--log-limit",
    type=click.IntRange(min=4096),
    default=1 << 20,
    show_default=True,
    metavar="BYTES",
    help="Show a longer log as its first and last BYTES/2, with a note where it is cut.",
)
@opt_json
@handle_errors
def report(
    source: Path, out: Path | None, expect: str | None, log_limit: int, as_json: bool
) -> None:
    """Write one HTML file that shows a bundle (or a run folder): open it from disk in any
    browser, no network needed.

    The bundle is verified first and the verdict, digest and status head the page; then
    counts, every test (filter by outcome, search by name), each failure's text, the
    durations, the environment, packages and lock, and the logs with pytest's colours.
    Everything taken from the bundle is shown as text, and the page's
    Content-Security-Policy forbids it to load or send anything.

    Exits 0 when the report is written and the bundle verifies, 1 when it is written but
    the bundle failed verification (its problems are at the top of the page).

    \b
    Example:
      repro report outputs/bundles/repro-<run_id>-<digest12>.zip -o report.html
      repro report outputs/latest -o report.html
    """
    from repro.cli.contract import abspath
    from repro.report import write_report

    target = out if out is not None else Path(source.resolve().name.removesuffix(".zip") + ".html")
    refuse_non_bundles(source)
    res = write_report(source, target, expect=expect_digest(expect), log_limit=log_limit)
    if as_json:
        emit_json(
            {
                "report": abspath(res.path),
                "size": res.size,
                "source": abspath(res.source),
                "intact": res.intact,
                "digest": res.digest,
                "status": res.status,
                "tests": res.tests,
            }
        )
    else:
        click.echo(str(res.path))
        if not res.intact:
            say(f"repro: {source} failed verification; the report lists the problems", "warning")
    sys.exit(0 if res.intact else EXIT_BAD)
