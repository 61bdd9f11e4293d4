"""The attestation library: the Statement against the bundle's bytes, DSSE and SSHSIG checked
by implementations nobody here wrote (securesystemslib, ssh-keygen), and key handling."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro import records
from repro.attest import dsse, keys, sshsig, statement, statement_path
from repro.errors import UsageError
from tests.attest_support import copy_bundle, pem_key, ssh_key

needs_ssh_keygen = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed"
)


def _no_passphrase() -> bytes:
    raise AssertionError("asked for a passphrase the key does not have")


@pytest.fixture
def bundle(valid_bundle: Path, tmp_path: Path) -> Path:
    return copy_bundle(valid_bundle, tmp_path / "b")


def test_statement_beside_every_bundle_names_its_bytes_and_records(valid_bundle: Path) -> None:
    doc = json.loads(statement_path(valid_bundle).read_bytes())
    assert records.schema_errors(doc, "statement") == []
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    # Subjects, recomputed here with zipfile and hashlib only.
    with zipfile.ZipFile(valid_bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        tagmanifest = zf.read(f"{top}/tagmanifest-sha256.txt")
        env_json = zf.read(f"{top}/data/env.json")
        meta = json.loads(zf.read(f"{top}/data/run_metadata.json"))
        code = {n[len(top) + 1 :]: zf.read(n) for n in zf.namelist() if "/data/code/" in n}
    digests = [s["digest"]["sha256"] for s in doc["subject"]]
    assert digests == [
        hashlib.sha256(valid_bundle.read_bytes()).hexdigest(),
        hashlib.sha256(tagmanifest).hexdigest(),
        *(hashlib.sha256(data).hexdigest() for data in code.values()),
    ]
    assert [s["name"] for s in doc["subject"][2:]] == list(code)
    pred = doc["predicate"]
    assert pred["result"] == "FAILED"  # the FAILING fixture
    assert pred["passedTests"] == ["tests/test_mixed.py::test_pass"]
    assert pred["failedTests"] == ["tests/test_mixed.py::test_fail"]
    assert pred["warnedTests"] == []  # skipped and xfailed tests are in no list
    env_digest = {"sha256": hashlib.sha256(env_json).hexdigest()}
    assert {"name": "data/env.json", "digest": env_digest, "mediaType": "application/json"} in (
        pred["configuration"]
    )
    assert pred["repro"]["counts"] == meta["counts"]
    assert pred["repro"]["status"] == meta["status"] == "failed"


def test_in_toto_attestation_bindings_accept_the_statement(valid_bundle: Path) -> None:
    """The in-toto framework's own protobuf bindings parse and validate it (unknown predicate
    fields, repro's own, are ignored as the framework's parsing rules say)."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    text = statement_path(valid_bundle).read_text()
    stmt = Statement.copy_from_pb(json_format.Parse(text, statement_pb2.Statement()))
    stmt.validate()
    pred = json_format.Parse(
        json.dumps(json.loads(text)["predicate"]),
        test_result_pb2.TestResult(),
        ignore_unknown_fields=True,
    )
    assert pred.result == "FAILED" and list(pred.failed_tests) == ["tests/test_mixed.py::test_fail"]
    for rd in pred.configuration:
        ResourceDescriptor.copy_from_pb(rd).validate()
    assert {rd.name for rd in pred.configuration} >= {"data/env.json"}


def test_lists_past_the_bound_keep_a_count_and_a_digest_of_all(valid_bundle: Path) -> None:
    facts = statement.read_facts(valid_bundle)
    ids = [f"tests/test_many.py::test_{i}" for i in range(statement.MAX_LISTED + 5)]
    many = dataclasses.replace(facts, order=tuple(ids), outcomes=dict.fromkeys(ids, "passed"))
    pred = statement.build(many)["predicate"]
    assert pred["passedTests"] == ids[: statement.MAX_LISTED]
    listed = pred["repro"]["lists"]["passed"]
    assert listed["count"] == len(ids) and listed["listed"] == statement.MAX_LISTED
    assert listed["sha256"] == hashlib.sha256("".join(f"{i}\n" for i in ids).encode()).hexdigest()


@pytest.mark.parametrize(
    ("status", "outcome", "drift", "want"),
    [
        ("passed", "passed", [], "PASSED"),
        ("passed", "xpassed", [], "WARNED"),
        ("passed", "passed", [{"name": "x", "kind": "missing"}], "WARNED"),
        ("crashed", "passed", [], "FAILED"),
        ("no-tests", "passed", [], "FAILED"),
    ],
)
def test_result_from_status_unexpected_passes_and_drift(
    valid_bundle: Path, status: str, outcome: str, drift: list[object], want: str
) -> None:
    facts = statement.read_facts(valid_bundle)
    facts = dataclasses.replace(
        facts,
        stamp={**facts.stamp, "status": status},
        meta={**facts.meta, "drift": drift},
        order=("t::a",),
        outcomes={"t::a": outcome},
    )
    assert statement.build(facts)["predicate"]["result"] == want


