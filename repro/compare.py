"""Comparing two runs: environment, packages, lock, commit, status and counts, each test's
outcome, and durations that changed enough to matter. Shared by `repro diff` (and meant
for replay and merge); works on two `reader.Bundle`s, no click, no printing.

Per-test work is one dict lookup per test, so tens of thousands of tests compare in
milliseconds; reading and verifying the two bundles is what takes the time.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from repro.layout import TextEnum
from repro.model import Counts, Env, Outcome, Results, Status, TestResult, to_jsonable
from repro.reader import Bundle
from repro.verdict import Verdict, verdict

# A duration change matters when it is both more than this factor and more than this
# many seconds: 2 ms -> 9 ms is noise, 100 s -> 101 s is noise.
DURATION_FACTOR = 2.0
DURATION_SECONDS = 0.5

IN_FLIGHT = "in-flight"  # a test that started and never finished
BAD = frozenset({Outcome.FAILED.value, Outcome.ERROR.value, IN_FLIGHT})


class ChangeKind(TextEnum):
    NOW_FAILING = "now-failing"  # was not failing (or erroring), is now
    NOW_PASSING = "now-passing"  # was failing or erroring, is not now
    MISSING = "missing"  # in A, not in B
    NEW = "new"  # in B, not in A
    CHANGED = "changed"  # another change of outcome (passed -> skipped, ...)


@dataclass(frozen=True)
class TestChange:
    __test__ = False

    id: str
    kind: ChangeKind
    before: str | None  # outcome in A ("in-flight" for the test in flight); None: absent
    after: str | None


@dataclass(frozen=True)
class DurationChange:
    id: str
    before: float
    after: float

    @property
    def factor(self) -> float:
        low = min(self.before, self.after)
        return max(self.before, self.after) / low if low > 0 else float("inf")


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class PackageChange:
    name: str
    before: str | None  # None: added in B
    after: str | None  # None: removed in B


@dataclass(frozen=True)
class Side:
    path: str
    verdict: Verdict
    run_id: str | None


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    status: FieldChange | None
    counts: tuple[Counts | None, Counts | None]
    commit: tuple[FieldChange, ...]
    env: tuple[FieldChange, ...]
    packages: tuple[PackageChange, ...]
    lock: tuple[FieldChange, ...]
    tests: tuple[TestChange, ...]
    durations: tuple[DurationChange, ...]
    tests_compared: bool  # both bundles had a readable results stream

    @property
    def same_outcomes(self) -> bool:
        """Same status and every test with the same outcome, in two intact bundles."""
        return (
            self.a.verdict.intact
            and self.b.verdict.intact
            and self.tests_compared
            and self.status is None
            and not self.tests
        )

    def of_kind(self, kind: ChangeKind) -> tuple[TestChange, ...]:
        return tuple(t for t in self.tests if t.kind is kind)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = to_jsonable(self)
        # `lock` is a path in every --json output (the CLI contract); these are changes.
        doc["lock_changes"] = doc.pop("lock")
        doc["a"]["verdict"] = self.a.verdict.to_json()
        doc["b"]["verdict"] = self.b.verdict.to_json()
        doc["same_outcomes"] = self.same_outcomes
        return doc


def compare(a: Bundle, b: Bundle) -> Comparison:
    ma, mb = a.metadata, b.metadata
    sa, sb = (ma.status if ma else None), (mb.status if mb else None)
    tests, durations = _tests(a.results, b.results)
    return Comparison(
        a=Side(str(a.path), verdict(a.report), a.run_id),
        b=Side(str(b.path), verdict(b.report), b.run_id),
        status=None if sa == sb else FieldChange("status", _val(sa), _val(sb)),
        counts=(ma.counts if ma else None, mb.counts if mb else None),
        commit=_changes(_commit(a), _commit(b)),
        env=_changes(_env(a.env), _env(b.env)),
        packages=_packages(a.env, b.env),
        lock=_changes(_lock(a), _lock(b)),
        tests=tests,
        durations=durations,
        tests_compared=a.results is not None and b.results is not None,
    )


def _val(status: Status | None) -> str | None:
    return None if status is None else status.value


def _changes(
    before: dict[str, str | None], after: dict[str, str | None]
) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(k, before.get(k), after.get(k))
        for k in dict.fromkeys([*before, *after])
        if before.get(k) != after.get(k)
    )


def _commit(b: Bundle) -> dict[str, str | None]:
    git = b.env.git if b.env else None
    if git is None:
        stamp_git = b.stamp.git if b.stamp else None
        if stamp_git is None:
            return {"commit": None}
        return {"commit": stamp_git.commit, "dirty": str(stamp_git.dirty).lower()}
    return {
        "commit": git.commit,
        "branch": git.branch,
        "dirty": str(git.dirty).lower(),
        "uncommitted change": git.diff_sha256,
    }


def _env(env: Env | None) -> dict[str, str | None]:
    if env is None:
        return {}
    os_ = env.os
    return {
        "python": f"{env.python.implementation} {env.python.version}",
        "os": " ".join(p for p in (os_.system, os_.release) if p) or None,
        "machine": os_.machine,
        "libc": os_.libc,
        "cpus": None if os_.cpu_count is None else str(os_.cpu_count),
        "locale": env.locale.locale,
        "TZ": env.locale.tz,
    }


def _packages(a: Env | None, b: Env | None) -> tuple[PackageChange, ...]:
    before = {p.key: p for p in a.packages} if a else {}
    after = {p.key: p for p in b.packages} if b else {}
    out = []
    for key in sorted(before.keys() | after.keys()):
        pa, pb = before.get(key), after.get(key)
        va, vb = (pa.version if pa else None), (pb.version if pb else None)
        named = pb or pa
        if va != vb and named is not None:
            out.append(PackageChange(named.name, va, vb))
    return tuple(out)


def _lock(b: Bundle) -> dict[str, str | None]:
    lock = b.stamp.lock if b.stamp else None
    drift = b.metadata.drift if b.metadata else None
    return {
        "lock": None if lock is None else f"{lock.path} sha256:{lock.sha256[:12]}",
        "lock kind": None if lock is None else lock.kind.value,
        "drift": None if not drift else ", ".join(sorted(d.name for d in drift)),
    }


def _text(outcome: Outcome | None) -> str:
    return IN_FLIGHT if outcome is None else outcome.value


def _kind(before: str, after: str) -> ChangeKind:
    if after in BAD and before not in BAD:
        return ChangeKind.NOW_FAILING
    if before in BAD and after not in BAD:
        return ChangeKind.NOW_PASSING
    return ChangeKind.CHANGED


def _tests(
    a: Results | None, b: Results | None
) -> tuple[tuple[TestChange, ...], tuple[DurationChange, ...]]:
    if a is None or b is None:
        return (), ()
    ta, tb = a.tests, b.tests
    ids = list(map(_ID, ta))
    if len(ta) == len(tb) == len(a.positions()) and ids == list(map(_ID, tb)):
        return _same_order(ids, ta, tb)
    # Each test as the last of its id in each run's order; the tests themselves, not their
    # outcomes' text (an enum's `.value` is a property) nor a tuple per test: comparing
    # 2 x 50,000 tests allocates only for those that changed.
    before, after = a.positions(), b.positions()
    changes, durations = [], []
    for test_id, i in before.items():
        j = after.get(test_id)
        x = ta[i]
        if j is None:
            changes.append(TestChange(test_id, ChangeKind.MISSING, _text(x.outcome), None))
            continue
        y = tb[j]
        if x.outcome is not y.outcome:
            oa, ob = _text(x.outcome), _text(y.outcome)
            changes.append(TestChange(test_id, _kind(oa, ob), oa, ob))
        if abs(x.duration - y.duration) > DURATION_SECONDS and _matters(x.duration, y.duration):
            durations.append(DurationChange(test_id, x.duration, y.duration))
    changes += [
        TestChange(test_id, ChangeKind.NEW, None, _text(tb[j].outcome))
        for test_id, j in after.items()
        if test_id not in before
    ]
    durations.sort(key=lambda d: abs(d.after - d.before), reverse=True)
    return tuple(changes), tuple(durations)


def _same_order(
    ids: list[str], ta: tuple[TestResult, ...], tb: tuple[TestResult, ...]
) -> tuple[tuple[TestChange, ...], tuple[DurationChange, ...]]:
    """`_tests` of two runs of the same tests in the same order, each id once (the usual
    case): test i of A is test i of B, nothing is missing or new, and the columns compare
    in C until a test differs."""
    oa, ob = list(map(_OUTCOME, ta)), list(map(_OUTCOME, tb))
    changes = []
    if oa != ob:
        for test_id, x, y in zip(ids, oa, ob, strict=True):
            if x is not y:
                before, after = _text(x), _text(y)
                changes.append(TestChange(test_id, _kind(before, after), before, after))
    durations = [
        DurationChange(test_id, x, y)
        for test_id, x, y in zip(ids, map(_DURATION, ta), map(_DURATION, tb), strict=True)
        # the first test is _matters's own, and rules out nearly every test at once
        if abs(x - y) > DURATION_SECONDS and _matters(x, y)
    ]
    durations.sort(key=lambda d: abs(d.after - d.before), reverse=True)
    return tuple(changes), tuple(durations)


_ID = operator.attrgetter("id")
_OUTCOME = operator.attrgetter("outcome")
_DURATION = operator.attrgetter("duration")


def _matters(before: float, after: float) -> bool:
    low, high = min(before, after), max(before, after)
    return high - low > DURATION_SECONDS and high > DURATION_FACTOR * low
