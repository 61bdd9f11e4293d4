"""`repro keygen`."""

from __future__ import annotations

from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.attestation import passphrase
from repro.cli.options import opt_json


@main.command(context_settings=CONTEXT)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("repro-signing.key"),
    show_default=True,
    help="The private key file (mode 0600); the public key goes to OUT.pub.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pem", "ssh"]),
    default="pem",
    show_default=True,
    help="pem: PKCS#8 / SubjectPublicKeyInfo; ssh: OpenSSH (signs like `ssh-keygen -Y sign`).",
)
@click.option(
    "--no-passphrase",
    is_flag=True,
    help="Do not ask for a passphrase: the key is stored unencrypted (for CI secrets stores).",
)
@opt_json
@handle_errors
def keygen(out: Path, fmt: str, no_passphrase: bool, as_json: bool) -> None:
    """Make an ed25519 key pair for `repro sign` and `repro bundle --sign`.

    Asks for a passphrase (twice; empty for none) unless --no-passphrase or
    $REPRO_KEY_PASSPHRASE is set. Never replaces an existing file, never prints
    the private key: hand out OUT.pub to whoever verifies.

    \b
    Example:
      repro keygen --out alice.key --no-passphrase
      repro keygen --format ssh --out alice_ssh.key --no-passphrase
    """
    from repro.attest.keys import keygen as do_keygen

    secret = None if no_passphrase else passphrase("Passphrase for the new key", confirm=True)
    pair = do_keygen(out, fmt="ssh" if fmt == "ssh" else "pem", passphrase=secret or None)
    if as_json:
        from repro.cli.contract import abspath

        emit_json(
            {
                "private": abspath(pair.private),
                "public": abspath(pair.public),
                "keyid": pair.keyid,
                "encrypted": bool(secret),
            }
        )
    else:
        click.echo(f"{pair.private} (private: keep it, mode 0600)\n{pair.public}\n{pair.keyid}")