def test_the_test_in_flight_when_a_run_died_is_listed_as_failed(valid_bundle: Path) -> None:
    facts = statement.read_facts(valid_bundle)
    died = dataclasses.replace(
        facts,
        stamp={**facts.stamp, "status": "crashed"},
        meta={**facts.meta, "in_flight": "t::second"},
        order=("t::first", "t::second"),
        outcomes={"t::first": "passed"},
    )
    pred = statement.build(died)["predicate"]
    assert (pred["result"], pred["passedTests"], pred["failedTests"]) == (
        "FAILED",
        ["t::first"],
        ["t::second"],
    )
    assert pred["repro"]["in_flight"] == "t::second"


def test_a_statement_for_another_bundle_or_other_results_disagrees(bundle: Path) -> None:
    expected = statement.build(statement.read_facts(bundle))
    assert statement.disagreements(expected, expected) == []
    forged = json.loads(json.dumps(expected))
    forged["predicate"]["result"] = "PASSED"
    forged["predicate"]["failedTests"] = []
    forged["subject"][0]["digest"]["sha256"] = "0" * 64
    found = statement.disagreements(forged, expected)
    assert any(line.startswith("predicate.result says 'PASSED'") for line in found)
    assert any("failedTests" in line for line in found)
    assert any("is not this bundle" in line for line in found)
    assert statement.disagreements({"_type": "x"}, expected)[0].startswith(
        "Statement does not match schema statement"
    )


# --- DSSE, checked by securesystemslib both ways ---------------------------------------------


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_securesystemslib_verifies_repro_envelopes(bundle: Path, tmp_path: Path, kind: str) -> None:
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    priv, pub = pem_key(tmp_path, kind)
    signer = keys.load_signer(priv, passphrase=_no_passphrase)
    _, payload = statement.write(bundle)
    env = dsse.sign(payload, signer)
    theirs = Envelope.from_dict(json.loads(env.encode()))
    public = keys.load_verifier(pub).key
    accepted = theirs.verify([SSlibKey.from_crypto(public, keyid=signer.keyid)], 1)
    assert list(accepted) == [signer.keyid]
    assert json.loads(theirs.payload)["subject"][0]["name"] == bundle.name


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_repro_verifies_securesystemslib_envelopes(bundle: Path, tmp_path: Path, kind: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    priv, pub = pem_key(tmp_path, kind)
    _, payload = statement.write(bundle)
    theirs = Envelope(payload, dsse.PAYLOAD_TYPE, {})
    theirs.sign(CryptoSigner(serialization.load_pem_private_key(priv.read_bytes(), None)))
    env = dsse.parse(json.dumps(theirs.to_dict()).encode())
    verifier = keys.load_verifier(pub)
    assert dsse.signers_of(env, [verifier]) == [verifier]
    (tmp_path / "other").mkdir()
    other = keys.load_verifier(pem_key(tmp_path / "other", kind)[1])
    assert dsse.signers_of(env, [other]) == []


def test_a_changed_payload_breaks_every_signature(bundle: Path, tmp_path: Path) -> None:
    signer = keys.load_signer(pem_key(tmp_path, "ed25519")[0], passphrase=_no_passphrase)
    verifier = keys.load_verifier(tmp_path / "ed25519.pub.pem")
    _, payload = statement.write(bundle)
    env = dsse.sign(payload, signer)
    assert dsse.signers_of(env, [verifier]) == [verifier]
    altered = dataclasses.replace(env, payload=payload.replace(b'"FAILED"', b'"PASSED"'))
    assert altered.payload != payload and dsse.signers_of(altered, [verifier]) == []


# --- SSH signatures, checked by ssh-keygen both ways ------------------------------------------


@needs_ssh_keygen
@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_ssh_keygen_verifies_repro_ssh_signatures(tmp_path: Path, kind: str) -> None:
    priv, pub = ssh_key(tmp_path, kind)
    signer = keys.load_signer(priv, passphrase=_no_passphrase)
    message = dsse.pae(dsse.PAYLOAD_TYPE, b'{"a": 1}')
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "msg.sig").write_text(sshsig.armor(signer.sign(message)))
    (tmp_path / "allowed").write_text(f"alice@example.com {pub.read_text()}")
    run = [
        "ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed"), "-I",
        "alice@example.com", "-s", str(tmp_path / "msg.sig"),
    ]  # fmt: skip
    ok = subprocess.run([*run, "-n", sshsig.NAMESPACE], input=message, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    assert signer.keyid.encode() in ok.stdout  # the same fingerprint ssh-keygen prints
    for other_ns, msg in (("git", message), (sshsig.NAMESPACE, message + b" ")):
        bad = subprocess.run([*run, "-n", other_ns], input=msg, capture_output=True)
        assert bad.returncode != 0


@needs_ssh_keygen
@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_repro_verifies_ssh_keygen_signatures(tmp_path: Path, kind: str) -> None:
    priv, pub = ssh_key(tmp_path, kind)
    msg = tmp_path / "msg"
    msg.write_bytes(dsse.pae(dsse.PAYLOAD_TYPE, b'{"b": 2}'))
    for ns in (sshsig.NAMESPACE, "git"):
        subprocess.run(
            ["ssh-keygen", "-Y", "sign", "-f", str(priv), "-n", ns, str(msg)],
            check=True,
            capture_output=True,
        )
        armored = (tmp_path / "msg.sig").read_text().splitlines()
        blob = base64.b64decode("".join(armored[1:-1]))
        (tmp_path / "msg.sig").unlink()
        verifier = keys.load_verifier(pub)
        assert verifier.verify(blob, msg.read_bytes()) is (ns == sshsig.NAMESPACE)
    assert not verifier.verify(blob, msg.read_bytes() + b"x")


def test_allowed_signers_namespaces_and_unsupported_options(tmp_path: Path) -> None:
    pub_line = keys.keygen(tmp_path / "k", fmt="ssh").public.read_text().strip()
    text = (
        "# reviewers\n"
        f'alice@example.com namespaces="git,repro-attestation" {pub_line}\n'
        f'bob@example.com namespaces="git" {pub_line}\n'
        f"carol@example.com,dave@example.com {pub_line}\n"
    )
    found = sshsig.parse_allowed_signers(tmp_path / "a", text)
    assert [s.principals for s in found] == [
        ("alice@example.com",),
        ("carol@example.com", "dave@example.com"),
    ]
    with pytest.raises(UsageError, match="valid-before is not supported"):
        sshsig.parse_allowed_signers(tmp_path / "a", f'e@x valid-before="20300101" {pub_line}\n')


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_private_key_others_can_read_is_refused(tmp_path: Path) -> None:
    priv, _ = pem_key(tmp_path, "ed25519")
    os.chmod(priv, 0o640)
    with pytest.raises(UsageError) as info:
        keys.load_signer(priv, passphrase=_no_passphrase)
    assert "accessible by other users (mode 0640)" in info.value.diagnostics()
    assert f"chmod 600 {priv}" in info.value.diagnostics()


def test_encrypted_keys_ask_for_their_passphrase(tmp_path: Path) -> None:
    pem, _ = pem_key(tmp_path, "ed25519", password=b"s3cret")
    asked: list[int] = []

    def ask(answer: bytes) -> bytes:
        asked.append(1)
        return answer

    assert keys.load_signer(pem, passphrase=lambda: ask(b"s3cret")).format == "pem"
    with pytest.raises(UsageError, match="wrong passphrase"):
        keys.load_signer(pem, passphrase=lambda: ask(b"nope"))
    if shutil.which("ssh-keygen"):
        ssh, _ = ssh_key(tmp_path, "ed25519", passphrase="s3cret")
        assert keys.load_signer(ssh, passphrase=lambda: ask(b"s3cret")).format == "ssh"
    assert len(asked) >= 2


@pytest.mark.parametrize("fmt", ["pem", "ssh"])
def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path, fmt: keys.Format) -> None:
    pair = keys.keygen(tmp_path / "k", fmt=fmt, passphrase=b"pw" if fmt == "ssh" else None)
    if os.name == "posix":
        assert oct(os.stat(pair.private).st_mode & 0o777) == "0o600"
    signer = keys.load_signer(pair.private, passphrase=lambda: b"pw")
    assert signer.keyid == pair.keyid == keys.load_verifier(pair.public).keyid
    assert "PRIVATE" not in repr(signer) and "PRIVATE" not in pair.public.read_text()
    with pytest.raises(UsageError, match="already exists"):
        keys.keygen(tmp_path / "k", fmt=fmt)


