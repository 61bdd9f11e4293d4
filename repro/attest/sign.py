"""Attest a bundle, and sign the attestation: what `repro sign` and `repro bundle --sign` do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.attest import dsse, envelope_path, statement
from repro.attest.keys import Signer
from repro.errors import UsageError
from repro.fsutil import write_bytes


@dataclass(frozen=True)
class SignResult:
    bundle: Path
    statement: Path
    envelope: Path
    keyid: str
    signatures: int  # in the envelope, this one included


def _prior(path: Path) -> dsse.Envelope | None:
    """The envelope already beside the bundle, if it is one; a damaged one is replaced."""
    try:
        return dsse.parse(path.read_bytes()[: dsse.ENVELOPE_LIMIT])
    except (OSError, dsse.EnvelopeError):
        return None


def verified_or_refuse(bundle: Path) -> None:
    """A bundle that does not verify is not signed: a signature would vouch for damage."""
    from repro.verify import verify

    report = verify(bundle)
    if not report.ok:
        raise UsageError(
            f"{bundle} does not verify ({len(report.problems)} problem(s)); not signing it",
            hint=f"see `repro verify {bundle}`",
        )


def sign_bundle(bundle: Path, signer: Signer) -> SignResult:
    """Verify `bundle`, write its Statement, and sign that into `<bundle>.intoto.jsonl`."""
    bundle = Path(bundle)
    verified_or_refuse(bundle)
    stmt_path, payload = statement.write(bundle)
    env_path = envelope_path(bundle)
    envelope = dsse.sign(payload, signer, prior=_prior(env_path))
    write_bytes(env_path, envelope.encode())
    return SignResult(bundle, stmt_path, env_path, signer.keyid, len(envelope.signatures))
