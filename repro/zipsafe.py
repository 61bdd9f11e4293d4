"""A strict reader for untrusted zip files, built on `struct` rather than `zipfile`.

Python's `zipfile` accepts most hostile archives (prepended or appended bytes,
duplicate names, local headers that disagree with the central directory,
overlapping entries, lying sizes). This module accepts only the narrow shape
repro writes, reports every way an archive leaves it, and reads members as a
bounded stream: nothing is extracted, nothing is held whole in memory.
"""

from __future__ import annotations

import hashlib
import os
import struct
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO, cast

try:
    # ISA-L's CRC-32 runs at ~12 GB/s, zlib's at ~2 GB/s: with it, checking a member's
    # CRC costs a small fraction of its SHA-256 (docs/PERFORMANCE.md, benchmark 4).
    # Its inflate runs at ~1.5x zlib's, and reads any raw DEFLATE stream.
    from isal import isal_zlib as _zlib
except ImportError:  # no wheel for this platform: same result, slower
    import zlib as _zlib  # type: ignore[no-redef]

crc32 = _zlib.crc32
# isal's stub declares `error` as an instance; at run time it is the exception class.
INFLATE_ERROR = cast("type[Exception]", _zlib.error)

EOCD = struct.Struct("<4sHHHHIIH")
EOCD64 = struct.Struct("<4sQHHIIQQQQ")
EOCD64_LOCATOR = struct.Struct("<4sIQI")
CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")
LFH = struct.Struct("<4sHHHHHIIIHH")

MAX_ENTRIES = 10_000
MAX_CD_SIZE = 16 << 20
MAX_RATIO = 1100  # deflate cannot exceed ~1032:1, so a larger claim is a lie
MAX_TOTAL = 64 << 30  # uncompressed bytes across the archive
ALLOWED_FLAGS = 0x0800 | 0x0006  # UTF-8 names, deflate option bits
READ = 1 << 20
INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})  # Unicode categories barred from names
S_IFMT, S_IFREG = 0o170000, 0o100000


@dataclass(frozen=True)
class Entry:
    name: str
    method: int
    flags: int
    crc: int
    csize: int
    usize: int
    offset: int  # of the local header
    data_offset: int = 0  # of the member's bytes, once the local header is read
    stamp: tuple[int, int] = (0, 0)  # DOS time and date


@dataclass
class Archive:
    size: int
    entries: list[Entry] = field(default_factory=list)
    problems: list[tuple[str, str | None, str]] = field(default_factory=list)  # (kind, member, msg)
    fatal: bool = False  # the container cannot be trusted enough to read members

    def bad(self, kind: str, member: str | None, msg: str, *, fatal: bool = False) -> None:
        self.problems.append((kind, member, msg))
        self.fatal = self.fatal or fatal


def name_problem(name: str) -> str | None:
    """Why `name` may not appear in a bundle, or None."""
    if not name:
        return "empty name"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "control character in name"
    # C1 controls, bidi overrides, zero-width and line separators make a name print as
    # another one (or break the line it is printed on).
    if any(unicodedata.category(c) in INVISIBLE for c in name):
        return "invisible or control character in name"
    if "\\" in name:
        return "backslash in name"
    if ":" in name:
        return "colon in name (drive letter or stream)"
    if name.startswith("/"):
        return "absolute path"
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "'.', '..' or empty path component"
    if not unicodedata.is_normalized("NFC", name):
        return "name is not NFC-normalized"
    return None


