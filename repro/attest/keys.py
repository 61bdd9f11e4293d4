"""Signing and verifying keys: read, made, and never leaked.

How a key is written picks how it signs DSSE's PAE bytes (docs/attestation.md):
 - PEM (PKCS#8 private key, SubjectPublicKeyInfo public key): the raw signature, with the
   scheme securesystemslib uses for the key's kind (ed25519; ECDSA P-256/P-384/P-521 with
   SHA-256/384/512, DER-encoded; RSA-PSS with SHA-256). keyid: sha256 hex of the public
   key's DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER | sha256sum`).
 - OpenSSH: an SSHSIG signature in namespace `repro-attestation`, checkable with
   `ssh-keygen -Y verify`. keyid: the fingerprint `ssh-keygen -l` prints.
A private key is read only from a file no other user can read, is asked for its
passphrase when encrypted, and is never written anywhere but by `keygen`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from repro.attest import sshsig
from repro.errors import EnvironmentProblem, UsageError
from repro.fsutil import write_bytes

Format = Literal["pem", "ssh"]
Private = sshsig.SshPrivate
Public = sshsig.SshPublic
PassphraseSource = Callable[[], bytes]
KEY_LIMIT = 1 << 20  # no key file is this large; a bigger one is the wrong file
_SSH_PRIVATE = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_CURVE_HASH = {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384()}
_CURVE_HASH["secp521r1"] = hashes.SHA512()


def kind_of(key: Public) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    return f"ecdsa-{key.curve.name}"


def pem_keyid(key: Public) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class Signer:
    """A private key ready to sign. Its repr names the key, never its secret."""

    key: Private
    format: Format

    @property
    def keyid(self) -> str:
        pub = self.key.public_key()
        return sshsig.fingerprint(pub) if self.format == "ssh" else pem_keyid(pub)

    def sign(self, data: bytes) -> bytes:
        if self.format == "ssh":
            return sshsig.sign(self.key, data)
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        if isinstance(self.key, rsa.RSAPrivateKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return self.key.sign(data, pss, hashes.SHA256())
        return self.key.sign(data, ec.ECDSA(_CURVE_HASH[self.key.curve.name]))

    def __repr__(self) -> str:
        return f"Signer({self.format} {kind_of(self.key.public_key())} {self.keyid})"


@dataclass(frozen=True)
class Verifier:
    """A public key, and the name it is known by (an allowed_signers principal, a file)."""

    key: Public
    format: Format
    identity: str

    @property
    def keyid(self) -> str:
        return sshsig.fingerprint(self.key) if self.format == "ssh" else pem_keyid(self.key)

    def describe(self) -> str:
        return f"{self.identity} ({kind_of(self.key)} {self.keyid})"

    def verify(self, sig: bytes, data: bytes) -> bool:
        if self.format == "ssh":
            return sshsig.verify(self.key, sig, data)
        try:
            if isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(sig, data)
            elif isinstance(self.key, rsa.RSAPublicKey):
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                self.key.verify(sig, data, pss, hashes.SHA256())
            else:
                self.key.verify(sig, data, ec.ECDSA(_CURVE_HASH[self.key.curve.name]))
        except (InvalidSignature, ValueError):  # a signature of the wrong size or encoding
            return False
        return True


def _read(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(KEY_LIMIT)
    except FileNotFoundError as exc:
        raise UsageError(f"{what} not found: {path}") from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def check_private_mode(path: Path) -> None:
    """Refuse a private key other users can read or write, as ssh does: it is no longer
    only this user's, and signing with it would vouch for what anyone may have signed."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError as exc:
        raise UsageError(f"private key not found: {path}") from exc
    if mode & 0o077:
        raise UsageError(
            f"private key {path} is accessible by other users (mode {mode:04o})",
            hint=f"run `chmod 600 {path}`, or make a new key with `repro keygen`",
        )


def _supported(key: object, path: Path) -> Private:
    if isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        return key
    raise UsageError(
        f"{path}: unsupported key type {type(key).__name__}", hint="use ed25519, ECDSA or RSA"
    )


def _parse_private(data: bytes, fmt: Format, password: bytes | None) -> object:
    if fmt == "ssh":
        return serialization.load_ssh_private_key(data, password)
    return serialization.load_pem_private_key(data, password)


def load_signer(path: Path, *, passphrase: PassphraseSource) -> Signer:
    """The private key in `path` (PEM or OpenSSH). `passphrase` is called only if the key
    is encrypted."""
    path = Path(path)
    data = _read(path, "private key")
    if b"PUBLIC KEY" in data or data.lstrip().startswith((b"ssh-", b"ecdsa-")):
        raise UsageError(f"{path} is a public key", hint="sign with the private key file")
    check_private_mode(path)
    fmt: Format = "ssh" if _SSH_PRIVATE in data else "pem"
    try:
        try:
            key = _parse_private(data, fmt, None)
        except TypeError:  # encrypted: cryptography wants a password
            key = _parse_private(data, fmt, passphrase())
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"cannot read private key {path} (wrong passphrase, or not a PEM/OpenSSH key)"
        ) from exc
    except UnsupportedAlgorithm as exc:
        raise UsageError(f"{path}: {exc}") from exc
    return Signer(_supported(key, path), fmt)


def load_verifier(path: Path) -> Verifier:
    """A public key file: PEM (`-----BEGIN PUBLIC KEY-----`) or one OpenSSH .pub line."""
    path = Path(path)
    data = _read(path, "public key")
    if b"PRIVATE KEY" in data:
        raise UsageError(
            f"{path} is a private key", hint="verify with its public key (the .pub file)"
        )
    try:
        if data.lstrip().startswith(b"-----BEGIN PUBLIC KEY-----"):
            key = serialization.load_pem_public_key(data)
            if not isinstance(
                key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey)
            ):
                raise UsageError(f"{path}: unsupported key type {type(key).__name__}")
            return Verifier(key, "pem", str(path))
        return Verifier(sshsig.load_public_line(data.decode()), "ssh", str(path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not a PEM or OpenSSH public key") from exc


def load_allowed_signers(path: Path) -> list[Verifier]:
    path = Path(path)
    text = _read(path, "allowed signers file").decode("utf-8", "replace")
    signers = sshsig.parse_allowed_signers(path, text)
    if not signers:
        raise UsageError(
            f"{path} allows no key to sign in namespace {sshsig.NAMESPACE}",
            hint='add a line `PRINCIPAL namespaces="repro-attestation" ssh-ed25519 AAAA...`',
        )
    return [Verifier(s.key, "ssh", ",".join(s.principals)) for s in signers]


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    keyid: str


def keygen(path: Path, *, fmt: Format = "pem", passphrase: bytes | None = None) -> KeyPair:
    """A new ed25519 key: `path` (mode 0600, encrypted with `passphrase` if given) and
    `path`.pub. Refuses to replace either file."""
    path = Path(path)
    pub_path = path.with_name(path.name + ".pub")
    for p in (path, pub_path):
        if p.exists():
            raise UsageError(f"{p} already exists", hint="remove it or choose another --out")
    key = ed25519.Ed25519PrivateKey.generate()
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    if fmt == "ssh":
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, enc
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        public += b" repro-attestation\n"
    else:
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    _write_private(path, private)
    write_bytes(pub_path, public)
    return KeyPair(path, pub_path, Signer(key, fmt).keyid)


def _write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 from its first byte (never readable by others, not even
    for a moment) and only if it does not exist (link fails on an existing name)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError as exc:
        raise UsageError(
            f"{path} already exists", hint="remove it or choose another --out"
        ) from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
