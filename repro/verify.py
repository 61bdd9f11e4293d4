"""`repro verify`: check a bundle without extracting it or running anything from it.

The steps, in order (container problems can stop the deeper ones):
 1. container: a strict zip reader (see zipsafe.py);
 2. bag shape: one top folder, the tag files, a manifest naming only paths in data/;
 3. completeness: manifest <-> members, both ways;
 4. fixity: every member's declared size against repro-bundle.json, then every member
    streamed once through inflate + CRC + sha256;
 5. digest: sha256 of the tag manifest, against the file name, the sidecar and --expect;
 6. schemas: each record against the verifier's own copy of its schema;
 7. cross-checks (crosscheck.py): ids, status vs exit code, counts vs results.jsonl and
    JUnit, hashes quoted in records vs the manifest.
Every problem is collected into one report. Records are read into the typed model
(model.py) once they pass their schema; the cross-checks and every reader of a bundle
(reader.py) use that model. A run folder is checked the same way from step 6 on, with the
files' own hashes standing in for the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast

from repro import crosscheck, layout, records, results, zipsafe
from repro.bundle import content_digest
from repro.fsutil import sha256_file
from repro.junit import JUnitBuilder, JUnitCounts, junit_counts
from repro.layout import TAG_FILES
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
from repro.progress import Advance, Reporter, silent

if TYPE_CHECKING:
    from repro.secretscan import Scanner

# Bytes of a tag file or record read into memory: 32 MiB holds run_metadata.json of
# a run of ~400,000 tests and bounds what a small hostile bundle can make verify allocate.
TAG_LIMIT = 32 << 20
# Bytes of the members step 6 reads (records, results, schemas, lock) held from fixity so
# that they are not inflated a second time: the records and streams of a ~200,000-test run.
KEEP_LIMIT = 64 << 20
NAME_RE = layout.BUNDLE_NAME_RE
SIDECAR_RE = re.compile(r"^# repro content digest: (sha256:[0-9a-f]{64})$", re.M)
MANIFEST_LINE = re.compile(r"^([0-9a-f]{64}) {1,2}(\S.*)$")


@dataclass(frozen=True)
class Problem:
    kind: (
        str  # container, name, entry, bag, missing, unexpected, fixity, digest, schema, crosscheck
    )
    member: str | None
    message: str

    def __str__(self) -> str:
        text = f"{self.member}: {self.message}" if self.member else self.message
        return printable(text)


def printable(text: str) -> str:
    """`text` with unprintable characters escaped: member names come from the bundle, and a
    newline or terminal escape in one must not forge or hide lines of the report."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    digest: str | None
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...] = ()
    run_id: str | None = None
    status: Status | None = None  # how the run ended, as its records say
    counts: Counts | None = None
    kind: Literal["bundle", "run-folder"] = "bundle"
    partial: bool = False  # a merge of shards that do not cover the collection (merge.json)
    # SHA-256 of the zip's bytes, taken while verifying it (what a Statement's subject
    # names); None for a run folder or a zip whose container could not be read.
    zip_sha256: str | None = None

    @property
    def ok(self) -> bool:
        """Intact: every check passed. Says nothing about the tests; see `status`."""
        return not self.problems


@dataclass(frozen=True)
class Contents:
    """The records of a verified bundle or run folder, as the model reads them: each is
    None when it is missing or failed fixity or its schema (the report says which)."""

    stamp: RunStamp | None = None
    metadata: RunMetadata | None = None
    env: Env | None = None
    lock: LockRecord | None = None
    manifest: BundleManifest | None = None
    merge: MergeRecord | None = None  # only in a bundle `repro merge` made
    results: Results | None = None
    lock_text: str | None = None
    sizes: Mapping[str, int] = field(default_factory=dict)  # run-folder path -> size


