"""The merged bundle of a `merge.Plan`: one run folder for the whole suite, then packed.

The run folder is staged beside the output and holds what any run holds, so the merged
bundle verifies like any other: one results stream (the first shard's session, the
collection once, every shard's test events in merge order, one `finish` with the summed
counts), JUnit XML built from that stream by the run's own writer, the first shard's
env.json, code and lock (the shards were checked to share them), `merge.json` naming
each shard and what is missing, and each shard's logs under `shards/<name>/`. Every
record is derived from the shards alone, so merging the same shards again gives the same
bytes. Decisions: docs/merge.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro import __version__, layout, records, results, zipsafe
from repro.bundle import PackResult, pack_to
from repro.errors import EnvironmentProblem
from repro.fsutil import sha256_file, write_bytes, write_json
from repro.junit import JUnitWriter
from repro.merge import SESSION_EVENTS, Plan, Shard, unsplit_args
from repro.model import Status
from repro.progress import Reporter, silent

# The status of a merged run is its most severe shard's (most severe first); `no-tests`
# only when no shard ran a test.
SEVERITY = (
    Status.INTERRUPTED,
    Status.KILLED,
    Status.TIMED_OUT,
    Status.CRASHED,
    Status.ERROR,
    Status.FAILED,
    Status.PASSED,
    Status.NO_TESTS,
)
_JUNIT_HEAD = re.compile(rb'<testsuite [^>]*?timestamp="([^"]*)"[^>]*?hostname="([^"]*)"')


@dataclass(frozen=True)
class MergeResult:
    pack: PackResult
    plan: Plan
    status: Status
    exit_code: int | None
    counts: dict[str, int]


def write(
    p: Plan,
    *,
    target: Path | None,
    out_dir: Path,
    store: bool = False,
    progress: Reporter = silent,
) -> MergeResult:
    """Stage the merged run folder beside its destination, pack it, remove the stage."""
    where = target.parent if target is not None else out_dir
    try:
        where.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".repro-merge-", dir=where))
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot write into {where}: {exc.strerror}", hint="pass a writable -o"
        ) from exc
    try:
        status, exit_code, counts = _stage(p, stage, progress)
        packed = pack_to(stage, target=target, out_dir=out_dir, store=store, progress=progress)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return MergeResult(packed, p, status, exit_code, counts)


def _stage(p: Plan, stage: Path, progress: Reporter) -> tuple[Status, int | None, dict[str, int]]:
    first = p.shards[0]
    run_id = merged_run_id(p)
    lead = _lead(p.shards)
    _copy_first(first, stage)
    logs = _copy_logs(p, stage, progress)
    res = _write_results(p, stage, lead)
    merge_doc = _merge_record(p, run_id)
    merge_bytes = write_json(stage / layout.MERGE_RECORD, records.validate(merge_doc, "merge"))
    files = {**_hashed(stage, layout.RESULT_FILES), **logs}
    meta = _metadata(p, run_id, lead, res, files)
    meta_bytes = write_json(stage / layout.RUN_METADATA, records.validate(meta, "run_metadata"))
    stamp = _stamp(p, run_id, meta, stage, meta_bytes, merge_bytes)
    write_json(stage / layout.RUN_STAMP, records.validate(stamp, "run_stamp"))
    return Status(meta["status"]), meta["exit_code"], dict(meta["counts"])


def merged_run_id(p: Plan) -> str:
    """The earliest shard's start, and 24 bits of the shards' digests: the same shards make
    the same id, and any other set of shards another one."""
    start = min(_epoch(s.meta.started) for s in p.shards)
    digests = "\n".join(sorted(s.bundle.digest or "" for s in p.shards))
    tail = hashlib.sha256(digests.encode()).hexdigest()[:6]
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(start))}-{tail}"


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _lead(shards: Sequence[Shard]) -> Shard:
    """The shard whose status is the merged run's: the most severe, the first of those."""
    passed_or_none = all(s.meta.status in (Status.PASSED, Status.NO_TESTS) for s in shards)
    if passed_or_none:
        return next((s for s in shards if s.meta.status is Status.PASSED), shards[0])
    return min(shards, key=lambda s: SEVERITY.index(s.meta.status))


# --- files -------------------------------------------------------------------------------------


def _copy_first(first: Shard, stage: Path) -> None:
    """env.json, the code and the lock: the shards were checked to share them."""
    from repro.runner import copy_schemas

    copy_schemas(stage / layout.SCHEMAS_DIR)
    b = first.bundle
    for rel in b.files:
        shared = rel in (layout.ENV, layout.LOCK_RECORD, *layout.LOCK_FILES)
        if shared or rel.startswith(layout.CODE_DIR + "/"):
            data, _ = b.read(rel, b.files[rel])
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            write_bytes(stage / rel, data)


