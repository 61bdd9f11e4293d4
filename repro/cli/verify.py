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
@click.option(
    "--strict",
    is_flag=True,
    help="Treat warnings (lock drift, content that looks like credentials) as failures.",
)
@opt_json
@handle_errors
def verify(bundles: tuple[Path, ...], expect: str | None, strict: bool, as_json: bool) -> None:
    """Check bundles without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records; warns when a member holds
    something shaped like a credential (a token, a private key). Refuses at once
    anything that is not a regular file (a FIFO, a device, a folder).

    Prints `OK <path> <digest>` or `FAIL <path>` followed by every problem.

    \b
    Example:
      repro verify outputs/bundles/*.zip --expect sha256:1f2e...
    """
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise click.UsageError("--expect applies to a single bundle")
    reports = [do_verify(b, expect=expect, strict=strict) for b in bundles]
    if as_json:
        emit_json(
            [
                {
                    "bundle": str(r.path),
                    "ok": r.ok,
                    "digest": r.digest,
                    "run_id": r.run_id,
                    "status": r.status,
                    "warnings": list(r.warnings),
                    "problems": [
                        {"kind": p.kind, "member": p.member, "message": p.message}
                        for p in r.problems
                    ],
                }
                for r in reports
            ]
        )
    else:
        for r in reports:
            if r.ok:
                click.echo(f"OK {r.path} {r.digest}")
            else:
                click.echo(f"FAIL {r.path}")
                for p in r.problems:
                    click.echo(f"  - [{p.kind}] {p}")
            for w in r.warnings:
                click.echo(f"  warning: {w}")
    sys.exit(0 if all(r.ok for r in reports) else EXIT_BAD)
