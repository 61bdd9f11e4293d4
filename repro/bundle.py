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

import glob
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from repro import __version__, layout, records
from repro.errors import EnvironmentProblem, UsageError
from repro.fsutil import atomic_writer, dump_json, sha256_file
from repro.layout import RECORD_SCHEMAS, role_of
from repro.model import RunStamp
from repro.progress import Reporter, silent
from repro.zipwrite import DEFAULT_CODEC, Codec, SourceChanged, ZipWriter

FORMAT = "repro-bundle/1"
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
STORE_BELOW = 256  # bytes: deflate only pays off above this
ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip can hold


@dataclass(frozen=True)
class PackResult:
    path: Path
    sidecar: Path
    digest: str  # "sha256:<hex>"
    run_id: str
    size: int
    reused: bool  # an identical bundle was already there
    compression: str  # "stored", or the library and level of DEFLATE ("isal 1.9.1 level 1")
    statement: Path | None = None  # <bundle>.intoto.json (repro/attest/)


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
            rel = p.relative_to(run_dir).as_posix()
            try:
                rel.encode()
            except UnicodeEncodeError:
                # A name the file system holds as bytes that are not UTF-8 (surrogate-escaped
                # by Python) has no name in a zip or a BagIt manifest, which are UTF-8.
                shown = os.fsencode(p).decode("utf-8", "backslashreplace")
                raise UsageError(
                    f"{shown} has a name that is not UTF-8; a bundle's names are UTF-8",
                    hint="rename or remove the file, then pack again",
                ) from None
            out.append(rel)
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


def bag_info(run_id: str, octets: int, count: int, when: float) -> bytes:
    """bag-info.txt: it depends on the payload's sizes, not on its hashes."""
    return (
        f"Bag-Software-Agent: repro {__version__}\n"
        f"Bagging-Date: {time.strftime('%Y-%m-%d', time.gmtime(when))}\n"
        f"External-Identifier: {run_id}\n"
        f"Payload-Oxum: {octets}.{count}\n"
    ).encode()


def tag_files(
    run_id: str, created: str, entries: list[tuple[str, int, str]], when: float
) -> dict[str, bytes]:
    """The bag's tag files for payload `entries` of (relative path, size, sha256)."""
    manifest = "".join(f"{digest}  {layout.payload(rel)}\n" for rel, _, digest in entries).encode()
    octets = sum(size for _, size, _ in entries)
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
        layout.BAG_INFO: bag_info(run_id, octets, len(entries), when),
        layout.MANIFEST: manifest,
        layout.BUNDLE_MANIFEST: bundle_json,
    }
    tags[layout.TAGMANIFEST] = "".join(
        f"{hashlib.sha256(tags[name]).hexdigest()}  {name}\n" for name in sorted(tags)
    ).encode()
    return tags


def content_digest(tagmanifest: bytes) -> str:
    return "sha256:" + hashlib.sha256(tagmanifest).hexdigest()


def pack(
    run_dir: Path, *, out_dir: Path, store: bool = False, progress: Reporter = silent
) -> PackResult:
    """`_pack`, then a `packed` line in the ledger of the outputs folder the run is in."""
    res = _pack(run_dir, out_dir=out_dir, store=store, progress=progress)
    runs = Path(run_dir).resolve().parent
    if runs.name == "runs":
        from repro import ledger

        ledger.append(
            runs.parent, "packed", run_id=res.run_id, digest=res.digest, bundle=res.path.name
        )
    return res


