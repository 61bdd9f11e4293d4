"""What `repro bundle` will need at the end, checked before any test runs.

A 40-minute suite must not end in "cannot write outputs/bundles": the folders
are written to (a probe file, removed), the test interpreter must import pytest,
and while the suite runs a watcher compares the free disk with what the run has
written so far (the bundle needs about as much again).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from repro.errors import EnvironmentProblem
from repro.fsutil import not_a_folder


def check_writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".repro-preflight.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        blocker = not_a_folder(folder)
        if blocker is not None:
            raise EnvironmentProblem(
                f"cannot write {what} to {folder}: {blocker} is a file, not a folder",
                hint="move or remove that file, or pass --outputs DIR; no test was run",
            ) from exc
        raise EnvironmentProblem(
            f"cannot write {what} to {folder}: {exc.strerror or exc}",
            hint="make it writable or pass --outputs DIR; no test was run",
        ) from exc


class PytestImport:
    """`python -c "import pytest"` with the user's environment (their PYTHONPATH counts),
    started now and answered by `result()`: `repro bundle` starts it first, so that its
    child runs while repro imports what it needs, checks the folders and probes."""

    def __init__(self, python: str, environ: Mapping[str, str]) -> None:
        self.python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._error: EnvironmentProblem | None = None
        try:
            self._proc = subprocess.Popen(
                [python, "-c", "import pytest"],
                env=dict(environ),
                stdin=subprocess.DEVNULL,  # not an interpreter (`--python cat`) must not wait on it
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self._error = EnvironmentProblem(f"cannot run {python}: {exc}")

    def result(self) -> None:
        """Raise EnvironmentProblem unless pytest imported."""
        if self._error is None and self._proc is not None:
            self._error = self._wait(self._proc)
            self._proc = None
        if self._error is not None:
            raise self._error

    def _wait(self, proc: subprocess.Popen[bytes]) -> EnvironmentProblem | None:
        python = self.python
        try:
            _, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            return EnvironmentProblem(f"cannot run {python}: {exc}")
        if proc.returncode == 0:
            return None
        silent = f"`{python} -c 'import pytest'` exited with code {proc.returncode}, saying nothing"
        last = (stderr.decode(errors="replace").strip().splitlines() or [silent])[-1]
        return EnvironmentProblem(
            f"pytest cannot be imported by {python}: {last}",
            hint=f"install it with: {python} -m pip install pytest",
        )

    def close(self) -> None:
        """End the child if nobody asked for its answer (an error came first)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def check(outputs: Path, bundles: Path, importable: PytestImport) -> None:
    """The folders first, then the answer of the started `import pytest` child."""
    check_writable(outputs / "runs", "the run folder")
    check_writable(bundles, "the bundle")
    importable.result()


class DiskWatch:
    """Warns once when the free disk falls below what the run has written so far."""

    def __init__(
        self, run_dir: Path, bundles: Path, warn: Callable[[str], None], every: float = 2.0
    ) -> None:
        self.run_dir, self.bundles, self.warn, self.every = run_dir, bundles, warn, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="repro-disk", daemon=True)
        self.warned = False

    def start(self) -> DiskWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()

    def check_once(self) -> None:
        written = sum(
            p.stat().st_size for p in self.run_dir.rglob("*") if p.is_file() and not p.is_symlink()
        )
        try:
            free = shutil.disk_usage(self.bundles).free
        except OSError:
            return
        if free < written and not self.warned:
            self.warned = True
            self.warn(
                f"only {free >> 20} MiB free where the bundle goes, and the run has written "
                f"{written >> 20} MiB so far: packing may fail (free disk space now)"
            )

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.check_once()
            except OSError:  # the run folder is being renamed at the end
                continue
