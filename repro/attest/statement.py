"""The in-toto Statement v1 (test-result predicate) that describes one bundle.

One path builds it: facts read from the bundle zip itself (never from the run folder),
so `repro pack` at pack time and `repro sign` on a bundle handed over later produce the
same Statement, and `repro verify` rebuilds it the same way to check a signed one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from repro import records, results, zipsafe
from repro.bundle import content_digest
from repro.errors import UsageError
from repro.fsutil import dump_json, sha256_file, write_bytes

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
# Ids listed per outcome list. A 50,000-test run would otherwise make a 3 MB Statement
# that every signer and policy engine reads whole; past the bound, the count and the
# digest of the full list (predicate.repro.lists) still pin every id.
MAX_LISTED = 1000
RECORD_LIMIT = 32 << 20  # as verify.TAG_LIMIT
# Which list a test's outcome puts it in. Skipped and xfailed tests are in none: they
# neither passed nor failed, and predicate.repro.counts has them.
LISTS: dict[str, tuple[str, ...]] = {
    "passed": ("passed",),
    "warned": ("xpassed",),
    "failed": ("failed", "error"),
}
Result = Literal["PASSED", "WARNED", "FAILED"]


@dataclass(frozen=True)
class BundleFacts:
    """What a Statement says, read from one bundle."""

    name: str  # the zip's file name
    zip_sha256: str
    content_digest: str  # "sha256:<hex>"
    top: str
    stamp: dict[str, Any]
    meta: dict[str, Any]
    files: dict[str, dict[str, Any]]  # repro-bundle.json's entries by path
    order: tuple[str, ...]
    outcomes: dict[str, str]


def read_facts(bundle: Path, zip_sha256: str | None = None) -> BundleFacts:
    """The facts of a bundle that repro wrote (call `repro.verify.verify` first on one
    that was handed over: this reads what it needs and trusts the rest). `zip_sha256`: the
    zip's SHA-256 when the caller has just hashed its bytes (pack, verify), which spares a
    pass over the whole file."""
    try:
        fh = open(bundle, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot open {bundle}: {exc.strerror or exc}") from exc
    with fh:
        return _read(fh, bundle, zip_sha256)


def _read(fh: BinaryIO, bundle: Path, zip_sha256: str | None) -> BundleFacts:
    arc = zipsafe.read_archive(fh)
    if arc.fatal or arc.problems:
        raise UsageError(f"{bundle} is not a readable bundle", hint="run `repro verify` on it")
    by_name = {e.name: e for e in arc.entries}
    top = next(iter(by_name)).split("/", 1)[0] if by_name else ""

    def member(rel: str) -> zipsafe.Entry:
        entry = by_name.get(f"{top}/{rel}")
        if entry is None:
            raise UsageError(f"{bundle} has no {rel}", hint="run `repro verify` on it")
        return entry

    def load(rel: str) -> Any:
        try:
            return json.loads(zipsafe.read_member(fh, member(rel), RECORD_LIMIT))
        except (zipsafe.MemberError, ValueError) as exc:
            raise UsageError(f"{bundle}: cannot read {rel}: {exc}") from exc

    tagmanifest = zipsafe.read_member(fh, member("tagmanifest-sha256.txt"), RECORD_LIMIT)
    stream = results.parse_events(_lines(fh, member("data/results/results.jsonl")))
    return BundleFacts(
        name=bundle.name,
        zip_sha256=zip_sha256 or sha256_file(bundle)[0],
        content_digest=content_digest(tagmanifest),
        top=top,
        stamp=load("data/run_stamp.json"),
        meta=load("data/run_metadata.json"),
        files={f["path"]: f for f in load("repro-bundle.json")["files"]},
        order=stream.order,
        outcomes=stream.outcomes,
    )


def _lines(fh: BinaryIO, entry: zipsafe.Entry) -> Iterator[bytes]:
    pending = b""
    for chunk in zipsafe.stream_member(fh, entry):
        pending += chunk
        *done, pending = pending.split(b"\n")
        yield from done
    if pending:
        yield pending


def outcome_lists(facts: BundleFacts) -> dict[str, list[str]]:
    """Test ids per list, in the order the tests ran. The test in flight when a run died
    has no outcome; it is listed as failed, since it did not pass."""
    lists: dict[str, list[str]] = {name: [] for name in LISTS}
    which = {outcome: name for name, outcomes in LISTS.items() for outcome in outcomes}
    for test in facts.order:
        outcome = facts.outcomes.get(test)
        if outcome in which:
            lists[which[outcome]].append(test)
        elif outcome is None and test == facts.meta["in_flight"]:
            lists["failed"].append(test)
    return lists


def list_digest(ids: list[str]) -> str:
    """sha256 of the ids one per line, each line ending in a newline (`printf '%s\\n'`)."""
    h = hashlib.sha256()
    for test in ids:
        h.update(test.encode("utf-8", "surrogatepass") + b"\n")
    return h.hexdigest()


def result_of(facts: BundleFacts, lists: dict[str, list[str]]) -> Result:
    """PASSED only for a run whose status is passed, with no unexpected passes and no drift
    from its lock; WARNED for a passed run with either; FAILED for every other status."""
    if facts.stamp["status"] != "passed":
        return "FAILED"
    if lists["warned"] or facts.meta.get("drift"):
        return "WARNED"
    return "PASSED"


def _media_type(path: str) -> str:
    return "application/json" if path.endswith(".json") else "text/plain"


def configuration(facts: BundleFacts) -> list[dict[str, Any]]:
    """Resource descriptors of the lock and environment records the run used."""
    out = []
    for path, f in facts.files.items():
        if f["role"] == "lock" or path in ("data/env.json", "data/lock.json"):
            out.append(
                {"name": path, "digest": {"sha256": f["sha256"]}, "mediaType": _media_type(path)}
            )
    return out


def subjects(facts: BundleFacts) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": facts.name, "digest": {"sha256": facts.zip_sha256}},
        {
            "name": f"{facts.top}/tagmanifest-sha256.txt",
            "digest": {"sha256": facts.content_digest.removeprefix("sha256:")},
        },
    ]
    git = facts.stamp["git"]
    # The tested source, as the predicate expects: the commit only when the tree was clean,
    # since a dirty tree is not what the commit holds; and the code records the run carries
    # (the patch of uncommitted changes, or the file manifest outside git).
    if git and git["commit"] and not git["dirty"]:
        out.append({"name": "git commit", "digest": {"gitCommit": git["commit"]}})
    out += [
        {"name": path, "digest": {"sha256": f["sha256"]}}
        for path, f in facts.files.items()
        if f["role"] == "code"
    ]
    return out


def build(facts: BundleFacts) -> dict[str, Any]:
    lists = outcome_lists(facts)
    meta, stamp = facts.meta, facts.stamp
    predicate = {
        "result": result_of(facts, lists),
        "configuration": configuration(facts),
        "passedTests": lists["passed"][:MAX_LISTED],
        "warnedTests": lists["warned"][:MAX_LISTED],
        "failedTests": lists["failed"][:MAX_LISTED],
        "repro": {
            "run_id": stamp["run_id"],
            "content_digest": facts.content_digest,
            "status": stamp["status"],
            "exit_code": stamp["exit_code"],
            "counts": meta["counts"],
            "tests_total": meta["tests_total"],
            "in_flight": meta["in_flight"],
            "drift": len(meta.get("drift") or []),
            "git": stamp["git"],
            "lists": {
                name: {
                    "count": len(ids),
                    "listed": min(len(ids), MAX_LISTED),
                    "sha256": list_digest(ids),
                }
                for name, ids in lists.items()
            },
        },
    }
    return records.validate(
        {
            "_type": STATEMENT_TYPE,
            "subject": subjects(facts),
            "predicateType": PREDICATE_TYPE,
            "predicate": predicate,
        },
        "statement",
    )


def encode(statement: dict[str, Any]) -> bytes:
    """The Statement's bytes: the file beside the bundle and the signed payload alike."""
    return dump_json(statement)


