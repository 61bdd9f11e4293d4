"""`repro clean`: remove old runs and bundles from outputs/, never the only evidence
of a run that went wrong.

A run is a candidate when it is not among the `keep` newest and (with
`older_than_days`) was last changed longer ago than that. A candidate that
passed loses its folder and its bundles. A candidate that failed (any status
but `passed`) or was abandoned (a staging folder repro never finished) keeps
one copy: its folder goes only when a bundle of it stays, and the last copy
goes only with `force`. A staging folder changed in the last ten minutes may
belong to a run in progress and is never touched.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from repro import layout, platforms
from repro.errors import EnvironmentProblem
from repro.workspace import Bundle, Run, inventory

BUSY_SECONDS = 600
# A run folder, finished (`<run_id>`) or staged (`.<run_id>.partial`)
RUN_FOLDER = re.compile(rf"({layout.RUN_ID.pattern})|\.({layout.RUN_ID.pattern})\.partial")
DAY = 86400.0


@dataclass(frozen=True)
class Item:
    path: Path
    run_id: str
    kind: str  # "run", "bundle" or "abandoned" (a staging folder)
    status: str
    size: int
    reason: str  # why it is removed or kept


@dataclass(frozen=True)
class CleanResult:
    outputs: Path
    removed: tuple[Item, ...]
    kept: tuple[Item, ...]  # candidates kept back, with the reason
    dry_run: bool

    @property
    def freed(self) -> int:
        return sum(i.size for i in self.removed)


def _size(path: Path) -> int:
    """Bytes freed by removing `path`: a hard-linked log counts once."""
    if path.is_file():
        return path.stat().st_size
    seen: dict[tuple[int, int], int] = {}
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def _bundle_status(b: Bundle) -> str:
    """A run known only by its bundle: its status from the bundle's run_stamp.json
    (our own outputs folder, so zipfile is fine here; verify is for bundles handed in)."""
    try:
        with zipfile.ZipFile(b.path) as zf:
            stamp = json.loads(zf.read(f"repro-{b.run_id}/data/run_stamp.json"))
        return str(stamp["status"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return "unreadable"


def _sidecars(bundle: Path) -> tuple[Path, ...]:
    """The files repro writes beside a bundle, which mean nothing once it is gone: its
    digest, its attestation Statement and signed envelope, and `bundle --report`'s page."""
    from repro.attest import ENVELOPE_SUFFIX, STATEMENT_SUFFIX

    name = bundle.name
    return (
        bundle.with_name(name + ".sha256"),
        bundle.with_name(name + STATEMENT_SUFFIX),
        bundle.with_name(name + ENVELOPE_SUFFIX),
        bundle.with_suffix(".html"),
    )


def _items(run: Run, status: str) -> tuple[list[Item], list[Item]]:
    kind = "abandoned" if status == "abandoned" else "run"
    folder = [Item(run.path, run.run_id, kind, status, _size(run.path), "")] if run.path else []
    bundles = [
        Item(p, run.run_id, "bundle", status, _size(p), "")
        for b in run.bundles
        for p in (b.path, *_sidecars(b.path))
        if p.exists()
    ]
    return folder, bundles


def _decide(run: Run, status: str, force: bool) -> tuple[list[Item], list[Item]]:
    """(removed, kept) for one candidate run."""
    folder, bundles = _items(run, status)
    if status == "passed" or force:
        why = "old" if status == "passed" else f"old, {status}, removed with --force"
        return [_with(i, why) for i in folder + bundles], []
    if bundles:
        why = f"{status}: its bundle stays as the copy"
        return [_with(i, why) for i in folder], [
            _with(i, "only copy of a " + status + " run") for i in bundles
        ]
    return [], [_with(i, f"only copy of a {status} run (--force removes it)") for i in folder]


def _with(item: Item, reason: str) -> Item:
    return Item(item.path, item.run_id, item.kind, item.status, item.size, reason)


def plan(
    outputs: Path, *, keep: int, older_than_days: float | None, force: bool, now: float
) -> tuple[list[Item], list[Item]]:
    removed: list[Item] = []
    kept: list[Item] = []
    for i, run in enumerate(inventory(outputs).runs):
        if i < keep:
            continue
        if run.path is not None and not RUN_FOLDER.fullmatch(run.path.name):
            continue  # not named as repro names a run: not repro's to remove, even forced
        if older_than_days is not None and now - run.mtime < older_than_days * DAY:
            continue
        if run.status == "abandoned" and now - run.mtime < BUSY_SECONDS:
            continue
        status = _bundle_status(run.bundles[0]) if run.path is None else run.status
        gone, stays = _decide(run, status, force)
        removed += gone
        kept += stays
    return removed, kept


def _remove(item: Item) -> None:
    try:
        if item.path.is_dir() and not item.path.is_symlink():
            shutil.rmtree(item.path)
        else:
            item.path.unlink(missing_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot remove {item.path}: {exc.strerror}",
            hint="check its permissions, then run `repro clean` again",
        ) from exc


def _repoint_latest(outputs: Path) -> None:
    """outputs/latest (a symlink, or the pointer file where symlinks cannot be made) must
    not dangle: the newest run left, or nothing."""
    link, pointer = outputs / platforms.LATEST, outputs / platforms.LATEST_POINTER
    was_link, was_pointer = link.is_symlink(), pointer.is_file()
    if not (was_link or was_pointer) or platforms.latest_run(outputs) is not None:
        return
    for stale in (link, pointer):
        if stale.is_symlink() or stale.is_file():
            stale.unlink()
    runs = sorted(p for p in (outputs / "runs").glob("[!.]*") if p.is_dir())
    if runs:
        platforms.point_latest(outputs, runs[-1], symlink=was_link)


def clean(
    outputs: Path,
    *,
    keep: int = 5,
    older_than_days: float | None = None,
    dry_run: bool = False,
    force: bool = False,
    now: float | None = None,
) -> CleanResult:
    removed, kept = plan(
        outputs,
        keep=keep,
        older_than_days=older_than_days,
        force=force,
        now=time.time() if now is None else now,
    )
    if not dry_run:
        for item in removed:
            _remove(item)
        _repoint_latest(outputs)
    return CleanResult(outputs, tuple(removed), tuple(kept), dry_run)