@dataclass
class _Ctx:
    path: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def bad(self, kind: str, member: str | None, message: str) -> None:
        self.problems.append(Problem(kind, member, message))

    def report(
        self, digest: str | None = None, c: Contents | None = None, zip_sha256: str | None = None
    ) -> VerifyReport:
        c = c or Contents()
        return VerifyReport(
            self.path,
            digest,
            tuple(self.problems),
            tuple(self.warnings),
            c.stamp.run_id if c.stamp else None,
            c.metadata.status if c.metadata else c.stamp.status if c.stamp else None,
            c.metadata.counts if c.metadata else None,
            "run-folder" if self.path.is_dir() else "bundle",
            c.merge is not None and c.merge.partial,
            zip_sha256,
        )


class _FileHash:
    """SHA-256 of a whole file, fed by the reads verify makes anyway.

    Reads go through it to the file; those that continue where the hash stopped extend it,
    and `fill` reads whatever the hash still lacks up to a point (local headers, the tag
    files held in memory, the central directory). Since fixity reads the members in file
    order, each byte of the zip is read once for fixity and the Statement's subject
    together, not a second time by a pass over the file."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()
        self.upto = 0  # sha holds bytes [0, upto) of the file
        self.pos = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = self.fh.seek(pos, whence)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        if self.pos <= self.upto < self.pos + len(data):
            self.sha.update(memoryview(data)[self.upto - self.pos :])
            self.upto = self.pos + len(data)
        self.pos += len(data)
        return data

    def fill(self, to: int) -> None:
        if self.upto < to:
            self.seek(self.upto)
            while self.upto < to and self.read(min(zipsafe.READ, to - self.upto)):
                pass

    def hexdigest(self) -> str:
        self.fill(os.fstat(self.fh.fileno()).st_size)
        return self.sha.hexdigest()


def verify(
    path: Path, *, expect: str | None = None, strict: bool = False, progress: Reporter = silent
) -> VerifyReport:
    """Check a bundle (or a run folder) and report every problem found."""
    return inspect(path, expect=expect, strict=strict, progress=progress)[0]


def inspect(
    path: Path, *, expect: str | None = None, strict: bool = False, progress: Reporter = silent
) -> tuple[VerifyReport, Contents]:
    """`verify`, and the records it read on the way (for reader.open_bundle)."""
    from repro.secretscan import open_regular

    ctx = _Ctx(Path(path))
    if ctx.path.is_dir():
        return _verify_folder(ctx, expect, strict)
    try:
        fh = open_regular(Path(path))
    except OSError as exc:
        ctx.bad("container", None, f"cannot open: {exc.strerror or exc}")
        return ctx.report(), Contents()
    except ValueError as exc:  # a FIFO, a device: refused before any read
        ctx.bad("container", None, str(exc))
        return ctx.report(), Contents()
    with fh:
        return _verify(fh, ctx, expect, strict, progress)


def _verify(
    raw: BinaryIO, ctx: _Ctx, expect: str | None, strict: bool, progress: Reporter
) -> tuple[VerifyReport, Contents]:
    arc = zipsafe.read_archive(raw)
    whole = _FileHash(raw)
    fh: Any = whole
    for kind, member, msg in arc.problems:
        ctx.bad(kind, member, msg)
    if arc.fatal or ctx.problems:
        return ctx.report(), Contents()
    by_name = {e.name: e for e in arc.entries}

    # 2. bag shape
    tops = {n.split("/", 1)[0] for n in by_name}
    if len(tops) != 1 or any("/" not in n for n in by_name):
        ctx.bad("bag", None, f"expected one top-level folder, found {sorted(tops)[:5]}")
        return ctx.report(), Contents()
    top = tops.pop()
    tags: dict[str, bytes] = {}
    for tag in (*TAG_FILES, layout.TAGMANIFEST):
        entry = by_name.get(f"{top}/{tag}")
        if entry is None:
            ctx.bad("missing", f"{top}/{tag}", "required tag file is missing")
            continue
        try:
            tags[tag] = zipsafe.read_member(fh, entry, TAG_LIMIT)
        except zipsafe.MemberError as exc:
            ctx.bad("fixity", entry.name, str(exc))
    if len(tags) != len(TAG_FILES) + 1:
        return ctx.report(), Contents()
    digest = content_digest(tags[layout.TAGMANIFEST])

    manifest = _parse_manifest(ctx, f"{top}/{layout.MANIFEST}", tags[layout.MANIFEST], payload=True)
    tagmanifest = _parse_manifest(
        ctx, f"{top}/{layout.TAGMANIFEST}", tags[layout.TAGMANIFEST], payload=False
    )

    # 3. completeness, both ways
    for rel in manifest:
        if f"{top}/{rel}" not in by_name:
            ctx.bad("missing", f"{top}/{rel}", "listed in the manifest but not in the bundle")
    for name in by_name:
        rel = name[len(top) + 1 :]
        listed = rel in manifest or rel in tagmanifest or rel == layout.TAGMANIFEST
        if not listed:
            ctx.bad("unexpected", name, "in the bundle but not listed in any manifest")
    for rel in tagmanifest:
        if f"{top}/{rel}" not in by_name:
            ctx.bad("missing", f"{top}/{rel}", "listed in the tag manifest but not in the bundle")

    # 4. fixity. A member whose declared size is not the one repro-bundle.json lists cannot
    # hold the listed bytes: it is not inflated at all, which keeps a bomb that replaced a
    # log from costing a gigabyte of work. Members that fail are not parsed in step 6 either.
    failed: set[str] = set()
    from repro.secretscan import Scanner, masked_at_source

    scan = Scanner(masked_at_source(fh, by_name.get(f"{top}/data/{layout.RUN_METADATA}")))
    total = sum(e.usize for e in arc.entries) - sum(map(len, tags.values()))
    with progress(f"verifying {ctx.path.name}", total) as advance:
        kept = _fixity(ctx, whole, top, by_name, manifest, tagmanifest, tags, failed, advance, scan)
    zip_sha256 = whole.hexdigest()

    # 5. digest
    _check_digest(ctx, digest, expect)
    for member, msg in scan.findings():
        if strict:
            ctx.bad("credential", member, msg)
        else:
            ctx.warnings.append(printable(f"{member}: {msg}"))

    # 6 + 7. records, schemas, cross-checks
    readable = {n: e for n, e in by_name.items() if n not in failed}
    src = _ZipSource(fh, top, readable, tags, kept)
    payload_sizes = {name[len(top) + 1 :]: e.usize for name, e in by_name.items()}
    contents = _check_records(ctx, src, manifest, payload_sizes, strict)
    if contents.stamp is not None:
        for f in crosscheck.check_names(top, ctx.path.name, contents.stamp.run_id):
            ctx.bad("crosscheck", f.path, f.message)
    return ctx.report(digest, contents, zip_sha256), contents


def _fixity(
    ctx: _Ctx,
    fh: _FileHash,
    top: str,
    by_name: dict[str, zipsafe.Entry],
    manifest: dict[str, str],
    tagmanifest: dict[str, str],
    tags: dict[str, bytes],
    failed: set[str],
    advance: Advance,
    scan: Scanner,
) -> dict[str, bytes]:
    """Hash every listed member; return the bytes of those step 6 reads again (records,
    results, schemas, lock) that passed, as inflated here: each is inflated once. Up to
    KEEP_LIMIT bytes in all; a member past it is read again from the zip, as before."""
    sizes = _listed_sizes(tags[layout.BUNDLE_MANIFEST])
    kept: dict[str, bytes] = {}
    room = KEEP_LIMIT
    listed = [
        (entry, rel, want)
        for rel, want in (*manifest.items(), *tagmanifest.items())
        if (entry := by_name.get(f"{top}/{rel}")) is not None
    ]
    # In file order, so that the reads extend the hash of the whole zip (see _FileHash).
    for entry, rel, want in sorted(listed, key=lambda x: x[0].offset):
        fh.fill(entry.data_offset)
        want_size = sizes.get(rel)
        if want_size is not None and entry.usize != want_size:
            ctx.bad(
                "fixity",
                entry.name,
                f"declares {entry.usize} bytes, repro-bundle.json lists {want_size} (not read)",
            )
            failed.add(entry.name)
            continue
        keep: list[bytes] | None = None
        if rel in tags:
            got = hashlib.sha256(tags[rel]).hexdigest()
        else:
            if _read_again(rel) and entry.usize <= min(room, TAG_LIMIT):
                keep = []
            try:
                reader = cast(BinaryIO, fh)  # reads and seeks as a file does
                got = zipsafe.hash_member(reader, entry, advance, scan.member(entry.name), keep)
            except zipsafe.MemberError as exc:
                ctx.bad("fixity", entry.name, str(exc))
                failed.add(entry.name)
                continue
        if got != want:
            ctx.bad("fixity", entry.name, f"sha256 is {got[:16]}..., manifest says {want[:16]}...")
            failed.add(entry.name)
        elif keep is not None:
            kept[entry.name] = b"".join(keep)
            room -= entry.usize
    return kept


def _read_again(rel: str) -> bool:
    """Whether step 6 reads this bag path (`data/...`) after fixity."""
    path = layout.rel_of(rel)
    return path is not None and (
        path in layout.RECORD_SCHEMAS
        or path in layout.RESULT_FILES
        or path == layout.LOCK_FILE
        or path.startswith(layout.SCHEMAS_DIR + "/")
    )


def _listed_sizes(data: bytes) -> dict[str, int | float]:
    """{path: size} from repro-bundle.json, read before its schema is checked (step 6 reports
    a malformed one): whatever entries have a path and a numeric size."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    files = doc.get("files") if isinstance(doc, dict) else None
    out: dict[str, int | float] = {}
    for f in files if isinstance(files, list) else ():
        if not isinstance(f, dict):
            continue
        path, size = f.get("path"), f.get("size")
        if isinstance(path, str) and isinstance(size, (int, float)) and not isinstance(size, bool):
            out[path] = size
    return out


