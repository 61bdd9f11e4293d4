"""`repro pack`: a run folder becomes a deterministic zip holding a BagIt bag.

Layout (one top-level folder, RFC 8493):

    repro-<run_id>/bagit.txt, bag-info.txt, manifest-sha256.txt,
                   repro-bundle.json, tagmanifest-sha256.txt, data/<run folder>

The bundle's identity is its *content digest*: sha256 over the bytes of
tagmanifest-sha256.txt, which hashes every tag file, including
manifest-sha256.txt, which hashes every payload file. It does not depend on
compression, so the same run folder has the same digest on any zlib.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from repro import __version__, layout, records
from repro.errors import EnvironmentProblem, UsageError
from repro.fsutil import CHUNK, atomic_writer, dump_json, sha256_file
from repro.layout import RECORD_SCHEMAS, role_of
from repro.model import RunStamp

FORMAT = "repro-bundle/1"
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
STORE_BELOW = 256  # bytes: deflate only pays off above this
DEFLATE_LEVEL = 6
ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip can hold


@dataclass(frozen=True)
class PackResult:
    path: Path
    sidecar: Path
    digest: str  # "sha256:<hex>"
    run_id: str
    size: int
    reused: bool  # an identical bundle was already there


def _payload(run_dir: Path) -> list[str]:
    """Relative paths of every regular file, in bytewise UTF-8 order."""
    out = []
    for root, dirs, files in os.walk(run_dir, followlinks=False):
        for d in dirs:
            if (Path(root) / d).is_symlink():
                raise UsageError(f"{Path(root) / d} is a symlink; a run folder holds plain files")
        for name in files:
            p = Path(root) / name
            if p.is_symlink() or not p.is_file():
                raise UsageError(f"{p} is not a regular file; a run folder holds plain files")
            out.append(p.relative_to(run_dir).as_posix())
    return sorted(out, key=lambda s: s.encode())


def _timestamp(stamp_created: str) -> float:
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde is not None:
        try:
            return max(ZIP_EPOCH, int(sde))
        except ValueError as exc:
            raise UsageError(f"SOURCE_DATE_EPOCH is not an integer: {sde!r}") from exc
    import datetime as dt

    created = dt.datetime.fromisoformat(stamp_created.replace("Z", "+00:00"))
    return max(ZIP_EPOCH, int(created.timestamp()))


def _read_stamp(run_dir: Path) -> RunStamp:
    stamp_path = run_dir / layout.RUN_STAMP
    if not stamp_path.is_file():
        raise UsageError(
            f"{run_dir} is not a finished run folder (no run_stamp.json)",
            hint="pass a folder under outputs/runs/ made by `repro run`",
        )
    try:
        stamp = json.loads(stamp_path.read_bytes())
    except ValueError as exc:
        raise UsageError(f"{stamp_path} is not valid JSON: {exc}") from exc
    for rel, schema in RECORD_SCHEMAS.items():
        if (run_dir / rel).is_file():
            errors = records.schema_errors(json.loads((run_dir / rel).read_bytes()), schema)
            if errors:
                raise UsageError(f"{run_dir / rel} does not match its schema: {errors[0]}")
    return RunStamp.from_json(stamp)


def tag_files(
    run_id: str, created: str, entries: list[tuple[str, int, str]], when: float
) -> dict[str, bytes]:
    """The bag's tag files for payload `entries` of (relative path, size, sha256)."""
    manifest = "".join(f"{digest}  {layout.payload(rel)}\n" for rel, _, digest in entries).encode()
    octets = sum(size for _, size, _ in entries)
    bag_info = (
        f"Bag-Software-Agent: repro {__version__}\n"
        f"Bagging-Date: {time.strftime('%Y-%m-%d', time.gmtime(when))}\n"
        f"External-Identifier: {run_id}\n"
        f"Payload-Oxum: {octets}.{len(entries)}\n"
    ).encode()
    files = []
    for rel, size, digest in entries:
        item: dict[str, object] = {
            "path": layout.payload(rel),
            "size": size,
            "sha256": digest,
            "role": role_of(rel).value,
        }
        if rel in RECORD_SCHEMAS:
            item["schema"] = f"{RECORD_SCHEMAS[rel]}@1"
        files.append(item)
    bundle_json = dump_json(
        records.validate(
            {
                "schema": "manifest",
                "schema_version": 1,
                "format": FORMAT,
                "run_id": run_id,
                "created": created,
                "repro_version": __version__,
                "files": files,
            },
            "manifest",
        )
    )
    tags = {
        layout.BAGIT_TXT: BAGIT_TXT,
        layout.BAG_INFO: bag_info,
        layout.MANIFEST: manifest,
        layout.BUNDLE_MANIFEST: bundle_json,
    }
    tags[layout.TAGMANIFEST] = "".join(
        f"{hashlib.sha256(tags[name]).hexdigest()}  {name}\n" for name in sorted(tags)
    ).encode()
    return tags


