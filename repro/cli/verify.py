"""`repro verify`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import opt_json
from repro.errors import EXIT_BAD


@main.command(context_settings=CONTEXT)
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    help="The digest you were given (sha256:<hex>); the bundle must match it.",
)
@click.option("--strict", is_flag=True, help="Treat warnings (such as lock drift) as failures.")
@click.option(
    "--require-passed",
    is_flag=True,
    help="Also exit 1 unless every run's status is passed (failed, crashed, timed-out...).",
)
@opt_json
@handle_errors
def verify(
    bundles: tuple[Path, ...], expect: str | None, strict: bool, require_passed: bool, as_json: bool
) -> None:
    """Check bundles (or run folders) without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records.

    Prints one verdict line per bundle that keeps integrity and outcome apart,
    then every problem:

    \b
      OK (intact)  tests: failed, 298 passed, 1 failed  sha256:1f2e...  BUNDLE
      FAIL (not intact)  tests: passed (unverified)  sha256:...  BUNDLE

    Exits 1 when a bundle is not intact; with --require-passed, also when a
    run's status is anything but passed.

    \b
    Example:
      repro verify outputs/bundles/*.zip --expect sha256:1f2e... --require-passed
    """
    from repro.verdict import verdict
    from repro.verify import printable
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise click.UsageError("--expect applies to a single bundle")
    reports = [do_verify(b, expect=expect, strict=strict) for b in bundles]
    verdicts = [verdict(r) for r in reports]
    if as_json:
        emit_json(
            [
                {
                    "bundle": str(r.path),
                    "ok": r.ok,
                    **v.to_json(),
                    "run_id": r.run_id,
                    "warnings": list(r.warnings),
                    "problems": [
                        {"kind": p.kind, "member": p.member, "message": p.message}
                        for p in r.problems
                    ],
                }
                for r, v in zip(reports, verdicts, strict=True)
            ]
        )
    else:
        for r, v in zip(reports, verdicts, strict=True):
            click.echo(f"{v.line()}  {printable(str(r.path))}")
            for p in r.problems:
                click.echo(f"  - [{p.kind}] {p}")
            for w in r.warnings:
                click.echo(f"  warning: {w}")
    bad = not all(r.ok for r in reports)
    if require_passed and not all(v.passed for v in verdicts):
        bad = True
    sys.exit(EXIT_BAD if bad else 0)
