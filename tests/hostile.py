"""Hostile bundles, built from a valid one, for tests of `repro verify`.

Every builder takes a valid bundle (its bytes or its path) and returns the
bytes of a variant that differs from it in one intended way. Two layers:

* `Zip` / `Entry`: the archive as raw records, written with `struct`, so a
  local header, a central record, an offset or the end record can say
  anything at all (zipfile refuses to write most of these).
* `rebag`: the bag inside, edited as {path: bytes}; it recomputes what a
  forger would recompute (record hashes in run_stamp.json and
  run_metadata.json, manifest-sha256.txt, Payload-Oxum, repro-bundle.json,
  tagmanifest-sha256.txt and with it the content digest and file name), so
  that only the intended defect is left for the verifier to find.

Unchanged members keep their exact stored bytes: `Zip.parse(b).pack() == b`
and `rebag(b, {}) == b` for a bundle repro wrote (the tests check both).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

LFH = struct.Struct("<4sHHHHHIIIHH")
CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")
EOCD = struct.Struct("<4sHHHHIIH")
EOCD64 = struct.Struct("<4sQHHIIQQQQ")
LOC64 = struct.Struct("<4sIQI")
LFH_FIELDS = (
    "sig",
    "need",
    "flags",
    "method",
    "time",
    "date",
    "crc",
    "csize",
    "usize",
    "nlen",
    "xlen",
)
CDH_FIELDS = (
    *("sig", "made_by", "need", "flags", "method", "time", "date", "crc", "csize", "usize"),
    *("nlen", "xlen", "clen", "disk", "iattr", "eattr", "offset"),
)
EOCD_FIELDS = ("sig", "disk", "cd_disk", "n_disk", "n", "cd_size", "cd_off", "clen")

UTF8_FLAG = 0x0800
S_IFREG = 0o100000
S_IFLNK = 0o120000
UNIX = 3
DEFLATE_LEVEL = 6  # repro's own, so a re-deflated member looks like one repro wrote
STORE_BELOW = 256

Source = bytes | Path


def _bytes(src: Source) -> bytes:
    return src if isinstance(src, bytes) else Path(src).read_bytes()


def _fields(st: struct.Struct, names: tuple[str, ...], data: bytes, at: int) -> dict[str, Any]:
    return dict(zip(names, st.unpack_from(data, at), strict=True))


def deflate(data: bytes, level: int = DEFLATE_LEVEL) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# --- the archive as raw records -----------------------------------------------------------------


@dataclass
class Entry:
    """One member as stored. `local` and `central` override header fields one side only."""

    name: bytes
    raw: bytes  # the stored bytes: deflated when method == 8
    method: int
    crc: int
    usize: int
    flags: int = 0
    made_by: int = (UNIX << 8) | 20
    need: int = 20
    time: int = 0
    date: int = (1 << 5) | 1  # 1980-01-01
    iattr: int = 0
    eattr: int = (S_IFREG | 0o644) << 16
    local: dict[str, Any] = field(default_factory=dict)
    central: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.name.decode("utf-8", "replace")

    @classmethod
    def make(cls, name: str | bytes, data: bytes, *, like: Entry | None = None) -> Entry:
        """A well-formed member holding `data`, with `like`'s attributes (time, mode...)."""
        bname = name if isinstance(name, bytes) else name.encode("utf-8")
        method = 8 if len(data) >= STORE_BELOW else 0
        base = like or cls(b"", b"", 0, 0, 0)
        flags = base.flags & ~UTF8_FLAG
        if not bname.isascii():
            flags |= UTF8_FLAG
        return replace(
            base,
            name=bname,
            raw=deflate(data) if method == 8 else data,
            method=method,
            crc=zlib.crc32(data),
            usize=len(data),
            flags=flags,
            local={},
            central={},
        )


