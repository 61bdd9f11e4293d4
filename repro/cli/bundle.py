"""`repro bundle`: lock + run + pack, the main job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.attestation import load_signer
from repro.cli.options import lock_options, opts_lock, opts_run, run_options
from repro.cli.render import announce, finished, shown, verify_line
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
@handle_errors
def bundle(store: bool, no_lock: bool, sign_key: Path | None, **kw: Any) -> None:
    """Lock, run the tests, and pack the run into a bundle (the main job).

    Exits 0 only if the tests passed; a failing or crashing suite still gets a
    complete, valid bundle. With --json, stdout carries one object
    (schemas/cli/bundle.schema.json) and the test output goes to stderr.

    \b
    Example:
      repro bundle --no-lock -- -q
      repro verify outputs/bundles/repro-<run_id>-<digest12>.zip \\
        --expect sha256:<digest>
    """
    from repro import lock as lockmod
    from repro import runner, workspace
    from repro.attest.sign import sign_bundle
    from repro.bundle import pack as do_pack
    from repro.cli.contract import abspath

    # The key is read (and its passphrase asked) before the suite runs, not after.
    signer = load_signer(sign_key) if sign_key is not None else None
    lock_path = None
    if not no_lock:
        lres = lockmod.lock(lock_options(kw))
        for w in lres.warnings:
            say(f"repro: warning: {w}", "warning")
        say(f"repro: lock {'reused' if lres.reused else 'written'}: {lres.path} ({lres.kind})")
        lock_path = lres.path
    opts = run_options(kw, lock_path)
    workspace.ensure(opts.outputs)
    res = runner.run(opts, on_start=announce)
    finished(res, quiet=kw["quiet"])
    packed = do_pack(res.run_dir, out_dir=opts.outputs / "bundles", store=store)
    signed = sign_bundle(packed.path, signer) if signer is not None else None
    workspace.write_index(opts.outputs)
    if kw["as_json"]:
        emit_json(
            {
                "bundle": abspath(packed.path),
                "digest": packed.digest,
                "status": res.status,
                "exit_code": res.exit_code,
                "run_id": res.run_id,
                **({"statement": abspath(packed.statement)} if packed.statement else {}),
                **(sign_summary(signed) if signed else {}),
            }
        )
    else:
        click.echo(f"{shown(packed.path)}\n{packed.digest}")
        if signed:
            say(f"repro: signed by {signed.keyid}: {shown(signed.envelope)}", "note")
        key_hint = f" --key {sign_key}.pub" if signed else ""
        say(verify_line(packed.path, packed.digest) + key_hint, "note")
    sys.exit(res.exit_code)
