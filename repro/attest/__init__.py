"""Attestations of a bundle: an in-toto Statement, signed in a DSSE envelope.

Beside `<bundle>.zip` repro writes `<bundle>.zip.intoto.json` (the Statement, always) and,
once signed, `<bundle>.zip.intoto.jsonl` (the DSSE envelope, one JSON object on one line,
as SLSA tools name signed attestations). Neither goes inside the zip: the Statement names
the zip's own sha256 as a subject, which the zip cannot contain. Format: docs/attestation.md.

 - statement.py  the Statement: facts read from a bundle, built, compared with a bundle
 - dsse.py       the envelope: PAE, parsing, signing, checking signatures
 - keys.py       private and public keys (PEM or OpenSSH), keygen, file-mode checks
 - sshsig.py     `ssh-keygen -Y sign` signatures and allowed_signers files
 - sign.py       attest and sign a bundle            check.py   the verifier's three facts
 - keyless.py    Sigstore keyless signing and verification (`<bundle>.zip.sigstore.json`),
                 with the optional `repro-bundle[sigstore]` extra
"""

from __future__ import annotations

from pathlib import Path

STATEMENT_SUFFIX = ".intoto.json"
ENVELOPE_SUFFIX = ".intoto.jsonl"
ENVELOPE_LIMIT = 64 << 20  # bytes of an envelope or Statement file read
# The name `sigstore verify` and cosign look for beside an artifact (here: the zip).
SIGSTORE_SUFFIX = ".sigstore.json"


def statement_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + STATEMENT_SUFFIX)


def envelope_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ENVELOPE_SUFFIX)


def sigstore_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + SIGSTORE_SUFFIX)
