"""`repro verify`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.attestation import (
    facts_json,
    facts_lines,
    load_keyless,
    load_verifiers,
    opts_verify_keys,
    opts_verify_sigstore,
)
from repro.cli.options import expect_digest, opt_json, refuse_non_bundles
from repro.errors import EXIT_BAD, EXIT_OK, UsageError


@main.command(context_settings=CONTEXT)
@click.argument("bundles", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    help="The digest you were given (sha256:<64 hex>); the bundle must match it.",
)
@opts_verify_keys
@opts_verify_sigstore
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
    keys: tuple[Path, ...],
    allowed_signers: Path | None,
    sigstore_identity: str | None,
    sigstore_issuer: str | None,
    sigstore_trust_config: Path | None,
    sigstore_offline: bool,
    strict: bool,
    project: Path | None,
    require_passed: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Check bundles (or run folders) without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records; warns when a member holds
    something shaped like a credential (a token, a private key). Refuses at once
    anything that is neither a file nor a folder (a FIFO, a device). With no
    BUNDLE, checks the newest bundle in the project's outputs/bundles/.

    Prints one verdict line per bundle that keeps integrity and outcome apart,
    then every problem:

    \b
      OK (intact)  tests: failed, 298 passed, 1 failed  sha256:1f2e...  BUNDLE
      FAIL (not intact)  tests: passed (unverified)  sha256:...  BUNDLE

    Exits 1 when a bundle is not intact; with --require-passed, also when a
    run's status is anything but passed.

    With --key or --allowed-signers, also checks that <bundle>.intoto.jsonl is
    signed by one of those keys (signed), and any Statement beside the bundle
    says what its records say (attested). With --sigstore-identity and
    --sigstore-issuer, BUNDLE.sigstore.json must be a Sigstore signature by that
    identity: docs/attestation.md.

    \b
    Example:
      repro verify outputs/bundles/*.zip --require-passed
      repro verify BUNDLE.zip --expect sha256:<digest>
      repro verify BUNDLE.zip --key alice.key.pub
      repro verify BUNDLE.zip --sigstore-identity alice@example.com \\
        --sigstore-issuer https://github.com/login/oauth
    """
    from repro.attest.check import check
    from repro.cli.progress import reporter
    from repro.verdict import verdict

    expect = expect_digest(expect)
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise UsageError(
            f"--expect names one digest but {len(bundles)} bundles were given",
            hint="verify the bundle you were given the digest for on its own",
        )
    targets = bundles or (_newest_bundle(project or Path(".")),)
    refuse_non_bundles(*targets)
    for b in targets:
        if not b.exists():
            raise UsageError(f"bundle not found: {b}", hint="check the path")
    verifiers = load_verifiers(keys, allowed_signers)
    keyless = load_keyless(
        sigstore_identity, sigstore_issuer, sigstore_trust_config, sigstore_offline
    )
    progress = reporter(quiet)
    reports = [do_verify(b, expect=expect, strict=strict, progress=progress) for b in targets]
    attests = [
        check(r.path, intact=r.ok, verifiers=verifiers, keyless=keyless, zip_sha256=r.zip_sha256)
        for r in reports
    ]
    verdicts = [verdict(r) for r in reports]
    bad = not all(r.ok and a.ok for r, a in zip(reports, attests, strict=True))
    if require_passed and not all(v.passed for v in verdicts):
        bad = True
    code = EXIT_BAD if bad else EXIT_OK
    rows = list(zip(reports, verdicts, attests, strict=True))
    if as_json:
        emit_json(
            {"ok": code == EXIT_OK, "exit_code": code, "bundles": [_as_dict(*row) for row in rows]}
        )
    else:
        for r, v, a in rows:
            _print_report(r, v, a, show_facts=bool(verifiers) or keyless is not None)
    sys.exit(code)


def _newest_bundle(project: Path) -> Path:
    found = sorted((project / "outputs" / "bundles").glob("repro-*.zip"))
    if not found:
        raise UsageError(
            f"no bundle in {project / 'outputs' / 'bundles'}",
            hint="name the bundle to check, or make one with `repro bundle`",
        )
    return found[-1]


def _as_dict(r: Any, v: Any, a: Any) -> dict[str, Any]:
    from repro.cli.contract import abspath

    return {
        "bundle": abspath(r.path),
        "ok": r.ok and a.ok,
        **v.to_json(),
        **facts_json(a),
        "run_id": r.run_id,
        "partial": r.partial,
        "warnings": [*r.warnings, *a.warnings],
        "problems": [
            {"kind": p.kind, "member": p.member, "message": p.message}
            for p in (*r.problems, *a.problems)
        ],
    }


def _print_report(r: Any, v: Any, a: Any, *, show_facts: bool) -> None:
    from repro.cli import colour
    from repro.verify import printable

    line = v.line()
    if v.intact and not a.ok:  # the bytes are what was packed; who signed or what it says is not
        line = "FAIL (intact; signature or attestation rejected)" + line[len(v.head()) :]
    colour.echo(f"{line}  {printable(str(r.path))}", "passed" if v.intact and a.ok else "bad")
    for p in (*r.problems, *a.problems):
        click.echo(f"  - [{p.kind}] {p}")
    if show_facts:
        for line in facts_lines(r.ok, a):
            click.echo(line)
    for w in (*r.warnings, *a.warnings):
        colour.echo(f"  warning: {w}", "warning")
