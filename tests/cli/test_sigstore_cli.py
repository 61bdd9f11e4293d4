"""Keyless signing (`repro sign/bundle --sigstore`, `repro verify --sigstore-identity`) through
the real CLI, offline: sigstore-python signs and verifies for real against a local Sigstore
(tests/sigstore_standin.py: a CA issuing Fulcio-shaped certificates with SCTs, a Rekor v1
log with signed checkpoints), never against the network. Real Sigstore material, verified
with the trusted root sigstore-python ships: tests/unit/test_keyless.py."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from repro.attest import keyless, sigstore_path, statement, statement_path
from tests.attest_support import copy_bundle
from tests.cli.test_contract import valid
from tests.conftest import PASSING, git_init, run_repro, write_project
from tests.sigstore_standin import ISSUER, StandIn

Cli = Callable[..., Result]
ALICE = "alice@example.com"
# Ambient-credential detectors sigstore-python tries (GitHub, GitLab, Buildkite, CircleCI,
# Google Cloud): cleared, so only the token a test hands over is ever used.
AMBIENT = [
    "SIGSTORE_ID_TOKEN",
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
]


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StandIn]:
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # sigstore-python caches trust roots under the user's folders: here, under tmp_path.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    s = StandIn()
    yield s
    s.close()


@pytest.fixture
def config(standin: StandIn, tmp_path: Path) -> Path:
    return standin.trust_config(tmp_path / "trust.json")


@pytest.fixture
def bundle(valid_bundle: Path, tmp_path: Path) -> Path:
    return copy_bundle(valid_bundle, tmp_path / "b")


@pytest.fixture
def signed(
    bundle: Path, standin: StandIn, config: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", standin.token(ALICE))
    res = cli("sign", bundle, "--sigstore", "--sigstore-trust-config", config)
    assert res.exit_code == 0, res.output
    return bundle


def _verify(cli: Cli, bundle: Path, config: Path, *extra: object) -> Result:
    return cli(
        "verify",
        bundle,
        "--sigstore-identity",
        ALICE,
        "--sigstore-issuer",
        ISSUER,
        "--sigstore-trust-config",
        config,
        *extra,
    )


def _problems(res: Result) -> list[str]:
    return [line for line in res.stdout.splitlines() if line.startswith("  - [")]


def test_sign_writes_a_sigstore_bundle_of_the_statement(
    bundle: Path, standin: StandIn, config: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", standin.token(ALICE))
    res = cli("sign", bundle, "--sigstore", "--sigstore-trust-config", config, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    valid(out, "sign")
    assert out["sigstore_bundle"] == str(sigstore_path(bundle).resolve())
    assert (out["identity"], out["issuer"], out["log_index"]) == (ALICE, ISSUER, 0)
    doc = json.loads(sigstore_path(bundle).read_text())
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    env = doc["dsseEnvelope"]
    assert env["payloadType"] == "application/vnd.in-toto+json"
    # The signed payload is the Statement beside the bundle, byte for byte, and it is the
    # Statement repro rebuilds from the bundle.
    assert base64.b64decode(env["payload"]) == statement_path(bundle).read_bytes()
    assert json.loads(base64.b64decode(env["payload"])) == statement.build(
        statement.read_facts(bundle)
    )
    assert standin.token(ALICE) not in res.stdout + res.stderr


def test_verify_reports_the_three_facts(signed: Path, config: Path, cli: Cli) -> None:
    res = _verify(cli, signed, config)
    assert res.exit_code == 0, res.stdout
    assert res.stdout.splitlines()[1:] == [
        "  intact: yes",
        f"  signed: by {ALICE} (issuer {ISSUER}; Sigstore, Rekor log index 0)",
        "  attested: yes",
    ]
    obj = json.loads(_verify(cli, signed, config, "--json").stdout)
    valid(obj, "verify")
    (b,) = obj["bundles"]
    assert (b["ok"], b["signature_required"], b["attested"]) == (True, True, True)
    assert b["signed_by"] == [f"{ALICE} (issuer {ISSUER}; Sigstore, Rekor log index 0)"]


@pytest.mark.parametrize(
    ("identity", "issuer", "why"),
    [
        ("bob@example.com", ISSUER, "Certificate's SANs do not match bob@example.com"),
        (ALICE, "https://accounts.google.com", "Certificate's OIDCIssuer does not match"),
    ],
)
def test_another_identity_or_issuer_is_rejected(
    signed: Path, config: Path, cli: Cli, identity: str, issuer: str, why: str
) -> None:
    res = cli(
        "verify", signed, "--sigstore-identity", identity, "--sigstore-issuer", issuer,
        "--sigstore-trust-config", config,
    )  # fmt: skip
    assert res.exit_code == 1
    (line,) = _problems(res)
    assert line.startswith(
        f"  - [signature] {signed.name}.sigstore.json: not signed by {identity} "
        f"(issuer {issuer}): {why}"
    )
    assert "  signed: NO" in res.stdout


def test_another_sigstore_instance_is_not_trusted(signed: Path, cli: Cli) -> None:
    """The stand-in's signature checked against Sigstore's public trusted root (the one
    sigstore-python ships, offline): its CA is not Fulcio, so it is rejected."""
    res = cli(
        "verify", signed, "--sigstore-identity", ALICE, "--sigstore-issuer", ISSUER,
        "--sigstore-offline",
    )  # fmt: skip
    assert res.exit_code == 1
    (line,) = _problems(res)
    assert f"[signature] {signed.name}.sigstore.json: not signed by {ALICE}" in line
    assert "certificate chain" in line


def test_a_tampered_zip_is_not_intact_though_its_signature_verifies(
    signed: Path, config: Path, cli: Cli
) -> None:
    data = bytearray(signed.read_bytes())
    data[len(data) // 2] ^= 1
    signed.write_bytes(bytes(data))
    res = _verify(cli, signed, config)
    assert res.exit_code == 1
    assert res.stdout.startswith("FAIL (not intact)")
    assert f"  signed: by {ALICE} (issuer {ISSUER}; Sigstore, Rekor log index 0)" in res.stdout
    assert "  intact: NO" in res.stdout
    assert "  attested: no Statement checked" in res.stdout


def test_a_signed_statement_contradicting_the_records_is_rejected(
    bundle: Path, standin: StandIn, config: Path, cli: Cli
) -> None:
    from sigstore.oidc import IdentityToken

    doc = statement.build(statement.read_facts(bundle))
    assert doc["predicate"]["result"] == "FAILED"
    doc["predicate"]["result"] = "PASSED"
    trust = keyless.trust_config(keyless.Instance(config))
    data = keyless.sign_payload(statement.encode(doc), trust, IdentityToken(standin.token(ALICE)))
    sigstore_path(bundle).write_bytes(data)
    res = _verify(cli, bundle, config)
    assert res.exit_code == 1
    assert res.stdout.startswith("FAIL (intact; signature or attestation rejected)")
    assert _problems(res) == [
        f"  - [attestation] {bundle.name}.sigstore.json: predicate.result says 'PASSED', "
        "the records say 'FAILED'"
    ]
    assert "  attested: NO" in res.stdout


def test_a_missing_signature_fails_when_one_is_required(
    bundle: Path, config: Path, cli: Cli
) -> None:
    res = _verify(cli, bundle, config)
    assert res.exit_code == 1
    assert _problems(res) == [
        f"  - [signature] not signed: no {bundle.name}.sigstore.json beside the bundle "
        "(a Sigstore signature was required)"
    ]


def test_an_unchecked_sigstore_signature_is_said_so(signed: Path, cli: Cli) -> None:
    res = cli("verify", signed)
    assert res.exit_code == 0
    assert (
        f"  warning: {signed.name}.sigstore.json is signed with Sigstore, but no identity "
        "was given to check it: pass --sigstore-identity and --sigstore-issuer"
    ) in res.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--sigstore-identity", ALICE],
        ["--sigstore-issuer", ISSUER],
        ["--sigstore-offline"],
    ],
)
def test_identity_and_issuer_go_together(bundle: Path, cli: Cli, args: list[str]) -> None:
    res = cli("verify", bundle, *args)
    assert res.exit_code == 2
    assert res.stderr.startswith("repro: error: --sigstore-")


def test_no_identity_outside_a_terminal_is_a_clear_error(
    bundle: Path, config: Path, cli: Cli
) -> None:
    res = cli("sign", bundle, "--sigstore", "--sigstore-trust-config", config)
    assert res.exit_code == 2
    assert res.stderr == (
        "repro: error: no OIDC identity to sign with (in GitHub Actions grant `permissions: "
        "id-token: write`; elsewhere set SIGSTORE_ID_TOKEN, or run on a terminal to sign in "
        "with a browser)\n"
    )
    assert not sigstore_path(bundle).exists()


def test_an_expired_identity_token_is_a_clear_error(
    bundle: Path, standin: StandIn, config: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", standin.token(ALICE, lifetime=-60))
    res = cli("sign", bundle, "--sigstore", "--sigstore-trust-config", config)
    assert res.exit_code == 2
    assert res.stderr.startswith("repro: error: no usable OIDC identity: ")


@pytest.mark.parametrize(
    "args",
    [
        ["sign", "B.zip", "--sigstore"],
        ["bundle", "--sigstore"],
        ["verify", "B.zip", "--sigstore-identity", ALICE, "--sigstore-issuer", ISSUER],
    ],
)
def test_without_the_extra_the_flags_say_how_to_install_it(
    bundle: Path, tmp_path: Path, args: list[str]
) -> None:
    """sigstore made unimportable (as when the extra is not installed) in a real process."""
    args = [str(bundle) if a == "B.zip" else a for a in args]
    if args[0] == "bundle":
        args += ["--project", str(tmp_path), "--no-lock"]
    code = "import sys; sys.modules['sigstore'] = None; from repro.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "repro: error: keyless signing needs the sigstore extra, which is not installed "
        "(pip install 'repro-bundle[sigstore]')\n"
    )


def test_bundle_sigstore_end_to_end_in_real_processes(
    project: Callable[..., Path], standin: StandIn, config: Path, tmp_path: Path
) -> None:
    """`repro bundle --sigstore` of a clean git checkout: its Statement names the tested commit
    with a gitCommit digest, which sigstore-python's Statement model refuses; repro signs
    the same bytes all the same, and `repro verify` accepts them."""
    proj = project(PASSING)
    git_init(proj)
    env = {"SIGSTORE_ID_TOKEN": standin.token(ALICE)}
    b = run_repro(
        "bundle", "--project", proj, "--no-lock", "--sigstore", "--sigstore-trust-config",
        config, "--json", env=env,
    )  # fmt: skip
    assert b.returncode == 0, b.stderr
    out = json.loads(b.stdout)
    valid(out, "bundle")
    assert (out["identity"], out["issuer"]) == (ALICE, ISSUER)
    doc = json.loads(Path(out["statement"]).read_text())
    assert "gitCommit" in doc["subject"][2]["digest"]
    payload = json.loads(Path(out["sigstore_bundle"]).read_text())["dsseEnvelope"]["payload"]
    assert base64.b64decode(payload) == Path(out["statement"]).read_bytes()

    v = run_repro(
        "verify", out["bundle"], "--expect", out["digest"], "--sigstore-identity", ALICE,
        "--sigstore-issuer", ISSUER, "--sigstore-trust-config", config,
    )  # fmt: skip
    assert v.returncode == 0, v.stdout
    assert v.stdout.splitlines()[1:] == [
        "  intact: yes",
        f"  signed: by {ALICE} (issuer {ISSUER}; Sigstore, Rekor log index 0)",
        "  attested: yes",
    ]


GITHUB = "https://github.com/login/oauth"  # the issuer the docs' recipes name


def _doc_block(label: str) -> str:
    doc = (Path(__file__).parents[2] / "docs" / "attestation.md").read_text()
    blocks = re.findall(rf"```sh {label}\n(.*?)```", doc, re.S)
    assert len(blocks) == 1, f"docs/attestation.md has one ```sh {label} block"
    return blocks[0]


def _run_recipe(label: str, bundle: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """A docs recipe run as written, in bash, pointed at the stand-in instead of Sigstore's
    public instance: `sigstore` gets --trust-config, the library the same trust config."""
    script = _doc_block(label).replace(
        "ClientTrustConfig.production()",
        'ClientTrustConfig.from_json(open(__import__("os").environ["TRUST"]).read())',
    )
    prelude = 'sigstore() { command sigstore --trust-config "$TRUST" "$@"; }\n'
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "B": bundle.name,
        "TRUST": str(config),
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", prelude + script],
        cwd=bundle.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _git_bundle(root: Path) -> Path:
    """A bundle of a clean git checkout: its Statement has a gitCommit subject."""
    from repro.bundle import pack
    from repro.runner import RunOptions, run

    proj = write_project(root / "proj", PASSING)
    git_init(proj)
    res = run(RunOptions(project=proj, outputs=root / "outputs"))
    return pack(res.run_dir, out_dir=root / "bundles").path


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("bash", "jq", "base64")), reason="needs bash and jq"
)
def test_the_reviewers_sigstore_recipes_in_the_docs_work_without_repro(
    bundle: Path,
    standin: StandIn,
    config: Path,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", standin.token(ALICE, issuer=GITHUB))
    assert cli("sign", bundle, "--sigstore", "--sigstore-trust-config", config).exit_code == 0
    for label in ("sigstore-reviewer", "sigstore-reviewer-python"):
        ok = _run_recipe(label, bundle, config)
        assert ok.returncode == 0, (label, ok.stdout, ok.stderr)
        assert "result: FAILED" in ok.stdout  # valid_bundle is of a failing suite
    assert f"OK: {bundle.name}" in _run_recipe("sigstore-reviewer", bundle, config).stderr

    data = bytearray(bundle.read_bytes())  # a zip the signed Statement does not name
    data[len(data) // 2] ^= 1
    bundle.write_bytes(bytes(data))
    for label in ("sigstore-reviewer", "sigstore-reviewer-python"):
        assert _run_recipe(label, bundle, config).returncode != 0, label

    # A clean checkout's Statement: sigstore's CLI refuses its gitCommit subject (as the docs
    # say, sigstore-python#1899), the library recipe checks it.
    git = _git_bundle(tmp_path / "git")
    assert cli("sign", git, "--sigstore", "--sigstore-trust-config", config).exit_code == 0
    refused = _run_recipe("sigstore-reviewer", git, config)
    assert refused.returncode != 0 and "gitCommit" in refused.stdout + refused.stderr
    ok = _run_recipe("sigstore-reviewer-python", git, config)
    assert ok.returncode == 0 and "result: PASSED" in ok.stdout, ok.stderr


def test_a_key_and_sigstore_sign_together_and_both_are_required(
    bundle: Path, standin: StandIn, config: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    key = tmp_path / "alice.key"
    assert cli("keygen", "--out", key, "--no-passphrase").exit_code == 0
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", standin.token(ALICE))
    res = cli("sign", bundle, "--key", key, "--sigstore", "--sigstore-trust-config", config,
              "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    valid(out, "sign")
    assert out["signatures"] == 1 and out["identity"] == ALICE
    both = _verify(cli, bundle, config, "--key", f"{key}.pub", "--json")
    (b,) = json.loads(both.stdout)["bundles"]
    assert b["ok"] and len(b["signed_by"]) == 2
    sigstore_path(bundle).unlink()
    res = _verify(cli, bundle, config, "--key", f"{key}.pub")
    assert res.exit_code == 1
    assert "  - [signature] not signed: no " in res.stdout


def test_bundle_keeps_its_bundle_when_keyless_signing_fails(
    project: Callable[..., Path], standin: StandIn, config: Path, tmp_path: Path
) -> None:
    """Sigstore unreachable after the run (here: the stand-in stopped): exit 3 with one
    line, and the bundle is kept with the command that signs it later."""
    proj = project(PASSING)
    standin.close()
    b = run_repro(
        "bundle", "--project", proj, "--no-lock", "--sigstore", "--sigstore-trust-config",
        config, env={"SIGSTORE_ID_TOKEN": standin.token(ALICE)},
    )  # fmt: skip
    assert b.returncode == 3, b.stderr
    (kept,) = (proj / "outputs" / "bundles").glob("repro-*.zip")
    assert "repro: the bundle is kept: " in b.stderr
    assert f"repro sign {kept}" in b.stderr or f"repro sign outputs/bundles/{kept.name}" in b.stderr
    assert b.stderr.splitlines()[-1].startswith("repro: error: Sigstore signing failed: ")
    assert not sigstore_path(kept).exists()
