"""The two facts `repro verify` adds to "intact": signed by whom, and attested.

 1. signed: with keys given (--key, --allowed-signers), `<bundle>.intoto.jsonl` must exist,
    be a DSSE envelope, and carry a signature one of the keys made over its payload; with a
    Sigstore identity given (--sigstore-identity/--sigstore-issuer), `<bundle>.sigstore.json`
    must exist and verify as signed by that identity (keyless.py). Both, when both are given;
 2. attested: each Statement beside the bundle (the envelope's payload, the Sigstore
    bundle's verified payload, the unsigned `<bundle>.intoto.json`) must name this bundle as
    its subject and say what the bundle's records say. Checked only on an intact bundle:
    the records of a damaged one say nothing.
Problems are `repro.verify.Problem`s of kind `signature` or `attestation`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.attest import ENVELOPE_LIMIT, envelope_path, sigstore_path, statement_path
from repro.errors import ReproError
from repro.verify import Problem

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig

    from repro.attest import dsse
    from repro.attest.keyless import Policy
    from repro.attest.keys import Verifier

# dsse (and through it `cryptography`, a tenth of a small verify's time) is imported when
# an envelope is found, the Statement builder when a Statement is: an unsigned bundle
# needs no keys.


@dataclass(frozen=True)
class AttestReport:
    signature_required: bool
    signed_by: tuple[str, ...]  # who made a valid signature, among the keys given
    attested: bool | None  # None: no Statement beside the bundle, or the bundle is not intact
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def _envelope(path: Path, problems: list[Problem]) -> dsse.Envelope | None:
    if not path.is_file():
        return None
    from repro.attest import dsse

    try:
        return dsse.parse(path.read_bytes()[:ENVELOPE_LIMIT])
    except (OSError, dsse.EnvelopeError) as exc:
        problems.append(Problem("signature", path.name, f"not a valid envelope: {exc}"))
        return None


def _signers(
    env: dsse.Envelope | None, path: Path, verifiers: list[Verifier], problems: list[Problem]
) -> tuple[str, ...]:
    if env is None:
        if not any(p.member == path.name for p in problems):
            problems.append(
                Problem(
                    "signature",
                    None,
                    f"not signed: no {path.name} beside the bundle (a signature was required)",
                )
            )
        return ()
    from repro.attest import dsse

    found = dsse.signers_of(env, verifiers)
    if not found:
        keyids = ", ".join(s.keyid or "(none)" for s in env.signatures) or "no signatures"
        problems.append(
            Problem(
                "signature",
                path.name,
                f"no signature by the given key(s) verifies (envelope altered, or signed by "
                f"another key; its keyids: {keyids})",
            )
        )
    return tuple(v.describe() for v in found)


@dataclass(frozen=True)
class Keyless:
    """A Sigstore signature to require: by whom, under which instance's trusted root
    (`keyless.trust_config`, loaded once for all the bundles checked)."""

    policy: Policy
    config: ClientTrustConfig


def _keyless(
    bundle: Path, want: Keyless, problems: list[Problem]
) -> tuple[tuple[str, ...], list[tuple[str, Any]]]:
    """(who signed, [(where, signed Statement)]) of `<bundle>.sigstore.json`."""
    from repro.attest import keyless

    path = sigstore_path(bundle)
    if not path.is_file():
        problems.append(
            Problem(
                "signature",
                None,
                f"not signed: no {path.name} beside the bundle (a Sigstore signature was required)",
            )
        )
        return (), []
    try:
        signed, payload = keyless.verify_file(path, want.policy, want.config)
        doc = json.loads(payload)
    except keyless.KeylessError as exc:
        problems.append(Problem("signature", path.name, str(exc)))
        return (), []
    except (ValueError, RecursionError) as exc:
        problems.append(Problem("attestation", path.name, f"payload is not JSON: {exc}"))
        return (), []
    return (signed.describe(),), [(path.name, doc)]


def _statements(
    env: dsse.Envelope | None, bundle: Path, problems: list[Problem]
) -> list[tuple[str, Any]]:
    """(where, Statement) of each Statement beside the bundle."""
    out: list[tuple[str, Any]] = []
    if env is not None:
        from repro.attest import dsse

        try:
            out.append((envelope_path(bundle).name, dsse.payload_json(env)))
        except dsse.EnvelopeError as exc:
            problems.append(Problem("attestation", envelope_path(bundle).name, str(exc)))
    plain = statement_path(bundle)
    if plain.is_file():
        try:
            out.append((plain.name, json.loads(plain.read_bytes()[:ENVELOPE_LIMIT])))
        except (OSError, ValueError, RecursionError) as exc:
            problems.append(Problem("attestation", plain.name, f"not JSON: {exc}"))
    return out


def _unchecked(
    bundle: Path, env: dsse.Envelope | None, keyed: bool, keyless: bool
) -> tuple[str, ...]:
    # An OK next to a signed envelope must not read as "the signature was checked".
    out = []
    if env is not None and not keyed:
        out.append(
            f"{envelope_path(bundle).name} is signed, but no key was given to check it: "
            "pass --key or --allowed-signers"
        )
    if sigstore_path(bundle).is_file() and not keyless:
        out.append(
            f"{sigstore_path(bundle).name} is signed with Sigstore, but no identity was given "
            "to check it: pass --sigstore-identity and --sigstore-issuer"
        )
    return tuple(out)


def check(
    bundle: Path,
    *,
    intact: bool,
    verifiers: list[Verifier] | None = None,
    keyless: Keyless | None = None,
    zip_sha256: str | None = None,
) -> AttestReport:
    """Check the attestations beside `bundle` (whose verify report said `intact`, and
    hashed it to `zip_sha256` when it was a zip)."""
    bundle = Path(bundle)
    problems: list[Problem] = []
    env_file = envelope_path(bundle)
    env = _envelope(env_file, problems)
    signed_by = _signers(env, env_file, verifiers, problems) if verifiers else ()
    warnings = _unchecked(bundle, env, bool(verifiers), keyless is not None)
    found: list[tuple[str, Any]] = []
    if keyless is not None:
        who, found = _keyless(bundle, keyless, problems)
        signed_by += who
    found += _statements(env, bundle, problems)
    required = bool(verifiers) or keyless is not None
    attested: bool | None = None
    if found and intact:
        from repro.attest import statement

        try:
            expected = statement.build(statement.read_facts(bundle, zip_sha256))
        except ReproError as exc:  # records that verify but say too little to attest
            problems.append(Problem("attestation", None, f"cannot rebuild the Statement: {exc}"))
            return AttestReport(required, signed_by, False, tuple(problems), warnings)
        for where, doc in found:
            problems += [
                Problem("attestation", where, why) for why in statement.disagreements(doc, expected)
            ]
        attested = not any(p.kind == "attestation" for p in problems)
    return AttestReport(required, signed_by, attested, tuple(problems), warnings)
