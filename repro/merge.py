"""`repro merge`: do these shard bundles belong together, and what do they cover?

`plan` opens every shard through the verifier, refuses (`MergeRefused`, one line) shards
that are not of one suite run the same way (code, lock, Python and platform, pytest, the
collection before deselection, pytest-split's groups), and works out what the merged run
covers: each test of the collection finished by exactly one shard, or what is missing.
mergewrite.py writes the merged bundle from the `Plan`. Decisions: docs/merge.md.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro import layout
from repro.errors import EXIT_BAD, ReproError, UsageError
from repro.model import Collection, Env, RunMetadata, RunStamp, Status
from repro.progress import Reporter, silent
from repro.reader import Bundle, open_bundle
from repro.verify import printable

# Streams events that describe the session or the collection, not one test: the merged
# stream has them once (mergewrite.py), every other line is a shard's own.
SESSION_EVENTS = frozenset(
    {"session", "collection", "collected", "deselected", "collect_error", "collect_skip", "finish"}
)
SHOWN = 5  # ids named in a refusal; --json and merge.json have them all


class MergeRefused(ReproError):
    """The shards cannot be merged into one run: not of one suite, or not all of it."""

    exit_code = EXIT_BAD


@dataclass(frozen=True)
class Shard:
    bundle: Bundle  # verified, intact
    stamp: RunStamp
    meta: RunMetadata
    env: Env
    collection: Collection
    group: int | None  # pytest-split's --group and --splits, from its pytest arguments
    splits: int | None
    lines: tuple[tuple[str, bytes], ...]  # results.jsonl: (event kind, the line as written)
    started: frozenset[str]  # every test that started, the one in flight included
    executed: frozenset[str]  # tests that finished
    deselected: frozenset[str] | None  # None when the stream does not name them
    # run_metadata.json as written: the merged record starts from the first shard's, and
    # keeps what the model leaves out (masking, crashed xdist workers).
    meta_doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.bundle.path.name

    def event(self, kind: str) -> dict[str, Any] | None:
        """The first event of `kind` in the shard's stream."""
        for k, line in self.lines:
            if k == kind:
                ev: dict[str, Any] = json.loads(line)
                return ev
        return None


@dataclass(frozen=True)
class Plan:
    shards: tuple[Shard, ...]  # in merge order: by group, then by start
    names: tuple[str, ...]  # each shard's folder name: shards/<name>/
    collection: Collection
    splits: int | None
    missing_groups: tuple[int, ...]
    missing_tests: int
    missing_ids: tuple[str, ...]  # sorted; complete when `exact`
    exact: bool
    deselected: frozenset[str]  # deselected by every shard although every group ran

    @property
    def partial(self) -> bool:
        return bool(self.missing_groups or self.missing_tests)

    def missing_text(self) -> str:
        """`group 2 of 3 missing; 4 of 12 tests not run: a, b, c, d`."""
        parts = []
        if self.missing_groups:
            groups = ", ".join(map(str, self.missing_groups))
            word = "group" if len(self.missing_groups) == 1 else "groups"
            parts.append(f"{word} {groups} of {self.splits} missing")
        if self.missing_tests:
            text = f"{self.missing_tests} of {self.collection.n} tests not run"
            if self.missing_ids:
                text += ": " + _some(self.missing_ids)
            parts.append(text)
        return "; ".join(parts)


def plan(paths: Sequence[Path], *, allow_partial: bool, progress: Reporter = silent) -> Plan:
    """Open and check the shards; raise `MergeRefused` with the reason when they cannot
    be merged (or cover only part of the collection and `allow_partial` is false)."""
    if not paths:
        raise UsageError("no shard bundles given", hint="pass the shards' repro-*.zip files")
    shards = sorted(
        (_load(Path(p), progress) for p in paths),
        key=lambda s: (s.group or 0, s.meta.started, s.stamp.run_id),
    )
    _same_run(shards)
    splits = _groups(shards)
    names = tuple(str(s.group) if splits is not None else str(i) for i, s in enumerate(shards, 1))
    _disjoint(shards)
    result = _coverage(shards, names, splits)
    if result.partial and not allow_partial:
        raise MergeRefused(
            "the shards do not cover the whole collection: " + printable(result.missing_text()),
            hint="merge every shard, or pass --allow-partial for a bundle that says it is partial",
        )
    return result


# --- loading -----------------------------------------------------------------------------------