def _find_eocd(fh: BinaryIO, size: int, arc: Archive) -> tuple[int, int, int, int] | None:
    """(entries, cd_size, cd_offset, end_of_cd_area) from the end records."""
    if size == 0:
        arc.bad("container", None, "empty file", fatal=True)
        return None
    if size < EOCD.size:
        arc.bad("container", None, "not a zip file (too short)", fatal=True)
        return None
    fh.seek(size - EOCD.size)
    tail = fh.read(EOCD.size)
    sig, disk, cd_disk, n_disk, n, cd_size, cd_off, comment_len = EOCD.unpack(tail)
    if sig != b"PK\x05\x06" or comment_len:
        arc.bad("container", None, _why_no_end_record(fh, size), fatal=True)
        return None
    if disk or cd_disk or n_disk != n:
        arc.bad("container", None, "multi-disk archive", fatal=True)
        return None
    end_of_cd = size - EOCD.size
    saturated = n == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_off)
    loc_at = size - EOCD.size - EOCD64_LOCATOR.size
    lsig = b""
    if loc_at >= 0:
        fh.seek(loc_at)
        lsig = fh.read(4)
    # zipfile writes zip64 end records as soon as the central directory starts past
    # 2 GiB, without saturating the classic fields: follow a locator whenever one is there.
    if saturated or lsig == b"PK\x06\x07":
        if loc_at < 0:
            arc.bad("container", None, "truncated zip64 records", fatal=True)
            return None
        fh.seek(loc_at)
        lsig, _, eocd64_at, _ = EOCD64_LOCATOR.unpack(fh.read(EOCD64_LOCATOR.size))
        if lsig != b"PK\x06\x07" or eocd64_at + EOCD64.size != loc_at:
            arc.bad("container", None, "malformed zip64 end records", fatal=True)
            return None
        fh.seek(eocd64_at)
        rec = EOCD64.unpack(fh.read(EOCD64.size))
        if rec[0] != b"PK\x06\x06" or rec[1] != EOCD64.size - 12:
            arc.bad("container", None, "malformed zip64 end record", fatal=True)
            return None
        classic = (n, cd_size, cd_off)
        n, cd_size, cd_off = rec[7], rec[8], rec[9]
        limits = (0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        if any(
            c not in (z, lim)
            for c, z, lim in zip(classic, (n, cd_size, cd_off), limits, strict=True)
        ):
            arc.bad("container", None, "zip64 and classic end records disagree", fatal=True)
            return None
        end_of_cd = eocd64_at
    if n > MAX_ENTRIES:
        arc.bad("container", None, f"{n} entries (limit {MAX_ENTRIES})", fatal=True)
        return None
    if cd_size > MAX_CD_SIZE or cd_off + cd_size != end_of_cd:
        where = "before" if cd_off + cd_size < end_of_cd else "past"
        arc.bad(
            "container",
            None,
            f"central directory ends {where} the end record "
            "(prepended, inserted or truncated data)",
            fatal=True,
        )
        return None
    return n, cd_size, cd_off, end_of_cd


def _why_no_end_record(fh: BinaryIO, size: int) -> str:
    """Name what is wrong with an archive whose last 22 bytes are not a bare end record.

    The end record is not trusted further than for this message."""
    at = max(0, size - EOCD.size - 0xFFFF)
    fh.seek(at)
    window = fh.read()
    i = window.rfind(b"PK\x05\x06")
    if i < 0:
        fh.seek(0)
        if fh.read(4) == b"PK\x03\x04":
            return "truncated zip (no end of central directory)"
        return "not a zip file (no end of central directory)"
    record = window[i : i + EOCD.size]
    if len(record) < EOCD.size:
        return "truncated zip (the end record is cut short)"
    comment_len = EOCD.unpack(record)[-1]
    extra = len(window) - i - EOCD.size
    if comment_len and comment_len == extra:
        return f"archive comment present ({comment_len} bytes)"
    if comment_len > extra:
        return "truncated zip (the archive comment is cut short)"
    return f"{extra - comment_len} bytes after the end of the zip (appended data)"


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int] | None:
    i = 0
    while i + 4 <= len(extra):
        tag, ln = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + ln]
        if tag == 0x0001:
            vals = list(struct.unpack_from(f"<{len(body) // 8}Q", body))
            if usize == 0xFFFFFFFF:
                usize = vals.pop(0) if vals else -1
            if csize == 0xFFFFFFFF:
                csize = vals.pop(0) if vals else -1
            if offset == 0xFFFFFFFF:
                offset = vals.pop(0) if vals else -1
            return usize, csize, offset
        i += 4 + ln
    return None


