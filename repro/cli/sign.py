"""`repro sign`."""

from __future__ import annotations

from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.attestation import load_signer
from repro.cli.options import opt_json


def sign_summary(res: object) -> dict[str, object]:
    from repro.attest.sign import SignResult
    from repro.cli.contract import abspath

    assert isinstance(res, SignResult)
    return {
        "statement": abspath(res.statement),
        "envelope": abspath(res.envelope),
        "keyid": res.keyid,
        "signatures": res.signatures,
    }


@main.command(context_settings=CONTEXT)
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private key: PEM (PKCS#8) or OpenSSH, readable only by you; asked for its "
    "passphrase if encrypted (or $REPRO_KEY_PASSPHRASE).",
)
@opt_json
@handle_errors
def sign(bundle: Path, key: Path | None, as_json: bool) -> None:
    """Attest a bundle and sign the attestation with your key.

    Verifies the bundle, writes its in-toto Statement to BUNDLE.intoto.json and
    a DSSE envelope signing it to BUNDLE.intoto.jsonl. Signing again with another
    key adds that signature. An OpenSSH key signs as `ssh-keygen -Y sign -n
    repro-attestation` would. Formats: docs/attestation.md.

    \b
    Example:
      repro sign BUNDLE.zip --key alice.key
    """
    from repro.attest.sign import sign_bundle
    from repro.errors import UsageError

    if key is None:  # checked here, not by click, so a bad --config is reported first
        raise UsageError("missing option '--key'", hint="repro sign BUNDLE --key PRIVATE_KEY")

    res = sign_bundle(bundle, load_signer(key))
    if as_json:
        from repro.cli.contract import abspath

        emit_json({"bundle": abspath(res.bundle), **sign_summary(res)})
    else:
        click.echo(f"{res.envelope}\nsigned by {res.keyid}")
