"""`repro verify`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.attestation import facts_json, facts_lines, load_verifiers, opts_verify_keys
from repro.cli.options import opt_json
from repro.errors import EXIT_BAD

DIGEST_RE = re.compile(r"sha256:[0-9a-fA-F]{64}")


def _digest(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Exactly `sha256:` and 64 hex digits: a prefix would let a bundle be swapped for another
    whose digest merely starts the same, so anything else is a usage error, not a verdict."""
    if value is None:
        return None
    if not DIGEST_RE.fullmatch(value):
        raise click.BadParameter(
            f"{value!r:.80} is not sha256:<64 hex digits> (pass the whole digest you were given)"
        )
    return value.lower()


@main.command(context_settings=CONTEXT)
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    callback=_digest,
    help="The digest you were given (sha256:<64 hex>); the bundle must match it.",
)
@opts_verify_keys
@click.option("--strict", is_flag=True, help="Treat warnings (such as lock drift) as failures.")
@opt_json
@handle_errors
def verify(
    bundles: tuple[Path, ...],
    expect: str | None,
    keys: tuple[Path, ...],
    allowed_signers: Path | None,
    strict: bool,
    as_json: bool,
) -> None:
    """Check bundles without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records (intact); with --key or
    --allowed-signers, that <bundle>.intoto.jsonl is signed by one of those keys
    (signed); and that any Statement beside the bundle says what its records say
    (attested). docs/attestation.md has the formats.

    Prints `OK <path> <digest>` or `FAIL <path>` followed by every problem, and
    with a key the three facts on lines of their own.

    \b
    Example:
      repro verify outputs/bundles/*.zip
      repro verify B.zip --expect sha256:<64 hex> --key alice.pub
    """
    from repro.attest.check import check
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise click.UsageError("--expect applies to a single bundle")
    verifiers = load_verifiers(keys, allowed_signers)
    reports = [do_verify(b, expect=expect, strict=strict) for b in bundles]
    pairs = [(r, check(r.path, intact=r.ok, verifiers=verifiers)) for r in reports]
    if as_json:
        emit_json(
            [
                {
                    "bundle": str(r.path),
                    "ok": r.ok and a.ok,
                    "intact": r.ok,
                    **facts_json(a),
                    "digest": r.digest,
                    "run_id": r.run_id,
                    "status": r.status,
                    "warnings": [*r.warnings, *a.warnings],
                    "problems": [
                        {"kind": p.kind, "member": p.member, "message": p.message}
                        for p in (*r.problems, *a.problems)
                    ],
                }
                for r, a in pairs
            ]
        )
    else:
        for r, a in pairs:
            if r.ok and a.ok:
                click.echo(f"OK {r.path} {r.digest}")
            else:
                click.echo(f"FAIL {r.path}")
                for p in (*r.problems, *a.problems):
                    click.echo(f"  - [{p.kind}] {p}")
            if verifiers:
                for line in facts_lines(r.ok, a):
                    click.echo(line)
            for w in (*r.warnings, *a.warnings):
                click.echo(f"  warning: {w}")
    sys.exit(0 if all(r.ok and a.ok for r, a in pairs) else EXIT_BAD)
