"""A fresh virtual environment holding exactly what the run's lock says.

With hashes (a pip-compile lock) every distribution's bytes are checked
(`--require-hashes`): uv when it is installed (`uv pip sync`), else pip. A
snapshot lock (no hashes) is installed by version only, and the replay says it
cannot be exact. Lines naming a local path (`-e`, `name @ file:`) cannot be
rebuilt elsewhere and are left out, with a note. The project itself is then
installed from the scratch checkout without its dependencies.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from repro.replay.checkout import CannotReplay

_LOCAL = re.compile(r"^\s*(-e\s|--editable\s|\S+\s*@\s*file:)", re.IGNORECASE)
_MISSING = re.compile(
    r"(?:No matching distribution found for|Because (?:only )?)\s*([A-Za-z0-9_.\-\[\]]+)"
)


@dataclass(frozen=True)
class Sources:
    """Where distributions may come from: an index, and/or local folders of wheels."""

    find_links: tuple[str, ...] = ()
    no_index: bool = False
    index_url: str | None = None

    def pip_args(self) -> list[str]:
        args = [f"--find-links={f}" for f in self.find_links]
        if self.no_index:
            args.append("--no-index")
        elif self.index_url:
            args.append(f"--index-url={self.index_url}")
        return args


@dataclass(frozen=True)
class Installed:
    python: str  # the venv's interpreter
    hashed: bool  # every distribution's bytes were checked against the lock
    tool: str  # "uv" or "pip"
    notes: tuple[str, ...] = field(default=())


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _run(argv: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=cwd, capture_output=True, text=True, timeout=1800, check=False
    )


def _failure(what: str, proc: subprocess.CompletedProcess[str]) -> CannotReplay:
    text = (proc.stderr or "") + (proc.stdout or "")
    missing = _MISSING.search(text)
    if missing:
        return CannotReplay(
            f"{what}: could not get {missing[1]} (no index reachable or it is not there; "
            "pass --find-links DIR with its wheel)"
        )
    last = [line for line in text.strip().splitlines() if line.strip()][-3:]
    return CannotReplay(f"{what}: " + " | ".join(last)[:500])


def portable_lock(text: str) -> tuple[str, list[str]]:
    """The lock without lines that name a path on the machine that made it."""
    kept, dropped = [], []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        block = [line]
        while block[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            block.append(lines[i])
        if _LOCAL.match(line):
            dropped.append(line.split()[0] if line.startswith("-") else line.split("@")[0].strip())
        else:
            kept.extend(block)
        i += 1
    return "\n".join(kept) + "\n", dropped


def create(python: str, venv: Path) -> Path:
    proc = _run([python, "-m", "venv", str(venv)])
    if proc.returncode != 0:
        raise _failure(f"cannot create a virtual environment with {python}", proc)
    return venv_python(venv)


def install_lock(venv: Path, lock_text: str, sources: Sources, *, hashed: bool) -> Installed:
    py = venv_python(venv)
    text, dropped = portable_lock(lock_text)
    notes = [f"left out local requirement(s): {', '.join(dropped)}"] if dropped else []
    lock = venv / "replay-requirements.txt"
    lock.write_text(text)
    uv = shutil.which("uv")
    if uv and hashed:
        argv = [uv, "pip", "sync", "--python", str(py), "--require-hashes", str(lock)]
        argv += sources.pip_args()
        tool = "uv"
    else:
        argv = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "--no-deps"]
        argv += ["--require-hashes"] if hashed else []
        argv += ["-r", str(lock), *sources.pip_args()]
        tool = "pip"
    proc = _run(argv)
    if proc.returncode != 0:
        raise _failure("cannot install the lock", proc)
    if not hashed:
        notes.append("the lock has no hashes: versions installed, bytes not checked")
    return Installed(python=str(py), hashed=hashed, tool=tool, notes=tuple(notes))


def install_project(venv: Path, project: Path, sources: Sources, tool: str) -> str | None:
    """Install the project (not its dependencies: the lock has them); None when the
    folder is not a package (its tests then run from the checkout, as they did)."""
    if not ((project / "pyproject.toml").is_file() or (project / "setup.py").is_file()):
        return None
    py = venv_python(venv)
    uv = shutil.which("uv") if tool == "uv" else None
    if uv:  # `uv pip sync` left the venv without pip
        argv = [uv, "pip", "install", "--python", str(py), "--no-deps"]
    else:
        argv = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "--no-deps"]
    proc = _run([*argv, "-e", str(project), *sources.pip_args()])
    if proc.returncode != 0:
        raise _failure("cannot install the project", proc)
    return "the project installed (editable, without dependencies)"
