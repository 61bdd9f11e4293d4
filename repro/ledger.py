"""outputs/ledger.jsonl: an append-only, hash-chained record of every run.

One JSON object per line. The first line is a header naming the format; every
line after it carries `prev`, the SHA-256 of the previous line's bytes (newline
included), so an edited, inserted or dropped line breaks the chain. Events:
`start` (on disk, fsynced, before pytest starts), `end` (the run folder is
complete), `salvaged` (an abandoned run was made into a run folder), `packed`
(a bundle was made: its digest). Appends are serialised with an exclusive lock
(`platforms.exclusive`: flock, or a byte-range lock on Windows), each is one
`write` of a whole line followed by `fsync`: a SIGKILL leaves either the whole
line or none of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro import layout, platforms
from repro.errors import EnvironmentProblem

FORMAT = "repro-ledger/1"
NAME = "ledger.jsonl"
_TAIL = 1 << 16  # a ledger line is far shorter than this


def path_for(outputs: Path) -> Path:
    return Path(outputs) / NAME


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _last_line(fd: int) -> bytes | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    start = max(0, size - _TAIL)
    os.lseek(fd, start, os.SEEK_SET)  # under the lock; appends go to the end regardless
    data = os.read(fd, size - start)
    body = data[:-1] if data.endswith(b"\n") else data
    return body[body.rfind(b"\n") + 1 :] + (b"\n" if data.endswith(b"\n") else b"")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        with platforms.exclusive(fd):
            yield fd
    finally:
        os.close(fd)


def append(outputs: Path, event: str, **fields: Any) -> None:
    """Append one event line (writing the header first in a new ledger) and fsync it."""
    path = path_for(outputs)
    try:
        with _locked(path) as fd:
            last = _last_line(fd)
            out = b""
            if last is None:
                last = _line({"event": "header", "format": FORMAT, "prev": None, "time": _now()})
                out += last
            elif not last.endswith(b"\n"):
                # A line torn by a crash of the machine: close it, chain on from it.
                out += b"\n"
                last += b"\n"
            out += _line(
                {"event": event, **fields, "time": _now(), "prev": hashlib.sha256(last).hexdigest()}
            )
            os.write(fd, out)
            os.fsync(fd)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot append to {path}: {exc.strerror or exc}",
            hint="make the outputs folder writable",
        ) from exc


def _now() -> str:
    from repro.records import utc_iso

    return utc_iso(time.time())


@dataclass
class RunEntry:
    run_id: str
    started: str | None = None
    ended: str | None = None
    status: str | None = None
    salvaged: bool = False
    digests: list[str] = field(default_factory=list)
    bundles: list[str] = field(default_factory=list)
    pid: int | None = None
    host: str | None = None

    @property
    def open(self) -> bool:
        """Started and never ended nor salvaged."""
        return self.started is not None and self.ended is None


@dataclass(frozen=True)
class LedgerReport:
    path: Path
    format: str | None
    lines: int
    runs: tuple[RunEntry, ...]
    problems: tuple[str, ...]  # chain breaks and malformed lines: the ledger is not intact

    @property
    def intact(self) -> bool:
        return not self.problems


def read(outputs: Path) -> LedgerReport:
    """Every run the ledger names, and every break in its chain."""
    path = path_for(outputs)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LedgerReport(path, None, 0, (), ())
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {path}: {exc.strerror or exc}") from exc
    lines = data.splitlines(keepends=True)
    problems: list[str] = []
    runs: dict[str, RunEntry] = {}
    fmt = None
    prev: bytes | None = None
    for n, raw in enumerate(lines, 1):
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except ValueError:
            problems.append(f"line {n}: not a JSON object")
            prev = raw
            continue
        want = hashlib.sha256(prev).hexdigest() if prev is not None else None
        if n == 1:
            fmt = obj.get("format")
            if obj.get("event") != "header" or fmt != FORMAT:
                problems.append(f"line 1: not a {FORMAT} header")
        elif obj.get("prev") != want:
            problems.append(f"line {n}: chain broken (prev does not hash line {n - 1})")
        prev = raw if raw.endswith(b"\n") else raw + b"\n"
        _apply(runs, obj)
    since = _header_epoch(lines[0]) if lines else None
    problems += _unrecorded(Path(outputs), since, runs, empty=not lines)
    return LedgerReport(path, fmt, len(lines), tuple(runs.values()), tuple(problems))


# A run's id is drawn just before its start line, so the first run of a new ledger may
# be named a moment before the header: runs this much older are still expected in it.
_ID_SLACK = 10.0


def _header_epoch(line: bytes) -> float | None:
    import datetime as dt

    try:
        stamp = json.loads(line)["time"]
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _id_epoch(run_id: str) -> float:
    import calendar

    return float(calendar.timegm(time.strptime(run_id.split("-")[0], "%Y%m%dT%H%M%SZ")))


def _unrecorded(
    outputs: Path, since: float | None, runs: dict[str, RunEntry], *, empty: bool
) -> list[str]:
    """Finished run folders the ledger should name and does not. A hash chain cannot see
    its own end, so a ledger cut short (or emptied) is caught here, against the run
    folders made since its header; runs older than the ledger are not its business."""
    folder = outputs / "runs"
    if not folder.is_dir() or (since is None and not empty):
        return []
    problems = []
    for run_dir in sorted(folder.iterdir()):
        name = run_dir.name
        if not (layout.RUN_ID.fullmatch(name) and (run_dir / layout.RUN_STAMP).is_file()):
            continue
        if since is not None and _id_epoch(name) < since - _ID_SLACK:
            continue
        entry = runs.get(name)
        if entry is None or entry.started is None:
            problems.append(
                f"runs/{name}: the ledger has no line for this run "
                "(lines were dropped, or the ledger was cut short)"
            )
        elif entry.ended is None:
            problems.append(
                f"runs/{name} is complete but the ledger never saw it end (its last "
                "line was dropped, or repro died as the run finished)"
            )
    return problems


def _apply(runs: dict[str, RunEntry], obj: dict[str, Any]) -> None:
    run_id = obj.get("run_id")
    if not isinstance(run_id, str):
        return
    entry = runs.setdefault(run_id, RunEntry(run_id))
    event = obj.get("event")
    if event == "start":
        entry.started = obj.get("time")
        entry.pid, entry.host = obj.get("pid"), obj.get("host")
    elif event in ("end", "salvaged"):
        entry.ended = obj.get("time")
        entry.status = obj.get("status")
        entry.salvaged = event == "salvaged"
    elif event == "packed":
        entry.digests.append(str(obj.get("digest")))
        entry.bundles.append(str(obj.get("bundle")))