def _pack(
    run_dir: Path, *, out_dir: Path, store: bool = False, progress: Reporter = silent
) -> PackResult:
    """Pack `run_dir` into `out_dir`, or reuse the bundle already there for the same content.

    Each payload byte is read once (SHA-256, CRC-32 and DEFLATE in one pass), except when a
    bundle of this run is already in `out_dir`: then the payload is hashed first, and an
    existing bundle with the same digest and compression is reused without writing."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder not found: {run_dir}")
    stamp = _read_stamp(run_dir)
    run_id, created = stamp.run_id, stamp.created
    when = _timestamp(created)
    sizes = {rel: (run_dir / rel).stat().st_size for rel in _payload(run_dir)}
    codec = None if store else DEFAULT_CODEC
    top = f"repro-{run_id}"
    known: dict[str, str] | None = None
    if out_dir.is_dir() and any(out_dir.glob(glob.escape(top) + "-*.zip")):
        known = _hash_payload(run_dir, sizes, progress)
        digest = content_digest(tag_files(run_id, created, _entries(sizes, known), when)[TAGS_LAST])
        existing = _reuse(out_dir / bundle_name(top, digest), digest, run_id, codec)
        if existing is not None:
            return existing
    changed = EnvironmentProblem(
        f"{run_dir} changed while it was packed", hint="pack it again once the run is over"
    )
    try:
        with atomic_writer(out_dir / f".{top}.packing") as fh:
            ident = (run_id, created)
            digests = _write_bundle(fh, run_dir, top, sizes, when, codec, ident, progress)
    except SourceChanged as exc:
        raise changed from exc
    staged = out_dir / f".{top}.packing"
    if known is not None and known != digests:
        staged.unlink()
        raise changed
    digest = content_digest(tag_files(run_id, created, _entries(sizes, digests), when)[TAGS_LAST])
    target = out_dir / bundle_name(top, digest)
    reused = _place(staged, target)
    return _finish(target, digest, run_id, codec, reused)


def pack_to(
    run_dir: Path,
    *,
    target: Path | None,
    out_dir: Path,
    store: bool = False,
    progress: Reporter = silent,
) -> PackResult:
    """Pack `run_dir` as `_pack` does, into file `target` (replaced if it is there) or, when
    it is None, into `out_dir` under the bundle's own name: `repro merge`, whose user may
    name the bundle. Written beside its final place and renamed into it."""
    run_dir = Path(run_dir)
    stamp = _read_stamp(run_dir)
    run_id, created = stamp.run_id, stamp.created
    when = _timestamp(created)
    sizes = {rel: (run_dir / rel).stat().st_size for rel in _payload(run_dir)}
    codec = None if store else DEFAULT_CODEC
    top = layout.top_folder(run_id)
    staged = (target.parent if target is not None else out_dir) / f".{top}.packing"
    with atomic_writer(staged) as fh:
        ident = (run_id, created)
        digests = _write_bundle(fh, run_dir, top, sizes, when, codec, ident, progress)
    digest = content_digest(tag_files(run_id, created, _entries(sizes, digests), when)[TAGS_LAST])
    if target is None:
        final = out_dir / bundle_name(top, digest)
        reused = _place(staged, final)
    else:
        final, reused = target, False
        os.replace(staged, final)
    return _finish(final, digest, run_id, codec, reused)


def _place(staged: Path, target: Path) -> bool:
    """Move the staged zip to `target`; True when the same bytes were already there."""
    if not target.exists():
        os.replace(staged, target)
        return False
    same = sha256_file(target) == sha256_file(staged)
    staged.unlink()
    if not same:
        raise EnvironmentProblem(
            f"{target} already exists with other content",
            hint="remove it, or pack into another --out folder",
        )
    return True


TAGS_LAST = "tagmanifest-sha256.txt"


def bundle_name(top: str, digest: str) -> str:
    return f"{top}-{digest[7:19]}.zip"


def compression_of(codec: Codec | None) -> str:
    return "stored" if codec is None else str(codec)


def _entries(sizes: dict[str, int], digests: dict[str, str]) -> list[tuple[str, int, str]]:
    return [(rel, size, digests[rel]) for rel, size in sizes.items()]


def _hash_payload(run_dir: Path, sizes: dict[str, int], progress: Reporter) -> dict[str, str]:
    out = {}
    with progress("hashing the run", sum(sizes.values())) as advance:
        for rel in sizes:
            out[rel] = sha256_file(run_dir / rel, advance)[0]
    return out


def _write_bundle(
    fh: IO[bytes],
    run_dir: Path,
    top: str,
    sizes: dict[str, int],
    when: float,
    codec: Codec | None,
    ident: tuple[str, str],
    progress: Reporter,
) -> dict[str, str]:
    """Write the zip; return each payload file's SHA-256, taken from the bytes written.

    Members go in bytewise name order, and `data/` sorts after the two tag files that do not
    depend on the payload's hashes and before the three that do."""
    run_id, created = ident
    octets = sum(sizes.values())
    digests: dict[str, str] = {}
    label = "packing" if codec is None else f"packing ({codec})"
    with ZipWriter(fh, when, codec, store_below=STORE_BELOW) as zw, progress(label, octets) as adv:
        head = {"bag-info.txt": bag_info(run_id, octets, len(sizes), when), "bagit.txt": BAGIT_TXT}
        for name, data in head.items():
            zw.add(f"{top}/{name}", data, len(data))
        for rel, size in sizes.items():
            digests[rel] = zw.add(f"{top}/data/{rel}", run_dir / rel, size, adv)
        tags = tag_files(run_id, created, _entries(sizes, digests), when)
        for name in sorted(set(tags) - set(head)):
            zw.add(f"{top}/{name}", tags[name], len(tags[name]))
    return digests


def _reuse(target: Path, digest: str, run_id: str, codec: Codec | None) -> PackResult | None:
    """The bundle at `target` when its sidecar vouches for it (same digest and compression,
    and the zip bytes it names are the ones on disk), else None."""
    sidecar = target.with_name(target.name + ".sha256")
    try:
        text = sidecar.read_text()
    except OSError:
        return None
    if (
        not target.is_file()
        or text.splitlines()[:2]
        != sidecar_text(digest, "", target.name, compression_of(codec)).splitlines()[:2]
    ):
        return None
    zip_hex, size = sha256_file(target)
    if f"{zip_hex}  {target.name}" not in text.splitlines():
        return None
    from repro.attest import statement

    # Written again (the same bytes for the same zip): a Statement deleted since the first
    # pack comes back, and the result names it as a fresh pack's does.
    stmt_path, _ = statement.write(target, zip_hex)
    return PackResult(target, sidecar, digest, run_id, size, True, compression_of(codec), stmt_path)


def _finish(
    target: Path, digest: str, run_id: str, codec: Codec | None, reused: bool
) -> PackResult:
    zip_hex, size = sha256_file(target)
    sidecar = target.with_name(layout.sidecar_name(target.name))
    with atomic_writer(sidecar) as sc:
        sc.write(sidecar_text(digest, zip_hex, target.name, compression_of(codec)).encode())
    from repro.attest import statement

    stmt_path, _ = statement.write(target, zip_hex)
    return PackResult(
        target, sidecar, digest, run_id, size, reused, compression_of(codec), stmt_path
    )


def sidecar_text(digest: str, zip_hex: str, name: str, compression: str) -> str:
    # The comment lines carry the content digest and how the zip was compressed (which
    # decides its bytes, not its digest); the last is a plain `sha256sum -c` line for the
    # zip bytes (a transport check without repro).
    return f"# repro content digest: {digest}\n# compression: {compression}\n{zip_hex}  {name}\n"
