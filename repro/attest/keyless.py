"""Keyless signing with Sigstore: the optional `repro-bundle[sigstore]` extra.

The same Statement as `--key` signs (the bytes of `<bundle>.intoto.json`), in a DSSE envelope
(payloadType application/vnd.in-toto+json) signed by a short-lived key whose certificate
Fulcio issues for an OIDC identity, logged in Rekor. The result is a Sigstore bundle (v0.3
JSON) written to `<bundle>.zip.sigstore.json`, the name `sigstore verify` and cosign look
for beside an artifact. Verifying checks the certificate chain, its identity and issuer, the
log entry's inclusion proof and signed timestamp, and the DSSE signature, all with
sigstore-python; repro then checks the Statement like any other (check.py).

Signing needs the network (Fulcio, Rekor) and an identity token; verifying a bundle needs
only a trusted root: Sigstore's, refreshed over TUF, or offline the one sigstore-python
ships or cached, or a private instance's from a trust config file. `sigstore` is imported
here only, inside the functions that need it, so `repro` works (and starts fast) without it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.attest import dsse, sigstore_path, statement
from repro.errors import EnvironmentProblem, UsageError
from repro.fsutil import write_bytes

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken

EXTRA = "pip install 'repro-bundle[sigstore]'"
TOKEN_ENV = "SIGSTORE_ID_TOKEN"  # the variable sigstore's own CLI reads
BUNDLE_LIMIT = 16 << 20
# Fulcio's certificate extensions for the token's issuer: the DER UTF8String form, and the
# older raw-bytes form that certificates from before 2023 carry alone.
_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"


class KeylessError(ValueError):
    """A Sigstore bundle that does not verify; the message is one line for the report."""


@dataclass(frozen=True)
class Instance:
    """Which Sigstore: the public one (trust_config None), or a private one's client trust
    config (JSON, as `sigstore --trust-config` takes). `offline`: for the public one, use
    the trusted root sigstore-python ships or has cached instead of refreshing it over TUF."""

    trust_config: Path | None = None
    offline: bool = False


@dataclass(frozen=True)
class Policy:
    """Who must have signed: the certificate's identity (an email or a URI, as Fulcio put
    it in the SAN) and the OIDC issuer that vouched for it. Both, always: an identity
    without its issuer is a name anyone's identity provider could hand out."""

    identity: str
    issuer: str


@dataclass(frozen=True)
class Signed:
    path: Path
    identity: str
    issuer: str
    log_index: int

    def describe(self) -> str:
        return f"{self.identity} (issuer {self.issuer}; Sigstore, Rekor log index {self.log_index})"


@dataclass(frozen=True)
class KeylessResult:
    bundle: Path
    statement: Path
    sigstore_bundle: Path
    identity: str
    issuer: str
    log_index: int


def require() -> None:
    """Fail with one line, not a traceback, when the extra is not installed."""
    try:
        import sigstore  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "keyless signing needs the sigstore extra, which is not installed", hint=EXTRA
        ) from exc


def trust_config(instance: Instance, *, signing: bool = False) -> ClientTrustConfig:
    """The instance's trust config. `signing`: for `repro sign/bundle --sigstore`, which
    need the network whatever the root (Fulcio, Rekor) and have no --sigstore-offline."""
    require()
    from sigstore.errors import Error
    from sigstore.models import ClientTrustConfig

    if instance.trust_config is not None:
        path = instance.trust_config
        try:
            return ClientTrustConfig.from_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (Error, ValueError) as exc:
            raise UsageError(
                f"{path} is not a Sigstore client trust config: {_line(exc)}",
                hint="the JSON `sigstore --trust-config` takes",
            ) from exc
    import logging

    # Offline was asked for: sigstore-python's warning that it is would be a stray line
    # on stderr, outside repro's own.
    tuf_log = logging.getLogger("sigstore._internal.tuf")
    level = tuf_log.level
    if instance.offline:
        tuf_log.setLevel(logging.ERROR)
    try:
        return ClientTrustConfig.production(offline=instance.offline)
    except Exception as exc:  # TUF, HTTP and file errors alike: the root of trust is missing
        raise EnvironmentProblem(
            f"cannot load Sigstore's trusted root: {_line(exc)}",
            hint="keyless signing needs the network: Sigstore's TUF repository, Fulcio and "
            "Rekor; without it, sign with a key: repro sign --key, repro bundle --sign"
            if signing
            else "it is refreshed over the network; --sigstore-offline uses the one "
            "sigstore-python ships",
        ) from exc
    finally:
        tuf_log.setLevel(level)


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


# -- signing -----------------------------------------------------------------------------


def identity_token(config: ClientTrustConfig, *, interactive: bool) -> IdentityToken:
    """$SIGSTORE_ID_TOKEN, else the CI's ambient identity (GitHub Actions with
    `id-token: write`, GitLab, Buildkite, CircleCI, Google Cloud), else a browser sign-in
    when a person is at the terminal. The token is a secret: never printed, never stored."""
    from sigstore.oidc import IdentityError, IdentityToken, Issuer, detect_credential

    try:
        raw = os.environ.get(TOKEN_ENV) or detect_credential()
        if raw:
            return IdentityToken(raw)
        if not interactive:
            raise UsageError(
                "no OIDC identity to sign with",
                hint="in GitHub Actions grant `permissions: id-token: write`; elsewhere "
                f"set {TOKEN_ENV}, or run on a terminal to sign in with a browser",
            )
        return Issuer(config.signing_config.get_oidc_url()).identity_token()
    except IdentityError as exc:
        raise UsageError(f"no usable OIDC identity: {_line(exc)}") from exc


