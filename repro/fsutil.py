"""Atomic file writes: a reader never sees a half-written record or bundle."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from repro.errors import EnvironmentProblem

CHUNK = 1 << 20


def not_a_folder(folder: Path) -> Path | None:
    """The file that stands where `folder` or one of its parents should be a folder:
    mkdir then fails with a bare "File exists" or "Not a directory" naming neither."""
    for p in (folder, *folder.parents):
        if p.exists() or p.is_symlink():
            return None if p.is_dir() else p
    return None


def _explain(exc: OSError, path: Path) -> EnvironmentProblem:
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = not_a_folder(path.parent)
        if blocker is not None:
            return EnvironmentProblem(
                f"cannot write in {path.parent}: {blocker} is a file, not a folder",
                hint="move or remove that file, or write elsewhere: --outputs DIR, --out DIR",
            )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return EnvironmentProblem(
            f"no space left while writing {path}", hint="free disk space and run again"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return EnvironmentProblem(
            f"cannot write {path}: {exc.strerror}",
            hint="make the folder writable or choose another with --outputs",
        )
    return EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary file that replaces `path` only once it is complete and synced."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        # mkstemp makes the file private (0600); give it the mode open() would have.
        # (Windows has no such modes, and no os.fchmod before Python 3.13.)
        if sys.platform != "win32":
            os.fchmod(fd, 0o666 & ~_umask())
    except OSError as exc:
        raise _explain(exc, path) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise _explain(exc, path) from exc
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink_quietly(p: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(p)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)


def dump_json(obj: Any) -> bytes:
    """The one JSON encoding used for records: sorted keys, stable, UTF-8, newline-terminated."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write_json(path: Path, obj: Any) -> bytes:
    data = dump_json(obj)
    write_bytes(path, data)
    return data


def sha256_file(path: Path, advance: Callable[[int], None] | None = None) -> tuple[str, int]:
    """(hex digest, size) of a file, read in fixed chunks; `advance(n)` after each."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
            if advance is not None:
                advance(len(chunk))
    return h.hexdigest(), size