def read_archive(fh: BinaryIO) -> Archive:
    """Parse and check the container; members are read later with `stream_member`."""
    size = fh.seek(0, os.SEEK_END)
    arc = Archive(size)
    found = _find_eocd(fh, size, arc)
    if found is None:
        return arc
    n, cd_size, cd_off, _ = found
    fh.seek(cd_off)
    cd = fh.read(cd_size)
    pos = 0
    seen: dict[str, str] = {}
    entries: list[Entry] = []
    for _ in range(n):
        if pos + CDH.size > len(cd):
            arc.bad("container", None, "central directory is truncated", fatal=True)
            return arc
        (
            sig,
            made_by,
            _need,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            csize,
            usize,
            nlen,
            xlen,
            clen,
            disk,
            _iattr,
            eattr,
            offset,
        ) = CDH.unpack_from(cd, pos)
        if sig != b"PK\x01\x02":
            arc.bad("container", None, "corrupt central directory", fatal=True)
            return arc
        raw = cd[pos + CDH.size : pos + CDH.size + nlen]
        extra = cd[pos + CDH.size + nlen : pos + CDH.size + nlen + xlen]
        pos += CDH.size + nlen + xlen + clen
        try:
            name = raw.decode("utf-8") if flags & 0x0800 else raw.decode("ascii")
        except UnicodeDecodeError:
            arc.bad(
                "name", repr(raw)[2:-1], "name is not valid UTF-8 (or ASCII without the UTF-8 flag)"
            )
            name = raw.decode("utf-8", "replace")
        if 0xFFFFFFFF in (usize, csize, offset):
            z = _zip64_extra(extra, usize, csize, offset)
            if z is None or -1 in z:
                arc.bad("container", name, "zip64 sizes missing", fatal=True)
                return arc
            usize, csize, offset = z
        if flags & 0x0001 or flags & 0x0040:
            arc.bad("entry", name, "encrypted entry")
        elif flags & ~ALLOWED_FLAGS:
            arc.bad("entry", name, f"unsupported flags 0x{flags:04x}")
        if method not in (0, 8):
            arc.bad("entry", name, f"unsupported compression method {method}")
        elif method == 0 and csize != usize:
            arc.bad("entry", name, "stored entry whose sizes differ")
        elif method == 8 and usize > max(csize, 1) * MAX_RATIO:
            arc.bad(
                "entry", name, f"declared size {usize} is impossible for {csize} compressed bytes"
            )
        # Unix (3) is not the only host whose extractors honour a file type here: libarchive
        # reads it for OS X (19) too. Any declared type other than a regular file is refused.
        ftype = (eattr >> 16) & S_IFMT
        if ftype not in (0, S_IFREG):
            kind = "symlink" if ftype == 0o120000 else "non-regular file"
            arc.bad("entry", name, f"{kind} entry (mode 0o{eattr >> 16:o}, host {made_by >> 8})")
        if name.endswith("/"):
            arc.bad("entry", name, "directory entry")
        why = name_problem(name)
        if why:
            arc.bad("name", name, why)
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            other = seen[key]
            if other == name:
                what = "duplicate name"
            elif unicodedata.normalize("NFC", other) == unicodedata.normalize("NFC", name):
                # Shown escaped: the two spellings look identical when printed.
                what = f"same name as {other!a} once Unicode-normalized (NFC)"
            else:
                what = f"same name as {other!a} on a case-insensitive file system"
            arc.bad("name", name, what)
        else:
            seen[key] = name
        if disk:
            arc.bad("container", name, "entry on another disk", fatal=True)
        stamp = (dos_time, dos_date)
        entries.append(Entry(name, method, flags, crc, csize, usize, offset, stamp=stamp))
    if pos != len(cd):
        arc.bad("container", None, "central directory has trailing bytes", fatal=True)
    if sum(e.usize for e in entries) > MAX_TOTAL:
        arc.bad("container", None, f"more than {MAX_TOTAL} bytes uncompressed", fatal=True)
    arc.entries = _check_layout(fh, entries, cd_off, arc)
    return arc


