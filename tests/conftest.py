"""Shared fixtures: small fixture projects written into tmp_path, and ways to run repro."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from repro.cli import main

PASSING = {
    "tests/test_ok.py": """
        def test_one():
            print("hello from test_one")

        def test_two():
            assert 1 + 1 == 2
    """
}

FAILING = {
    "tests/test_mixed.py": """
        import pytest

        def test_pass():
            pass

        def test_fail():
            assert 1 == 2

        @pytest.mark.skip(reason="not today")
        def test_skip():
            pass

        @pytest.mark.xfail
        def test_xfail():
            assert False
    """
}

CRASHING = {
    "tests/test_crash.py": """
        import os

        def test_first():
            pass

        def test_second():
            pass

        def test_third():
            print("about to die", flush=True)
            os._exit(1)

        def test_fourth():
            pass
    """
}

# Every outcome pytest has, a multi-line and a long message, a setup error, parameters.
EVERY_OUTCOME = {
    "tests/test_every.py": """
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("setup breaks")

        def test_pass():
            pass

        def test_fail():
            assert 1 == 2, "first line\\nsecond line"

        def test_long_message():
            assert False, "x" * 500

        @pytest.mark.skip(reason="not today")
        def test_skip():
            pass

        @pytest.mark.xfail(reason="known")
        def test_xfail():
            assert False

        @pytest.mark.xfail(reason="fixed already")
        def test_xpass():
            pass

        def test_error(broken):
            pass

        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_param(n):
            assert n != 2
    """
}


def write_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from its own empty folder, so this repo's [tool.repro] never applies."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    # Every --json object any test makes is checked against its schema (repro/cli/contract.py).
    monkeypatch.setenv("REPRO_CHECK_JSON", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write a fixture project into tmp_path/proj and return its folder."""

    def make(files: dict[str, str]) -> Path:
        return write_project(tmp_path / "proj", files)

    return make


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run the real click command in-process (stdout and stderr kept apart)."""

    def invoke(*args: str | os.PathLike[str]) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


def run_repro(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run repro as a real subprocess, as a user would from a shell."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "repro", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=timeout,
        check=False,
    )


def git_init(path: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "init"],
    ):
        subprocess.run(cmd, cwd=path, env=env, check=True, capture_output=True)


# The mutation run (docs/testing.md) sets this: the real runs the read-side fixtures make
# are kept there and copied, not made again for each of thousands of mutants.
RUN_CACHE = "REPRO_TEST_RUN_CACHE"
_code_digest: str | None = None


def _repro_code_digest() -> str:
    """Digest of the repro package that this process imports (under mutmut: the mutated
    copy), so a kept run is never reused for other code."""
    global _code_digest
    if _code_digest is None:
        import repro

        h = hashlib.sha256()
        for path in sorted(Path(repro.__file__).parent.rglob("*.py")):
            h.update(path.as_posix().encode() + b"\0" + path.read_bytes())
        _code_digest = h.hexdigest()
    return _code_digest


def real_run(root: Path, files: dict[str, str], *, lock: str | None = None) -> Path:
    """A real `repro run` of the project `files` written into root/proj; its run folder.

    Under REPRO_TEST_RUN_CACHE a run of the same project by the same code, made with no
    mutant active, is copied instead: the run is the input of the tests that use it (they
    test the packer and the verifier, not the runner). Runs made while a mutant is active
    are never kept, so a mutant cannot leak into the runs other mutants are tested on.
    """
    from repro.runner import RunOptions, run

    proj = write_project(root / "proj", files)
    opts = RunOptions(
        project=proj, outputs=root / "outputs", lock_path=proj / lock if lock else None
    )
    cache = os.environ.get(RUN_CACHE)
    if not cache:
        return run(opts).run_dir
    key = hashlib.sha256(
        json.dumps([files, lock, _repro_code_digest()], sort_keys=True).encode()
    ).hexdigest()[:24]
    kept = Path(cache) / key
    if kept.is_dir():
        (src,) = kept.iterdir()
        dest = root / "outputs" / "runs" / src.name
        shutil.copytree(src, dest, symlinks=True)
        return dest
    run_dir = run(opts).run_dir
    if os.environ.get("MUTANT_UNDER_TEST", "") in ("", "stats"):
        Path(cache).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=".new-"))
        shutil.copytree(run_dir, staging / run_dir.name, symlinks=True)
        try:
            os.rename(staging, kept)
        except OSError:  # another process kept the same run first
            shutil.rmtree(staging)
    return run_dir


@pytest.fixture(scope="session")
def valid_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real bundle of a failing suite (made once), for tests that only read it."""
    from repro.bundle import pack

    root = tmp_path_factory.mktemp("valid")
    return pack(real_run(root, FAILING), out_dir=root / "bundles").path