def _parse_manifest(ctx: _Ctx, member: str, data: bytes, *, payload: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        ctx.bad("bag", member, "manifest is not UTF-8")
        return out
    for n, line in enumerate(text.splitlines(), 1):
        m = MANIFEST_LINE.match(line)
        if not m:
            ctx.bad("bag", member, f"line {n} is not '<sha256>  <path>'")
            continue
        digest, rel = m.groups()
        why = zipsafe.name_problem(rel)
        if why or (payload != rel.startswith("data/")):
            where = why or ("outside data/" if payload else "a tag manifest lists tag files only")
            ctx.bad("bag", member, f"line {n} lists an unsafe path {rel!r} ({where})")
            continue
        if rel in out:
            ctx.bad("bag", member, f"line {n} lists {rel} twice")
        out[rel] = digest
    return out


def _check_digest(ctx: _Ctx, digest: str, expect: str | None) -> None:
    m = NAME_RE.match(ctx.path.name)
    if m is None:
        ctx.warnings.append(
            "file name does not carry a digest (renamed?): only --expect anchors it"
        )
    elif not digest.startswith("sha256:" + m.group("short")):
        ctx.bad("digest", None, f"content digest {digest} does not match the file name")
    sidecar = ctx.path.with_name(ctx.path.name + ".sha256")
    if sidecar.is_file():
        try:
            found = SIDECAR_RE.search(sidecar.read_text(errors="replace")[:4096])
        except OSError:
            found = None
        if found is None:
            ctx.bad("digest", sidecar.name, "sidecar holds no repro content digest")
        elif found.group(1) != digest:
            ctx.bad("digest", sidecar.name, f"sidecar says {found.group(1)}, content is {digest}")
    # The whole digest or nothing (the CLI refuses any other form of --expect as a usage error).
    if expect is not None and digest != expect.lower():
        ctx.bad("digest", None, f"content digest {digest} is not the expected {expect}")


# --- steps 6 and 7, shared by bundles and run folders ----------------------------------------


class _ZipSource:
    """Payload and tag files of a bundle, by bag path; only members that passed fixity."""

    def __init__(
        self,
        fh: BinaryIO,
        top: str,
        readable: dict[str, zipsafe.Entry],
        tags: dict[str, bytes],
        kept: dict[str, bytes],
    ) -> None:
        self.fh, self.top, self.readable, self.tags = fh, top, readable, tags
        self.kept = kept  # member -> its bytes, as fixity inflated and checked them
        self.present = {n[len(top) + 1 :] for n in readable}

    def name(self, path: str) -> str:
        return layout.member(self.top, path)

    def has(self, path: str) -> bool:
        return path in self.present or path in self.tags

    def read(self, path: str, limit: int) -> bytes:
        if path in self.tags:
            return self.tags[path]
        entry = self.readable[self.name(path)]
        data = self.kept.get(entry.name)
        if data is None:
            return zipsafe.read_member(self.fh, entry, limit)
        if entry.usize > limit:  # as read_member refuses it
            raise zipsafe.MemberError(
                f"member declares {entry.usize} bytes, more than the {limit} allowed"
            )
        return data

    def chunks(self, path: str) -> Iterator[bytes]:
        entry = self.readable[self.name(path)]
        data = self.kept.get(entry.name)
        return iter((data,)) if data is not None else zipsafe.stream_member(self.fh, entry)


class _DirSource:
    """The files of a run folder, by bag path (`data/...`)."""

    def __init__(self, root: Path, present: set[str]) -> None:
        self.root, self.present = root, present

    def name(self, path: str) -> str:
        return layout.rel_of(path) or path

    def has(self, path: str) -> bool:
        return path in self.present

    def _file(self, path: str) -> Path:
        return self.root / (layout.rel_of(path) or path)

    def read(self, path: str, limit: int) -> bytes:
        with open(self._file(path), "rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise zipsafe.MemberError(f"file is larger than {limit} bytes")
        return data

    def chunks(self, path: str) -> Iterator[bytes]:
        with open(self._file(path), "rb") as fh:
            while chunk := fh.read(zipsafe.READ):
                yield chunk


_Source = _ZipSource | _DirSource


_PARSERS: dict[str, Callable[[Any], Any]] = {
    layout.RUN_STAMP: RunStamp.from_json,
    layout.RUN_METADATA: RunMetadata.from_json,
    layout.ENV: Env.from_json,
    layout.LOCK_RECORD: LockRecord.from_json,
    layout.MERGE_RECORD: MergeRecord.from_json,
    layout.BUNDLE_MANIFEST: BundleManifest.from_json,
}


def _record(ctx: _Ctx, src: _Source, path: str, schema: str) -> Any:
    """The record at bag path `path` as a model object, or None after reporting why not."""
    member = src.name(path)
    try:
        doc = json.loads(src.read(path, TAG_LIMIT))
    except zipsafe.MemberError as exc:
        ctx.bad("fixity", member, str(exc))
        return None
    except (ValueError, OSError) as exc:
        ctx.bad("schema", member, f"not valid JSON: {exc}")
        return None
    except RecursionError:
        ctx.bad("schema", member, "not valid JSON: nested too deeply")
        return None
    declared = (doc.get("schema"), doc.get("schema_version")) if isinstance(doc, dict) else None
    if declared != (schema, records.SCHEMA_VERSION):
        ctx.bad("schema", member, f"declares schema {declared}, expected ({schema!r}, 1)")
        return None
    try:
        errors = records.schema_errors(doc, schema)
    except RecursionError:
        errors = ["(top): nested too deeply to validate"]
    for err in errors[:10]:
        ctx.bad("schema", member, f"does not match schema {schema}: {err}")
    if errors:
        return None
    try:
        return _PARSERS[path.rsplit("/", 1)[-1]](doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # The schemas leave some fields loose; a record that fits the schema but not the
        # model is still not one repro wrote.
        ctx.bad("schema", member, f"cannot be read: {type(exc).__name__}: {exc}")
        return None


def _load_records(ctx: _Ctx, src: _Source) -> dict[str, Any]:
    loaded: dict[str, Any] = {}
    wanted = [(layout.payload(rel), schema) for rel, schema in layout.RECORD_SCHEMAS.items()]
    if isinstance(src, _ZipSource):
        wanted.append((layout.BUNDLE_MANIFEST, "manifest"))
    for path, schema in wanted:
        if not src.has(path):
            rel = layout.rel_of(path)
            missing = rel is not None and rel not in layout.OPTIONAL_RECORDS
            # A member that failed fixity is not here either, and is already reported.
            if missing and not _failed_fixity(ctx, src.name(path)):
                ctx.bad("missing", src.name(path), "required record is missing")
            continue
        loaded[path.rsplit("/", 1)[-1]] = _record(ctx, src, path, schema)
    return loaded


def _failed_fixity(ctx: _Ctx, member: str) -> bool:
    return any(p.member == member and p.kind == "fixity" for p in ctx.problems)


def _check_shipped_schemas(ctx: _Ctx, src: _Source) -> None:
    # A bundle that ships a different (e.g. weakened) copy of a schema is suspect
    # even though the verifier never uses it.
    for name in records.SCHEMA_NAMES:
        path = layout.payload(layout.schema_file(name))
        if not src.has(path):
            continue
        try:
            shipped = json.loads(src.read(path, TAG_LIMIT))
        except zipsafe.MemberError as exc:
            ctx.bad("fixity", src.name(path), str(exc))
            continue
        except (ValueError, RecursionError, OSError) as exc:
            ctx.bad("schema", src.name(path), f"not valid JSON: {exc}")
            continue
        # Records are always checked against repro's own schema; within a schema_version it
        # only grows, so a bundle of an earlier repro ships an earlier copy, which is fine.
        if records.canonical_digest(shipped) not in records.published_digests(name):
            ctx.bad(
                "schema",
                src.name(path),
                "differs from repro's own copy of this schema and from every earlier one",
            )


def _read_results(ctx: _Ctx, src: _Source) -> tuple[Results | None, JUnitCounts | None]:
    """The results stream as the model, and the JUnit cases it implies: one pass."""
    path = layout.payload(layout.RESULTS_JSONL)
    if not src.has(path):
        return None, None
    builder = JUnitBuilder(None)
    try:
        res = results.load_chunks(src.chunks(path), builder)
    except zipsafe.MemberError:
        return None, None  # already reported by fixity
    except OSError as exc:
        ctx.bad("fixity", src.name(path), f"cannot be read: {exc.strerror or exc}")
        return None, None
    builder.end(res.in_flight, "")
    return res, builder.counts


def _read_junit(ctx: _Ctx, src: _Source) -> JUnitCounts | None:
    path = layout.payload(layout.JUNIT_XML)
    if not src.has(path):
        return None
    try:
        return junit_counts(src.read(path, TAG_LIMIT))
    except zipsafe.MemberError:
        return None
    except Exception as exc:  # any parse failure of untrusted XML is a finding
        ctx.bad("crosscheck", src.name(path), f"not valid JUnit XML: {type(exc).__name__}")
        return None


def _read_lock_text(src: _Source) -> str | None:
    path = layout.payload(layout.LOCK_FILE)
    if not src.has(path):
        return None
    try:
        return src.read(path, TAG_LIMIT).decode("utf-8", "replace")
    except (zipsafe.MemberError, OSError):
        return None


def _check_records(
    ctx: _Ctx,
    src: _Source,
    manifest: Mapping[str, str],
    sizes: Mapping[str, int],
    strict: bool,
) -> Contents:
    recs = _load_records(ctx, src)
    _check_shipped_schemas(ctx, src)
    stamp, meta = recs.get(layout.RUN_STAMP), recs.get(layout.RUN_METADATA)
    bmanifest = recs.get(layout.BUNDLE_MANIFEST)
    findings: list[crosscheck.Finding] = []
    if bmanifest is not None:
        findings += crosscheck.check_bundle_manifest(bmanifest, manifest)
    res = None
    if stamp is not None and meta is not None:
        res, expected = _read_results(ctx, src)
        junit = _read_junit(ctx, src)
        findings += crosscheck.check_run(
            crosscheck.Evidence(stamp, meta, manifest, sizes, res, junit, expected)
        )
    merge = recs.get(layout.MERGE_RECORD)
    if merge is not None and stamp is not None and meta is not None:
        findings += crosscheck.check_merge(merge, stamp, meta, manifest)
    for f in findings:
        ctx.bad("crosscheck", None if f.path is None else src.name(f.path), f.message)
    drift = crosscheck.drift_message(meta) if meta is not None else None
    if drift is not None:
        if strict:
            ctx.bad("crosscheck", src.name(crosscheck.META), drift)
        else:
            ctx.warnings.append(drift)
    return Contents(
        stamp=stamp,
        metadata=meta,
        env=recs.get(layout.ENV),
        lock=recs.get(layout.LOCK_RECORD),
        manifest=bmanifest,
        merge=merge,
        results=res,
        lock_text=_read_lock_text(src),
        sizes={layout.rel_of(p) or p: n for p, n in sizes.items() if layout.rel_of(p)},
    )


# --- a run folder ----------------------------------------------------------------------------


def _verify_folder(ctx: _Ctx, expect: str | None, strict: bool) -> tuple[VerifyReport, Contents]:
    """A run folder before it is packed: no container, manifest or digest to check, but the
    same records, schemas and cross-checks, against what its files hash to now."""
    if expect is not None:
        ctx.bad("digest", None, "a run folder has no digest to compare with --expect (pack it)")
    if not (ctx.path / layout.RUN_STAMP).is_file():
        # Not a run folder (outputs/, a project): nothing to hash through.
        ctx.bad("missing", layout.RUN_STAMP, "not a run folder: it has no run_stamp.json")
        return ctx.report(), Contents()
    hashes: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for rel, full in _folder_files(ctx):
        try:
            digest, size = sha256_file(full)
        except OSError as exc:
            ctx.bad("fixity", rel, f"cannot be read: {exc.strerror or exc}")
            continue
        hashes[layout.payload(rel)], sizes[layout.payload(rel)] = digest, size
    src = _DirSource(ctx.path, set(hashes))
    contents = _check_records(ctx, src, hashes, sizes, strict)
    return ctx.report(None, contents), contents


def _folder_files(ctx: _Ctx) -> Iterator[tuple[str, Path]]:
    """(run-folder path, file) of every regular file; anything else is a problem, as pack
    would refuse it."""
    for root, dirs, files in os.walk(ctx.path):
        for name in sorted(dirs + files):
            full = Path(root) / name
            rel = full.relative_to(ctx.path).as_posix()
            if full.is_symlink():
                ctx.bad("container", rel, "is a symlink; a run folder holds plain files")
            elif name in files and not full.is_file():
                ctx.bad("container", rel, "is not a regular file")
            elif name in files:
                yield rel, full
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]


def read_payload(path: Path, report: VerifyReport, rel: str, limit: int) -> bytes:
    """The first `limit` bytes of run-folder path `rel` in the bundle or run folder `path`
    that `report` verified. A file the report found at fault is refused."""
    from repro.errors import UsageError

    at_fault = ("fixity", "missing", "container", "unexpected", "entry", "name")
    for p in report.problems:
        named = p.member is not None and (p.member == rel or p.member.endswith("/data/" + rel))
        if named and p.kind in at_fault:
            raise UsageError(f"{rel} in {path} failed verification: {p.message}")
    if Path(path).is_dir():
        with open(Path(path) / rel, "rb") as fh:
            return fh.read(limit)
    with open(path, "rb") as fh:
        arc = zipsafe.read_archive(fh)
        entry = next((e for e in arc.entries if e.name.endswith("/data/" + rel)), None)
        if arc.fatal or entry is None:
            raise UsageError(f"{rel} cannot be read from {path}")
        out = bytearray()
        try:
            for chunk in zipsafe.stream_member(fh, entry):
                out += chunk
                if len(out) >= limit:
                    break
        except zipsafe.MemberError as exc:
            raise UsageError(f"{rel} in {path} cannot be read: {exc}") from exc
        return bytes(out[:limit])
