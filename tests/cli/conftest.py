"""Two real runs of one project, before and after a change, for show and diff."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from repro.bundle import pack
from repro.runner import RunOptions, run
from tests.conftest import git_init, write_project

BEFORE = {
    "tests/test_app.py": """
        import time

        import pytest

        def test_stays():
            pass

        def test_breaks():
            pass

        def test_heals():
            assert 1 == 2, "one is not two"

        def test_goes_away():
            pass

        def test_slows():
            time.sleep(0.02)

        @pytest.mark.parametrize("word", ["a" * 120], ids=["long" * 25])
        def test_long_id(word):
            assert word == "b", "a long message " * 12
    """
}

AFTER = {
    "tests/test_app.py": """
        import time

        import pytest

        def test_stays():
            pass

        def test_breaks():
            raise ValueError("broken now")

        def test_heals():
            pass

        def test_slows():
            time.sleep(0.7)

        def test_arrives():
            pass

        @pytest.mark.parametrize("word", ["a" * 120], ids=["long" * 25])
        def test_long_id(word):
            assert word == "b", "a long message " * 12
    """
}


@dataclass(frozen=True)
class TwoRuns:
    before_dir: Path
    after_dir: Path
    before: Path  # bundles
    after: Path
    commits: tuple[str, str]


def _commit(proj: Path) -> str:
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=proj, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    root = tmp_path_factory.mktemp("two")
    proj = write_project(root / "proj", BEFORE)
    git_init(proj)
    first = _commit(proj)
    a = run(RunOptions(project=proj, outputs=root / "out-a")).run_dir
    write_project(proj, AFTER)
    git_init(proj)  # commits the change (init on an existing repository is harmless)
    second = _commit(proj)
    b = run(RunOptions(project=proj, outputs=root / "out-b")).run_dir
    bundles = root / "bundles"
    return TwoRuns(
        a, b, pack(a, out_dir=bundles).path, pack(b, out_dir=bundles).path, (first, second)
    )