def _load(path: Path, progress: Reporter) -> Shard:
    if path.is_dir():
        raise UsageError(f"{path} is a folder", hint="merge bundles: `repro pack` it first")
    b = open_bundle(path, progress=progress)
    if not b.ok:
        raise MergeRefused(f"shard {path.name} does not verify: {b.report.problems[0]}")
    stamp, meta, env = b.stamp, b.metadata, b.env
    if stamp is None or meta is None or env is None or b.results is None:
        raise MergeRefused(f"shard {path.name} lacks a record of its run")
    if b.merge is not None:
        raise MergeRefused(f"{path.name} is itself a merge", hint="merge the shards it was made of")
    if meta.status is Status.ABANDONED:
        raise MergeRefused(
            f"shard {path.name} is a salvaged run (abandoned): its records are incomplete",
            hint="run that shard again",
        )
    if meta.collection is None:
        raise MergeRefused(
            f"shard {path.name} records no collection (made by an earlier repro)",
            hint="bundle the shards again with this repro",
        )
    raw, _ = b.read(layout.RESULTS_JSONL, b.files.get(layout.RESULTS_JSONL, 0))
    lines = tuple(_kinds(raw))
    group, splits = split_of(meta.pytest_args)
    tests = b.results.tests
    return Shard(
        bundle=b,
        stamp=stamp,
        meta=meta,
        env=env,
        collection=meta.collection,
        group=group,
        splits=splits,
        lines=lines,
        started=frozenset(t.id for t in tests),
        executed=frozenset(t.id for t in tests if t.outcome is not None),
        deselected=_deselected(lines),
        meta_doc=json.loads(b.read(layout.RUN_METADATA, b.files[layout.RUN_METADATA])[0]),
    )


def _kinds(raw: bytes) -> Iterable[tuple[str, bytes]]:
    for line in raw.split(b"\n"):
        if not line:
            continue
        ev = json.loads(line)  # the verifier found no malformed line
        yield str(ev["ev"]), line


def _deselected(lines: Iterable[tuple[str, bytes]]) -> frozenset[str] | None:
    ids: set[str] = set()
    for kind, line in lines:
        if kind == "deselected":
            ev = json.loads(line)
            named = ev.get("ids")
            if not isinstance(named, list) or len(named) != ev["n"]:
                return None  # a stream from before the plugin named them
            ids.update(str(i) for i in named)
    return frozenset(ids)


def split_of(args: Sequence[str]) -> tuple[int | None, int | None]:
    """pytest-split's (--group, --splits) in pytest arguments; None for what is not there."""
    found: dict[str, int | None] = {"--group": None, "--splits": None}
    for i, arg in enumerate(args):
        key, eq, value = arg.partition("=")
        if key not in found:
            continue
        if not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
        found[key] = int(value) if value.isdigit() else None
    return found["--group"], found["--splits"]


def strip_split(args: Sequence[str]) -> tuple[str, ...]:
    """`args` without pytest-split's --group and --splits: the unsplit run's arguments."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--group", "--splits"):
            skip = True
        elif not arg.startswith(("--group=", "--splits=")):
            out.append(arg)
    return tuple(out)


# Options that only deselect collected tests: shards may differ in them (`-k`/`-m` shards),
# since the full collection they select from is checked to be the same.
_DESELECT = ("-k", "-m", "--deselect")


def strip_selection(args: Sequence[str]) -> tuple[str, ...]:
    """`args` without the options that deselect collected tests (`-k`, `-m`, `--deselect`)."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _DESELECT:
            skip = True
        elif not arg.startswith(("-k", "-m", "--deselect=")):
            out.append(arg)
    return tuple(out)


def unsplit_args(shards: Sequence[Shard]) -> tuple[str, ...]:
    """The pytest arguments of the whole suite: the shards' own without pytest-split's, and
    without their deselection when they differ in it (the merge covers the collection)."""
    each = {strip_split(s.meta.pytest_args) for s in shards}
    first = strip_split(shards[0].meta.pytest_args)
    return first if len(each) == 1 else strip_selection(first)


# --- do they belong together? ----------------------------------------------------------------


def _code(s: Shard) -> str:
    code = s.env.code
    if code is not None:
        if code.kind == "files":
            return f"files {code.manifest.sha256[:12] if code.manifest else '?'}"
        patch = f" + changes {code.patch.sha256[:12]}" if code.patch else ""
        return f"commit {(code.commit or '?')[:12]}{patch}"
    git = s.env.git
    if git is None:
        return "no recorded code"
    diff = f" + changes {git.diff_sha256[:12]}" if git.dirty and git.diff_sha256 else ""
    return f"commit {(git.commit or '?')[:12]}{diff}"


def _code_key(s: Shard) -> object:
    code = s.env.code
    if code is not None:
        return (
            code.kind,
            code.commit,
            code.tree,
            code.patch and code.patch.sha256,
            code.manifest and code.manifest.sha256,
        )
    return _code(s)


def _lock(s: Shard) -> str:
    lock = s.stamp.lock
    return f"lock sha256:{lock.sha256[:12]}" if lock else "no lock"


def _python(s: Shard) -> str:
    py = s.env.python
    return f"{py.implementation} {'.'.join(py.version.split('.')[:2])}"


def _platform(s: Shard) -> str:
    return f"{s.env.os.system} {s.env.os.machine}"


