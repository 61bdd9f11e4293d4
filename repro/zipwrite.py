"""A deterministic zip writer whose DEFLATE members come from ISA-L.

Python's `zipfile` compresses with zlib only, at ~35 MiB/s on logs at level 6: packing a
run was twenty times slower than hashing it. ISA-L (python-isal) deflates the same logs
at ~15x that speed for a ratio close to zlib level 1. This module writes the container
itself, header for header the layout `zipfile` writes (so a `--store` bundle is
byte-identical to the one `zipfile` made before), with each member's bytes read once:
SHA-256, CRC-32 and compression in one pass.

A deflated member is compressed in independent blocks of `BLOCK` bytes, each ended by
a sync flush, and closed by an empty final block: the same bytes whatever the number of
threads, and the blocks of a large member compress in parallel (ISA-L releases the GIL).
Any inflater reads the result as one ordinary raw DEFLATE stream.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

try:
    from isal import __version__ as _ISAL_VERSION
    from isal import isal_zlib as _deflate_lib
    from isal.isal_zlib import crc32

    LIBRARY = f"isal {_ISAL_VERSION}"
    # Measured in `make bench` (docs/PERFORMANCE.md, "compression levels"): level 1 gains
    # ~15% in ratio over level 0 for ~10% of speed; levels 2 and 3 add almost nothing.
    DEFAULT_LEVEL = 1
except ImportError:  # no ISA-L wheel for this platform: zlib, slower
    import zlib
    import zlib as _deflate_lib  # type: ignore[no-redef]
    from zlib import crc32

    LIBRARY = f"zlib {zlib.ZLIB_RUNTIME_VERSION}"
    DEFAULT_LEVEL = 6

BLOCK = 1 << 20
ZIP64_LIMIT = (1 << 31) - 1
ZIP_FILECOUNT_LIMIT = (1 << 16) - 1
LFH = struct.Struct("<4s2B4HL2L2H")
CDH = struct.Struct("<4s4B4HL2L5H2L")
EOCD = struct.Struct("<4s4H2LH")
EOCD64 = struct.Struct("<4sQ2H2L4Q")
EOCD64_LOCATOR = struct.Struct("<4sLQL")
VERSION, ZIP64_VERSION = 20, 45
UNIX, REGULAR_0644 = 3, 0o100644 << 16
STORED, DEFLATED = 0, 8
ProgressFn = Callable[[int], None]


class SourceChanged(Exception):
    """A member's file did not hold the number of bytes it was added with."""


@dataclass(frozen=True)
class Codec:
    """How deflated members are compressed: recorded with the bundle (sidecar, --json)."""

    library: str
    level: int

    def __str__(self) -> str:
        return f"{self.library} level {self.level}"


DEFAULT_CODEC = Codec(LIBRARY, DEFAULT_LEVEL)


def _deflate_block(data: bytes, level: int) -> bytes:
    comp = _deflate_lib.compressobj(level, _deflate_lib.DEFLATED, -15)
    return comp.compress(data) + comp.flush(_deflate_lib.Z_SYNC_FLUSH)


def _final_block(level: int) -> bytes:
    return _deflate_lib.compressobj(level, _deflate_lib.DEFLATED, -15).flush()


@dataclass
class _Member:
    name: bytes
    flags: int
    method: int
    dos: tuple[int, int]
    offset: int
    zip64_local: bool
    crc: int = 0
    csize: int = 0
    usize: int = 0


def dos_stamp(when: float) -> tuple[int, int]:
    """(DOS time, DOS date) of `when`, read as UTC (2-second resolution)."""
    import time

    y, mo, d, h, mi, s = time.gmtime(when)[:6]
    return h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d


