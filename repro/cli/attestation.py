"""What the commands that sign or check attestations share: the passphrase prompt, the key
options of `repro verify`, and the text/JSON rendering of its two attestation facts."""

from __future__ import annotations

import os
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
    return "NO" if a.signature_required else "not checked (no --key or --allowed-signers)"


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
