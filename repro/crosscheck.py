"""Step 7 of verify: what the records say about each other and about the files beside them.

Works on the typed model only (records that passed their schema), for a bundle and for a
run folder alike: `hashes` and `sizes` are the bag manifest's for a bundle, and what the
files on disk hash to for a run folder. Each finding names the bag path of the file at
fault (`data/run_metadata.json`), or None for the bundle as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath

from repro import layout
from repro.junit import JUnitCounts
from repro.model import BundleManifest, MergeRecord, Results, RunMetadata, RunStamp, Status

# The exit codes a status may come with; statuses not listed are judged by the signal.
EXIT_CONSISTENT = {Status.PASSED: {0}, Status.FAILED: {1}, Status.NO_TESTS: {5}}
SIGNALLED = (Status.CRASHED, Status.KILLED)


@dataclass(frozen=True)
class Finding:
    path: str | None  # bag path of the file at fault; None: the bundle itself
    message: str


@dataclass(frozen=True)
class Evidence:
    stamp: RunStamp
    metadata: RunMetadata
    hashes: Mapping[str, str]  # bag path -> sha256
    sizes: Mapping[str, int]  # bag path -> size
    results: Results | None  # None when results.jsonl is missing or unreadable
    junit: JUnitCounts | None  # what junit.xml holds
    junit_expected: JUnitCounts | None  # the cases results.jsonl implies, as pytest writes them


STAMP = layout.payload(layout.RUN_STAMP)
META = layout.payload(layout.RUN_METADATA)
RESULTS = layout.payload(layout.RESULTS_JSONL)
JUNIT = layout.payload(layout.JUNIT_XML)


def check_run(ev: Evidence) -> list[Finding]:
    return [
        *_stamp_agrees(ev.stamp, ev.metadata),
        *_status_agrees(ev.metadata),
        *_quoted_hashes(ev),
        *_python_agrees(ev.metadata),
        *_results_agree(ev.metadata, ev.results),
        *_junit_agrees(ev.junit, ev.junit_expected),
    ]


def _stamp_agrees(stamp: RunStamp, meta: RunMetadata) -> list[Finding]:
    out = []
    if stamp.run_id != meta.run_id:
        out.append(Finding(STAMP, "run_id differs from run_metadata.json"))
    for key, mine, theirs in (
        ("status", stamp.status.value, meta.status.value),
        ("exit_code", stamp.exit_code, meta.exit_code),
    ):
        if mine != theirs:
            out.append(
                Finding(STAMP, f"{key} {mine!r} differs from run_metadata.json's {theirs!r}")
            )
    return out


def _status_agrees(meta: RunMetadata) -> list[Finding]:
    out = []
    status, rc = meta.status, meta.exit_code
    allowed = EXIT_CONSISTENT.get(status)
    if allowed is not None and (rc not in allowed or meta.signal is not None):
        out.append(Finding(META, f"status {status.value} is inconsistent with exit code {rc}"))
    if status in SIGNALLED and rc == 0:
        out.append(Finding(META, f"status {status.value} with exit code 0"))
    if status is Status.TIMED_OUT and not meta.kill_sequence:
        out.append(Finding(META, "status timed-out but no kill sequence recorded"))
    if (status is Status.ABANDONED) != (rc is None and meta.salvaged):
        out.append(Finding(META, "only a salvaged run is abandoned, and it has no exit code"))
    return out


_ASKED = re.compile(r"(?:^|python)(\d+\.\d+)(?:\.exe)?$")


def _python_agrees(meta: RunMetadata) -> list[Finding]:
    """Configured versus actual: the Python asked for, probed, and that ran pytest."""
    ran = meta.python_ran
    if ran is None:
        return []  # a record from before repro recorded it
    out = []
    if ran.pytest is not None and ran.probe != ran.pytest:
        out.append(
            Finding(META, f"Python {ran.probe} was probed but pytest ran under {ran.pytest}")
        )
    asked = _ASKED.search(PurePath(meta.python).name)
    actual = ran.pytest if ran.pytest is not None else ran.probe
    if asked and actual is not None and not (actual + ".").startswith(asked[1] + "."):
        out.append(Finding(META, f"--python asked for Python {asked[1]} but {actual} ran"))
    return out


def _quoted_hashes(ev: Evidence) -> list[Finding]:
    """Hashes and sizes that records quote of other files, against the files."""
    out = []
    for rel, digest in ev.stamp.records.items():
        if ev.hashes.get(layout.payload(rel)) != digest:
            out.append(Finding(STAMP, f"hash of {rel} differs from the manifest"))
    lock = ev.stamp.lock
    if lock is not None and ev.hashes.get(layout.payload(lock.path)) != lock.sha256:
        out.append(Finding(STAMP, "hash of the lock differs from the manifest"))
    for rel, f in ev.metadata.files.items():
        path = layout.payload(rel)
        size = ev.sizes.get(path)
        if ev.hashes.get(path) != f.sha256 or (size is not None and size != f.size):
            out.append(Finding(META, f"size or hash of {rel} differs from the bundle"))
    return out


def _results_agree(meta: RunMetadata, res: Results | None) -> list[Finding]:
    if res is None:
        return []
    out = []
    if res.bad_lines:
        # repro's plugin writes each event whole, so a malformed line was put there.
        out.append(
            Finding(RESULTS, f"not a valid results stream: {res.bad_lines} malformed line(s)")
        )
    if res.counts != meta.counts:
        out.append(
            Finding(
                META,
                f"counts {meta.counts.as_dict()} differ from results.jsonl {res.counts.as_dict()}",
            )
        )
    if meta.counts_source is not None and meta.counts_source != res.counts_source:
        out.append(Finding(META, "counts_source differs from results.jsonl"))
    if res.finished != meta.tests_total:
        out.append(
            Finding(
                META,
                f"tests_total {meta.tests_total} differs from the "
                f"{res.finished} finished tests in results.jsonl",
            )
        )
    if res.order != meta.order:
        out.append(Finding(META, "test order differs from results.jsonl"))
    if res.in_flight != meta.in_flight:
        out.append(Finding(META, f"in-flight test differs from results.jsonl ({res.in_flight})"))
    return out


def _junit_agrees(j: JUnitCounts | None, expected: JUnitCounts | None) -> list[Finding]:
    """junit.xml against the cases results.jsonl implies (built as pytest's LogXML would)."""
    if j is None or expected is None:
        return []
    if j.tests != expected.tests:
        return [Finding(JUNIT, f"{j.tests} test cases, results.jsonl says {expected.tests}")]
    if j != expected:
        return [
            Finding(
                JUNIT,
                f"failure, error or skip elements ({j.failures}, {j.errors}, {j.skipped}) "
                f"differ from results.jsonl ({expected.failures}, {expected.errors}, "
                f"{expected.skipped})",
            )
        ]
    return []


def drift_message(meta: RunMetadata) -> str | None:
    """The lock drift a run recorded, as one line; None when there was none."""
    drift = meta.drift or ()
    if not drift:
        return None
    names = ", ".join(f"{d.name} ({d.kind.value})" for d in drift[:5])
    return f"environment drifted from the lock in {len(drift)} package(s): {names}"


def check_bundle_manifest(doc: BundleManifest, hashes: Mapping[str, str]) -> list[Finding]:
    """repro-bundle.json against the bag manifest (its sizes were checked in fixity)."""
    out = []
    listed = {f.path: f for f in doc.files}
    if set(listed) != set(hashes):
        diff = sorted(set(listed) ^ set(hashes))[:3]
        out.append(Finding(layout.BUNDLE_MANIFEST, f"file list differs from the manifest: {diff}"))
    for path, f in listed.items():
        if hashes.get(path) not in (None, f.sha256):
            out.append(Finding(path, "repro-bundle.json and the manifest disagree on sha256"))
        rel = layout.rel_of(path) or path
        role = layout.role_of(rel)
        if f.role is not role:
            out.append(Finding(path, f"role {f.role.value} is not {role.value}"))
    return out


MERGE = layout.payload(layout.MERGE_RECORD)


def check_merge(
    merge: MergeRecord, stamp: RunStamp, meta: RunMetadata, hashes: Mapping[str, str]
) -> list[Finding]:
    """merge.json against the run's records and the files: the shards' logs are the ones the
    shards listed, the merged tests are the shards' tests, and `partial` says what is missing."""
    out = []
    if merge.run_id != stamp.run_id:
        out.append(Finding(MERGE, "run_id differs from run_stamp.json"))
    missing = merge.missing
    if merge.partial != bool(missing.tests or missing.groups):
        out.append(
            Finding(MERGE, f"partial is {merge.partial} but {missing.tests} test(s) missing")
        )
    if (missing.exact and len(missing.ids) != missing.tests) or len(missing.ids) > missing.tests:
        out.append(Finding(MERGE, f"{len(missing.ids)} missing ids for {missing.tests} tests"))
    for what in ("name", "run_id", "digest"):
        values = [getattr(sh, what) for sh in merge.shards]
        if len(set(values)) != len(values):
            out.append(Finding(MERGE, f"two shards have the same {what}"))
    if sum(sh.tests for sh in merge.shards) != meta.tests_total:
        out.append(Finding(MERGE, "the shards' tests do not add up to tests_total"))
    if meta.collection is not None and meta.collection != merge.collection:
        out.append(Finding(MERGE, "collection differs from run_metadata.json"))
    if meta.status is Status.PASSED and any(
        sh.status not in (Status.PASSED.value, Status.NO_TESTS.value) for sh in merge.shards
    ):
        out.append(Finding(MERGE, "status passed, but a shard did not pass"))
    listed: set[str] = set()
    for sh in merge.shards:
        for rel, f in sh.files.items():
            path = layout.payload(f"{layout.shard_folder(sh.name)}/{rel}")
            listed.add(path)
            if hashes.get(path) != f.sha256:
                out.append(Finding(path, f"differs from the log shard {sh.name} recorded"))
    stray = sorted(p for p in hashes if p.startswith(layout.payload(layout.SHARDS_DIR + "/")))
    for path in (p for p in stray if p not in listed):
        out.append(Finding(path, "in a shard's folder but not one of its logs"))
    return out


def check_names(top: str, file_name: str, run_id: str) -> list[Finding]:
    """The top folder and the file name (when it has repro's shape) name the run."""
    out = []
    if top != layout.top_folder(run_id):
        out.append(Finding(None, f"top folder {top} does not name run {run_id}"))
    m = layout.BUNDLE_NAME_RE.match(file_name)
    if m is not None and m.group("run_id") != run_id:
        out.append(Finding(None, f"file name names run {m.group('run_id')}, records say {run_id}"))
    return out