def _copy_logs(p: Plan, stage: Path, progress: Reporter) -> dict[str, dict[str, Any]]:
    """Each shard's logs into shards/<name>/, streamed from its zip and checked against the
    hashes its records give (a shard replaced since it was verified is refused)."""
    wanted = [
        (s, name, rel, f.size, f.sha256)
        for s, name in zip(p.shards, p.names, strict=True)
        for rel, f in sorted(s.meta.files.items())
        if rel.startswith("logs/")
    ]
    out: dict[str, dict[str, Any]] = {}
    with progress("copying the shards' logs", sum(w[3] for w in wanted)) as advance:
        for s, name, rel, size, sha in wanted:
            dest = stage / layout.shard_folder(name) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as fh:
                for chunk in _member(s.bundle.path, rel):
                    fh.write(chunk)
                    advance(len(chunk))
            if sha256_file(dest) != (sha, size):
                raise EnvironmentProblem(
                    f"{s.name} changed while it was merged ({rel})", hint="merge again"
                )
            out[f"{layout.shard_folder(name)}/{rel}"] = {"size": size, "sha256": sha}
    return out


def _member(bundle: Path, rel: str) -> Iterator[bytes]:
    with open(bundle, "rb") as fh:
        arc = zipsafe.read_archive(fh)
        entry = next((e for e in arc.entries if e.name.endswith("/data/" + rel)), None)
        if arc.fatal or entry is None:
            raise EnvironmentProblem(f"{bundle.name} changed while it was merged ({rel})")
        yield from zipsafe.stream_member(fh, entry)