def content_digest(tagmanifest: bytes) -> str:
    return "sha256:" + hashlib.sha256(tagmanifest).hexdigest()


def pack(run_dir: Path, *, out_dir: Path, store: bool = False) -> PackResult:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder not found: {run_dir}")
    stamp = _read_stamp(run_dir)
    run_id, created = stamp.run_id, stamp.created
    when = _timestamp(created)
    rels = _payload(run_dir)
    entries = [(rel, size, digest) for rel in rels for digest, size in [sha256_file(run_dir / rel)]]
    tags = tag_files(run_id, created, entries, when)
    digest = content_digest(tags[layout.TAGMANIFEST])
    top = layout.top_folder(run_id)
    name = layout.bundle_name(run_id, digest)
    target = Path(out_dir) / name

    members: list[tuple[str, bytes | Path, int]] = [
        (layout.member(top, t), data, len(data)) for t, data in tags.items()
    ]
    members += [
        (layout.member(top, layout.payload(rel)), run_dir / rel, size) for rel, size, _ in entries
    ]
    members.sort(key=lambda m: m[0].encode())

    with atomic_writer(Path(out_dir) / f".{name}.new") as fh:
        _write_zip(fh, members, when, store)
    staged = Path(out_dir) / f".{name}.new"
    reused = False
    if target.exists():
        if sha256_file(target) != sha256_file(staged):
            staged.unlink()
            raise EnvironmentProblem(
                f"{target} already exists with other content",
                hint="remove it, or pack into another --out folder",
            )
        staged.unlink()
        reused = True
    else:
        os.replace(staged, target)
    zip_hex, size = sha256_file(target)
    sidecar = target.with_name(layout.sidecar_name(target.name))
    with atomic_writer(sidecar) as sc:
        sc.write(sidecar_text(digest, zip_hex, target.name).encode())
    return PackResult(target, sidecar, digest, run_id, size, reused)


def sidecar_text(digest: str, zip_hex: str, name: str) -> str:
    # The comment line carries the content digest; the second is a plain
    # `sha256sum -c` line for the zip bytes (a transport check without repro).
    return f"# repro content digest: {digest}\n{zip_hex}  {name}\n"


def _zipinfo(name: str, when: float, size: int, store: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.gmtime(when)[:6])
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    info.compress_type = zipfile.ZIP_STORED if store or size < STORE_BELOW else zipfile.ZIP_DEFLATED
    info.file_size = size
    return info


def _write_zip(
    fh: IO[bytes], members: list[tuple[str, bytes | Path, int]], when: float, store: bool
) -> None:
    with zipfile.ZipFile(fh, "w", compresslevel=DEFLATE_LEVEL) as zf:
        for name, src, size in members:
            info = _zipinfo(name, when, size, store)
            with zf.open(info, "w") as dst:
                for chunk in _chunks(src):
                    dst.write(chunk)


def _chunks(src: bytes | Path) -> Iterator[bytes]:
    if isinstance(src, bytes):
        yield src
        return
    with open(src, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk
