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
@click.option(
    "--strict",
    is_flag=True,
    help="Treat warnings (lock drift, content that looks like credentials) as failures.",
)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With no BUNDLE: check the newest bundle of this project [default: .].",
)
@opt_json
@click.option("-q", "--quiet", is_flag=True, help="No progress bar on a terminal.")
@handle_errors
def verify(
    bundles: tuple[Path, ...],
    expect: str | None,
    strict: bool,
    project: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Check bundles without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records; warns when a member holds
    something shaped like a credential (a token, a private key). Refuses at once
    anything that is not a regular file (a FIFO, a device, a folder). Prints `OK
    <path> <digest>` or `FAIL <path>` followed by every problem. With no BUNDLE,
    checks the newest bundle in the project's outputs/bundles/.

    \b
    Example:
      repro verify outputs/bundles/*.zip
      repro verify BUNDLE.zip --expect sha256:<digest>
    """
    from repro.cli.progress import reporter
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise UsageError(
            f"--expect names one digest but {len(bundles)} bundles were given",
            hint="verify the bundle you were given the digest for on its own",
        )
    targets = bundles or (_newest_bundle(project or Path(".")),)
    for b in targets:
        if b.exists() and not b.is_file():
            # A FIFO would block the first read, a device never ends: refused unread.
            raise UsageError(f"not a regular file: {b}", hint="pass the bundle's .zip file")
        if not b.is_file():
            raise UsageError(f"bundle not found: {b}", hint="check the path")
    progress = reporter(quiet)
    reports = [do_verify(b, expect=expect, strict=strict, progress=progress) for b in targets]
    code = EXIT_OK if all(r.ok for r in reports) else EXIT_BAD
    if as_json:
        emit_json(
            {"ok": code == EXIT_OK, "exit_code": code, "bundles": [_as_dict(r) for r in reports]}
        )
    else:
        for r in reports:
            _print_report(r)
    sys.exit(code)


def _newest_bundle(project: Path) -> Path:
    found = sorted((project / "outputs" / "bundles").glob("repro-*.zip"))
    if not found:
        raise UsageError(
            f"no bundle in {project / 'outputs' / 'bundles'}",
            hint="name the bundle to check, or make one with `repro bundle`",
        )
    return found[-1]


def _as_dict(r: Any) -> dict[str, Any]:
    from repro.cli.contract import abspath

    return {
        "bundle": abspath(r.path),
        "ok": r.ok,
        "digest": r.digest,
        "run_id": r.run_id,
        "status": r.status,
        "warnings": list(r.warnings),
        "problems": [
            {"kind": p.kind, "member": p.member, "message": p.message} for p in r.problems
        ],
    }


def _print_report(r: Any) -> None:
    from repro.cli import colour

    if r.ok:
        colour.echo(f"OK {r.path} {r.digest}", "passed")
    else:
        colour.echo(f"FAIL {r.path}", "bad")
        for p in r.problems:
            click.echo(f"  - [{p.kind}] {p}")
    for w in r.warnings:
        colour.echo(f"  warning: {w}", "warning")