@dataclass
class Zip:
    entries: list[Entry]
    prefix: bytes = b""  # junk before the first local header
    suffix: bytes = b""  # junk after the end record
    comment: bytes = b""
    shift_offsets: bool = False  # offsets count the prefix, as a self-extractor's do
    eocd: dict[str, int] = field(default_factory=dict)  # end-record fields that lie
    # extra central records: (entry index, name) sharing that entry's local header and data
    aliases: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def parse(cls, src: Source) -> Zip:
        """Read a zip of the plain shape repro writes (no zip64, no comment)."""
        data = _bytes(src)
        end = _fields(EOCD, EOCD_FIELDS, data, len(data) - EOCD.size)
        if end["sig"] != b"PK\x05\x06":
            raise ValueError("not a plain zip (no end record at the end)")
        pos, entries = end["cd_off"], []
        for _ in range(end["n"]):
            c = _fields(CDH, CDH_FIELDS, data, pos)
            name = data[pos + CDH.size : pos + CDH.size + c["nlen"]]
            pos += CDH.size + c["nlen"] + c["xlen"] + c["clen"]
            loc = _fields(LFH, LFH_FIELDS, data, c["offset"])
            start = c["offset"] + LFH.size + loc["nlen"] + loc["xlen"]
            raw = data[start : start + c["csize"]]
            keep = ("method", "crc", "usize", "flags", "made_by", "need", "time", "date")
            entries.append(Entry(name, raw, **{k: c[k] for k in (*keep, "iattr", "eattr")}))
        return cls(entries)

    def pack(self) -> bytes:
        body = bytearray()
        records: list[dict[str, Any]] = []
        base = len(self.prefix) if self.shift_offsets else 0
        for e in self.entries:
            common = {
                "sig": b"PK\x03\x04",
                "need": e.need,
                "flags": e.flags,
                "method": e.method,
                "time": e.time,
                "date": e.date,
                "crc": e.crc,
                "csize": len(e.raw),
                "usize": e.usize,
            }
            loc = {**common, "name": e.name, "extra": b"", **e.local}
            loc.setdefault("nlen", len(loc["name"]))
            loc.setdefault("xlen", len(loc["extra"]))
            offset = base + len(body)
            body += LFH.pack(*(loc[f] for f in LFH_FIELDS)) + loc["name"] + loc["extra"]
            body += e.raw
            cen = {
                **common,
                "sig": b"PK\x01\x02",
                "made_by": e.made_by,
                "name": e.name,
                "extra": b"",
                "clen": 0,
                "disk": 0,
                "iattr": e.iattr,
                "eattr": e.eattr,
                "offset": offset,
                **e.central,
            }
            records.append(cen)
        for i, name in self.aliases:
            records.append({**records[i], "name": name, "nlen": len(name)})
        central = bytearray()
        for cen in records:
            cen.setdefault("nlen", len(cen["name"]))
            cen.setdefault("xlen", len(cen["extra"]))
            central += CDH.pack(*(cen[f] for f in CDH_FIELDS)) + cen["name"] + cen["extra"]
        cd_off = base + len(body)
        end: dict[str, Any] = {
            "sig": b"PK\x05\x06",
            "disk": 0,
            "cd_disk": 0,
            "n_disk": len(records),
            "n": len(records),
            "cd_size": len(central),
            "cd_off": cd_off,
            "clen": len(self.comment),
            **self.eocd,
        }
        tail = b""
        if end["n"] > 0xFFFF or end["cd_off"] > 0xFFFFFFFF:
            # zip64 end record and locator, as zipfile writes them past 65535 entries
            eocd64_at = cd_off + len(central)
            n, size, off = end["n"], end["cd_size"], end["cd_off"]
            tail = EOCD64.pack(b"PK\x06\x06", EOCD64.size - 12, 45, 45, 0, 0, n, n, size, off)
            tail += LOC64.pack(b"PK\x06\x07", 0, eocd64_at, 1)
            end.update(n=0xFFFF, n_disk=0xFFFF, cd_off=0xFFFFFFFF)
        record = EOCD.pack(*(end[f] for f in EOCD_FIELDS))
        return self.prefix + bytes(body + central) + tail + record + self.comment + self.suffix

    @property
    def top(self) -> str:
        return self.entries[0].text.split("/", 1)[0]

    def index(self, rel: str) -> int:
        """Position of the member at `rel` (inside the top folder, or a full name)."""
        for i, e in enumerate(self.entries):
            if e.text in (rel, f"{self.top}/{rel}"):
                return i
        raise KeyError(rel)

    def get(self, rel: str) -> Entry:
        return self.entries[self.index(rel)]


# --- the bag inside -----------------------------------------------------------------------------


def members(src: Source) -> dict[str, bytes]:
    """{full name: bytes} of a trusted, valid bundle, in archive order."""
    with zipfile.ZipFile(io.BytesIO(_bytes(src))) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def top_of(names: Iterator[str] | list[str] | dict[str, bytes]) -> str:
    return next(iter(names)).split("/", 1)[0]


