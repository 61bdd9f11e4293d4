"""env.json: where the tests ran.

Packages are read with `importlib.metadata` inside the interpreter that runs
the tests (`_probe.py` in a child process), never by shelling out to pip.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import locale
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from repro.ci import ci_record
from repro.errors import EnvironmentProblem
from repro.redact import DEFAULT_ENV_ALLOW, environment_record, strip_url_credentials

ENV_SCHEMA = "env"
PROBE = Path(__file__).with_name("_probe.py")  # run, never imported: see probe_interpreter


def probe_interpreter(python: str, closure_of: str | None = None) -> dict[str, Any]:
    """Python facts and installed packages of `python` (a path or command); with
    `closure_of`, also that distribution's installed dependency closure (`closure`)."""
    return Probe(python, closure_of).result()


class Probe:
    """`probe_interpreter`, started now and read when needed, so that the child runs
    beside what repro does meanwhile (`repro bundle`: the preflight's own child, the lock
    check, git). Whoever starts one closes it (or reads its result)."""

    def __init__(self, python: str, closure_of: str | None = None) -> None:
        self.python, self.closure_of = python, closure_of
        self._data: dict[str, Any] | None = None
        self._error: EnvironmentProblem | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        # Always in a child, even for repro's own interpreter: it sees what a fresh
        # interpreter sees, and importlib.metadata (with email, zipfile, csv: ~6 MiB)
        # stays out of the process that waits on pytest (docs/PERFORMANCE.md, memory).
        try:
            self._proc = subprocess.Popen(
                [python, "-I", str(PROBE), *([closure_of] if closure_of else [])],
                # It may now start before the preflight has found `python` to be an
                # interpreter: something else (`--python cat`) must not wait on stdin.
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:  # said when the result is asked for, as before
            self._error = EnvironmentProblem(f"cannot run the interpreter {python}: {exc}")

    def result(self) -> dict[str, Any]:
        if self._data is None and self._error is None:
            self._data, self._error = self._read()
        if self._error is not None:
            raise self._error
        assert self._data is not None
        return self._data

    def _read(self) -> tuple[dict[str, Any] | None, EnvironmentProblem | None]:
        assert self._proc is not None
        try:
            out, err = self._proc.communicate(timeout=60)
        except subprocess.TimeoutExpired as exc:
            self.close()
            return None, EnvironmentProblem(f"cannot run the interpreter {self.python}: {exc}")
        if self._proc.returncode != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            return None, EnvironmentProblem(
                f"the interpreter {self.python} failed to start: {tail[0]}"
            )
        data: dict[str, Any] = json.loads(out)
        for pkg in data["packages"]:
            if "direct_url" in pkg and isinstance(pkg["direct_url"].get("url"), str):
                pkg["direct_url"]["url"] = strip_url_credentials(pkg["direct_url"]["url"])
        return data, None

    def close(self) -> None:
        """End the child if nobody read it (the preflight failed)."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def os_info() -> dict[str, Any]:
    libc_name, libc_version = platform.libc_ver()
    return {
        "system": platform.system(),
        "release": platform.release(),
        "version": platform.version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "libc": {"name": libc_name or None, "version": libc_version or None},
        "cpu_count": os.cpu_count(),
        "hostname_hash": hashlib.sha256(platform.node().encode()).hexdigest()[:16],
    }


def locale_info(environ: Mapping[str, str]) -> dict[str, Any]:
    try:
        lang, encoding = locale.getlocale()
    except ValueError:  # an unparsable LANG/LC_* value
        lang, encoding = None, None
    return {
        "locale": lang,
        "encoding": encoding,
        "preferred_encoding": locale.getpreferredencoding(False),
        "tz": environ.get("TZ"),
        "tzname": list(time.tzname),
        "utc_offset_seconds": -time.timezone,
    }


def _git(cwd: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_info(project: Path, *, exclude: Iterable[Path] = ()) -> dict[str, Any] | None:
    """Commit, branch, dirty flag and a hash of the uncommitted change; None outside git.

    Paths in `exclude` (repro's own outputs folder) do not make a checkout dirty.
    """
    top = _git(project, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    root = Path(top.decode().strip())
    spec = ["--", "."] + [
        f":(exclude){p.resolve().relative_to(root)}"
        for p in exclude
        if p.resolve().is_relative_to(root) and p.resolve() != root
    ]
    head = _git(project, "rev-parse", "--verify", "-q", "HEAD")
    branch = _git(project, "symbolic-ref", "--short", "-q", "HEAD")
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", *spec) or b""
    diff = _git(root, "diff", "HEAD", "--binary", *spec) if head else b""
    digest = hashlib.sha256(diff or b"")
    # Untracked files are part of "what ran" too: hash their names and contents.
    for entry in status.split(b"\0"):
        if entry.startswith(b"?? "):
            rel = entry[3:].decode(errors="surrogateescape")
            digest.update(b"\0untracked\0" + entry[3:] + b"\0")
            with contextlib.suppress(OSError):
                digest.update(hashlib.sha256((root / rel).read_bytes()).digest())
    remotes_raw = (_git(project, "remote", "-v") or b"").decode(errors="replace")
    remotes = sorted(
        {strip_url_credentials(" ".join(line.split()[:2])) for line in remotes_raw.splitlines()}
    )
    dirty = bool(status.strip(b"\0"))
    return {
        "commit": head.decode().strip() if head else None,
        "branch": branch.decode().strip() if branch else None,
        "dirty": dirty,
        "diff_sha256": digest.hexdigest() if dirty else None,
        "remotes": remotes,
    }


def collect(
    *,
    probe: dict[str, Any],
    git: dict[str, Any] | None,
    environ: Mapping[str, str],
    env_allow: Iterable[str] = DEFAULT_ENV_ALLOW,
    code: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the env.json record (not yet validated) from a probe of the test interpreter,
    the checkout's git state and the code state carried in the run (`codestate`)."""
    record = {
        "schema": ENV_SCHEMA,
        "schema_version": 1,
        "python": probe["python"],
        "os": os_info(),
        "locale": locale_info(environ),
        "packages": probe["packages"],
        "git": git,
        "environment": environment_record(environ, env_allow),
        "ci": ci_record(environ),
        "repro_python": sys.executable,
    }
    if code is not None:
        record["code"] = code
    return record
