"""Open a bundle or a run folder through the verifier and get the typed model back.

`open_bundle` is the one way the read side (show, diff, report, and later replay and
merge) gets at a run's records: it verifies first and hands back the verify report
beside the records, so every renderer can put the verdict next to what it shows. A
record that failed fixity or its schema is not parsed: it is None in the `Bundle`, and
the report says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from repro import layout
from repro.errors import UsageError
from repro.model import (
    BundleManifest,
    Counts,
    Env,
    LockRecord,
    MergeRecord,
    Results,
    RunMetadata,
    RunStamp,
    Status,
)
from repro.progress import Reporter, silent
from repro.verify import Contents, VerifyReport, inspect

SourceKind = Literal["bundle", "run-folder"]


@dataclass(frozen=True)
class Bundle:
    """A run's records as the verifier vouched for them."""

    path: Path
    kind: SourceKind
    report: VerifyReport
    stamp: RunStamp | None
    metadata: RunMetadata | None
    env: Env | None
    lock: LockRecord | None
    manifest: BundleManifest | None  # repro-bundle.json; None for a run folder
    merge: MergeRecord | None  # merge.json: only in a bundle `repro merge` made
    results: Results | None
    lock_text: str | None  # requirements.lock as text
    files: Mapping[str, int] = field(default_factory=dict)  # run-folder path -> size

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def digest(self) -> str | None:
        return self.report.digest

    @property
    def run_id(self) -> str | None:
        return self.stamp.run_id if self.stamp else None

    @property
    def status(self) -> Status | None:
        return self.metadata.status if self.metadata else None

    @property
    def counts(self) -> Counts | None:
        return self.metadata.counts if self.metadata else None

    def read(self, rel: str, limit: int) -> tuple[bytes, int]:
        """The first `limit` bytes of payload file `rel` (`logs/stdout.log`) and its full
        size. Only files the verifier found intact are read."""
        from repro.verify import read_payload

        if rel not in self.files:
            raise UsageError(f"{rel} is not in {self.path}")
        return read_payload(self.path, self.report, rel, limit), self.files[rel]


def open_bundle(
    path: Path | str,
    *,
    expect: str | None = None,
    strict: bool = False,
    progress: Reporter = silent,
) -> Bundle:
    """Verify `path` (a bundle zip or a run folder) and return its records.

    Raises UsageError when `path` does not exist; a bundle that fails verification is
    returned with its problems in `report` and whatever records were still sound."""
    path = Path(path)
    if not path.exists():
        raise UsageError(
            f"no such bundle or run folder: {path}",
            hint="pass a repro-*.zip or a folder under outputs/runs/",
        )
    report, contents = inspect(path, expect=expect, strict=strict, progress=progress)
    return _bundle(path, report, contents)


def open_bundles(*paths: Path | str) -> list[Bundle]:
    """`open_bundle` for each path, two at a time where the OS can fork: verifying and
    parsing a 50,000-test bundle costs a few tenths of a second of CPU, and `repro diff`
    would otherwise wait for two of them one after the other."""
    for path in paths:
        if not Path(path).exists():
            open_bundle(path)  # raises the usage error, before any work
    if len(paths) < 2 or not _can_fork():
        return [open_bundle(p) for p in paths]
    return _open_forked(paths)


def _can_fork() -> bool:
    import sys

    return sys.platform == "linux"


def _open_forked(paths: tuple[Path | str, ...]) -> list[Bundle]:
    """The first bundle here, the others in one forked child that sends them back pickled
    through a pipe. A plain fork, not a process pool: the pool's imports, threads and
    queues were a tenth of the CPU of a whole `repro diff`. Whatever goes wrong in the
    child (an error, a crash, a result that does not unpickle) is done again here, so it
    is raised, or not, as `open_bundle` would."""
    import gc
    import os
    import pickle
    import sys

    if sys.platform == "win32":  # never called there (_can_fork); os.fork does not exist
        return [open_bundle(p) for p in paths]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        status = 1
        try:
            os.close(read_end)
            bundles = [open_bundle(p) for p in paths[1:]]
            with os.fdopen(write_end, "wb") as out:
                # Pickled into the pipe as it goes: the parent unpickles a frame while the
                # next one is made, once it is done with its own bundle.
                pickle.dump(bundles, out, pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    rest: list[Bundle] | None = None
    with os.fdopen(read_end, "rb") as pipe:
        try:
            first = open_bundle(paths[0])
            # Unpickling makes an object per test and no cycles (see results.load).
            enabled = gc.isenabled()
            gc.disable()
            try:
                rest = pickle.load(pipe)
            except Exception:  # cut short, or not what the child sent: opened again here
                rest = None
            finally:
                if enabled:
                    gc.enable()
        finally:
            pipe.close()  # a child still writing gets EPIPE and exits
            _, status = os.waitpid(pid, 0)
    if status != 0:
        rest = None
    if rest is None:
        rest = [open_bundle(p) for p in paths[1:]]
    return [first, *rest]


def _bundle(path: Path, report: VerifyReport, c: Contents) -> Bundle:
    return Bundle(
        path=path,
        kind="run-folder" if path.is_dir() else "bundle",
        report=report,
        stamp=c.stamp,
        metadata=c.metadata,
        env=c.env,
        lock=c.lock,
        manifest=c.manifest,
        merge=c.merge,
        results=c.results,
        lock_text=c.lock_text,
        files=dict(c.sizes),
    )


__all__ = ["Bundle", "SourceKind", "layout", "open_bundle", "open_bundles"]