def rezip(src: Source, new: dict[str, bytes]) -> bytes:
    """The bundle with members `new`: unchanged ones keep their stored bytes, others are
    deflated afresh; names in bytewise order, as repro writes them."""
    old = Zip.parse(src)
    by_name = {e.text: e for e in old.entries}
    template = old.entries[0]
    entries = []
    for name in sorted(new, key=lambda n: n.encode()):
        prev = by_name.get(name)
        if prev is not None and _content(prev) == new[name]:
            entries.append(prev)
        else:
            entries.append(Entry.make(name, new[name], like=prev or template))
    return Zip(entries).pack()


def _content(e: Entry) -> bytes:
    return zlib.decompress(e.raw, -15) if e.method == 8 else e.raw


def dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load(data: bytes | None) -> Any:
    try:
        return json.loads(data) if data is not None else None
    except ValueError:
        return None


def fix_records(m: dict[str, bytes], top: str) -> None:
    """Recompute the hashes and sizes records hold of other files (metadata first, since the
    stamp holds the metadata's hash). Records that do not parse are left as they are."""
    data = f"{top}/data/"
    meta_name = data + "run_metadata.json"
    meta = _load(m.get(meta_name))
    if isinstance(meta, dict) and isinstance(meta.get("files"), dict):
        before = json.loads(json.dumps(meta))
        for rel, f in meta["files"].items():
            if data + rel in m and isinstance(f, dict):
                f.update(sha256=_sha(m[data + rel]), size=len(m[data + rel]))
        if meta != before:
            m[meta_name] = dump_json(meta)
    stamp_name = data + "run_stamp.json"
    stamp = _load(m.get(stamp_name))
    if isinstance(stamp, dict):
        before = json.loads(json.dumps(stamp))
        for rel in stamp.get("records") or {}:
            if data + rel in m:
                stamp["records"][rel] = _sha(m[data + rel])
        lock = stamp.get("lock")
        if isinstance(lock, dict) and data + str(lock.get("path")) in m:
            lock["sha256"] = _sha(m[data + str(lock["path"])])
        if stamp != before:
            m[stamp_name] = dump_json(stamp)


def fix_tags(m: dict[str, bytes], top: str) -> None:
    """Recompute manifest-sha256.txt, Payload-Oxum and repro-bundle.json from the payload."""
    from repro.layout import RECORD_SCHEMAS, role_of

    prefix = f"{top}/"
    payload = sorted(
        (n[len(prefix) :] for n in m if n.startswith(prefix + "data/")), key=str.encode
    )
    m[prefix + "manifest-sha256.txt"] = "".join(
        f"{_sha(m[prefix + rel])}  {rel}\n" for rel in payload
    ).encode()
    octets = sum(len(m[prefix + rel]) for rel in payload)
    info = m[prefix + "bag-info.txt"].decode()
    info = re.sub(r"(?m)^Payload-Oxum: .*$", f"Payload-Oxum: {octets}.{len(payload)}", info)
    m[prefix + "bag-info.txt"] = info.encode()
    doc = json.loads(m[prefix + "repro-bundle.json"])
    old = {f["path"]: f for f in doc["files"]}
    files = []
    for rel in payload:
        item = dict(old.get(rel) or {"path": rel, "role": role_of(rel[5:]).value})
        if rel not in old and rel[5:] in RECORD_SCHEMAS:
            item["schema"] = f"{RECORD_SCHEMAS[rel[5:]]}@1"
        item.update(sha256=_sha(m[prefix + rel]), size=len(m[prefix + rel]))
        files.append(item)
    doc["files"] = files
    m[prefix + "repro-bundle.json"] = dump_json(doc)


def fix_tagmanifest(m: dict[str, bytes], top: str) -> None:
    prefix = f"{top}/"
    tags = sorted(
        n[len(prefix) :]
        for n in m
        if n.startswith(prefix)
        and "/" not in n[len(prefix) :]
        and not n.endswith("/tagmanifest-sha256.txt")
    )
    m[prefix + "tagmanifest-sha256.txt"] = "".join(
        f"{_sha(m[prefix + t])}  {t}\n" for t in tags
    ).encode()


