"""A scratch checkout of the exact code a run tested: commit + the run's patch.

`git worktree add --detach` at the recorded commit (the user's checkout is
never touched), then `git apply --binary` of the patch the run carried, then the
working tree hash compared with the one recorded: equal means the code is the
code that ran, byte for byte, untracked files included.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from repro import codestate


class CannotReplay(Exception):
    """Why a replay cannot be made (exit 3: "could not replay")."""


@dataclass(frozen=True)
class Checkout:
    path: Path
    repo: Path
    exact: bool  # the tree hash matched the recorded one
    note: str  # what was done, for the report


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def repo_root(path: Path) -> Path:
    proc = _git(path, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise CannotReplay(f"{path} is not a git checkout (pass --repo PATH to a clone)")
    return Path(proc.stdout.strip())


def create(
    repo: Path,
    dest: Path,
    *,
    commit: str | None,
    tree: str | None,
    patch: bytes | None,
    exact: bool,
    why_not_exact: str | None,
) -> Checkout:
    """Check out `commit` into `dest` and apply `patch`; compare with `tree`."""
    if commit is None:
        raise CannotReplay(why_not_exact or "the run recorded no commit")
    root = repo_root(repo)
    if _git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise CannotReplay(
            f"commit {commit[:12]} is not in {root} (fetch it, or pass --repo PATH to a clone "
            "that has it)"
        )
    added = _git(root, "worktree", "add", "--detach", str(dest), commit)
    if added.returncode != 0:
        raise CannotReplay(f"git worktree add failed: {added.stderr.strip()[:300]}")
    notes = [f"commit {commit[:12]}"]
    if patch:
        patch_file = dest.parent / (dest.name + ".patch")
        patch_file.write_bytes(patch)
        applied = _git(dest, "apply", "--binary", "--whitespace=nowarn", str(patch_file))
        patch_file.unlink()
        if applied.returncode != 0:
            remove(root, dest)
            raise CannotReplay(f"the run's patch does not apply: {applied.stderr.strip()[:300]}")
        notes.append(f"+ the run's patch ({len(patch):,} bytes)")
    matched = tree is not None and codestate.working_tree(dest, commit) == tree
    if tree is not None and not matched:
        remove(root, dest)
        raise CannotReplay(
            f"commit {commit[:12]} + the patch does not give the tree the run tested ({tree[:12]})"
        )
    if not exact:
        notes.append(f"not exact: {why_not_exact or 'the run did not carry all of its code'}")
    return Checkout(path=dest, repo=root, exact=matched and exact, note=", ".join(notes))


def remove(repo: Path, dest: Path) -> None:
    """Remove the scratch worktree and git's record of it."""
    _git(repo, "worktree", "remove", "--force", str(dest))
    shutil.rmtree(dest, ignore_errors=True)
    _git(repo, "worktree", "prune")
