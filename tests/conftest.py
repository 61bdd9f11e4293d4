"""Shared fixtures: small fixture projects written into tmp_path, and ways to run repro."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def valid_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real bundle of a failing suite (made once), for tests that only read it."""
    from repro.bundle import pack
    from repro.runner import RunOptions, run

    root = tmp_path_factory.mktemp("valid")
    proj = write_project(root / "proj", FAILING)
    res = run(RunOptions(project=proj, outputs=root / "outputs"))
    return pack(res.run_dir, out_dir=root / "bundles").path
