"""`repro sign`."""

from __future__ import annotations

from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.attestation import (
    keyless_config,
    keyless_sign,
    keyless_summary,
    load_signer,
    opts_sign_sigstore,
)
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
@opts_sign_sigstore
@opt_json
@handle_errors
def sign(
    bundle: Path,
    key: Path | None,
    sigstore: bool,
    sigstore_trust_config: Path | None,
    as_json: bool,
) -> None:
    """Attest a bundle and sign the attestation with your key, or keylessly.

    Verifies the bundle, writes its in-toto Statement to BUNDLE.intoto.json and
    a DSSE envelope signing it to BUNDLE.intoto.jsonl. Signing again with another
    key adds that signature. An OpenSSH key signs as `ssh-keygen -Y sign -n
    repro-attestation` would.

    With --sigstore, signs the same Statement keylessly: a certificate from
    Sigstore's Fulcio for your OIDC identity (ambient in CI, $SIGSTORE_ID_TOKEN,
    or a browser sign-in), logged in Rekor, written as a Sigstore bundle to
    BUNDLE.sigstore.json. Formats: docs/attestation.md.

    \b
    Example:
      repro sign BUNDLE.zip --key alice.key
      repro sign BUNDLE.zip --sigstore   # needs the network and an identity
    """
    from repro.attest.sign import sign_bundle
    from repro.errors import UsageError

    if key is None and not sigstore:  # checked here, not by click: a bad --config comes first
        raise UsageError(
            "missing option '--key' (or --sigstore)",
            hint="repro sign BUNDLE --key PRIVATE_KEY, or --sigstore to sign keylessly",
        )
    if sigstore_trust_config is not None and not sigstore:
        raise UsageError("--sigstore-trust-config needs --sigstore")
    # Both are loaded before anything is signed: a missing extra fails before a key is used.
    config = keyless_config(sigstore_trust_config, signing=True) if sigstore else None
    signer = load_signer(key) if key is not None else None
    res = sign_bundle(bundle, signer) if signer is not None else None
    kres = keyless_sign(bundle, config) if config is not None else None
    if as_json:
        from repro.cli.contract import abspath

        emit_json(
            {
                "bundle": abspath(bundle),
                **(sign_summary(res) if res else {}),
                **(keyless_summary(kres) if kres else {}),
            }
        )
        return
    if res is not None:
        click.echo(f"{res.envelope}\nsigned by {res.keyid}")
    if kres is not None:
        click.echo(
            f"{kres.sigstore_bundle}\nsigned by {kres.identity} (issuer {kres.issuer}; "
            f"Rekor log index {kres.log_index})"
        )
