"""DSSE envelopes (github.com/secure-systems-lab/dsse, protocol v1).

A signature covers PAE(payloadType, payload), never the JSON around it:

    "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload

with LEN the decimal byte count. The envelope is one JSON object,
{"payload": base64, "payloadType": ..., "signatures": [{"keyid": ..., "sig": base64}]}.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from repro.attest import ENVELOPE_LIMIT as ENVELOPE_LIMIT  # re-exported: dsse.ENVELOPE_LIMIT
from repro.attest.keys import Signer, Verifier

PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_SIGNATURES = 16  # checking a signature costs time: a hostile envelope gets no more


class EnvelopeError(ValueError):
    """Bytes that are not a DSSE envelope; the message is one line for the report."""


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(t), t, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": base64.b64encode(self.payload).decode(),
            "payloadType": self.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode()} for s in self.signatures
            ],
        }

    def encode(self) -> bytes:
        """One line, as a `.intoto.jsonl` file holds it."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode() + b"\n"

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)


def sign(payload: bytes, signer: Signer, *, prior: Envelope | None = None) -> Envelope:
    """An envelope of `payload` signed by `signer`. A `prior` envelope of the same payload
    keeps its other signers' signatures (one signature per keyid)."""
    sig = Signature(signer.keyid, signer.sign(pae(PAYLOAD_TYPE, payload)))
    kept: tuple[Signature, ...] = ()
    if prior is not None and prior.payload == payload and prior.payload_type == PAYLOAD_TYPE:
        kept = tuple(s for s in prior.signatures if s.keyid != signer.keyid)
    return Envelope(PAYLOAD_TYPE, payload, (*kept, sig))


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeError(f"{what} is not a base64 string")
    try:
        # DSSE allows either base64 alphabet; securesystemslib writes the standard one.
        return base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"{what} is not valid base64") from exc


def parse(data: bytes) -> Envelope:
    """The one envelope in a `.intoto.jsonl` file (or a plain JSON file)."""
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) != 1:
        raise EnvelopeError(f"expected one DSSE envelope, found {len(lines)} lines")
    try:
        doc = json.loads(lines[0])
    except (ValueError, RecursionError) as exc:
        raise EnvelopeError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("signatures"), list):
        raise EnvelopeError("not a DSSE envelope (no signatures list)")
    if doc.get("payloadType") != PAYLOAD_TYPE:
        raise EnvelopeError(f"payloadType is {doc.get('payloadType')!r:.80}, not {PAYLOAD_TYPE}")
    sigs = []
    for i, s in enumerate(doc["signatures"][:MAX_SIGNATURES]):
        if not isinstance(s, dict):
            raise EnvelopeError(f"signature {i} is not an object")
        keyid = s.get("keyid", "")
        sigs.append(Signature(keyid if isinstance(keyid, str) else "", _b64(s.get("sig"), "sig")))
    return Envelope(PAYLOAD_TYPE, _b64(doc.get("payload"), "payload"), tuple(sigs))


def signers_of(envelope: Envelope, verifiers: list[Verifier]) -> list[Verifier]:
    """The verifiers whose key made one of the envelope's signatures. keyids are hints
    anyone can write, so every signature is tried against every key."""
    data = envelope.pae()
    return [v for v in verifiers if any(v.verify(s.sig, data) for s in envelope.signatures)]


def payload_json(envelope: Envelope) -> Any:
    try:
        return json.loads(envelope.payload)
    except (ValueError, RecursionError) as exc:
        raise EnvelopeError(f"payload is not JSON: {exc}") from exc