def _pytest(s: Shard) -> str:
    return f"pytest {s.meta.pytest_version}"


def _args(s: Shard) -> tuple[str, ...]:
    return strip_selection(strip_split(s.meta.pytest_args))


def _args_label(s: Shard) -> str:
    return f"pytest arguments {shlex.join(_args(s))!r}"


def _collection(s: Shard) -> str:
    errors = sorted(e.id for e in s.meta.collect_errors)
    extra = f" and collection errors in {', '.join(errors)}" if errors else ""
    return f"a collection of {s.collection.n} tests (sha256 {s.collection.sha256[:12]}){extra}"


_SAME: tuple[tuple[str, Callable[[Shard], object], Callable[[Shard], str]], ...] = (
    ("code", _code_key, _code),
    ("lock", _lock, _lock),
    ("Python", _python, _python),
    ("platform", _platform, _platform),
    ("pytest", _pytest, _pytest),
    ("collection", _collection, _collection),
    ("pytest arguments", _args, _args_label),
)


def _same_run(shards: Sequence[Shard]) -> None:
    first = shards[0]
    seen: dict[str, Shard] = {}
    for s in shards:
        if s.stamp.run_id in seen:
            other = seen[s.stamp.run_id]
            raise MergeRefused(
                f"{other.name} and {s.name} are the same shard (run {s.stamp.run_id})",
                hint="pass each shard once",
            )
        seen[s.stamp.run_id] = s
    for what, key, label in _SAME:
        for s in shards[1:]:
            if key(s) != key(first):
                raise MergeRefused(
                    printable(
                        f"the shards differ in {what}: {first.name} has {label(first)}, "
                        f"{s.name} has {label(s)}"
                    ),
                    hint="merge shards of one suite, run from one checkout with one lock",
                )


def _groups(shards: Sequence[Shard]) -> int | None:
    """The number of splits when every shard names its pytest-split group; refuses a group
    given twice and shards split differently."""
    named = [s for s in shards if s.group is not None and s.splits is not None]
    if not named:
        return None
    if len(named) != len(shards):
        other = next(s for s in shards if s not in named)
        raise MergeRefused(f"{named[0].name} names a pytest-split group, {other.name} does not")
    splits = sorted({s.splits or 0 for s in shards})
    if len(splits) > 1:
        raise MergeRefused(f"the shards split the suite differently: --splits {splits}")
    by_group: dict[int | None, Shard] = {}
    for s in shards:
        if s.group in by_group:
            raise MergeRefused(
                f"group {s.group} of {s.splits} is given twice: {by_group[s.group].name} "
                f"and {s.name}",
                hint="pass one bundle per group",
            )
        by_group[s.group] = s
    return named[0].splits


def _disjoint(shards: Sequence[Shard]) -> None:
    owner: dict[str, str] = {}
    twice: dict[str, list[str]] = {}
    for s in shards:
        for test in s.executed:
            if test in owner:
                twice.setdefault(test, [owner[test]]).append(s.name)
            else:
                owner[test] = s.name
    if twice:
        ids = sorted(twice)
        first = ids[0]
        raise MergeRefused(
            printable(
                f"{len(ids)} test(s) ran in more than one shard: {_some(ids)} "
                f"({first} in {' and '.join(twice[first])})"
            ),
            hint="each test must run in exactly one shard",
        )


def _coverage(shards: Sequence[Shard], names: tuple[str, ...], splits: int | None) -> Plan:
    collection = shards[0].collection
    groups = {s.group for s in shards}
    missing_groups = tuple(g for g in range(1, (splits or 0) + 1) if g not in groups)
    executed = frozenset().union(*(s.executed for s in shards))
    known = frozenset().union(*(s.started | (s.deselected or frozenset()) for s in shards))
    exact = all(s.deselected is not None for s in shards) and (
        len(known) == collection.n and ids_digest(known) == collection.sha256
    )
    deselected: frozenset[str] = frozenset()
    if exact:
        if splits is not None and not missing_groups:
            # Tests no shard selected although every group ran: -k, -m, as unsplit.
            deselected = frozenset.intersection(*(s.deselected or frozenset() for s in shards))
        missing = sorted(known - executed - deselected)
        count = len(missing)
    else:
        missing, count = [], max(collection.n - len(executed), 0)
    return Plan(
        shards=tuple(shards),
        names=names,
        collection=collection,
        splits=splits,
        missing_groups=missing_groups,
        missing_tests=count,
        missing_ids=tuple(missing),
        exact=exact,
        deselected=deselected,
    )


def ids_digest(ids: Iterable[str]) -> str:
    """sha256 of sorted node ids one per line: the plugin's `collection` digest."""
    digest = hashlib.sha256()
    for nodeid in sorted(ids):
        digest.update(nodeid.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN])
    return shown + (f" (and {len(ids) - SHOWN} more)" if len(ids) > SHOWN else "")
