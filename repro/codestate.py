"""The exact code a run tested, carried in the run so a replay can rebuild it.

In git: the commit, and for a dirty checkout a binary patch from that commit to
the working tree as it was (staged, unstaged, and untracked files that are not
ignored), with the git tree hash that commit + patch must give. The tree is
computed with a temporary index, so the user's index is never touched (the
blobs do land in the repository's object store, as `git stash create` would).

Outside git: a manifest of the project's files and their SHA-256 (the format of
`sha256sum`), so that a replay at least detects a different tree.

Both are bounded: a patch or manifest larger than the limit is left out and the
record says so (a replay then says it cannot be exact).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

PATCH = "code/changes.patch"
MANIFEST = "code/files.sha256"
PATCH_LIMIT = 16 << 20  # bytes of patch carried in a bundle
MANIFEST_LIMIT = 50_000  # files listed outside git
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree, SHA-1 repos
# Never part of "the code": environments, caches and repro's own outputs.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "node_modules"}
    | {".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "build", "dist"}
)


def _git(root: Path, *args: str, env: dict[str, str] | None = None) -> bytes | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, timeout=120, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _excludes(root: Path, exclude: Iterable[Path]) -> list[str]:
    """Pathspecs leaving out `exclude` (repro's outputs); one git already ignores is not
    named, since `git add` refuses a pathspec of an ignored path."""
    out = []
    for path in exclude:
        p = path.resolve()
        if p.is_relative_to(root) and p != root:
            rel = p.relative_to(root).as_posix()
            if _git(root, "check-ignore", "-q", rel) is None:
                out.append(f":(exclude){rel}")
    return out


def working_tree(root: Path, commit: str | None, exclude: Iterable[Path] = ()) -> str | None:
    """The git tree of the working state (what `git add -A` would stage), via a
    temporary index so the user's own index is left alone."""
    with tempfile.TemporaryDirectory(prefix="repro-index-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        base = ("read-tree", commit) if commit else ("read-tree", "--empty")
        if _git(root, *base, env=env) is None:
            return None
        if _git(root, "add", "-A", "--", ".", *_excludes(root, exclude), env=env) is None:
            return None
        tree = _git(root, "write-tree", env=env)
    return tree.decode().strip() if tree else None


def capture(project: Path, dest: Path, *, exclude: Iterable[Path] = ()) -> dict[str, Any]:
    """Record the code state of `project`, writing the patch or manifest under `dest`
    (the run folder). Returns the `code` part of env.json."""
    top = _git(project, "rev-parse", "--show-toplevel")
    if top is not None:
        root = Path(top.decode().strip())
        record = _capture_git(root, dest, list(exclude))
        # Where the project sits in the repository, for a replay's checkout.
        subdir = project.resolve().relative_to(root.resolve()).as_posix()
        record["subdir"] = "" if subdir == "." else subdir
        return record
    return _capture_files(project.resolve(), dest, list(exclude))


def _capture_git(root: Path, dest: Path, exclude: list[Path]) -> dict[str, Any]:
    head = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    commit = head.decode().strip() if head else None
    record: dict[str, Any] = {"kind": "git", "commit": commit, "tree": None, "patch": None}
    tree = working_tree(root, commit, exclude)
    if tree is None:
        record["exact"] = False
        record["why_not_exact"] = "git could not compute the working tree"
        return record
    record["tree"] = tree
    base = _git(root, "rev-parse", f"{commit}^{{tree}}") if commit else EMPTY_TREE.encode()
    if base is not None and base.decode().strip() == tree:
        record["exact"] = commit is not None
        if commit is None:
            record["why_not_exact"] = "the repository has no commit"
        return record
    patch = _git(root, "diff", "--binary", "--full-index", commit or EMPTY_TREE, tree)
    if patch is None:
        record["exact"] = False
        record["why_not_exact"] = "git could not write the patch of the uncommitted changes"
    elif len(patch) > PATCH_LIMIT:
        record["exact"] = False
        record["why_not_exact"] = (
            f"the uncommitted changes are {len(patch):,} bytes of patch, more than the "
            f"{PATCH_LIMIT:,} a bundle carries"
        )
        record["patch_omitted_size"] = len(patch)
    else:
        path = dest / PATCH
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(patch)
        record["patch"] = {
            "path": PATCH,
            "size": len(patch),
            "sha256": hashlib.sha256(patch).hexdigest(),
        }
        record["exact"] = commit is not None
        if commit is None:
            record["why_not_exact"] = "the repository has no commit"
    return record


def _files(root: Path, exclude: list[Path]) -> Iterator[Path]:
    skip = {p.resolve() for p in exclude}
    for dirpath, dirs, files in os.walk(root):
        here = Path(dirpath)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and (here / d).resolve() not in skip)
        for name in sorted(files):
            path = here / name
            if path.is_file() and not path.is_symlink() and not name.endswith((".pyc", ".pyo")):
                yield path


def manifest_lines(root: Path, exclude: list[Path]) -> Iterator[str]:
    """`sha256  relative/path` for each file of the project, sorted by path."""
    rels = sorted((p.relative_to(root).as_posix(), p) for p in _files(root, exclude))
    for rel, path in rels:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        yield f"{digest.hexdigest()}  {rel}\n"


def _capture_files(root: Path, dest: Path, exclude: list[Path]) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "files", "exact": False}
    record["why_not_exact"] = "not a git checkout: the files are listed, not carried"
    count = 0
    path = dest / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as out:
        for line in manifest_lines(root, exclude):
            count += 1
            if count > MANIFEST_LIMIT:
                break
            out.write(line)
            digest.update(line.encode("utf-8", "surrogateescape"))
    if count > MANIFEST_LIMIT:
        path.unlink()
        record["manifest"] = None
        record["why_not_exact"] = f"not a git checkout, and more than {MANIFEST_LIMIT:,} files"
        return record
    record["manifest"] = {
        "path": MANIFEST,
        "files": count,
        "sha256": digest.hexdigest(),
    }
    return record
