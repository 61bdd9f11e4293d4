"""Find a Python of the major.minor version a run used.

Searched in order: the interpreter the run recorded (if it is still there and
still that version), `uv python find X.Y` when uv is installed, then
`pythonX.Y` on PATH. Each candidate is asked for its version; nothing is
trusted by name alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Found:
    path: str
    version: str  # full, as the interpreter reports it
    how: str  # which search found it


def version_of(python: str) -> str | None:
    try:
        proc = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _candidates(
    wanted: str, recorded: str | None, environ: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    if recorded and os.path.isfile(recorded):
        yield recorded, "the interpreter the run recorded"
    uv = shutil.which("uv", path=environ.get("PATH"))
    if uv:
        try:
            proc = subprocess.run(
                [uv, "python", "find", wanted],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            proc = None
        if proc is not None and proc.returncode == 0 and proc.stdout.strip():
            yield proc.stdout.strip(), f"uv python find {wanted}"
    on_path = shutil.which(f"python{wanted}", path=environ.get("PATH"))
    if on_path:
        yield on_path, f"python{wanted} on PATH"


def find(
    wanted: str, recorded: str | None, environ: Mapping[str, str] | None = None
) -> Found | None:
    """A Python whose major.minor is `wanted`, or None."""
    env = os.environ if environ is None else environ
    for path, how in _candidates(wanted, recorded, env):
        version = version_of(path)
        if version is not None and minor(version) == wanted:
            return Found(path=path, version=version, how=how)
    return None