def _statement(payload: bytes) -> Any:
    """The Statement for sigstore-python's signer, as these exact bytes. sigstore-python
    accepts only SHA-2/SHA-3 subject digests (sigstore-python#1899), and repro names the
    tested commit of a clean checkout with in-toto's `gitCommit` digest; such a Statement,
    already checked against schemas/statement.schema.json, is handed over as is."""
    from sigstore import dsse as sdsse
    from sigstore.errors import Error

    try:
        return sdsse.Statement(payload)
    except Error:

        class Verbatim(sdsse.Statement):
            def __init__(self, contents: bytes) -> None:
                self._contents = contents

        return Verbatim(payload)


def sign_payload(payload: bytes, config: ClientTrustConfig, token: IdentityToken) -> bytes:
    """A Sigstore bundle (JSON) of `payload` signed for `token`'s identity."""
    from sigstore.sign import SigningContext

    try:
        context = SigningContext.from_trust_config(config)
        with context.signer(token, cache=True) as signer:
            bundle = signer.sign_dsse(_statement(payload))
    except Exception as exc:  # Fulcio, Rekor and the network fail in many shapes
        raise EnvironmentProblem(
            f"Sigstore signing failed: {_line(exc)}",
            hint="keyless signing needs the network (Fulcio, Rekor) and a fresh identity",
        ) from exc
    return bundle.to_json().encode() + b"\n"


def sign_bundle(bundle: Path, config: ClientTrustConfig, token: IdentityToken) -> KeylessResult:
    """Verify `bundle`, write its Statement, and sign that keylessly into
    `<bundle>.sigstore.json`. A bundle that does not verify is not signed."""
    from repro.attest.sign import verified_or_refuse

    bundle = Path(bundle)
    verified_or_refuse(bundle)
    stmt_path, payload = statement.write(bundle)
    data = sign_payload(payload, config, token)
    out = sigstore_path(bundle)
    write_bytes(out, data)
    signed, _ = _read(out, data, config, policy=None)
    return KeylessResult(bundle, stmt_path, out, signed.identity, signed.issuer, signed.log_index)


# -- verification -------------------------------------------------------------------------


def _der_utf8(value: bytes) -> str:
    """The string in a DER UTF8String (tag 12), as Fulcio's v2 extensions hold it."""
    if len(value) < 2 or value[0] != 12:
        raise KeylessError("certificate issuer extension is not a UTF8String")
    n, at = value[1], 2
    if n & 0x80:
        width = n & 0x7F
        n, at = int.from_bytes(value[2 : 2 + width], "big"), 2 + width
    return value[at : at + n].decode("utf-8", "replace")


def certificate_identity(cert: Certificate) -> tuple[str, str]:
    """(identity, issuer) as Fulcio wrote them into the signing certificate."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise KeylessError("signing certificate names no identity (no SAN)") from exc
    names = [*san.get_values_for_type(x509.RFC822Name)]
    names += san.get_values_for_type(x509.UniformResourceIdentifier)
    issuer = ""
    for oid, decode in ((_ISSUER_V2, _der_utf8), (_ISSUER_V1, bytes.decode)):
        try:
            ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
        except x509.ExtensionNotFound:
            continue
        if isinstance(ext.value, x509.UnrecognizedExtension):
            issuer = decode(ext.value.value)
            break
    return (names[0] if names else "(none)", issuer or "(none)")


def _read(
    path: Path, data: bytes, config: ClientTrustConfig, policy: Policy | None
) -> tuple[Signed, bytes]:
    """Parse (and with a policy, verify) the Sigstore bundle `data` read from `path`: who
    signed it, and the payload the verified signature covers (b"" unverified)."""
    from sigstore.errors import Error
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    try:
        bundle = Bundle.from_json(data)
    except (Error, ValueError) as exc:
        raise KeylessError(f"not a Sigstore bundle: {_line(exc)}") from exc
    payload = b""
    if policy is not None:
        try:
            verifier = Verifier(trusted_root=config.trusted_root)
            kind, payload = verifier.verify_dsse(
                bundle, Identity(identity=policy.identity, issuer=policy.issuer)
            )
        except (Error, ValueError) as exc:
            raise KeylessError(
                f"not signed by {policy.identity} (issuer {policy.issuer}): {_line(exc)}"
            ) from exc
        if kind != dsse.PAYLOAD_TYPE:
            raise KeylessError(f"payloadType is {kind!r:.80}, not {dsse.PAYLOAD_TYPE}")
    identity, issuer = certificate_identity(bundle.signing_certificate)
    entry = json.loads(bundle.to_json())["verificationMaterial"]["tlogEntries"][0]
    return Signed(path, identity, issuer, int(entry["logIndex"])), payload


def verify_file(path: Path, policy: Policy, config: ClientTrustConfig) -> tuple[Signed, bytes]:
    """Verify the Sigstore bundle at `path`: signed by `policy`'s identity under `config`'s
    trusted root. Returns who signed and the signed payload (the Statement's bytes)."""
    try:
        data = path.read_bytes()[:BUNDLE_LIMIT]
    except OSError as exc:
        raise KeylessError(f"cannot read: {exc.strerror or exc}") from exc
    return _read(path, data, config, policy)