def _check_layout(fh: BinaryIO, entries: list[Entry], cd_off: int, arc: Archive) -> list[Entry]:
    """Entries must tile the file from 0 to the central directory, each local header equal
    to its central record: no gaps, no overlap, no hidden data."""
    out: list[Entry] = []
    expected = 0
    for e in sorted(entries, key=lambda e: e.offset):
        if e.offset != expected:
            what = (
                "overlaps another entry" if e.offset < expected else "is preceded by unlisted bytes"
            )
            arc.bad("container", e.name, f"entry {what}", fatal=True)
            return out
        fh.seek(e.offset)
        head = fh.read(LFH.size)
        if len(head) < LFH.size:
            arc.bad("container", e.name, "local header truncated", fatal=True)
            return out
        sig, _need, flags, method, dos_time, dos_date, crc, csize, usize, nlen, xlen = LFH.unpack(
            head
        )
        raw = fh.read(nlen)
        extra = fh.read(xlen)
        if 0xFFFFFFFF in (csize, usize):
            z = _zip64_extra(extra, usize, csize, 0)
            if z is not None:
                usize, csize, _ = z
        name_ok = raw in (e.name.encode("utf-8"), e.name.encode("ascii", "replace"))
        if (
            sig != b"PK\x03\x04"
            or (flags, method, crc, csize, usize) != (e.flags, e.method, e.crc, e.csize, e.usize)
            # A time is harmless alone, but repro writes both headers from one ZipInfo: a
            # difference means another tool rewrote (or forged) the entry. (Not so the version
            # needed: zipfile raises it in the central record alone for a zip64 offset.)
            or (dos_time, dos_date) != e.stamp
            or not name_ok
        ):
            arc.bad(
                "container", e.name, "local header disagrees with the central directory", fatal=True
            )
            return out
        data_at = e.offset + LFH.size + nlen + xlen
        expected = data_at + e.csize
        if expected > cd_off:
            arc.bad("container", e.name, "entry data runs into the central directory", fatal=True)
            return out
        out.append(replace(e, data_offset=data_at))
    if expected != cd_off:
        arc.bad("container", None, "unlisted bytes before the central directory", fatal=True)
    return out


class MemberError(Exception):
    """A member's bytes do not match what the central directory declares."""


def stream_member(fh: BinaryIO, e: Entry, limit: int | None = None) -> Iterator[bytes]:
    """Yield the member's uncompressed bytes, checking size and CRC as they pass.

    Never produces more than the declared size: a member that inflates past it
    (a lying size, a bomb) or stops short raises `MemberError`.
    """
    fh.seek(e.data_offset)
    crc = 0
    remaining_in = e.csize
    produced = 0
    inflater = _zlib.decompressobj(-15) if e.method == 8 else None
    while remaining_in > 0 or (inflater is not None and inflater.unconsumed_tail):
        if inflater is not None and inflater.unconsumed_tail:
            buf = inflater.unconsumed_tail
        else:
            buf = fh.read(min(READ, remaining_in))
            if not buf:
                raise MemberError("archive ends inside this member")
            remaining_in -= len(buf)
        if inflater is None:
            out = buf
        else:
            try:
                out = inflater.decompress(buf, min(4 * READ, e.usize - produced + 1))
            except INFLATE_ERROR as exc:
                raise MemberError(f"corrupt deflate data ({exc})") from exc
        produced += len(out)
        if produced > e.usize:
            raise MemberError("member inflates past its declared size")
        if out:
            crc = crc32(out, crc)
            yield out
        if limit is not None and produced > limit:
            raise MemberError(f"member is larger than {limit} bytes")
    if inflater is not None:
        if not inflater.eof:
            raise MemberError("deflate stream is truncated")
        if inflater.unused_data:
            raise MemberError("data after the end of the deflate stream")
    if produced != e.usize:
        raise MemberError(f"member holds {produced} bytes, {e.usize} declared")
    if crc != e.crc:
        raise MemberError("CRC mismatch")


def hash_member(
    fh: BinaryIO,
    e: Entry,
    advance: Callable[[int], None] | None = None,
    observe: Callable[[bytes], None] | None = None,
    keep: list[bytes] | None = None,
) -> str:
    """sha256 of the member's bytes; `observe` sees each chunk too (one inflate pass), and
    `keep` gets them (only to be used once the member is known good: sized, CRC, hash)."""
    h = hashlib.sha256()
    for chunk in stream_member(fh, e):
        h.update(chunk)
        if advance is not None:
            advance(len(chunk))
        if observe is not None:
            observe(chunk)
        if keep is not None:
            keep.append(chunk)
    return h.hexdigest()


def read_member(fh: BinaryIO, e: Entry, limit: int) -> bytes:
    """The member's bytes, for members small enough to hold; refused before inflating
    anything when the declared size is already over `limit`."""
    if e.usize > limit:
        raise MemberError(f"member declares {e.usize} bytes, more than the {limit} allowed")
    out = bytearray()
    for chunk in stream_member(fh, e, limit):
        out += chunk
    return bytes(out)
