"""`repro verify`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import opt_json
from repro.errors import EXIT_BAD, EXIT_OK, UsageError


@main.command(context_settings=CONTEXT)
@click.argument("bundles", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    help="The digest you were given (sha256:<hex>); the bundle must match it.",
)
@click.option("--strict", is_flag=True, help="Treat warnings (such as lock drift) as failures.")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With no BUNDLE: check the newest bundle of this project [default: .].",
)
@click.option(
    "--require-passed",
    is_flag=True,
    help="Also exit 1 unless every run's status is passed (failed, crashed, timed-out...).",
)
@opt_json
@click.option("-q", "--quiet", is_flag=True, help="No progress bar on a terminal.")
@handle_errors
def verify(
    bundles: tuple[Path, ...],
    expect: str | None,
    strict: bool,
    project: Path | None,
    require_passed: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Check bundles (or run folders) without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records. With no BUNDLE, checks
    the newest bundle in the project's outputs/bundles/.

    Prints one verdict line per bundle that keeps integrity and outcome apart,
    then every problem:

    \b
      OK (intact)  tests: failed, 298 passed, 1 failed  sha256:1f2e...  BUNDLE
      FAIL (not intact)  tests: passed (unverified)  sha256:...  BUNDLE

    Exits 1 when a bundle is not intact; with --require-passed, also when a
    run's status is anything but passed.

    \b
    Example:
      repro verify outputs/bundles/*.zip --require-passed
      repro verify BUNDLE.zip --expect sha256:<digest>
    """
    from repro.cli.progress import reporter
    from repro.verdict import verdict
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise UsageError(
            f"--expect names one digest but {len(bundles)} bundles were given",
            hint="verify the bundle you were given the digest for on its own",
        )
    targets = bundles or (_newest_bundle(project or Path(".")),)
    for b in targets:
        if not b.exists():
            raise UsageError(f"bundle not found: {b}", hint="check the path")
    progress = reporter(quiet)
    reports = [do_verify(b, expect=expect, strict=strict, progress=progress) for b in targets]
    verdicts = [verdict(r) for r in reports]
    bad = not all(r.ok for r in reports)
    if require_passed and not all(v.passed for v in verdicts):
        bad = True
    code = EXIT_BAD if bad else EXIT_OK
    if as_json:
        emit_json(
            {
                "ok": code == EXIT_OK,
                "exit_code": code,
                "bundles": [_as_dict(r, v) for r, v in zip(reports, verdicts, strict=True)],
            }
        )
    else:
        for r, v in zip(reports, verdicts, strict=True):
            _print_report(r, v)
    sys.exit(code)


def _newest_bundle(project: Path) -> Path:
    found = sorted((project / "outputs" / "bundles").glob("repro-*.zip"))
    if not found:
        raise UsageError(
            f"no bundle in {project / 'outputs' / 'bundles'}",
            hint="name the bundle to check, or make one with `repro bundle`",
        )
    return found[-1]


def _as_dict(r: Any, v: Any) -> dict[str, Any]:
    from repro.cli.contract import abspath

    return {
        "bundle": abspath(r.path),
        "ok": r.ok,
        **v.to_json(),
        "run_id": r.run_id,
        "warnings": list(r.warnings),
        "problems": [
            {"kind": p.kind, "member": p.member, "message": p.message} for p in r.problems
        ],
    }


def _print_report(r: Any, v: Any) -> None:
    from repro.cli import colour
    from repro.verify import printable

    colour.echo(f"{v.line()}  {printable(str(r.path))}", "passed" if v.intact else "bad")
    for p in r.problems:
        click.echo(f"  - [{p.kind}] {p}")
    for w in r.warnings:
        colour.echo(f"  warning: {w}", "warning")