def rebag(
    src: Source,
    payload: dict[str, bytes | None] | None = None,
    *,
    tags: dict[str, bytes] | None = None,
    records: bool = True,
) -> bytes:
    """The bundle with payload files changed (`None` removes one; paths relative to the top
    folder, e.g. "data/logs/stdout.log") and everything that hashes them recomputed.

    `tags` replaces tag files after that (only the tag manifest is recomputed over them);
    `records=False` leaves run_stamp.json and run_metadata.json as they are.
    """
    m = members(src)
    top = top_of(m)
    for rel, data in (payload or {}).items():
        if data is None:
            del m[f"{top}/{rel}"]
        else:
            m[f"{top}/{rel}"] = data
    if records:
        fix_records(m, top)
    fix_tags(m, top)
    tags = dict(tags or {})
    # A replaced tag manifest is the defect itself: it goes in after the recomputed one.
    own = tags.pop("tagmanifest-sha256.txt", None)
    for rel, data in tags.items():
        m[f"{top}/{rel}"] = data
    fix_tagmanifest(m, top)
    if own is not None:
        m[f"{top}/tagmanifest-sha256.txt"] = own
    return rezip(src, m)


def _tagmanifest(src: Source) -> tuple[str, bytes]:
    """(top folder, tag manifest bytes), reading nothing else: a member may be a bomb."""
    with zipfile.ZipFile(io.BytesIO(_bytes(src))) as zf:
        top = top_of(zf.namelist())
        return top, zf.read(f"{top}/tagmanifest-sha256.txt")


def digest_of(src: Source) -> str:
    return "sha256:" + _sha(_tagmanifest(src)[1])


def bundle_name(src: Source) -> str:
    """The file name repro gives this bundle: its top folder and the digest's first 12."""
    top, tagmanifest = _tagmanifest(src)
    return f"{top}-{_sha(tagmanifest)[:12]}.zip"


def save(data: bytes, folder: Path, name: str | None = None, *, sidecar: bool = True) -> Path:
    """Write `data` into `folder` as `name`, by default the name its content digest gives it
    (or "hostile.zip" when zipfile cannot read it), with a sidecar carrying that digest when
    the bag can be read."""
    try:
        digest: str | None = digest_of(data)
    except Exception:  # too broken for zipfile: no digest to name it by or vouch for
        digest = None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or (bundle_name(data) if digest else "hostile.zip"))
    path.write_bytes(data)
    if sidecar and digest:
        side = f"# repro content digest: {digest}\n{_sha(data)}  {path.name}\n"
        path.with_name(path.name + ".sha256").write_text(side)
    return path


# --- 1. tampering --------------------------------------------------------------------------------


def flip_byte(src: Source, rel: str = "data/logs/stdout.log", at: int = 10) -> bytes:
    """One byte of a member changed, the zip rewritten with a valid CRC: only sha256 catches it."""
    z = Zip.parse(src)
    i = z.index(rel)
    data = bytearray(_content(z.entries[i]))
    data[at] ^= 0x01
    z.entries[i] = Entry.make(z.entries[i].name, bytes(data), like=z.entries[i])
    return z.pack()


def remove_member(src: Source, rel: str = "data/logs/stderr.log") -> bytes:
    z = Zip.parse(src)
    del z.entries[z.index(rel)]
    return z.pack()


def add_member(src: Source, rel: str = "data/logs/extra.log", data: bytes = b"extra\n") -> bytes:
    z = Zip.parse(src)
    z.entries.append(Entry.make(f"{z.top}/{rel}", data, like=z.entries[0]))
    z.entries.sort(key=lambda e: e.name)
    return z.pack()


def rename_member(
    src: Source, old: str = "data/logs/stdout.log", new: str = "data/logs/stdout.txt"
) -> bytes:
    z = Zip.parse(src)
    i = z.index(old)
    z.entries[i] = replace(z.entries[i], name=f"{z.top}/{new}".encode())
    return z.pack()


# --- 3. names ------------------------------------------------------------------------------------


def with_entry(src: Source, name: str | bytes, data: bytes = b"x\n", **attrs: Any) -> bytes:
    """The bundle plus one entry whose full name is `name` exactly (no top folder added)."""
    z = Zip.parse(src)
    z.entries.append(replace(Entry.make(name, data, like=z.entries[0]), **attrs))
    return z.pack()


