"""Defects found by using repro as its README tells a user to, each fixed and held here by
a real CLI run: terminal escapes from test ids and messages in `-q` summary lines, `merge
-o` naming one of its own shards, the keyless-signing hint naming an option `repro sign`
does not have, sigstore-python's stray offline warning, and FIFOs and plain folders where
a bundle is expected."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import git_init, run_repro, write_project

HOSTILE = {
    "tests/test_hostile.py": r"""
        import pytest

        @pytest.mark.parametrize("x", ["\x1b]0;owned\x07\x1b[2J", "a\u202eb"])
        def test_h(x):
            assert 0, x
    """
}


def test_quiet_failure_lines_show_the_tests_text_escaped(tmp_path: Path) -> None:
    """`repro run -q` names each failure on stderr; a test id or message holding a
    terminal escape or a bidi override is shown as `repro show` shows it, not obeyed
    (with --color always, as on a terminal, where click strips nothing)."""
    proj = write_project(tmp_path / "proj", HOSTILE)
    git_init(proj)
    res = run_repro("run", "-q", "--color", "always", cwd=proj)
    assert res.returncode == 1, res.stderr
    failed = [line for line in res.stderr.splitlines() if "FAILED" in line]
    results = next((proj / "outputs" / "runs").iterdir()) / "results" / "results.jsonl"
    ids = {
        ev["id"]
        for ev in map(json.loads, results.read_text().splitlines())
        if ev.get("ev") == "report" and ev.get("outcome") == "failed"
    }
    assert len(failed) == len(ids) == 2
    from repro.cli.style import safe

    for tid in ids:
        assert any(safe(tid) in line for line in failed), (tid, failed)
    text = "\n".join(failed)
    # repro's own colour (CSI ... m) is all that is left of ESC; no OSC, no clear screen.
    assert "\x1b" not in re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\u202e" not in text
    assert "\\x1b]0;owned" in text and "\\u202e" in text


def test_merge_refuses_an_output_that_is_one_of_its_shards(
    valid_bundle: Path, tmp_path: Path
) -> None:
    """`-o` "replaced if it is there" must not replace a shard being merged: the shard
    would be lost and the merge, under the shard's name, would not even verify."""
    shard = tmp_path / valid_bundle.name
    shutil.copy(valid_bundle, shard)
    before = shard.read_bytes()
    res = run_repro("merge", shard, shard, "-o", shard, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"repro: error: -o {shard} is the shard {shard}: merging would replace it "
        "(write the merged bundle elsewhere, e.g. -o merged/)"
    ]
    assert shard.read_bytes() == before
    assert not (tmp_path / f"{shard.name}.sha256").exists()


