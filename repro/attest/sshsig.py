"""Signatures as `ssh-keygen -Y sign -n repro-attestation` makes them, and allowed_signers.

The format (OpenSSH's PROTOCOL.sshsig): the signature blob is

    "SSHSIG" uint32(1) string(public key) string(namespace) string("")
    string(hash algorithm) string(ssh signature)

and the ssh signature covers "SSHSIG" string(namespace) string("") string(hash algorithm)
string(H(message)). The namespace keeps a signature made for repro from being replayed as
a git commit or file signature made with the same key, and the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from repro.errors import UsageError

NAMESPACE = "repro-attestation"
MAGIC = b"SSHSIG"
HASH = "sha512"
_CURVE_HASH: dict[str, hashes.HashAlgorithm] = {
    "secp256r1": hashes.SHA256(),
    "secp384r1": hashes.SHA384(),
    "secp521r1": hashes.SHA512(),
}
SshPrivate = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
SshPublic = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class SigFormatError(ValueError):
    """Bytes that are not an SSHSIG signature."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 8) // 8, "big") if n else b""
    return _string(raw)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SigFormatError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def string(self) -> bytes:
        (n,) = struct.unpack(">I", self.take(4))
        return self.take(n)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise SigFormatError("trailing bytes")


def public_blob(key: SshPublic) -> bytes:
    """The key in SSH wire format (the base64 field of a .pub line, decoded)."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def fingerprint(key: SshPublic) -> str:
    """As `ssh-keygen -l` prints it."""
    digest = hashlib.sha256(public_blob(key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _signed_data(message: bytes, namespace: str, hash_alg: str) -> bytes:
    h = hashlib.new(hash_alg, message).digest()
    return MAGIC + b"".join(_string(x) for x in (namespace.encode(), b"", hash_alg.encode(), h))


def _raw_sign(key: SshPrivate, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _string(b"ssh-ed25519") + _string(key.sign(data))
    if isinstance(key, rsa.RSAPrivateKey):
        return _string(b"rsa-sha2-512") + _string(
            key.sign(data, padding.PKCS1v15(), hashes.SHA512())
        )
    curve = key.curve.name
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_CURVE_HASH[curve])))
    name = f"ecdsa-sha2-nistp{key.curve.key_size}".encode()
    return _string(name) + _string(_mpint(r) + _mpint(s))


def sign(key: SshPrivate, message: bytes, namespace: str = NAMESPACE) -> bytes:
    """The binary SSHSIG blob (what `ssh-keygen -Y sign` armors in base64)."""
    sig = _raw_sign(key, _signed_data(message, namespace, HASH))
    pub = public_blob(key.public_key())
    return (
        MAGIC
        + struct.pack(">I", 1)
        + b"".join(_string(x) for x in (pub, namespace.encode(), b"", HASH.encode(), sig))
    )


def armor(blob: bytes) -> str:
    """The text `ssh-keygen -Y sign` writes to FILE.sig, for `ssh-keygen -Y verify -s`."""
    b64 = base64.b64encode(blob).decode()
    body = "\n".join(b64[i : i + 70] for i in range(0, len(b64), 70))
    return f"-----BEGIN SSH SIGNATURE-----\n{body}\n-----END SSH SIGNATURE-----\n"


@dataclass(frozen=True)
class Parsed:
    public_blob: bytes
    namespace: str
    hash_alg: str
    sig_type: bytes
    sig: bytes


def parse(blob: bytes) -> Parsed:
    r = _Reader(blob)
    if r.take(6) != MAGIC or struct.unpack(">I", r.take(4))[0] != 1:
        raise SigFormatError("not an SSHSIG v1 signature")
    pub, namespace, _reserved, hash_alg, sig = (r.string() for _ in range(5))
    r.end()
    inner = _Reader(sig)
    sig_type, raw = inner.string(), inner.string()
    inner.end()
    return Parsed(pub, namespace.decode("utf-8", "replace"), hash_alg.decode(), sig_type, raw)


def _check(key: SshPublic, sig_type: bytes, raw: bytes, data: bytes) -> None:
    if isinstance(key, ed25519.Ed25519PublicKey) and sig_type == b"ssh-ed25519":
        key.verify(raw, data)
    elif isinstance(key, rsa.RSAPublicKey) and sig_type in (b"rsa-sha2-512", b"rsa-sha2-256"):
        algo = hashes.SHA512() if sig_type == b"rsa-sha2-512" else hashes.SHA256()
        key.verify(raw, data, padding.PKCS1v15(), algo)
    elif isinstance(key, ec.EllipticCurvePublicKey) and sig_type.startswith(b"ecdsa-sha2-"):
        rs = _Reader(raw)
        r, s = (int.from_bytes(rs.string(), "big") for _ in range(2))
        rs.end()
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_CURVE_HASH[key.curve.name]))
    else:
        raise InvalidSignature(f"signature type {sig_type!r} does not fit the key")


def verify(key: SshPublic, blob: bytes, message: bytes, namespace: str = NAMESPACE) -> bool:
    """Whether `blob` is `key`'s SSHSIG signature of `message` in `namespace`."""
    try:
        p = parse(blob)
        if p.public_blob != public_blob(key) or p.namespace != namespace:
            return False
        if p.hash_alg not in ("sha512", "sha256"):
            return False
        _check(key, p.sig_type, p.sig, _signed_data(message, namespace, p.hash_alg))
    except (SigFormatError, InvalidSignature, struct.error, ValueError, KeyError):
        return False
    return True


