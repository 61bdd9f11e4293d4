"""repro's keyless verifier on real Sigstore material: a DSSE attestation signed on Sigstore's
public instance (tests/data/sigstore/README.md), verified offline against the trusted root
sigstore-python ships. Signing needs Fulcio and Rekor, so it is tested against a local
stand-in instead (tests/cli/test_sigstore_cli.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from repro.attest import keyless, sigstore_path
from tests.attest_support import copy_bundle

ASSET = (
    Path(__file__).parents[1] / "data/sigstore/pypi_attestations-0.0.19.tar.gz.publish.attestation"
)
IDENTITY = "jku@goto.fi"
ISSUER = "https://github.com/login/oauth"
SUBJECT = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3"


def sigstore_bundle(attestation: dict[str, Any]) -> dict[str, Any]:
    """The Sigstore bundle a PEP 740 attestation stands for (pypi-attestations'
    `pypi_to_sigstore`): the same certificate, log entry, timestamp, Statement, signature."""
    vm = attestation["verification_material"]
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": vm["certificate"]},
            "tlogEntries": vm["transparency_entries"],
            "timestampVerificationData": {
                "rfc3161Timestamps": [{"signedTimestamp": t} for t in vm["timestamps"]]
            },
        },
        "dsseEnvelope": {
            "payload": attestation["envelope"]["statement"],
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": attestation["envelope"]["signature"]}],
        },
    }


@pytest.fixture
def public(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Sigstore's public trusted root, as sigstore-python ships it: no TUF refresh."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return keyless.trust_config(keyless.Instance(offline=True))


@pytest.fixture
def real(tmp_path: Path) -> Path:
    path = tmp_path / "real.sigstore.json"
    path.write_text(json.dumps(sigstore_bundle(json.loads(ASSET.read_text()))))
    return path


def test_a_real_sigstore_attestation_verifies_offline(real: Path, public: Any) -> None:
    signed, payload = keyless.verify_file(real, keyless.Policy(IDENTITY, ISSUER), public)
    assert (signed.identity, signed.issuer, signed.log_index) == (IDENTITY, ISSUER, 598461431)
    doc = json.loads(payload)
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["subject"] == [
        {"name": "pypi_attestations-0.0.19.tar.gz", "digest": {"sha256": SUBJECT}}
    ]


@pytest.mark.parametrize(
    ("identity", "issuer", "why"),
    [
        ("jku@example.com", ISSUER, "Certificate's SANs do not match jku@example.com"),
        (
            IDENTITY,
            "https://token.actions.githubusercontent.com",
            "Certificate's OIDCIssuer does not match (got 'https://github.com/login/oauth'",
        ),
    ],
)
def test_another_identity_or_issuer_is_rejected(
    real: Path, public: Any, identity: str, issuer: str, why: str
) -> None:
    with pytest.raises(keyless.KeylessError) as err:
        keyless.verify_file(real, keyless.Policy(identity, issuer), public)
    assert str(err.value).startswith(f"not signed by {identity} (issuer {issuer}): {why}")


def _altered(real: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    doc = json.loads(real.read_text())
    change(doc)
    real.write_text(json.dumps(doc))
    return real


def _other_statement(doc: dict[str, Any]) -> None:
    env = doc["dsseEnvelope"]
    stmt = json.loads(base64.b64decode(env["payload"]))
    stmt["subject"][0]["digest"]["sha256"] = "0" * 64
    env["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()


def _later_log_entry(doc: dict[str, Any]) -> None:
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_other_statement, "DSSE: invalid signature"),
        (_later_log_entry, "invalid log entry: SET: invalid inclusion promise"),
    ],
)
def test_altered_material_is_rejected(
    real: Path, public: Any, change: Callable[[dict[str, Any]], None], why: str
) -> None:
    with pytest.raises(keyless.KeylessError) as err:
        keyless.verify_file(_altered(real, change), keyless.Policy(IDENTITY, ISSUER), public)
    assert why in str(err.value)


def test_not_a_sigstore_bundle(tmp_path: Path, public: Any) -> None:
    path = tmp_path / "x.sigstore.json"
    path.write_text('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}')
    with pytest.raises(keyless.KeylessError, match=r"^not a Sigstore bundle: "):
        keyless.verify_file(path, keyless.Policy(IDENTITY, ISSUER), public)


def test_repro_verify_says_who_signed_and_that_it_is_not_this_bundle(
    valid_bundle: Path, real: Path, tmp_path: Path, cli: Callable[..., Result], public: Any
) -> None:
    """The real signature beside a repro bundle: signed by its identity, but its Statement
    is about another artifact, so the bundle is not attested."""
    bundle = copy_bundle(valid_bundle, tmp_path / "b")
    sigstore_path(bundle).write_bytes(real.read_bytes())
    res = cli(
        "verify", bundle, "--sigstore-identity", IDENTITY, "--sigstore-issuer", ISSUER,
        "--sigstore-offline",
    )  # fmt: skip
    assert res.exit_code == 1
    assert (
        f"  signed: by {IDENTITY} (issuer {ISSUER}; Sigstore, Rekor log index 598461431)"
        in res.stdout
    )
    assert "  attested: NO" in res.stdout
    problems = [line for line in res.stdout.splitlines() if line.startswith("  - [")]
    assert f"  - [attestation] {bundle.name}.sigstore.json: " in problems[0]