def symlink_entry(
    src: Source, rel: str = "data/logs/stdout.log", target: str = "/etc/passwd", made_by: int = UNIX
) -> bytes:
    """A member turned into a symlink: mode S_IFLNK in external_attr, data = the target."""
    z = Zip.parse(src)
    i = z.index(rel)
    link = Entry.make(z.entries[i].name, target.encode(), like=z.entries[i])
    z.entries[i] = replace(link, made_by=(made_by << 8) | 20, eattr=(S_IFLNK | 0o777) << 16)
    return z.pack()


def duplicate_entry(src: Source, rel: str = "data/logs/stdout.log", data: bytes = b"") -> bytes:
    """A second entry with the same name, holding other bytes (last one wins in most tools)."""
    z = Zip.parse(src)
    i = z.index(rel)
    z.entries.insert(i + 1, Entry.make(z.entries[i].name, data, like=z.entries[i]))
    return z.pack()


def with_names(src: Source, *rels: str) -> bytes:
    """Entries added at `rels` (inside the top folder): spellings of one name that differ only
    in Unicode normalization or case, say, next to each other or to an existing member."""
    z = Zip.parse(src)
    for rel in rels:
        z.entries.append(Entry.make(f"{z.top}/{rel}", b"twin\n", like=z.entries[0]))
    return z.pack()


def raw_name(src: Source, rel: str, new: bytes) -> bytes:
    """A member renamed to raw bytes `new` (NUL included, which zipfile would cut off),
    in both its local header and its central record."""
    z = Zip.parse(src)
    i = z.index(rel)
    z.entries[i] = replace(z.entries[i], name=new)
    return z.pack()


# --- 4. container --------------------------------------------------------------------------------


def local_disagrees(src: Source, rel: str = "data/run_stamp.json", **local: Any) -> bytes:
    """The local header of `rel` says something else than its central record.

    The default swaps the name, so a streaming extractor would write another file."""
    z = Zip.parse(src)
    i = z.index(rel)
    if not local:
        local = {"name": z.entries[i].name.replace(b"run_stamp", b"run_stomp")}
    z.entries[i].local.update(local)
    return z.pack()


def overlapping(
    src: Source, rel: str = "data/logs/stdout.log", alias: str = "data/logs/stdout.lol"
) -> bytes:
    """A second central record pointing at the same local header: two names, one data (the
    "better zip bomb" reuses one kernel this way for thousands of names)."""
    z = Zip.parse(src)
    z.aliases.append((z.index(rel), f"{z.top}/{alias}".encode()))
    return z.pack()


def lying_size(
    src: Source, rel: str = "data/logs/stdout.log", delta: int = -1, crc_of_declared: bool = True
) -> bytes:
    """Central and local header both declare `delta` more (or fewer) uncompressed bytes than
    the deflate stream holds; the CRC is the declared prefix's (or the real data's)."""
    z = Zip.parse(src)
    i = z.index(rel)
    e = z.entries[i]
    data = _content(e)
    usize = len(data) + delta
    crc = zlib.crc32(data[:usize] + b"\0" * max(0, delta)) if crc_of_declared else e.crc
    z.entries[i] = replace(e, usize=usize, crc=crc)
    return z.pack()


@functools.cache
def _zeros_deflated(size: int) -> tuple[bytes, int]:
    """(raw deflate of `size` zero bytes, their CRC), streamed one MiB at a time."""
    chunk = 1 << 20
    zeros = bytes(chunk)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts, crc = [], 0
    block = b""
    for k in range(size // chunk):
        if k < 2:
            parts.append(c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH))
            block = parts[-1] if k == 0 or parts[-1] == parts[0] else b""
        elif block:
            # A full flush restarts deflate, so each MiB of zeros compresses to the same
            # block: repeating it saves seconds without changing a byte.
            parts.append(block)
        else:
            parts.append(c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH))
        crc = zlib.crc32(zeros, crc)
    parts.append(c.flush())
    return b"".join(parts), crc


def deflate_bomb(
    src: Source, rel: str = "data/logs/stdout.log", size: int = 1 << 30, *, lie: bool = False
) -> bytes:
    """`rel` replaced by `size` zero bytes deflated ~1000:1 (1 GiB in ~1 MiB), its CRC valid.

    By default the headers declare the true size and only the manifests (not recomputed)
    disagree; with `lie` they keep declaring the replaced member's size."""
    z = Zip.parse(src)
    i = z.index(rel)
    raw, crc = _zeros_deflated(size)
    usize = z.entries[i].usize if lie else size
    z.entries[i] = replace(z.entries[i], raw=raw, method=8, crc=crc, usize=usize)
    return z.pack()


