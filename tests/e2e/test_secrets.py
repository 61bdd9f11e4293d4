"""No secret from the environment, an index URL or a git remote ever enters a bundle."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

from repro.redact import environment_record, strip_url_credentials
from tests.conftest import git_init, run_repro

SECRETS = {
    "GITHUB_TOKEN": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz-secret-value",
    "PIP_INDEX_URL": "https://builder:idx-pass-4242@pypi.example.invalid/simple",
    "CI": "true",
}


def test_bundle_holds_no_secret_anywhere(project, tmp_path):
    proj = project(
        {
            "tests/test_env.py": """
            import os

            def test_reads_env():
                assert os.environ["GITHUB_TOKEN"]
        """,
        }
    )
    git_init(proj)
    subprocess.run(
        [
            "git",
            "remote",
            "add",
            "origin",
            "https://someone:git-remote-pw-777@git.example.invalid/org/repo.git",
        ],
        cwd=proj,
        check=True,
    )
    res = run_repro(
        "bundle",
        "--no-lock",
        "--json",
        "--env-allow",
        "GITHUB_TOKEN",
        "--index-url",
        "https://cli:cli-pass-5151@idx.example.invalid/simple",
        "--env-allow",
        "AWS_SECRET_ACCESS_KEY",
        cwd=proj,
        env=SECRETS,
    )
    assert res.returncode == 0, res.stderr
    bundle = Path(proj, json.loads(res.stdout)["bundle"])
    needles = [
        SECRETS["GITHUB_TOKEN"],
        SECRETS["AWS_SECRET_ACCESS_KEY"],
        "idx-pass-4242",
        "git-remote-pw-777",
        "cli-pass-5151",
    ]
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            for needle in needles:
                assert needle.encode() not in data, f"{needle} found in {info.filename}"
        top = zf.namelist()[0].split("/")[0]
        env = json.loads(zf.read(f"{top}/data/env.json"))
    values = env["environment"]["values"]
    assert "GITHUB_TOKEN" in env["environment"]["names"]
    assert "GITHUB_TOKEN" not in values and "AWS_SECRET_ACCESS_KEY" not in values
    assert set(env["environment"]["withheld"]) >= {"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY"}
    assert values["PIP_INDEX_URL"] == "https://pypi.example.invalid/simple"
    assert values["CI"] == "true"
    assert env["git"]["remotes"] == ["origin https://git.example.invalid/org/repo.git"]


def test_redact_masks_log_text_and_records_it(project):
    proj = project(
        {
            "tests/test_talk.py": """
            def test_talks():
                print("customer id CUST-12345 and CUST-99999")
        """,
        }
    )
    res = run_repro("bundle", "--no-lock", "--json", "--redact", r"CUST-\d+", "--", "-s", cwd=proj)
    assert res.returncode == 0, res.stderr
    bundle = Path(proj, json.loads(res.stdout)["bundle"])
    with zipfile.ZipFile(bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        log = zf.read(f"{top}/data/logs/stdout.log")
        meta = json.loads(zf.read(f"{top}/data/run_metadata.json"))
        assert not any(b"CUST-" in zf.read(i) for i in zf.infolist() if "/logs/" in i.filename)
    assert log.count(b"[REDACTED]") == 2
    # two in stdout.log, two in the combined pytest_output.txt
    assert meta["redactions"] == [{"pattern": r"CUST-\d+", "count": 4}]
    assert run_repro("verify", bundle).returncode == 0


def test_url_credentials_are_stripped_in_every_shape():
    assert strip_url_credentials("https://u:p@h/x https://tok@h2/y") == "https://h/x https://h2/y"
    assert (
        strip_url_credentials("git+https://u:p@github.com/o/r.git@v1")
        == "git+https://github.com/o/r.git@v1"
    )
    assert (
        strip_url_credentials("user:token@host.example:org/repo.git") == "host.example:org/repo.git"
    )
    assert strip_url_credentials("no credentials here") == "no credentials here"


def test_credential_shaped_values_are_withheld_even_when_allowed():
    rec = environment_record(
        {"SAFE": "plain", "LOOKS": "AKIA" + "ABCDEFGHIJKLMNOP", "DB_PASSWORD": "x"},
        allow=["SAFE", "LOOKS", "DB_PASSWORD"],
    )
    assert rec["values"] == {"SAFE": "plain"}
    assert rec["withheld"] == ["DB_PASSWORD", "LOOKS"]