def _hashed(stage: Path, rels: Sequence[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for rel in rels:
        if (stage / rel).is_file():
            digest, size = sha256_file(stage / rel)
            out[rel] = {"size": size, "sha256": digest}
    return out


# --- the results stream and JUnit ----------------------------------------------------------------


def _event(**fields: Any) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


def merged_stream(p: Plan, lead: Shard) -> list[bytes]:
    """One stream for the whole suite (docs/merge.md): the first shard's session and
    collection events once, then each shard's test events, then one `finish`."""
    first = p.shards[0]
    head = [line for kind, line in first.lines if kind == "session"][:1]
    head.append(_event(ev="collection", n=p.collection.n, sha256=p.collection.sha256))
    head += [line for kind, line in first.lines if kind in ("collect_error", "collect_skip")]
    if p.deselected:
        head.append(_event(ev="deselected", n=len(p.deselected), ids=sorted(p.deselected)))
    collected = sum(s.meta.collected or len(s.started) for s in p.shards)
    head.append(_event(ev="collected", n=collected))
    body = [line for s in p.shards for kind, line in s.lines if kind not in SESSION_EVENTS]
    finishes = [s.event("finish") for s in p.shards]
    if all(f is not None for f in finishes):
        summary = _summary(p, [f.get("summary") if f else None for f in finishes])
        times = [f["time"] for f in finishes if f and type(f.get("time")) in (int, float)]
        end = _event(
            ev="finish",
            exitstatus=(lead.event("finish") or {}).get("exitstatus", 0),
            time=max(times) if times else None,
            summary=summary,
        )
        body.append(end)
    return head + body


def _summary(p: Plan, summaries: Sequence[Any]) -> dict[str, int] | None:
    """pytest's counts of the whole suite: the shards' summed, with what every shard counted
    alike (collection errors and skips) once, and `deselected` as the merged run has it."""
    if not all(isinstance(s, dict) for s in summaries):
        return None  # a shard without pytest's summary: the stream is recounted instead
    total: Counter[str] = Counter()
    for s in summaries:
        total.update({str(k): int(v) for k, v in s.items()})
    kinds = Counter(kind for kind, _ in p.shards[0].lines)
    extra = len(p.shards) - 1
    total["error"] -= extra * kinds["collect_error"]
    total["skipped"] -= extra * kinds["collect_skip"]
    total["deselected"] = len(p.deselected)
    return {k: n for k, n in sorted(total.items()) if n > 0}


def _write_results(p: Plan, stage: Path, lead: Shard) -> results.TestResults:
    (stage / "results").mkdir(exist_ok=True)
    lines = merged_stream(p, lead)
    write_bytes(stage / layout.RESULTS_JSONL, b"".join(line + b"\n" for line in lines))
    junit = JUnitWriter(stage / layout.JUNIT_XML)
    parser = results.EventParser(junit.event)
    for line in lines:
        parser.feed(line)
    res = parser.results()
    host, stamp = _junit_head(p.shards[0])
    ended = max(_epoch(s.meta.ended) for s in p.shards)
    why = f"the run ended while this test ran: {lead.meta.status_reason}"
    junit.close(res.in_flight, why, ended, hostname=host, timestamp=stamp)
    return res


def _junit_head(first: Shard) -> tuple[str, str | None]:
    """The first shard's JUnit hostname and timestamp (the merge's own would make each
    merge different)."""
    b = first.bundle
    if layout.JUNIT_XML not in b.files:
        return "", None
    head, _ = b.read(layout.JUNIT_XML, 4096)
    m = _JUNIT_HEAD.search(head)
    if m is None:
        return "", None
    return _unescape(m.group(2)), _unescape(m.group(1))


def _unescape(raw: bytes) -> str:
    import html

    return html.unescape(raw.decode("utf-8", "replace"))


# --- records -------------------------------------------------------------------------------------


def _merge_record(p: Plan, run_id: str) -> dict[str, Any]:
    return {
        "schema": "merge",
        "schema_version": 1,
        "run_id": run_id,
        "partial": p.partial,
        "collection": {"n": p.collection.n, "sha256": p.collection.sha256},
        "splits": p.splits,
        "shards": [_shard_entry(s, name) for s, name in zip(p.shards, p.names, strict=True)],
        "missing": {
            "groups": list(p.missing_groups),
            "tests": p.missing_tests,
            "ids": list(p.missing_ids),
            "exact": p.exact,
        },
        "deselected": len(p.deselected),
    }


def _shard_entry(s: Shard, name: str) -> dict[str, Any]:
    m = s.meta
    return {
        "name": name,
        "run_id": s.stamp.run_id,
        "digest": s.bundle.digest,
        "bundle": s.bundle.path.name,
        "group": s.group,
        "splits": s.splits,
        "status": m.status.value,
        "exit_code": m.exit_code,
        "counts": m.counts.as_dict(),
        "tests": m.tests_total,
        "started": m.started,
        "ended": m.ended,
        "duration_seconds": m.duration_seconds,
        "argv": list(m.pytest_args),
        "files": {
            rel: {"size": f.size, "sha256": f.sha256}
            for rel, f in sorted(m.files.items())
            if rel.startswith("logs/")
        },
    }


def _metadata(
    p: Plan,
    run_id: str,
    lead: Shard,
    res: results.TestResults,
    files: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """run_metadata.json of the merged run: the first shard's, with everything that
    describes the run as a whole taken from all of them."""
    from repro.runner import results_fields

    first = p.shards[0]
    doc: dict[str, Any] = json.loads(json.dumps(first.meta_doc))  # a deep copy
    doc.pop("salvage", None)
    args = first.meta.argv
    own = len(args) - len(first.meta.pytest_args)
    started = min(p.shards, key=lambda s: _epoch(s.meta.started)).meta.started
    ended = max(p.shards, key=lambda s: _epoch(s.meta.ended)).meta.ended
    status = lead.meta.status
    if all(s.meta.status is Status.NO_TESTS for s in p.shards):
        status = Status.NO_TESTS
    masking = doc.get("masking")
    if isinstance(masking, dict):
        enabled = all(_masked(s) for s in p.shards)
        doc["masking"] = {**masking, "enabled": enabled, "counts": {}}
    names = ", ".join(n for n in p.names)
    doc.update(
        {
            "run_id": run_id,
            "repro_argv": ["repro", "merge", *(s.bundle.path.name for s in p.shards)],
            "argv": [*args[:own], *unsplit_args(p.shards)],
            "options": {},
            "started": started,
            "ended": ended,
            "duration_seconds": round(max(_epoch(ended) - _epoch(started), 0.0), 6),
            "exit_code": lead.meta.exit_code,
            "signal": lead.meta.signal,
            "status": status.value,
            "status_reason": f"merged from shards {names}: {lead.meta.status_reason}",
            **results_fields(res),
            "kill_sequence": [vars(k) for k in lead.meta.kill_sequence],
            "group_cleanup": [],
            "output_abandoned": any(s.meta.output_abandoned for s in p.shards),
            "crashed_workers": [w for s in p.shards for w in _crashed(s)],
            "files": dict(sorted(files.items())),
            "redactions": [],
        }
    )
    return doc


def _masked(s: Shard) -> bool:
    masking = s.meta_doc.get("masking")
    return isinstance(masking, dict) and masking.get("enabled") is True


def _crashed(s: Shard) -> list[Any]:
    workers = s.meta_doc.get("crashed_workers")
    return list(workers) if isinstance(workers, list) else []


def _stamp(
    p: Plan,
    run_id: str,
    meta: dict[str, Any],
    stage: Path,
    meta_bytes: bytes,
    merge_bytes: bytes,
) -> dict[str, Any]:
    first = p.shards[0].stamp
    recs = {
        layout.ENV: sha256_file(stage / layout.ENV)[0],
        layout.RUN_METADATA: hashlib.sha256(meta_bytes).hexdigest(),
        layout.MERGE_RECORD: hashlib.sha256(merge_bytes).hexdigest(),
    }
    if (stage / layout.LOCK_RECORD).is_file():
        recs[layout.LOCK_RECORD] = sha256_file(stage / layout.LOCK_RECORD)[0]
    lock = first.lock
    return {
        "schema": "run_stamp",
        "schema_version": 1,
        "run_id": run_id,
        "repro_version": __version__,
        "created": min(s.stamp.created for s in p.shards),
        "git": None
        if first.git is None
        else {"commit": first.git.commit, "dirty": first.git.dirty},
        "command": meta["repro_argv"],
        "status": meta["status"],
        "exit_code": meta["exit_code"],
        "lock": None
        if lock is None
        else {"path": lock.path, "sha256": lock.sha256, "kind": lock.kind.value},
        "records": recs,
    }
