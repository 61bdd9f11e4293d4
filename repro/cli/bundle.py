"""`repro bundle`: lock + run + pack, the main job."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say, warn
from repro.cli.attestation import (
    keyless_config,
    keyless_sign,
    keyless_summary,
    load_signer,
    opts_sign_sigstore,
)
from repro.cli.options import lock_options, opts_lock, opts_run, run_options
from repro.cli.render import announce, finished, mention_abandoned, publish_ci, shown, verify_line
from repro.cli.sign import sign_summary


@main.command(context_settings=CONTEXT)
@opts_run
@opts_lock
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@click.option("--no-lock", is_flag=True, help="Skip locking; bundle without a lock.")
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="KEY",
    default=None,
    help="Sign the bundle's attestation with this private key (as `repro sign`).",
)
@opts_sign_sigstore
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write the bundle's HTML report beside it (see `repro report`).",
)
@handle_errors
def bundle(
    store: bool,
    no_lock: bool,
    sign_key: Path | None,
    sigstore: bool,
    sigstore_trust_config: Path | None,
    with_report: bool,
    **kw: Any,
) -> None:
    """Lock, run the tests, and pack the run into a bundle (the main job).

    Exits 0 only if the tests passed; a failing or crashing suite still gets a
    complete, valid bundle. With --json, stdout carries one object
    (schemas/cli/bundle.schema.json) and the test output goes to stderr.
    Under GitHub Actions it also appends a summary to $GITHUB_STEP_SUMMARY and
    annotates failed tests (docs/ci.md).

    \b
    Example:
      repro bundle --no-lock -- -q
      repro verify outputs/bundles/repro-<run_id>-<digest12>.zip \\
        --expect sha256:<digest>
    """
    from repro import preflight

    # `import pytest` in the test interpreter, the slowest check of the preflight, starts
    # first: its child runs while this process imports what it needs and probes.
    importable = preflight.PytestImport(kw["python"], os.environ)
    probe = None
    try:
        from repro import envinfo, runner, workspace
        from repro import lock as lockmod
        from repro.bundle import pack as do_pack
        from repro.cli.contract import abspath
        from repro.cli.progress import reporter
        from repro.errors import ReproError, UsageError
        from repro.lock.drift import REPRO_DIST

        # The probe of the test interpreter (it only reads) runs beside that child; the lock
        # stage and the run share its result.
        probe = envinfo.Probe(kw["python"], None if no_lock else REPRO_DIST)
        outputs = kw["outputs"] or kw["project"] / "outputs"
        preflight.check(outputs, outputs / "bundles", importable)
        # The key is read (and its passphrase asked) before the suite runs, not after.
        signer = load_signer(sign_key) if sign_key is not None else None
        if sigstore_trust_config is not None and not sigstore:
            raise UsageError("--sigstore-trust-config needs --sigstore")
        # The extra and the trust config are checked now; the identity token is asked for
        # after the run, since tokens live minutes and a suite may run longer.
        keyless = keyless_config(sigstore_trust_config, signing=True) if sigstore else None
        lock_path = None
        if not no_lock:
            try:
                lres = lockmod.lock(lock_options(kw), progress=reporter(kw["quiet"]), probe=probe)
            except lockmod.ForeignLock as exc:
                # The project's own lock is evidence too: bundle it as it is.
                say(
                    f"repro: warning: {exc.path} was not written by repro: bundled as it is",
                    "warning",
                )
                lock_path = exc.path
            else:
                for w in lres.warnings:
                    say(f"repro: warning: {w}", "warning")
                state = "reused" if lres.reused else "written"
                say(f"repro: lock {state}: {lres.path} ({lres.kind})")
                lock_path = lres.path
        opts = run_options(kw, lock_path)
        workspace.ensure(opts.outputs)
        watchers: list[preflight.DiskWatch] = []

        def started(run_id: str, when: float) -> None:
            announce(run_id, when)
            staging = opts.outputs / "runs" / f".{run_id}.partial"
            watchers.append(preflight.DiskWatch(staging, opts.outputs / "bundles", warn).start())

        try:
            res = runner.run(opts, on_start=started, progress=reporter(kw["quiet"]), probe=probe)
        finally:
            for watcher in watchers:
                watcher.stop()
    finally:
        importable.close()
        if probe is not None:
            probe.close()
    finished(res, quiet=kw["quiet"])
    mention_abandoned(opts.outputs)
    try:
        packed = do_pack(
            res.run_dir,
            out_dir=opts.outputs / "bundles",
            store=store,
            progress=reporter(kw["quiet"]),
        )
    except ReproError:
        say(f"repro: the run is kept in {res.run_dir}; once fixed, finish the job with:")
        say(f"repro:   repro pack {res.run_dir} --out {opts.outputs / 'bundles'}")
        raise
    publish_ci(res, packed, opts.project, to_stderr=kw["as_json"])
    signed = None
    if signer is not None:
        # Imported only to sign: with cryptography it was ~0.06 s of every `repro bundle`.
        from repro.attest.sign import sign_bundle

        signed = sign_bundle(packed.path, signer)
    ksigned = None
    if keyless is not None:
        try:
            ksigned = keyless_sign(packed.path, keyless)
        except ReproError:
            say(f"repro: the bundle is kept: {shown(packed.path)}; once fixed, sign it with:")
            trust = (
                f" --sigstore-trust-config {sigstore_trust_config}" if sigstore_trust_config else ""
            )
            say(f"repro:   repro sign {shown(packed.path)} --sigstore{trust}")
            raise
    workspace.write_index(opts.outputs)
    report = None
    if with_report:
        from repro.report import write_report

        report = write_report(packed.path, packed.path.with_suffix(".html"), expect=packed.digest)
    if kw["as_json"]:
        emit_json(
            {
                "report": abspath(report.path) if report else None,
                "bundle": abspath(packed.path),
                "digest": packed.digest,
                "status": res.status,
                "exit_code": res.exit_code,
                "run_id": res.run_id,
                **({"statement": abspath(packed.statement)} if packed.statement else {}),
                **(sign_summary(signed) if signed else {}),
                **(keyless_summary(ksigned) if ksigned else {}),
            }
        )
    else:
        click.echo(f"{shown(packed.path)}\n{packed.digest}")
        if signed:
            say(f"repro: signed by {signed.keyid}: {shown(signed.envelope)}", "note")
        if ksigned:
            say(
                f"repro: signed with Sigstore by {ksigned.identity} (issuer {ksigned.issuer}): "
                f"{shown(ksigned.sigstore_bundle)}",
                "note",
            )
        if report is not None:
            say(f"repro: report: {shown(report.path)}", "note")
        key_hint = f" --key {sign_key}.pub" if signed else ""
        if ksigned:
            key_hint += (
                f" --sigstore-identity {ksigned.identity} --sigstore-issuer {ksigned.issuer}"
            )
        say(verify_line(packed.path, packed.digest) + key_hint, "note")
    sys.exit(res.exit_code)
