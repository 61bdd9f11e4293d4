"""`repro keygen`, `repro sign`, `repro bundle --sign` and `repro verify --key` through the real
CLI: each way a signed bundle can be wrong is rejected with one line naming why."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from repro.attest import dsse, envelope_path, keys, statement, statement_path
from repro.cli import main
from tests.attest_support import copy_bundle, ssh_key
from tests.conftest import PASSING, git_init, run_repro

Cli = Callable[..., Result]


@pytest.fixture
def bundle(valid_bundle: Path, tmp_path: Path) -> Path:
    return copy_bundle(valid_bundle, tmp_path / "b")


@pytest.fixture
def key(tmp_path: Path, cli: Cli) -> Path:
    res = cli("keygen", "--out", tmp_path / "alice.key", "--no-passphrase")
    assert res.exit_code == 0, res.stderr
    return tmp_path / "alice.key"


def _problems(res: Result) -> list[str]:
    return [line for line in res.stdout.splitlines() if line.startswith("  - [")]


def test_keygen_bundle_sign_verify_end_to_end(project: Callable[..., Path], tmp_path: Path) -> None:
    """As a user would, in real processes: an encrypted key, a signed bundle, a verified one."""
    no_secret = """
        import os

        def test_the_passphrase_is_not_handed_to_the_suite():
            assert "REPRO_KEY_PASSPHRASE" not in os.environ
    """
    proj = project({**PASSING, "tests/test_secret.py": no_secret})
    git_init(proj)
    env = {"REPRO_KEY_PASSPHRASE": "correct horse"}
    kg = run_repro("keygen", "--out", tmp_path / "k", "--json", env=env)
    assert kg.returncode == 0, kg.stderr
    made = json.loads(kg.stdout)
    assert made["encrypted"] is True
    private = (tmp_path / "k").read_text()
    assert "ENCRYPTED PRIVATE KEY" in private

    b = run_repro(
        "bundle", "--project", proj, "--no-lock", "--sign", tmp_path / "k", "--json", env=env
    )
    assert b.returncode == 0, b.stderr
    out = json.loads(b.stdout)
    assert out["keyid"] == made["keyid"] and Path(out["envelope"]).is_file()
    for line in private.splitlines()[1:-1]:  # the key's body never reaches the terminal
        assert line not in b.stdout + b.stderr + kg.stdout + kg.stderr

    v = run_repro("verify", out["bundle"], "--expect", out["digest"], "--key", tmp_path / "k.pub")
    assert v.returncode == 0, v.stdout
    first, *facts = v.stdout.splitlines()
    assert first.startswith("OK (intact)  tests: passed") and first.endswith(out["bundle"])
    assert out["digest"] in first
    assert facts == [
        "  intact: yes",
        f"  signed: by {tmp_path / 'k.pub'} (ed25519 {made['keyid']})",
        "  attested: yes",
    ]
    doc = json.loads(Path(out["statement"]).read_text())
    assert {"name": "git commit"}.items() <= doc["subject"][2].items()  # a clean checkout
    assert doc["predicate"]["result"] == "PASSED"


def test_a_bundle_signed_by_another_key_is_rejected(
    bundle: Path, key: Path, tmp_path: Path, cli: Cli
) -> None:
    assert cli("sign", bundle, "--key", key).exit_code == 0
    unchecked = cli("verify", bundle)
    assert unchecked.exit_code == 0
    assert unchecked.stdout.splitlines()[1] == (
        f"  warning: {envelope_path(bundle).name} is signed, but no key was given to check it: "
        "pass --key or --allowed-signers"
    )
    cli("keygen", "--out", tmp_path / "mallory.key", "--no-passphrase")
    res = cli("verify", bundle, "--key", tmp_path / "mallory.key.pub")
    assert res.exit_code == 1
    first = res.stdout.splitlines()[0]
    assert first.startswith("FAIL (intact; signature or attestation rejected)  tests: ")
    assert first.endswith(str(bundle))
    (line,) = _problems(res)
    assert line.startswith("  - [signature] ") and "no signature by the given key(s)" in line
    assert "  signed: NO" in res.stdout.splitlines() and "  attested: yes" in res.stdout


def test_a_tampered_envelope_is_rejected(bundle: Path, key: Path, cli: Cli) -> None:
    cli("sign", bundle, "--key", key)
    path = envelope_path(bundle)
    doc = json.loads(path.read_text())
    stmt = json.loads(base64.b64decode(doc["payload"]))
    stmt["predicate"]["result"] = "PASSED"
    stmt["predicate"]["failedTests"] = []
    doc["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    path.write_text(json.dumps(doc))
    res = cli("verify", bundle, "--key", f"{key}.pub")
    assert res.exit_code == 1
    kinds = [re.match(r"  - \[(\w+)\]", line).group(1) for line in _problems(res)]  # type: ignore[union-attr]
    assert kinds[0] == "signature" and "attestation" in kinds


def test_a_signed_predicate_that_contradicts_the_records_is_rejected(
    bundle: Path, key: Path, cli: Cli
) -> None:
    """Signed by the right key, but the Statement claims a pass the records do not show."""
    expected = statement.build(statement.read_facts(bundle))
    expected["predicate"]["result"] = "PASSED"
    signer = keys.load_signer(key, passphrase=lambda: b"")
    envelope_path(bundle).write_bytes(dsse.sign(statement.encode(expected), signer).encode())
    res = cli("verify", bundle, "--key", f"{key}.pub")
    assert res.exit_code == 1
    (line,) = _problems(res)
    assert line == (
        f"  - [attestation] {envelope_path(bundle).name}: "
        "predicate.result says 'PASSED', the records say 'FAILED'"
    )
    assert "  signed: by" in res.stdout and "  attested: NO" in res.stdout


def test_a_missing_signature_fails_only_when_one_is_required(
    bundle: Path, key: Path, cli: Cli
) -> None:
    assert cli("verify", bundle).exit_code == 0
    res = cli("verify", bundle, "--key", f"{key}.pub", "--json")
    assert res.exit_code == 1
    (report,) = json.loads(res.stdout)["bundles"]
    assert report["intact"] is True and report["ok"] is False and report["signed_by"] == []
    assert report["attested"] is True  # the unsigned Statement beside it still agrees
    assert [p["message"] for p in report["problems"]] == [
        f"not signed: no {envelope_path(bundle).name} beside the bundle (a signature was required)"
    ]


def test_an_unsigned_statement_that_lies_fails_verify(bundle: Path, cli: Cli) -> None:
    path = statement_path(bundle)
    doc = json.loads(path.read_text())
    doc["predicate"]["repro"]["counts"]["failed"] = 0
    path.write_text(json.dumps(doc))
    res = cli("verify", bundle)
    assert res.exit_code == 1
    (line,) = _problems(res)
    assert line.startswith(f"  - [attestation] {path.name}: predicate.repro.counts says")


def test_a_bundle_that_does_not_verify_is_not_signed(bundle: Path, key: Path, cli: Cli) -> None:
    data = bytearray(bundle.read_bytes())
    data[100] ^= 1
    bundle.write_bytes(bytes(data))
    res = cli("sign", bundle, "--key", key)
    assert res.exit_code == 2
    assert re.fullmatch(
        r"repro: error: .* does not verify \(\d+ problem\(s\)\); not signing it "
        r"\(see `repro verify .*`\)\n",
        res.stderr,
    )
    assert not envelope_path(bundle).exists()


def test_two_signers_and_an_allowed_signers_file(
    bundle: Path, key: Path, tmp_path: Path, cli: Cli
) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    ssh_priv, ssh_pub = ssh_key(tmp_path, "ed25519")
    assert cli("sign", bundle, "--key", key).exit_code == 0
    res = cli("sign", bundle, "--key", ssh_priv, "--json")
    assert json.loads(res.stdout)["signatures"] == 2
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'bob@example.com namespaces="repro-attestation" {ssh_pub.read_text()}')
    res = cli("verify", bundle, "--allowed-signers", allowed, "--key", f"{key}.pub")
    assert res.exit_code == 0, res.stdout
    (signed,) = [line for line in res.stdout.splitlines() if line.startswith("  signed: ")]
    assert "bob@example.com (ed25519 SHA256:" in signed and f"{key}.pub (ed25519 " in signed


def test_an_encrypted_key_asks_for_its_passphrase(bundle: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["keygen", "--out", str(tmp_path / "k")], input="pw\npw\n")
    assert made.exit_code == 0, made.stderr
    assert "Passphrase for the new key" in made.stderr and "pw" not in made.stderr
    wrong = runner.invoke(main, ["sign", str(bundle), "--key", str(tmp_path / "k")], input="no\n")
    assert wrong.exit_code == 2 and "wrong passphrase" in wrong.stderr
    none = runner.invoke(main, ["sign", str(bundle), "--key", str(tmp_path / "k")], input="")
    assert none.exit_code == 2
    assert none.stderr.splitlines()[-1] == (
        "repro: error: the key is encrypted and no passphrase was given "
        "(type it when asked, or set REPRO_KEY_PASSPHRASE)"
    )
    ok = runner.invoke(main, ["sign", str(bundle), "--key", str(tmp_path / "k")], input="pw\n")
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_keygen_modes_and_a_loose_key_refused(tmp_path: Path, bundle: Path, cli: Cli) -> None:
    res = cli("keygen", "--out", tmp_path / "k", "--no-passphrase", "--format", "ssh")
    assert res.exit_code == 0
    assert oct(os.stat(tmp_path / "k").st_mode & 0o777) == "0o600"
    assert (tmp_path / "k.pub").read_text().startswith("ssh-ed25519 ")
    assert "PRIVATE" not in res.stdout + res.stderr
    again = cli("keygen", "--out", tmp_path / "k", "--no-passphrase")
    assert again.exit_code == 2 and "already exists" in again.stderr
    os.chmod(tmp_path / "k", 0o644)
    loose = cli("sign", bundle, "--key", tmp_path / "k")
    assert loose.exit_code == 2
    assert loose.stderr == (
        f"repro: error: private key {tmp_path / 'k'} is accessible by other users (mode 0644) "
        f"(run `chmod 600 {tmp_path / 'k'}`, or make a new key with `repro keygen`)\n"
    )


@pytest.mark.parametrize(
    "value",
    [
        "{hex12}",  # the file name's 12 hex digits: accepted before issue 15
        "sha256:{hex12}",
        "sha256:{hex63}",
        "{hex}",  # no algorithm
        "sha512:{hex}",
        "SHA256:{hex}",
        "sha256:{hex}0",
        "sha256: {hex}",
    ],
)
def test_expect_is_the_whole_digest_or_a_usage_error(
    valid_bundle: Path, cli: Cli, value: str
) -> None:
    digest = json.loads(cli("verify", valid_bundle, "--json").stdout)["bundles"][0]["digest"][7:]
    arg = value.format(hex=digest, hex12=digest[:12], hex63=digest[:63])
    res = cli("verify", valid_bundle, "--expect", arg)
    assert res.exit_code == 2
    assert "is not sha256:<64 hex digits>" in res.stderr and res.stdout == ""


def test_expect_takes_either_case(valid_bundle: Path, cli: Cli) -> None:
    digest = json.loads(cli("verify", valid_bundle, "--json").stdout)["bundles"][0]["digest"]
    assert cli("verify", valid_bundle, "--expect", "sha256:" + digest[7:].upper()).exit_code == 0
    other = "sha256:" + ("0" * 64 if digest[7] != "0" else "1" * 64)
    assert cli("verify", valid_bundle, "--expect", other).exit_code == 1


def _doc_script() -> str:
    doc = (Path(__file__).parents[2] / "docs" / "attestation.md").read_text()
    blocks = re.findall(r"```sh reviewer\n(.*?)```", doc, re.S)
    assert len(blocks) == 1, "docs/attestation.md has one ```sh reviewer block"
    return blocks[0]


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("bash", "jq", "openssl", "ssh-keygen", "unzip")),
    reason="needs bash, jq, openssl, ssh-keygen and unzip",
)
def test_the_reviewers_recipe_in_the_docs_works_without_repro(
    bundle: Path, key: Path, tmp_path: Path, cli: Cli
) -> None:
    """docs/attestation.md shows how to check a signed bundle with standard tools only; that
    recipe runs here as written, and fails on a tampered Statement."""
    ssh_priv, ssh_pub = ssh_key(tmp_path, "ed25519")
    cli("sign", bundle, "--key", key)
    cli("sign", bundle, "--key", ssh_priv)
    (bundle.parent / "allowed_signers").write_text(
        f'alice@example.com namespaces="repro-attestation" {ssh_pub.read_text()}'
    )
    shutil.copy(f"{key}.pub", bundle.parent / "alice.pub")
    env = {"PATH": os.environ["PATH"], "B": bundle.name}
    run = ["bash", "-euo", "pipefail", "-c", _doc_script()]
    ok = subprocess.run(run, cwd=bundle.parent, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert 'Good "repro-attestation" signature for alice@example.com' in ok.stdout + ok.stderr
    assert "Signature Verified Successfully" in ok.stdout

    path = envelope_path(bundle)
    doc = json.loads(path.read_text())
    doc["payload"] = base64.b64encode(base64.b64decode(doc["payload"]) + b" ").decode()
    path.write_text(json.dumps(doc))
    bad = subprocess.run(run, cwd=bundle.parent, env=env, capture_output=True, text=True)
    assert bad.returncode != 0


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "expected one DSSE envelope, found 0 lines"),
        ("{not json", "not JSON"),
        ('{"payload": "e30=", "payloadType": "text/plain", "signatures": []}', "payloadType is"),
        (
            '{"payload": "@@", "payloadType": "application/vnd.in-toto+json", "signatures": []}',
            "payload is not valid base64",
        ),
        (
            '{"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": [7]}',
            "signature 0 is not an object",
        ),
        ("[1, 2]", "no signatures list"),
        ("{}\n{}", "found 2 lines"),
    ],
)
def test_a_malformed_envelope_is_one_line_not_a_traceback(
    bundle: Path, key: Path, cli: Cli, text: str, why: str
) -> None:
    envelope_path(bundle).write_text(text)
    res = cli("verify", bundle, "--key", f"{key}.pub")
    assert res.exit_code == 1
    (line,) = _problems(res)
    assert line.startswith(f"  - [signature] {envelope_path(bundle).name}: not a valid envelope: ")
    assert why in line


def test_a_signed_envelope_with_an_empty_payload_is_not_an_attestation(
    bundle: Path, key: Path, cli: Cli
) -> None:
    signer = keys.load_signer(key, passphrase=lambda: b"")
    envelope_path(bundle).write_bytes(dsse.sign(b"{}", signer).encode())
    res = cli("verify", bundle, "--key", f"{key}.pub")
    assert res.exit_code == 1 and "  attested: NO" in res.stdout
    assert all("[attestation]" in line for line in _problems(res))
    assert "Statement does not match schema statement" in res.stdout
