"""`repro verify`: check a bundle without extracting it or running anything from it.

The steps, in order (container problems can stop the deeper ones):
 1. container: a strict zip reader (see zipsafe.py);
 2. bag shape: one top folder, the tag files, a manifest naming only paths in data/;
 3. completeness: manifest <-> members, both ways;
 4. fixity: every member's declared size against repro-bundle.json, then every member
    streamed once through inflate + CRC + sha256;
 5. digest: sha256 of the tag manifest, against the file name, the sidecar and --expect;
 6. schemas: each record against the verifier's own copy of its schema;
 7. cross-checks: ids, status vs exit code, counts vs results.jsonl and JUnit, hashes.
Every problem is collected into one report.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from repro import records, results, zipsafe
from repro.bundle import RECORD_SCHEMAS, TAG_FILES, content_digest, role_of
from repro.junit import JUnitBuilder, JUnitCounts, junit_counts

# Bytes of a tag file or record read into memory: 32 MiB holds run_metadata.json of
# a run of ~400,000 tests and bounds what a small hostile bundle can make verify allocate.
TAG_LIMIT = 32 << 20
NAME_RE = re.compile(r"^repro-(?P<run_id>.+)-(?P<short>[0-9a-f]{12})\.zip$")
SIDECAR_RE = re.compile(r"^# repro content digest: (sha256:[0-9a-f]{64})$", re.M)
MANIFEST_LINE = re.compile(r"^([0-9a-f]{64}) {1,2}(\S.*)$")
EXIT_CONSISTENT = {"passed": {0}, "failed": {1}, "no-tests": {5}}


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
    status: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Ctx:
    path: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def bad(self, kind: str, member: str | None, message: str) -> None:
        self.problems.append(Problem(kind, member, message))


def verify(path: Path, *, expect: str | None = None, strict: bool = False) -> VerifyReport:
    ctx = _Ctx(Path(path))
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        ctx.bad("container", None, f"cannot open: {exc.strerror or exc}")
        return VerifyReport(Path(path), None, tuple(ctx.problems))
    with fh:
        return _verify(fh, ctx, expect, strict)


def _verify(fh: BinaryIO, ctx: _Ctx, expect: str | None, strict: bool) -> VerifyReport:
    arc = zipsafe.read_archive(fh)
    for kind, member, msg in arc.problems:
        ctx.bad(kind, member, msg)
    if arc.fatal or ctx.problems:
        return VerifyReport(ctx.path, None, tuple(ctx.problems))
    by_name = {e.name: e for e in arc.entries}

    # 2. bag shape
    tops = {n.split("/", 1)[0] for n in by_name}
    if len(tops) != 1 or any("/" not in n for n in by_name):
        ctx.bad("bag", None, f"expected one top-level folder, found {sorted(tops)[:5]}")
        return VerifyReport(ctx.path, None, tuple(ctx.problems))
    top = tops.pop()
    tags: dict[str, bytes] = {}
    for tag in (*TAG_FILES, "tagmanifest-sha256.txt"):
        entry = by_name.get(f"{top}/{tag}")
        if entry is None:
            ctx.bad("missing", f"{top}/{tag}", "required tag file is missing")
            continue
        try:
            tags[tag] = zipsafe.read_member(fh, entry, TAG_LIMIT)
        except zipsafe.MemberError as exc:
            ctx.bad("fixity", entry.name, str(exc))
    if len(tags) != len(TAG_FILES) + 1:
        return VerifyReport(ctx.path, None, tuple(ctx.problems))
    digest = content_digest(tags["tagmanifest-sha256.txt"])

    manifest = _parse_manifest(
        ctx, f"{top}/manifest-sha256.txt", tags["manifest-sha256.txt"], payload=True
    )
    tagmanifest = _parse_manifest(
        ctx, f"{top}/tagmanifest-sha256.txt", tags["tagmanifest-sha256.txt"], payload=False
    )

    # 3. completeness, both ways
    for rel in manifest:
        if f"{top}/{rel}" not in by_name:
            ctx.bad("missing", f"{top}/{rel}", "listed in the manifest but not in the bundle")
    for name in by_name:
        rel = name[len(top) + 1 :]
        listed = rel in manifest or rel in tagmanifest or rel == "tagmanifest-sha256.txt"
        if not listed:
            ctx.bad("unexpected", name, "in the bundle but not listed in any manifest")
    for rel in tagmanifest:
        if f"{top}/{rel}" not in by_name:
            ctx.bad("missing", f"{top}/{rel}", "listed in the tag manifest but not in the bundle")

    # 4. fixity. A member whose declared size is not the one repro-bundle.json lists cannot
    # hold the listed bytes: it is not inflated at all, which keeps a bomb that replaced a
    # log from costing a gigabyte of work. Members that fail are not parsed in step 6 either.
    sizes = _listed_sizes(tags["repro-bundle.json"])
    failed: set[str] = set()
    for rel, want in (*manifest.items(), *tagmanifest.items()):
        entry = by_name.get(f"{top}/{rel}")
        if entry is None:
            continue
        want_size = sizes.get(rel)
        if want_size is not None and entry.usize != want_size:
            ctx.bad(
                "fixity",
                entry.name,
                f"declares {entry.usize} bytes, repro-bundle.json lists {want_size} (not read)",
            )
            failed.add(entry.name)
            continue
        if rel in tags:
            got = hashlib.sha256(tags[rel]).hexdigest()
        else:
            try:
                got = zipsafe.hash_member(fh, entry)
            except zipsafe.MemberError as exc:
                ctx.bad("fixity", entry.name, str(exc))
                failed.add(entry.name)
                continue
        if got != want:
            ctx.bad("fixity", entry.name, f"sha256 is {got[:16]}..., manifest says {want[:16]}...")
            failed.add(entry.name)

    # 5. digest
    _check_digest(ctx, digest, expect)

    # 6 + 7. records, schemas, cross-checks
    info = _check_records(ctx, fh, top, by_name, manifest, tags, strict, failed)
    return VerifyReport(
        ctx.path,
        digest,
        tuple(ctx.problems),
        tuple(ctx.warnings),
        info.get("run_id"),
        info.get("status"),
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


def _json(ctx: _Ctx, fh: BinaryIO, entry: zipsafe.Entry | None, member: str) -> Any:
    if entry is None:
        return None
    try:
        return json.loads(zipsafe.read_member(fh, entry, TAG_LIMIT))
    except zipsafe.MemberError as exc:
        ctx.bad("fixity", member, str(exc))
    except ValueError as exc:
        ctx.bad("schema", member, f"not valid JSON: {exc}")
    except RecursionError:
        ctx.bad("schema", member, "not valid JSON: nested too deeply")
    return None


_ASKED = re.compile(r"(?:^|python)(\d+\.\d+)(?:\.exe)?$")


def _check_python(meta: dict[str, Any], bad: Any) -> None:
    """Configured versus actual: the Python asked for, probed, and that ran pytest."""
    ran = meta.get("python_ran")
    if not isinstance(ran, dict):
        return  # a record from before repro recorded it
    probed, by_pytest = ran.get("probe"), ran.get("pytest")
    if isinstance(by_pytest, str) and probed != by_pytest:
        bad(
            "run_metadata.json",
            f"Python {probed} was probed but pytest ran under {by_pytest}",
        )
    asked = _ASKED.search(Path(str(meta.get("python", ""))).name)
    actual = by_pytest if isinstance(by_pytest, str) else probed
    if asked and isinstance(actual, str) and not (actual + ".").startswith(asked[1] + "."):
        bad(
            "run_metadata.json",
            f"--python asked for Python {asked[1]} but {actual} ran",
        )


def _lines(fh: BinaryIO, entry: zipsafe.Entry) -> Iterator[bytes]:
    pending = b""
    for chunk in zipsafe.stream_member(fh, entry):
        pending += chunk
        *done, pending = pending.split(b"\n")
        yield from done
    if pending:
        yield pending


def _check_records(
    ctx: _Ctx,
    fh: BinaryIO,
    top: str,
    by_name: dict[str, zipsafe.Entry],
    manifest: dict[str, str],
    tags: dict[str, bytes],
    strict: bool,
    failed: set[str],
) -> dict[str, Any]:
    # Members that failed fixity are already reported, and are not what the manifest vouches
    # for: they are not parsed, so one tampered member gives one problem.
    readable = {n: e for n, e in by_name.items() if n not in failed}
    recs: dict[str, Any] = {}
    for rel, schema in {**RECORD_SCHEMAS, "repro-bundle.json": "manifest"}.items():
        member = f"{top}/{rel}" if rel == "repro-bundle.json" else f"{top}/data/{rel}"
        if rel == "repro-bundle.json":
            try:
                doc = json.loads(tags[rel])
            except ValueError as exc:
                ctx.bad("schema", member, f"not valid JSON: {exc}")
                continue
            except RecursionError:
                ctx.bad("schema", member, "not valid JSON: nested too deeply")
                continue
        else:
            if member not in by_name:
                if rel != "lock.json":
                    ctx.bad("missing", member, "required record is missing")
                continue
            if member not in readable:
                continue
            doc = _json(ctx, fh, readable[member], member)
            if doc is None:
                continue
        declared = (doc.get("schema"), doc.get("schema_version")) if isinstance(doc, dict) else None
        if declared != (schema, records.SCHEMA_VERSION):
            ctx.bad("schema", member, f"declares schema {declared}, expected ({schema!r}, 1)")
            continue
        try:
            errors = records.schema_errors(doc, schema)
        except RecursionError:
            errors = ["(top): nested too deeply to validate"]
        for err in errors[:10]:
            ctx.bad("schema", member, f"does not match schema {schema}: {err}")
        if not errors:
            recs[rel] = doc

    # A bundle that ships a different (e.g. weakened) copy of a schema is suspect
    # even though the verifier never uses it.
    for name in records.SCHEMA_NAMES:
        member = f"{top}/data/schemas/{name}.schema.json"
        if member in readable:
            shipped = _json(ctx, fh, readable[member], member)
            if shipped is not None and shipped != records.load_schema(name):
                ctx.bad("schema", member, "differs from repro's own copy of this schema")

    stamp, meta = recs.get("run_stamp.json"), recs.get("run_metadata.json")
    bmanifest = recs.get("repro-bundle.json")
    run_id = stamp.get("run_id") if stamp else None
    if bmanifest is not None:
        _check_bundle_manifest(ctx, top, bmanifest, manifest)
    if stamp is not None and meta is not None:
        _cross_check(ctx, fh, top, stamp, meta, manifest, by_name, readable, strict)
    if run_id is not None and top != f"repro-{run_id}":
        ctx.bad("crosscheck", None, f"top folder {top} does not name run {run_id}")
    m = NAME_RE.match(ctx.path.name)
    if run_id is not None and m is not None and m.group("run_id") != run_id:
        ctx.bad(
            "crosscheck", None, f"file name names run {m.group('run_id')}, records say {run_id}"
        )
    return {"run_id": run_id, "status": stamp.get("status") if stamp else None}


def _check_bundle_manifest(
    ctx: _Ctx,
    top: str,
    doc: dict[str, Any],
    manifest: dict[str, str],
) -> None:
    # Sizes were compared with the members' declared sizes in step 4.
    listed = {f["path"]: f for f in doc["files"]}
    if set(listed) != set(manifest):
        diff = sorted(set(listed) ^ set(manifest))[:3]
        ctx.bad(
            "crosscheck", f"{top}/repro-bundle.json", f"file list differs from the manifest: {diff}"
        )
    for rel, f in listed.items():
        if manifest.get(rel) not in (None, f["sha256"]):
            ctx.bad(
                "crosscheck",
                f"{top}/{rel}",
                "repro-bundle.json and the manifest disagree on sha256",
            )
        if f["role"] != role_of(rel[5:]):
            ctx.bad("crosscheck", f"{top}/{rel}", f"role {f['role']} is not {role_of(rel[5:])}")


def _cross_check(
    ctx: _Ctx,
    fh: BinaryIO,
    top: str,
    stamp: dict[str, Any],
    meta: dict[str, Any],
    manifest: dict[str, str],
    by_name: dict[str, zipsafe.Entry],
    readable: dict[str, zipsafe.Entry],
    strict: bool,
) -> None:
    def bad(member: str | None, msg: str) -> None:
        ctx.bad("crosscheck", f"{top}/data/{member}" if member else None, msg)

    if stamp["run_id"] != meta["run_id"]:
        bad("run_stamp.json", "run_id differs from run_metadata.json")
    for key in ("status", "exit_code"):
        if stamp[key] != meta[key]:
            bad(
                "run_stamp.json",
                f"{key} {stamp[key]!r} differs from run_metadata.json's {meta[key]!r}",
            )
    status, rc, sig = meta["status"], meta["exit_code"], meta["signal"]
    allowed = EXIT_CONSISTENT.get(status)
    if allowed is not None and (rc not in allowed or sig is not None):
        bad("run_metadata.json", f"status {status} is inconsistent with exit code {rc}")
    if status in ("crashed", "killed") and rc == 0:
        bad("run_metadata.json", f"status {status} with exit code 0")
    if status == "timed-out" and not meta["kill_sequence"]:
        bad("run_metadata.json", "status timed-out but no kill sequence recorded")
    _check_python(meta, bad)

    for name, digest in stamp["records"].items():
        if manifest.get(f"data/{name}") != digest:
            bad("run_stamp.json", f"hash of {name} differs from the manifest")
    if (
        stamp["lock"] is not None
        and manifest.get("data/" + stamp["lock"]["path"]) != stamp["lock"]["sha256"]
    ):
        bad("run_stamp.json", "hash of the lock differs from the manifest")
    for rel, f in meta["files"].items():
        entry = by_name.get(f"{top}/data/{rel}")
        if manifest.get(f"data/{rel}") != f["sha256"] or (entry and entry.usize != f["size"]):
            bad("run_metadata.json", f"size or hash of {rel} differs from the bundle")

    res_entry = readable.get(f"{top}/data/results/results.jsonl")
    expected: JUnitCounts | None = None
    if res_entry is not None:
        # One pass over the stream gives the results and the JUnit cases they imply.
        builder = JUnitBuilder(lambda _text: None)
        parser = results.EventParser(builder.event)
        try:
            for raw in _lines(fh, res_entry):
                parser.feed(raw)
            res: results.TestResults | None = parser.results()
        except zipsafe.MemberError:
            res = None  # already reported by fixity
        if res is not None and res.bad_lines:
            # repro's plugin writes each event whole, so a malformed line was put there.
            bad(
                "results/results.jsonl",
                f"not a valid results stream: {res.bad_lines} malformed line(s)",
            )
        if res is not None:
            if res.counts != meta["counts"]:
                bad(
                    "run_metadata.json",
                    f"counts {meta['counts']} differ from results.jsonl {res.counts}",
                )
            if meta.get("counts_source", res.counts_source) != res.counts_source:
                bad("run_metadata.json", "counts_source differs from results.jsonl")
            if len(res.outcomes) != meta["tests_total"]:
                bad(
                    "run_metadata.json",
                    f"tests_total {meta['tests_total']} differs from the "
                    f"{len(res.outcomes)} finished tests in results.jsonl",
                )
            if list(res.order) != meta["order"]:
                bad("run_metadata.json", "test order differs from results.jsonl")
            if res.in_flight != meta["in_flight"]:
                bad(
                    "run_metadata.json",
                    f"in-flight test differs from results.jsonl ({res.in_flight})",
                )
            builder.end(res.in_flight, "")
            expected = builder.counts
    junit = readable.get(f"{top}/data/results/junit.xml")
    if junit is not None:
        try:
            j = junit_counts(zipsafe.read_member(fh, junit, TAG_LIMIT))
        except zipsafe.MemberError:
            j = None
        except Exception as exc:  # any parse failure of untrusted XML is a finding
            bad("results/junit.xml", f"not valid JUnit XML: {type(exc).__name__}")
            j = None
        if j is not None and expected is not None:
            if j.tests != expected.tests:
                bad(
                    "results/junit.xml",
                    f"{j.tests} test cases, results.jsonl says {expected.tests}",
                )
            elif j != expected:
                bad(
                    "results/junit.xml",
                    f"failure, error or skip elements ({j.failures}, {j.errors}, {j.skipped}) "
                    f"differ from results.jsonl ({expected.failures}, {expected.errors}, "
                    f"{expected.skipped})",
                )

    drift = meta.get("drift") or []
    if drift:
        msg = f"environment drifted from the lock in {len(drift)} package(s): " + ", ".join(
            f"{d['name']} ({d['kind']})" for d in drift[:5]
        )
        if strict:
            bad("run_metadata.json", msg)
        else:
            ctx.warnings.append(msg)