def write(bundle: Path, zip_sha256: str | None = None) -> tuple[Path, bytes]:
    """Write `<bundle>.intoto.json`; return its path and bytes."""
    from repro.attest import statement_path

    data = encode(build(read_facts(bundle, zip_sha256)))
    path = statement_path(bundle)
    write_bytes(path, data)
    return path, data


def disagreements(found: Any, expected: dict[str, Any]) -> list[str]:
    """How a Statement found beside a bundle (or in its envelope) differs from the one the
    bundle's records give: one line per differing field, empty when it attests this bundle."""
    try:
        errors = records.schema_errors(found, "statement")
    except RecursionError:
        errors = ["(top): nested too deeply to validate"]
    if errors:
        return [f"Statement does not match schema statement: {e}" for e in errors[:3]]
    out = []
    want = {json.dumps(s["digest"], sort_keys=True) for s in expected["subject"]}
    got = {json.dumps(s["digest"], sort_keys=True) for s in found["subject"]}
    for digest in sorted(got - want):
        out.append(f"Statement subject {digest} is not this bundle")
    for digest in sorted(want - got):
        out.append(f"Statement does not name this bundle's {digest}")
    exp, pred = expected["predicate"], found["predicate"]
    for key in exp:
        if key == "repro":
            out += [
                f"predicate.repro.{k} says {pred['repro'][k]!r:.80}, the records say {v!r:.80}"
                for k, v in exp["repro"].items()
                if pred["repro"][k] != v
            ]
        elif pred[key] != exp[key]:
            out.append(f"predicate.{key} says {pred[key]!r:.80}, the records say {exp[key]!r:.80}")
    return out