def many_entries(src: Source, n: int = 100_000, count: int | None = None) -> bytes:
    """The bundle plus `n` one-byte entries (zip64 end records past 65535); `count` makes the
    end record lie about how many there are."""
    z = Zip.parse(src)
    proto = Entry.make(b"", b"x", like=z.entries[0])
    z.entries += [replace(proto, name=f"{z.top}/data/many/{k:06d}".encode()) for k in range(n)]
    if count is not None:
        z.eocd = {"n": count, "n_disk": count}
    return z.pack()


def encrypted(src: Source, rel: str = "data/logs/stdout.log") -> bytes:
    """Flag bit 0 (traditional PKWARE encryption) set on both headers of `rel`."""
    z = Zip.parse(src)
    i = z.index(rel)
    z.entries[i] = replace(z.entries[i], flags=z.entries[i].flags | 0x0001)
    return z.pack()


def prepended(src: Source, junk: bytes = b"#!/bin/sh\nexit 0\n", shift: bool = False) -> bytes:
    """Bytes before the first entry; `shift` adjusts every offset (as `zip -A` does for a
    self-extractor), so the archive is consistent except for the unlisted prefix."""
    z = Zip.parse(src)
    z.prefix, z.shift_offsets = junk, shift
    return z.pack()


def appended(src: Source, junk: bytes = b"trailing data") -> bytes:
    z = Zip.parse(src)
    z.suffix = junk
    return z.pack()


def commented(src: Source, comment: bytes = b"see https://example.invalid") -> bytes:
    z = Zip.parse(src)
    z.comment = comment
    return z.pack()


def truncated(src: Source, keep: float = 0.5) -> bytes:
    data = _bytes(src)
    return data[: int(len(data) * keep)]


def empty(src: Source) -> bytes:
    return b""


def not_a_zip(src: Source) -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 4


# --- 5. bag content ------------------------------------------------------------------------------


def manifest_line(src: Source, line: str, tagfile: str = "manifest-sha256.txt") -> bytes:
    """A line added to a manifest, the tag manifest recomputed over it."""
    m = members(src)
    top = top_of(m)
    return rebag(src, tags={tagfile: m[f"{top}/{tagfile}"] + line.encode() + b"\n"})


def edit_record(src: Source, rel: str, edit: Callable[[dict[str, Any]], object]) -> bytes:
    """A JSON record changed by `edit` (in place), everything that hashes it recomputed."""
    m = members(src)
    top = top_of(m)
    doc = json.loads(m[f"{top}/{rel}"])
    edit(doc)
    return rebag(src, {rel: dump_json(doc)})


def schema_invalid_metadata(src: Source) -> bytes:
    """run_metadata.json valid JSON but not valid against its schema (a status the schema
    does not know, tests_total a string)."""

    def edit(doc: dict[str, Any]) -> None:
        doc["tests_total"] = "four"

    return edit_record(src, "data/run_metadata.json", edit)


def weakened_schema(src: Source, name: str = "run_metadata") -> bytes:
    """The bundle ships a schema that accepts anything."""
    return rebag(src, {f"data/schemas/{name}.schema.json": dump_json({"type": "object"})})


def invalid_metadata_with_weakened_schema(src: Source) -> bytes:
    """Both: the shipped schema would accept the record, the verifier's own must not."""
    once = schema_invalid_metadata(src)
    return weakened_schema(once)


def contradicting_counts(src: Source) -> bytes:
    """run_metadata.json counts one more pass and one fewer failure than results.jsonl (the
    total still adds up, so only the cross-check can see it)."""

    def edit(doc: dict[str, Any]) -> None:
        doc["counts"]["passed"] += 1
        doc["counts"]["failed"] -= 1

    return edit_record(src, "data/run_metadata.json", edit)


def python_asked_is_not_python_ran(src: Source) -> bytes:
    """run_metadata.json says `--python python3.99` was asked for; another Python ran."""

    def edit(doc: dict[str, Any]) -> None:
        doc["python"] = "/opt/python3.99/bin/python3.99"

    return edit_record(src, "data/run_metadata.json", edit)