def test_public_and_private_keys_are_not_mixed_up(tmp_path: Path) -> None:
    priv, pub = pem_key(tmp_path, "ed25519")
    with pytest.raises(UsageError, match="is a public key"):
        keys.load_signer(pub, passphrase=_no_passphrase)
    with pytest.raises(UsageError, match="is a private key"):
        keys.load_verifier(priv)


# --- hostile bytes ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_an_envelope_are_an_envelope_error_or_an_envelope(data: bytes) -> None:
    try:
        env = dsse.parse(data)
    except dsse.EnvelopeError:
        return
    assert env.payload_type == dsse.PAYLOAD_TYPE


@pytest.fixture(scope="module")
def every_verifier(tmp_path_factory: pytest.TempPathFactory) -> list[keys.Verifier]:
    """A public key of each kind, read both as PEM (raw signatures) and as ssh (SSHSIG)."""
    where = tmp_path_factory.mktemp("fuzzkeys")
    out = []
    for kind in ("ed25519", "ecdsa", "rsa"):
        pub = keys.load_verifier(pem_key(where, kind)[1])
        out += [pub, dataclasses.replace(pub, format="ssh")]
    return out


@settings(max_examples=200, deadline=None)
@given(sig=st.binary(max_size=300))
def test_any_bytes_as_a_signature_are_false_never_an_exception(
    every_verifier: list[keys.Verifier], sig: bytes
) -> None:
    for v in every_verifier:
        assert v.verify(sig, b"message") is False
        assert v.verify(b"SSHSIG\x00\x00\x00\x01" + sig, b"message") is False
