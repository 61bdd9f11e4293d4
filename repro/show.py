"""`repro show`: what a reviewer wants to know about one run, as a frozen view of a Bundle.

The view is built here (no click, no printing); the text renderer (cli/show_text.py) and
`--json` render the same view. Everything in it comes from the bundle and is therefore
attacker-controlled: renderers escape it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from repro.model import (
    CollectError,
    Counts,
    Drift,
    KillStep,
    LockKind,
    Missing,
    Outcome,
    ShardEntry,
    Status,
    TestResult,
    to_jsonable,
)
from repro.reader import Bundle
from repro.verdict import Verdict, verdict
from repro.verify import Problem

SLOWEST = 5  # tests listed as the slowest
# With --all, each test's message is cut to its first line and this many characters: the
# listing stays one short entry per test (a failure's full report is in `failures` and
# `--test ID`), so its size grows with the number of tests, not with what they printed.
ALL_MESSAGE_CHARS = 200
FAILURE_OUTCOMES = (Outcome.FAILED, Outcome.ERROR)


@dataclass(frozen=True)
class WhatRan:
    run_id: str | None
    repro_version: str | None
    command: tuple[str, ...]
    pytest_argv: tuple[str, ...]
    cwd: str | None
    commit: str | None
    branch: str | None
    dirty: bool | None
    started: str | None
    ended: str | None
    duration_seconds: float | None


@dataclass(frozen=True)
class Where:
    python: str | None  # "CPython 3.11.7"
    executable: str | None
    venv: bool | None
    os: str | None  # "Linux 6.1.0 x86_64"
    libc: str | None
    cpu_count: int | None
    pytest: str | None
    plugins: tuple[str, ...]


@dataclass(frozen=True)
class LockView:
    present: bool  # the run was checked against a lock
    kind: LockKind | None
    path: str | None
    reason: str | None
    packages: int | None
    unhashable: tuple[str, ...]
    drift: tuple[Drift, ...]


@dataclass(frozen=True)
class ShowView:
    path: str
    kind: str  # "bundle" or "run-folder"
    verdict: Verdict
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]
    ran: WhatRan
    where: Where
    status: Status | None
    status_reason: str | None
    exit_code: int | None
    signal: str | None
    counts: Counts | None
    failures: tuple[TestResult, ...]  # failed and errored tests, in run order
    in_flight: TestResult | None
    collect_errors: tuple[CollectError, ...]
    slowest: tuple[TestResult, ...]
    kill_sequence: tuple[KillStep, ...]
    lock: LockView
    shards: tuple[ShardEntry, ...] = ()  # a merged bundle's shards (merge.json), in merge order
    missing: Missing | None = None  # what the shards of a merged bundle left unrun
    # With --all: every test in run order (the one in flight included), messages cut to
    # one line and no report text; None when not asked for.
    tests: tuple[TestResult, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = to_jsonable(self)
        if self.tests is None:
            del doc["tests"]
        else:
            for t in doc["tests"]:
                del t["text"]
        # `lock` is a path in every --json output (the CLI contract); this is more.
        doc["lock_info"] = doc.pop("lock")
        doc["verdict"] = self.verdict.to_json()
        doc["problems"] = [
            {"kind": p.kind, "member": p.member, "message": p.message} for p in self.problems
        ]
        return doc


def build(bundle: Bundle, *, slowest: int = SLOWEST, every_test: bool = False) -> ShowView:
    meta, res = bundle.metadata, bundle.results
    tests = None
    if every_test:
        tests = tuple(_listed(t) for t in res.tests) if res else ()
    in_flight = None
    if res is not None and res.in_flight is not None:
        in_flight = res.get(res.in_flight)
    return ShowView(
        path=str(bundle.path),
        kind=bundle.kind,
        verdict=verdict(bundle.report),
        problems=bundle.report.problems,
        warnings=bundle.report.warnings,
        ran=_what_ran(bundle),
        where=_where(bundle),
        status=meta.status if meta else None,
        status_reason=meta.status_reason if meta else None,
        exit_code=meta.exit_code if meta else None,
        signal=meta.signal if meta else None,
        counts=meta.counts if meta else None,
        failures=res.with_outcome(*FAILURE_OUTCOMES) if res else (),
        in_flight=in_flight,
        collect_errors=res.collect_errors if res else (meta.collect_errors if meta else ()),
        slowest=res.slowest(slowest) if res else (),
        kill_sequence=meta.kill_sequence if meta else (),
        lock=_lock(bundle),
        shards=bundle.merge.shards if bundle.merge else (),
        missing=bundle.merge.missing if bundle.merge else None,
        tests=tests,
    )


def _listed(t: TestResult) -> TestResult:
    """The test as `--all` lists it: "…" ends a message that was cut."""
    lines = t.message.splitlines() or [""]
    first = lines[0]
    if len(lines) > 1 or len(first) > ALL_MESSAGE_CHARS:
        first = first[: ALL_MESSAGE_CHARS - 1] + "…"
    return replace(t, message=first, text="")


def _what_ran(b: Bundle) -> WhatRan:
    stamp, meta, env = b.stamp, b.metadata, b.env
    git = env.git if env else None
    return WhatRan(
        run_id=stamp.run_id if stamp else None,
        repro_version=stamp.repro_version if stamp else None,
        command=stamp.command if stamp else (),
        pytest_argv=meta.argv if meta else (),
        cwd=meta.cwd if meta else None,
        commit=git.commit if git else (stamp.git.commit if stamp and stamp.git else None),
        branch=git.branch if git else None,
        dirty=git.dirty if git else (stamp.git.dirty if stamp and stamp.git else None),
        started=meta.started if meta else (stamp.created if stamp else None),
        ended=meta.ended if meta else None,
        duration_seconds=meta.duration_seconds if meta else None,
    )


def _where(b: Bundle) -> Where:
    env, meta = b.env, b.metadata
    if env is None:
        return Where(None, None, None, None, None, None, None, ())
    os_ = env.os
    return Where(
        python=f"{env.python.implementation} {env.python.version}",
        executable=env.python.executable,
        venv=env.python.venv,
        os=" ".join(p for p in (os_.system, os_.release, os_.machine) if p) or None,
        libc=os_.libc,
        cpu_count=os_.cpu_count,
        pytest=meta.pytest_version if meta else None,
        plugins=meta.pytest_plugins if meta else (),
    )


def _lock(b: Bundle) -> LockView:
    stamp, rec, meta = b.stamp, b.lock, b.metadata
    sl = stamp.lock if stamp else None
    return LockView(
        present=sl is not None,
        kind=rec.kind if rec else (sl.kind if sl else None),
        path=sl.path if sl else None,
        reason=rec.reason if rec else None,
        packages=rec.packages if rec else None,
        unhashable=tuple(u.name for u in rec.unhashable) if rec else (),
        drift=(meta.drift or ()) if meta else (),
    )


def find_test(bundle: Bundle, test_id: str) -> TestResult | None:
    """The test named `test_id`; an unambiguous suffix of an id (`test_x.py::test_y`,
    `test_y[1]`) is accepted too."""
    res = bundle.results
    if res is None:
        return None
    exact = res.get(test_id)
    if exact is not None:
        return exact
    hits = [t for t in res.tests if t.id.endswith(test_id) and _boundary(t.id, test_id)]
    return hits[0] if len(hits) == 1 else None


def candidates(bundle: Bundle, test_id: str, limit: int = 5) -> list[str]:
    """Ids that contain `test_id`, for the error message when it names no single test."""
    res = bundle.results
    if res is None:
        return []
    return [t.id for t in res.tests if test_id in t.id][:limit]


def _boundary(full: str, suffix: str) -> bool:
    before = full[: len(full) - len(suffix)]
    return before == "" or before.endswith(("/", ":"))


def utc(iso: str | None) -> str | None:
    """`2026-12-02T09:47:21.123Z` as `2026-12-02 09:47:21 UTC`."""
    if iso is None:
        return None
    try:
        when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")
