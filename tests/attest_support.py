"""Helpers the attestation tests share: a private copy of a bundle, and key files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def copy_bundle(bundle: Path, dest: Path) -> Path:
    """The bundle and every file beside it that names it, copied into `dest` (tests then
    sign or tamper with their own copy, never the session's shared bundle)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in bundle.parent.iterdir():
        if f.name.startswith(bundle.name):
            shutil.copy2(f, dest / f.name)
    return dest / bundle.name


def pem_key(dest: Path, kind: str, password: bytes | None = None) -> tuple[Path, Path]:
    """A key of `kind` (ed25519, ecdsa, rsa) as PKCS#8 PEM (mode 0600) and SPKI PEM."""
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    priv, pub = dest / f"{kind}.pem", dest / f"{kind}.pub.pem"
    priv.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    )
    os.chmod(priv, 0o600)
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv, pub


def ssh_key(dest: Path, kind: str, passphrase: str = "") -> tuple[Path, Path]:
    """A key made by ssh-keygen itself (kind: ed25519, ecdsa, rsa)."""
    priv = dest / f"id_{kind}"
    args = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *args, "-N", passphrase, "-C", "t", "-f", str(priv)],
        check=True,
        capture_output=True,
    )
    return priv, dest / f"id_{kind}.pub"