def load_public_line(line: str) -> SshPublic:
    """`ssh-ed25519 AAAA... [comment]` (or ecdsa, rsa) as a key."""
    try:
        key = serialization.load_ssh_public_key(line.strip().encode())
    except (ValueError, TypeError) as exc:
        raise SigFormatError(f"not an OpenSSH public key: {exc}") from exc
    if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise SigFormatError(f"unsupported ssh key type {type(key).__name__}")
    return key


@dataclass(frozen=True)
class AllowedSigner:
    principals: tuple[str, ...]
    key: SshPublic


_KEY_TYPE = re.compile(r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521))$")
# An options field: comma-separated, values may be quoted and then hold spaces.
_OPTIONS = re.compile(r'^(?:[^\s"]|"[^"]*")+')
UNSUPPORTED = ("cert-authority", "valid-after", "valid-before")


def _options_allow(options: str, where: str, namespace: str) -> bool:
    for opt in re.findall(r'(?:[^,"]|"[^"]*")+', options):
        name, _, value = opt.partition("=")
        name = name.lower()
        if name in UNSUPPORTED:
            raise UsageError(
                f"{where}: option {name} is not supported by repro",
                hint="check such signatures with `ssh-keygen -Y verify` (docs/attestation.md)",
            )
        if name == "namespaces":
            allowed = [ns.strip() for ns in value.strip('"').split(",")]
            if namespace not in allowed:
                return False
    return True


def parse_allowed_signers(path: Path, text: str, namespace: str = NAMESPACE) -> list[AllowedSigner]:
    """The entries of an allowed_signers file (ssh-keygen(1), ALLOWED SIGNERS) that may sign
    in `namespace`. Unsupported options are refused, not ignored: ignoring a validity
    window would accept what `ssh-keygen -Y verify` rejects."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{n}"
        principals, _, rest = line.partition(" ")
        rest = rest.lstrip()
        options = ""
        if not _KEY_TYPE.match(rest.split(" ", 1)[0]):
            m = _OPTIONS.match(rest)
            options = m.group(0) if m else ""
            rest = rest[len(options) :].lstrip()
        if not _options_allow(options, where, namespace):
            continue
        try:
            key = load_public_line(" ".join(rest.split()[:2]))
        except SigFormatError as exc:
            raise UsageError(f"{where}: {exc}") from exc
        out.append(AllowedSigner(tuple(principals.split(",")), key))
    return out