# Ambient identities sigstore-python would try, cleared so none is found.
AMBIENT = ("SIGSTORE_ID_TOKEN", "GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "GITLAB_CI")


def _offline_env(tmp_path: Path) -> dict[str, str]:
    """No network for sigstore-python's TUF client (a proxy that refuses at once), and a
    cache of its own, so the trusted root cannot come from anywhere but what it ships."""
    pytest.importorskip("sigstore")
    env = {k: v for k, v in os.environ.items() if k not in AMBIENT and "proxy" not in k.lower()}
    dead = "http://127.0.0.1:9"
    env.update(
        HTTPS_PROXY=dead,
        https_proxy=dead,
        HTTP_PROXY=dead,
        http_proxy=dead,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    return env


@pytest.mark.parametrize("command", ["sign", "bundle"])
def test_keyless_signing_without_the_network_names_only_real_options(
    valid_bundle: Path, tmp_path: Path, command: str
) -> None:
    """The trusted-root error of `repro sign/bundle --sigstore` used to suggest
    --sigstore-offline, an option of `repro verify` only (signing needs Fulcio and Rekor
    whatever the root). Every `repro <command> --option` it names must exist, and it
    fails before anything runs."""
    env = _offline_env(tmp_path)
    bundle = tmp_path / valid_bundle.name
    shutil.copy(valid_bundle, bundle)
    proj = write_project(tmp_path / "proj", HOSTILE)
    args = ["sign", bundle, "--sigstore"] if command == "sign" else ["bundle", "--sigstore"]
    res = run_repro(*args, cwd=proj, env=env, timeout=90)
    assert res.returncode == 3, res.stderr
    [line] = res.stderr.splitlines()
    assert line.startswith("repro: error: cannot load Sigstore's trusted root: ")
    named = re.findall(r"repro ([a-z]+) (--[a-z][a-z-]*)", line)
    assert named and "--sigstore-offline" not in line
    for cmd, opt in named:
        assert re.search(rf"^\s+(-\w, )?{opt}\b", run_repro(cmd, "--help").stdout, re.M), opt
    assert not list(proj.glob("outputs/runs/*"))  # refused before the run


def test_verify_sigstore_offline_prints_only_repros_lines(
    valid_bundle: Path, tmp_path: Path
) -> None:
    """--sigstore-offline asks for the shipped root; sigstore-python's warning that it is
    offline used to reach stderr as a bare line of its own."""
    env = _offline_env(tmp_path)
    res = run_repro(
        "verify",
        valid_bundle,
        "--sigstore-identity",
        "alice@example.com",
        "--sigstore-issuer",
        "https://github.com/login/oauth",
        "--sigstore-offline",
        cwd=tmp_path,
        env=env,
        timeout=90,
    )
    assert res.returncode == 1  # intact, but no signature beside it
    assert "not signed" in res.stdout
    assert [ln for ln in res.stderr.splitlines() if not ln.startswith("repro:")] == []


@pytest.mark.parametrize("command", ["show", "report", "diff", "merge", "verify"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_what_cannot_be_a_bundle_is_a_usage_error_in_every_command(
    valid_bundle: Path, tmp_path: Path, command: str, kind: str
) -> None:
    """A FIFO (which would block the first read) or a folder that is not a run folder is
    refused at once, in one line, exit 2, by every command that takes a bundle, as
    `repro verify` always did; show, report and diff used to render it as an empty,
    broken bundle (diff: every package "removed")."""
    if kind == "fifo":
        target = tmp_path / "pipe.zip"
        os.mkfifo(target)
        want = f"repro: error: not a regular file: {target} (pass the bundle's .zip file)"
    else:
        target = tmp_path / "folder"
        target.mkdir()
        (target / "notes.txt").write_text("not a run\n")
        want = (
            f"repro: error: not a bundle or a run folder: {target} "
            "(pass the bundle's .zip file, or a folder under outputs/runs/)"
        )
        if command == "merge":  # click refuses a folder as a shard first
            want = f"repro: error: invalid value for 'SHARDS...': File '{target}' is a directory"
    args = {
        "show": ["show", target],
        "report": ["report", target, "-o", tmp_path / "r.html"],
        "diff": ["diff", valid_bundle, target],
        "merge": ["merge", valid_bundle, target, "-o", tmp_path / "m.zip"],
        "verify": ["verify", target],
    }[command]
    started = time.monotonic()
    res = run_repro(*args, cwd=tmp_path, timeout=30)
    assert time.monotonic() - started < 25
    assert res.returncode == 2, res.stdout
    assert res.stdout == ""
    [line] = res.stderr.splitlines()
    assert line.startswith(want), line
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "m.zip").exists()


def test_show_of_an_unreadable_zip_does_not_call_it_a_run_folder(
    valid_bundle: Path, tmp_path: Path
) -> None:
    cut = tmp_path / valid_bundle.name
    cut.write_bytes(valid_bundle.read_bytes()[:3000])
    res = run_repro("show", cut, cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert lines[0].startswith("FAIL (not intact)")
    digest = next(line for line in lines if line.startswith("digest"))
    assert "run folder" not in digest
    assert any(line.startswith("bundle ") for line in lines)


SECRET = "Zq8sV2mK9pL4xR7tW1nB6cY3hJ5fD0gA"  # 32 characters, as many API keys
COMPARING = {
    "tests/test_cmp.py": """
        import os

        def test_key():
            assert os.environ["MY_API_KEY"] == "expected", os.environ["MY_API_KEY"]
    """
}


@pytest.mark.parametrize("ci", ["", "1"], ids=["local", "ci"])
def test_a_secret_pytest_shows_cut_short_is_masked_too(tmp_path: Path, ci: str) -> None:
    """pytest elides a long value: `'Zq8sV2mK9pL4...B6cY3hJ5fD0gA'` in the assertion's
    explanation (25 of these 32 characters), `AssertionError: Zq8sV2mK9pL4xR7tW1...` in
    the short summary off CI. Masking the whole value alone left those in every log, the
    results stream and the JUnit file. Where pytest showed the secret, in whole or cut
    short, is read from the same run made with --no-mask."""
    env = {"MY_API_KEY": SECRET, "CI": ci, "BUILD_NUMBER": ""}
    runs = {}
    for mode in ("--no-mask", "--mask"):
        proj = write_project(tmp_path / mode.strip("-"), COMPARING)
        git_init(proj)
        args = ["run", "-q"] + (["--no-mask"] if mode == "--no-mask" else [])
        res = run_repro(*args, cwd=proj, env=env)
        assert res.returncode == 1, res.stderr
        runs[mode] = next((proj / "outputs" / "runs").iterdir())
    head = SECRET[:8]
    shown = [ln for ln in (runs["--no-mask"] / "logs/stdout.log").read_text().splitlines()]
    cut = [ln for ln in shown if head in ln and SECRET not in ln]
    assert cut, "pytest showed the secret in whole only: nothing to test"
    fragments = {SECRET[i : i + 8] for i in range(len(SECRET) - 7)}
    masked = runs["--mask"]
    for f in masked.rglob("*"):
        if f.is_file():
            data = f.read_text(errors="replace")
            assert not [x for x in fragments if x in data], f
    meta = json.loads((masked / "run_metadata.json").read_text())
    counts = meta["masking"]["counts"]["logs/stdout.log"]
    assert counts == {"env:MY_API_KEY": sum(head in ln for ln in shown)}


@pytest.mark.parametrize("command", ["show", "report", "verify"])
def test_a_digest_prefix_for_expect_is_a_usage_error_in_every_command(
    valid_bundle: Path, tmp_path: Path, command: str
) -> None:
    """`verify --expect` refused a prefix of the digest (a bundle could be swapped for
    another whose digest merely starts the same); show and report took it as a digest
    that does not match and rendered the bundle as not intact."""
    verified = run_repro("verify", valid_bundle, "--json", cwd=tmp_path)
    digest = json.loads(verified.stdout)["bundles"][0]["digest"]
    prefix = digest[: len("sha256:") + 12]
    extra = ["-o", str(tmp_path / "r.html")] if command == "report" else []
    res = run_repro(command, valid_bundle, "--expect", prefix, *extra, cwd=tmp_path)
    assert res.returncode == 2, res.stdout
    assert res.stderr.splitlines() == [
        f"repro: error: --expect {prefix!r} is not sha256:<64 hex digits> "
        "(pass the whole digest you were given)"
    ]
    whole = "sha256:" + digest.removeprefix("sha256:").upper()  # hex in either case
    ok = run_repro(command, valid_bundle, "--expect", whole, *extra, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_merge_names_a_missing_shard_without_offering_a_run_folder(
    valid_bundle: Path, tmp_path: Path
) -> None:
    """The reader's message ("pass a repro-*.zip or a folder under outputs/runs/") offered
    what merge refuses: a run folder is never a shard."""
    res = run_repro("merge", valid_bundle, tmp_path / "nope.zip", "-o", tmp_path / "m.zip")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"repro: error: no such shard: {tmp_path / 'nope.zip'} (pass each shard's bundle .zip)"
    ]
