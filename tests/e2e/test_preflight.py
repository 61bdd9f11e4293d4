"""`repro bundle` checks what it needs at the end before any test runs, and never loses a run."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from tests.conftest import run_repro

MARKER = {
    "tests/test_marker.py": """
        from pathlib import Path

        def test_runs():
            Path("ran.txt").write_text("yes")
    """
}


def test_unwritable_bundle_folder_stops_before_any_test(project):
    proj = project(MARKER)
    (proj / "outputs").mkdir()
    (proj / "outputs/bundles").write_text("a file where the bundles folder should be")
    res = run_repro("bundle", "--no-lock", cwd=proj)
    assert res.returncode == 3
    # It names the file in the way, not a bare "File exists" that names nothing.
    assert res.stderr.strip().splitlines()[-1] == (
        "repro: error: cannot write the bundle to outputs/bundles: outputs/bundles is a file, "
        "not a folder (move or remove that file, or pass --outputs DIR; no test was run)"
    )
    assert not (proj / "ran.txt").exists()


def test_pack_into_a_bundles_path_that_is_a_file_names_it(project):
    """`repro pack` has no preflight: the write itself says which path is not a folder."""
    proj = project(MARKER)
    assert run_repro("run", "-q", cwd=proj).returncode == 0
    (proj / "outputs/bundles").write_text("a file where the bundles folder should be")
    for out in ([], ["--out", "outputs/bundles/sub"]):
        res = run_repro("pack", "outputs/latest", *out, cwd=proj)
        assert res.returncode == 3, res.stderr
        assert res.stderr.count("\n") == 1 and "File exists" not in res.stderr
        assert res.stderr.startswith("repro: error: cannot write in ")
        assert "bundles is a file, not a folder (move or remove that file" in res.stderr


def test_pytest_that_cannot_be_imported_stops_before_any_test(project, tmp_path):
    proj = project(MARKER)
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pytest.py").write_text("raise ImportError('broken pytest install')\n")
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={shadow} exec {sys.executable} "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    res = run_repro("bundle", "--no-lock", "--python", python, cwd=proj)
    assert res.returncode == 3, res.stderr
    assert "pytest cannot be imported" in res.stderr and "broken pytest install" in res.stderr
    assert not (proj / "ran.txt").exists()


def test_failed_packing_keeps_the_run_and_says_how_to_finish(project):
    proj = project(
        {
            "tests/test_sabotage.py": """
                import shutil
                from pathlib import Path

                def test_takes_the_bundle_folder_away():
                    shutil.rmtree("outputs/bundles")
                    Path("outputs/bundles").write_text("not a folder")
            """
        }
    )
    res = run_repro("bundle", "--no-lock", cwd=proj)
    assert res.returncode == 3, res.stderr
    lines = res.stderr.strip().splitlines()
    pack_line = next(line for line in lines if "repro pack " in line)
    assert "the run is kept in" in res.stderr
    (proj / "outputs/bundles").unlink()
    args = pack_line.split("repro pack ", 1)[1].split()
    done = run_repro("pack", *args, cwd=proj)
    assert done.returncode == 0, done.stderr
    bundle = Path(proj, done.stdout.splitlines()[0])
    assert run_repro("verify", bundle, cwd=proj).returncode == 0
    assert os.path.isdir(proj / "outputs/runs")


def test_a_python_that_fails_silently_is_named_with_its_exit_code(project):
    proj = project(MARKER)
    res = run_repro("bundle", "--no-lock", "--python", "false", cwd=proj)
    assert res.returncode == 3, res.stderr
    (line,) = res.stderr.splitlines()
    assert line.startswith("repro: error: pytest cannot be imported by false: ")
    assert "exited with code 1, saying nothing" in line and ": ?" not in line
    assert not (proj / "ran.txt").exists()