def python_probed_is_not_python_ran(src: Source) -> bytes:
    """The probe saw one Python, the pytest process reported another."""

    def edit(doc: dict[str, Any]) -> None:
        doc["python_ran"]["pytest"] = "2.7.18"

    return edit_record(src, "data/run_metadata.json", edit)


def junit_outcome_changed(src: Source) -> bytes:
    """junit.xml turns the stream's failure into a skip: same number of cases."""
    m = members(src)
    top = top_of(m)
    name = f"{top}/data/results/junit.xml"
    xml = m[name]
    start = xml.index(b"<failure ")
    end = xml.index(b"</failure>", start) + len(b"</failure>")
    xml = xml[:start] + b'<skipped type="pytest.skip" message="fine" />' + xml[end:]
    return rebag(src, {"data/results/junit.xml": xml})


def junit_without_the_test_in_flight(src: Source) -> bytes:
    """results.jsonl and run_metadata.json agree that a test was in flight when the run
    ended, but junit.xml has no case for it."""
    m = members(src)
    top = top_of(m)
    hung = "tests/test_hung.py::test_hangs"
    stream = m[f"{top}/data/results/results.jsonl"]
    stream += json.dumps({"ev": "start", "id": hung}).encode() + b"\n"
    meta = json.loads(m[f"{top}/data/run_metadata.json"])
    meta["order"].append(hung)
    meta["in_flight"] = hung
    return rebag(
        src, {"data/results/results.jsonl": stream, "data/run_metadata.json": dump_json(meta)}
    )


def passed_with_exit_1(src: Source) -> bytes:
    """status "passed" with exit code 1, in both records so they agree with each other."""
    m = members(src)
    top = top_of(m)
    docs: dict[str, bytes | None] = {}
    for rel in ("data/run_metadata.json", "data/run_stamp.json"):
        doc = json.loads(m[f"{top}/{rel}"])
        doc.update(status="passed", exit_code=1)
        docs[rel] = dump_json(doc)
    return rebag(src, docs)


def deep_json(src: Source, rel: str = "data/env.json", depth: int = 100_000) -> bytes:
    """A record nested deeper than any parser's stack."""
    return rebag(src, {rel: b"[" * depth + b"]" * depth})


def bad_results_events(src: Source) -> bytes:
    """results.jsonl lines that are JSON objects but not events the plugin writes."""
    lines = [b'{"ev":"start"}', b'{"ev":"start","id":[1]}', b'{"ev":"session","plugins":3}']
    m = members(src)
    top = top_of(m)
    old = m[f"{top}/data/results/results.jsonl"]
    return rebag(src, {"data/results/results.jsonl": old + b"\n".join(lines) + b"\n"})


def corpus() -> dict[str, Callable[[Source], bytes]]:
    """One case per builder, with its defaults, by name (100k entries left out: a second to
    build and 12 MB to hold)."""
    return {
        "flip-byte": flip_byte,
        "remove-member": remove_member,
        "add-member": add_member,
        "rename-member": rename_member,
        "dotdot": lambda s: with_entry(s, "../x"),
        "absolute": lambda s: with_entry(s, "/x"),
        "drive": lambda s: with_entry(s, "C:/x"),
        "backslash": lambda s: with_entry(s, "a\\..\\x"),
        "symlink": symlink_entry,
        "duplicate": duplicate_entry,
        "nfc-nfd": lambda s: with_names(s, "data/caf\u00e9.txt", "data/cafe\u0301.txt"),
        "case-fold": lambda s: with_names(s, "data/logs/STDOUT.log"),
        "nul-name": lambda s: raw_name(
            s, "data/logs/stdout.log", f"{Zip.parse(s).top}/data/logs/std\x00ut.log".encode()
        ),
        "local-disagrees": local_disagrees,
        "overlap": overlapping,
        "deflate-bomb": deflate_bomb,
        "lying-size": lying_size,
        "encrypted": encrypted,
        "prepended": prepended,
        "appended": appended,
        "comment": commented,
        "truncated": truncated,
        "empty": empty,
        "not-a-zip": not_a_zip,
        "manifest-escape": lambda s: manifest_line(s, f"{'0' * 64}  ../../etc/passwd"),
        "schema-invalid": schema_invalid_metadata,
        "weakened-schema": weakened_schema,
        "contradicting-counts": contradicting_counts,
        "passed-exit-1": passed_with_exit_1,
        "deep-json": deep_json,
        "bad-results": bad_results_events,
    }
