"""What the commands that sign or check attestations share: the passphrase prompt, the key
and Sigstore options, and the text/JSON rendering of `repro verify`'s attestation facts."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import F
from repro.errors import UsageError

PASSPHRASE_ENV = "REPRO_KEY_PASSPHRASE"


def passphrase(prompt: str = "Passphrase for the private key", *, confirm: bool = False) -> bytes:
    """From $REPRO_KEY_PASSPHRASE (for CI), else asked on the terminal without echo. Never
    an option: a value on the command line lands in shell history and `ps`."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value is not None:
        return value.encode()
    try:
        text: str = click.prompt(
            prompt, hide_input=True, confirmation_prompt=confirm, err=True, default=""
        )
    except click.Abort as exc:
        raise UsageError(
            "the key is encrypted and no passphrase was given",
            hint=f"type it when asked, or set {PASSPHRASE_ENV}",
        ) from exc
    return text.encode()


def load_signer(path: Path) -> Any:
    from repro.attest.keys import load_signer as load

    return load(path, passphrase=passphrase)


def opts_verify_keys(fn: F) -> F:
    for deco in reversed(
        [
            click.option(
                "--key",
                "keys",
                multiple=True,
                type=click.Path(dir_okay=False, path_type=Path),
                metavar="PUB",
                help="Require a signature by this public key (PEM or OpenSSH .pub; "
                "repeatable: any one of them).",
            ),
            click.option(
                "--allowed-signers",
                type=click.Path(dir_okay=False, path_type=Path),
                metavar="FILE",
                help="Require a signature by a key in this ssh allowed_signers file "
                '(namespace "repro-attestation").',
            ),
        ]
    ):
        fn = deco(fn)
    return fn


_opt_trust_config = click.option(
    "--sigstore-trust-config",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A Sigstore instance other than the public one: its client trust config (JSON, "
    "as `sigstore --trust-config` takes).",
)


def opts_sign_sigstore(fn: F) -> F:
    for deco in reversed(
        [
            click.option(
                "--sigstore",
                is_flag=True,
                help="Sign keylessly with Sigstore into BUNDLE.sigstore.json (needs "
                "the network, an OIDC identity, and `pip install 'repro-bundle[sigstore]'`).",
            ),
            _opt_trust_config,
        ]
    ):
        fn = deco(fn)
    return fn


def opts_verify_sigstore(fn: F) -> F:
    for deco in reversed(
        [
            click.option(
                "--sigstore-identity",
                metavar="ID",
                help="Require a Sigstore signature (BUNDLE.sigstore.json) by this identity: "
                "the email or URI in its certificate. Needs --sigstore-issuer.",
            ),
            click.option(
                "--sigstore-issuer",
                metavar="URL",
                help="The OIDC issuer that vouched for --sigstore-identity "
                "(https://github.com/login/oauth, https://token.actions.githubusercontent.com...).",
            ),
            _opt_trust_config,
            click.option(
                "--sigstore-offline",
                is_flag=True,
                help="Use the trusted root sigstore-python ships or cached, not a fresh one "
                "from Sigstore's TUF repository (no network).",
            ),
        ]
    ):
        fn = deco(fn)
    return fn


def keyless_config(
    trust_config: Path | None, *, offline: bool = False, signing: bool = False
) -> Any:
    """The Sigstore instance's trust config, loaded before anything is signed or run (a
    missing extra or a bad file fails first, in one line)."""
    from repro.attest import keyless

    return keyless.trust_config(keyless.Instance(trust_config, offline), signing=signing)


def keyless_sign(bundle: Path, config: Any) -> Any:
    from repro.attest import keyless

    # The browser sign-in only when a person is there to complete it; CI gets an error.
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    return keyless.sign_bundle(
        bundle, config, keyless.identity_token(config, interactive=interactive)
    )


def keyless_summary(res: Any) -> dict[str, object]:
    from repro.cli.contract import abspath

    return {
        "statement": abspath(res.statement),
        "sigstore_bundle": abspath(res.sigstore_bundle),
        "identity": res.identity,
        "issuer": res.issuer,
        "log_index": res.log_index,
    }


def load_keyless(
    identity: str | None, issuer: str | None, trust_config: Path | None, offline: bool
) -> Any:
    """The Sigstore signature `repro verify` must find, or None when none was asked for."""
    if identity is None and issuer is None:
        if trust_config is not None or offline:
            raise UsageError(
                "--sigstore-trust-config and --sigstore-offline need --sigstore-identity",
                hint="name who must have signed: --sigstore-identity ID --sigstore-issuer URL",
            )
        return None
    if not identity or not issuer:
        raise UsageError(
            "--sigstore-identity and --sigstore-issuer go together",
            hint="an identity means nothing without the issuer that vouched for it",
        )
    from repro.attest import keyless
    from repro.attest.check import Keyless

    return Keyless(keyless.Policy(identity, issuer), keyless_config(trust_config, offline=offline))


def load_verifiers(keys: tuple[Path, ...], allowed_signers: Path | None) -> list[Any]:
    if not keys and allowed_signers is None:
        return []  # and `cryptography` stays unimported
    from repro.attest import keys as keymod

    verifiers = [keymod.load_verifier(k) for k in keys]
    if allowed_signers is not None:
        verifiers += keymod.load_allowed_signers(allowed_signers)
    return verifiers


def _signed_text(a: Any) -> str:
    if a.signed_by:
        return "by " + "; ".join(a.signed_by)
    return (
        "NO"
        if a.signature_required
        else "not checked (no --key, --allowed-signers or --sigstore-identity)"
    )


def _attested_text(a: Any) -> str:
    return {True: "yes", False: "NO", None: "no Statement checked"}[a.attested]


def facts_lines(intact: bool, a: Any) -> list[str]:
    return [
        f"  intact: {'yes' if intact else 'NO'}",
        f"  signed: {_signed_text(a)}",
        f"  attested: {_attested_text(a)}",
    ]


def facts_json(a: Any) -> dict[str, Any]:
    return {
        "signature_required": a.signature_required,
        "signed_by": list(a.signed_by),
        "attested": a.attested,
    }
