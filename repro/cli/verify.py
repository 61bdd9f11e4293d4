"""`repro verify`."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.attestation import facts_json, facts_lines, load_verifiers, opts_verify_keys
from repro.cli.options import opt_json
from repro.errors import EXIT_BAD, EXIT_OK, UsageError

DIGEST_RE = re.compile(r"sha256:[0-9a-fA-F]{64}")


def _digest(value: str | None) -> str | None:
    """Exactly `sha256:` and 64 hex digits: a prefix would let a bundle be swapped for another
    whose digest merely starts the same, so anything else is a usage error, not a verdict."""
    if value is None:
        return None
    if not DIGEST_RE.fullmatch(value):
        raise UsageError(
            f"--expect {value!r:.80} is not sha256:<64 hex digits>",
            hint="pass the whole digest you were given",
        )
    return value.lower()


@main.command(context_settings=CONTEXT)
@click.argument("bundles", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    help="The digest you were given (sha256:<64 hex>); the bundle must match it.",
)
@opts_verify_keys
@click.option("--strict", is_flag=True, help="Treat warnings (such as lock drift) as failures.")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With no BUNDLE: check the newest bundle of this project [default: .].",
)
@opt_json
@handle_errors
def verify(
    bundles: tuple[Path, ...],
    expect: str | None,
    keys: tuple[Path, ...],
    allowed_signers: Path | None,
    strict: bool,
    project: Path | None,
    as_json: bool,
) -> None:
    """Check bundles without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records (intact); with --key or
    --allowed-signers, that <bundle>.intoto.jsonl is signed by one of those keys
    (signed); and that any Statement beside the bundle says what its records say
    (attested): docs/attestation.md. Prints `OK <path> <digest>` or `FAIL <path>`
    followed by every problem, and with a key the three facts. With no BUNDLE,
    checks the newest bundle in the project's outputs/bundles/.

    \b
    Example:
      repro verify outputs/bundles/*.zip
      repro verify BUNDLE.zip --expect sha256:<digest>
      repro verify BUNDLE.zip --key alice.key.pub
    """
    from repro.attest.check import check

    expect = _digest(expect)
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise UsageError(
            f"--expect names one digest but {len(bundles)} bundles were given",
            hint="verify the bundle you were given the digest for on its own",
        )
    targets = bundles or (_newest_bundle(project or Path(".")),)
    for b in targets:
        if not b.is_file():
            raise UsageError(f"bundle not found: {b}", hint="check the path")
    verifiers = load_verifiers(keys, allowed_signers)
    reports = [do_verify(b, expect=expect, strict=strict) for b in targets]
    pairs = [(r, check(r.path, intact=r.ok, verifiers=verifiers)) for r in reports]
    code = EXIT_OK if all(r.ok and a.ok for r, a in pairs) else EXIT_BAD
    if as_json:
        emit_json(
            {"ok": code == EXIT_OK, "exit_code": code, "bundles": [_as_dict(*p) for p in pairs]}
        )
    else:
        for r, a in pairs:
            _print_report(r, a, show_facts=bool(verifiers))
    sys.exit(code)


def _newest_bundle(project: Path) -> Path:
    found = sorted((project / "outputs" / "bundles").glob("repro-*.zip"))
    if not found:
        raise UsageError(
            f"no bundle in {project / 'outputs' / 'bundles'}",
            hint="name the bundle to check, or make one with `repro bundle`",
        )
    return found[-1]


def _as_dict(r: Any, a: Any) -> dict[str, Any]:
    from repro.cli.contract import abspath

    return {
        "bundle": abspath(r.path),
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


def _print_report(r: Any, a: Any, *, show_facts: bool) -> None:
    from repro.cli import colour

    if r.ok and a.ok:
        colour.echo(f"OK {r.path} {r.digest}", "passed")
    else:
        colour.echo(f"FAIL {r.path}", "bad")
        for p in (*r.problems, *a.problems):
            click.echo(f"  - [{p.kind}] {p}")
    if show_facts:
        for line in facts_lines(r.ok, a):
            click.echo(line)
    for w in (*r.warnings, *a.warnings):
        colour.echo(f"  warning: {w}", "warning")
