"""The run carries the code it tested: commit + patch + tree in git, a manifest outside."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from repro import codestate
from tests.conftest import git_init, write_project


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(root: Path) -> Path:
    write_project(
        root,
        {
            "src/mod.py": "VALUE = 1\n",
            "tests/test_mod.py": "def test_value():\n    assert True\n",
            ".gitignore": "ignored.txt\noutputs/\n",
        },
    )
    git_init(root)
    return root


def test_a_clean_checkout_is_its_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    record = codestate.capture(repo, run)
    assert record["kind"] == "git" and record["exact"] is True
    assert record["commit"] == git(repo, "rev-parse", "HEAD")
    assert record["tree"] == git(repo, "rev-parse", "HEAD^{tree}")
    assert record["patch"] is None and not (run / codestate.PATCH).exists()


def test_commit_plus_patch_rebuilds_the_dirty_tree_exactly(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "src/mod.py").write_text("VALUE = 2\n")  # unstaged
    (repo / "tests/test_new.py").write_text("def test_new():\n    pass\n")  # untracked
    git(repo, "add", "tests/test_new.py")
    (repo / "data.bin").write_bytes(bytes(range(256)) * 4)  # untracked, binary
    (repo / "ignored.txt").write_text("not code\n")  # ignored: not part of the tree
    (repo / "outputs").mkdir()
    (repo / "outputs/run.log").write_text("repro's own output\n")
    index_before = (repo / ".git/index").read_bytes()
    run = tmp_path / "run"

    record = codestate.capture(repo, run, exclude=[repo / "outputs"])

    assert record["exact"] is True and record["patch"] is not None
    patch = (run / codestate.PATCH).read_bytes()
    assert record["patch"]["sha256"] == hashlib.sha256(patch).hexdigest()
    assert b"ignored.txt" not in patch and b"repro's own output" not in patch
    assert (repo / ".git/index").read_bytes() == index_before  # the user's index untouched

    # What a replay does: a worktree at the commit, the patch applied, the tree compared.
    scratch = tmp_path / "scratch"
    git(repo, "worktree", "add", "--detach", str(scratch), record["commit"])
    subprocess.run(
        ["git", "apply", "--binary", str(run / codestate.PATCH)], cwd=scratch, check=True
    )
    assert codestate.working_tree(scratch, record["commit"]) == record["tree"]
    assert (scratch / "data.bin").read_bytes() == (repo / "data.bin").read_bytes()
    assert (scratch / "src/mod.py").read_text() == "VALUE = 2\n"

    # A different working state is a different tree: a replay would see it.
    (scratch / "src/mod.py").write_text("VALUE = 3\n")
    assert codestate.working_tree(scratch, record["commit"]) != record["tree"]


def test_a_patch_over_the_limit_is_recorded_as_not_carried(tmp_path: Path, monkeypatch) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "big.txt").write_text("x" * 5000 + "\n")
    monkeypatch.setattr(codestate, "PATCH_LIMIT", 1000)
    record = codestate.capture(repo, tmp_path / "run")
    assert record["exact"] is False and record["patch"] is None
    assert record["patch_omitted_size"] > 1000
    assert "more than the 1,000" in record["why_not_exact"]


def test_outside_git_the_files_are_listed_with_their_hashes(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "project",
        {"a.py": "A = 1\n", "pkg/b.py": "B = 2\n", ".venv/lib/x.py": "", "outputs/r.log": ""},
    )
    (project / "pkg/__pycache__").mkdir()
    (project / "pkg/__pycache__/b.cpython-311.pyc").write_bytes(b"\0")
    run = tmp_path / "run"
    record = codestate.capture(project, run, exclude=[project / "outputs"])
    assert record["kind"] == "files" and record["exact"] is False
    lines = (run / codestate.MANIFEST).read_text().splitlines()
    sha = {
        rel: hashlib.sha256((project / rel).read_bytes()).hexdigest()
        for rel in ("a.py", "pkg/b.py")
    }
    assert lines == [f"{sha['a.py']}  a.py", f"{sha['pkg/b.py']}  pkg/b.py"]
    assert record["manifest"]["files"] == 2
    manifest = (run / codestate.MANIFEST).read_bytes()
    assert record["manifest"]["sha256"] == hashlib.sha256(manifest).hexdigest()