class ZipWriter:
    """Members in the order added, to a seekable binary file; `close` writes the directory.

    `codec=None` stores every member. Each `add` returns the member's SHA-256 (hex),
    computed from the same reads that feed CRC-32 and compression."""

    def __init__(
        self,
        fh: IO[bytes],
        when: float,
        codec: Codec | None,
        *,
        store_below: int = 0,
        threads: int | None = None,
    ) -> None:
        self.fh = fh
        self.dos = dos_stamp(when)
        self.codec = codec
        self.store_below = store_below
        self.members: list[_Member] = []
        n = threads if threads is not None else min(4, os.cpu_count() or 1)
        self.threads = n if codec is not None else 1
        # Started for the first member of more than one block: a small run's bundle
        # (`repro bundle` of a 300-test suite) has none, and needs no threads.
        self.pool: ThreadPoolExecutor | None = None
        self.depth = 2 * n

    def __enter__(self) -> ZipWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        if exc[0] is None:
            self.close()

    def add(
        self, name: str, src: bytes | Path, size: int, progress: ProgressFn | None = None
    ) -> str:
        try:
            raw, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            raw, flags = name.encode("utf-8"), 0x0800
        deflate = self.codec is not None and size >= self.store_below
        # Like zipfile: a member that might reach 2 GiB gets zip64 sizes in its local header,
        # decided before its bytes are written so that the header keeps its length.
        m = _Member(
            raw,
            flags,
            DEFLATED if deflate else STORED,
            self.dos,
            self.fh.tell(),
            size * 1.05 > ZIP64_LIMIT,
        )
        self.fh.write(self._local_header(m))
        sha = hashlib.sha256()
        if deflate and size > BLOCK and self.threads > 1 and self.pool is None:
            # Imported here: `repro verify` imports this module's neighbours, not threads.
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(self.threads, "deflate")
        for out in self._encoded(m, _read(src), sha, progress):
            m.csize += len(out)
            self.fh.write(out)
        if m.usize != size:
            raise SourceChanged(f"{name}: {m.usize} bytes read, {size} expected")
        if not m.zip64_local and max(m.usize, m.csize) > ZIP64_LIMIT:
            raise OSError(f"{name}: compressed size past 2 GiB without zip64 headers")
        end = self.fh.tell()
        self.fh.seek(m.offset)
        self.fh.write(self._local_header(m))
        self.fh.seek(end)
        self.members.append(m)
        return sha.hexdigest()

    def _encoded(
        self, m: _Member, chunks: Iterator[bytes], sha: hashlib._Hash, progress: ProgressFn | None
    ) -> Iterator[bytes]:
        level = self.codec.level if self.codec is not None else 0
        pending: deque[Future[bytes]] = deque()
        for chunk in chunks:
            sha.update(chunk)
            m.crc = crc32(chunk, m.crc)
            m.usize += len(chunk)
            if m.method == STORED:
                yield chunk
            elif self.pool is None:
                yield _deflate_block(chunk, level)
            else:
                pending.append(self.pool.submit(_deflate_block, chunk, level))
                while len(pending) > self.depth:
                    yield pending.popleft().result()
            if progress is not None:
                progress(len(chunk))
        while pending:
            yield pending.popleft().result()
        if m.method == DEFLATED:
            yield _final_block(level)

    def _local_header(self, m: _Member) -> bytes:
        extra = b""
        csize, usize, version = m.csize, m.usize, VERSION
        if m.zip64_local:
            extra = struct.pack("<HHQQ", 1, 16, usize, csize)
            csize = usize = 0xFFFFFFFF
            version = ZIP64_VERSION
        time_, date = m.dos
        head = LFH.pack(
            b"PK\x03\x04",
            version,
            0,
            m.flags,
            m.method,
            time_,
            date,
            m.crc,
            csize,
            usize,
            len(m.name),
            len(extra),
        )
        return head + m.name + extra

    def _central_record(self, m: _Member) -> bytes:
        vals: list[int] = []
        csize, usize, offset = m.csize, m.usize, m.offset
        if usize > ZIP64_LIMIT or csize > ZIP64_LIMIT:
            vals += [usize, csize]
            csize = usize = 0xFFFFFFFF
        if offset > ZIP64_LIMIT:
            vals.append(offset)
            offset = 0xFFFFFFFF
        extra = struct.pack(f"<HH{len(vals)}Q", 1, 8 * len(vals), *vals) if vals else b""
        version = ZIP64_VERSION if vals or m.zip64_local else VERSION
        time_, date = m.dos
        head = CDH.pack(
            b"PK\x01\x02",
            version,
            UNIX,
            version,
            0,
            m.flags,
            m.method,
            time_,
            date,
            m.crc,
            csize,
            usize,
            len(m.name),
            len(extra),
            0,
            0,
            0,
            REGULAR_0644,
            offset,
        )
        return head + m.name + extra

    def close(self) -> None:
        start = self.fh.tell()
        for m in self.members:
            self.fh.write(self._central_record(m))
        end = self.fh.tell()
        count, size = len(self.members), end - start
        if count > ZIP_FILECOUNT_LIMIT or start > ZIP64_LIMIT or size > ZIP64_LIMIT:
            self.fh.write(EOCD64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
            self.fh.write(EOCD64_LOCATOR.pack(b"PK\x06\x07", 0, end, 1))
            count, size, start = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(start, 0xFFFFFFFF)
        self.fh.write(EOCD.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0))


def _read(src: bytes | Path) -> Iterator[bytes]:
    if isinstance(src, bytes):
        if src:
            yield src
        return
    with open(src, "rb") as fh:
        while chunk := fh.read(BLOCK):
            yield chunk
