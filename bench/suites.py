"""The generated suites and projects the benchmarks run, built from bench/fixtures/."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from bench.harness import clean_env, fixture


def make_suite(root: Path, tests: int, per_file: int) -> Path:
    """`tests` parametrized cases in copies of fixtures/test_gen.py of `per_file` each."""
    (root / "tests").mkdir(parents=True)
    done, index = 0, 0
    while done < tests:
        n = min(per_file, tests - done)
        shutil.copyfile(fixture("test_gen.py"), root / "tests" / f"test_gen_{index:03d}_{n}.py")
        done += n
        index += 1
    return root


def git_commit(path: Path) -> None:
    env = clean_env(
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
    )
    (path / ".gitignore").write_text("outputs/\n__pycache__/\n")
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "bench"],
    ):
        subprocess.run(cmd, cwd=path, env=env, check=True, capture_output=True)


def latest_run(outputs: Path) -> Path:
    return (outputs / "latest").resolve()


def run_metadata(outputs: Path) -> dict[str, object]:
    meta: dict[str, object] = json.loads((latest_run(outputs) / "run_metadata.json").read_text())
    return meta
