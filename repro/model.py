"""The typed model of a run's records: frozen dataclasses with closed types.

Parsing from JSON happens here and only here (`*.from_json`), on documents that already
passed their schema; everything that reads a record reads these objects, never a dict by
string key. The schemas leave a few fields untyped (env.json's `os` and `locale`), and
everything in a bundle is attacker-controlled, so such fields are coerced, never trusted
to have a type.

`to_jsonable` turns any of these objects back into plain JSON values (enums as their
string values), for `--json` output.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

from repro.layout import Role, TextEnum


class Status(TextEnum):
    """How a run ended (run_stamp.json / run_metadata.json `status`)."""

    PASSED = "passed"
    FAILED = "failed"
    CRASHED = "crashed"
    KILLED = "killed"
    TIMED_OUT = "timed-out"
    INTERRUPTED = "interrupted"
    NO_TESTS = "no-tests"
    ERROR = "error"
    ABANDONED = "abandoned"  # repro itself died; `repro salvage` made the records


class Outcome(TextEnum):
    """One finished test's outcome (the keys of run_metadata.json `counts`)."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"
    XFAILED = "xfailed"
    XPASSED = "xpassed"


class Phase(TextEnum):
    SETUP = "setup"
    CALL = "call"
    TEARDOWN = "teardown"


class LockKind(TextEnum):
    PIP_COMPILE = "pip-compile"
    SNAPSHOT = "snapshot"


class DriftKind(TextEnum):
    MISSING = "missing"  # locked, not installed
    VERSION = "version"  # installed at another version
    EXTRA = "extra"  # installed, not locked


# Outcomes that make a run's tests "bad" when present.
BAD_OUTCOMES = frozenset({Outcome.FAILED, Outcome.ERROR, Outcome.XPASSED})


def _str(value: Any) -> str | None:
    """A scalar from an untyped field as text; anything else (object, list) as None."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strs(values: Any) -> tuple[str, ...]:
    return tuple(v for v in values if isinstance(v, str)) if isinstance(values, list) else ()


# --- counts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """pytest's summary counts: the six outcomes, and whatever other categories pytest's
    summary line names (`rerun`, `deselected`, `subtests passed`, ...) in `other`."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    error: int = 0
    xfailed: int = 0
    xpassed: int = 0
    other: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Counts:
        known = {o.value for o in Outcome}
        n = {o: int(doc.get(o.value, 0)) for o in Outcome}
        return cls._of(n, {str(k): v for k, v in doc.items() if k not in known and _int(v)})

    @classmethod
    def _of(cls, n: Mapping[Outcome, int], other: Mapping[str, int]) -> Counts:
        return cls(
            passed=n[Outcome.PASSED],
            failed=n[Outcome.FAILED],
            skipped=n[Outcome.SKIPPED],
            error=n[Outcome.ERROR],
            xfailed=n[Outcome.XFAILED],
            xpassed=n[Outcome.XPASSED],
            other=dict(other),
        )

    @classmethod
    def of(cls, outcomes: Iterator[Outcome] | list[Outcome] | tuple[Outcome, ...]) -> Counts:
        tally = dict.fromkeys(Outcome, 0)
        for o in outcomes:
            tally[o] += 1
        return cls._of(tally, {})

    def get(self, outcome: Outcome) -> int:
        value: int = getattr(self, outcome.value)
        return value

    @property
    def total(self) -> int:
        return sum(self.get(o) for o in Outcome)

    def items(self) -> tuple[tuple[Outcome, int], ...]:
        """(outcome, count) in the canonical order, zeros included."""
        return tuple((o, self.get(o)) for o in Outcome)

    def as_dict(self) -> dict[str, int]:
        return {**{o.value: n for o, n in self.items()}, **self.other}


# --- env.json --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PythonInfo:
    implementation: str
    version: str
    executable: str
    venv: bool


@dataclass(frozen=True)
class OSInfo:
    system: str | None
    release: str | None
    machine: str | None
    platform: str | None
    libc: str | None  # "glibc 2.36"
    cpu_count: int | None


@dataclass(frozen=True)
class LocaleInfo:
    locale: str | None
    encoding: str | None
    tz: str | None


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    installer: str | None = None
    editable: bool = False
    direct_url: str | None = None

    @property
    def key(self) -> str:
        """The name as packaging normalises it (PEP 503), for comparing environments."""
        return normalize_name(self.name)


def normalize_name(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class GitState:
    commit: str | None
    branch: str | None
    dirty: bool
    diff_sha256: str | None
    remotes: tuple[str, ...]


@dataclass(frozen=True)
class CarriedFile:
    """A file of the run that carries its code (`code/changes.patch`, `code/files.sha256`)."""

    path: str
    sha256: str
    size: int | None = None  # bytes, of the patch
    files: int | None = None  # files listed, in the manifest


@dataclass(frozen=True)
class CodeState:
    """The code the run tested, as the run carries it (repro/codestate.py)."""

    kind: Literal["git", "files"]
    exact: bool  # a replay can rebuild exactly this tree
    why_not_exact: str | None
    commit: str | None
    tree: str | None
    subdir: str  # the project's folder in the repository, "" for its top
    patch: CarriedFile | None
    manifest: CarriedFile | None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CodeState:
        patch, manifest = doc.get("patch"), doc.get("manifest")
        return cls(
            kind="git" if doc["kind"] == "git" else "files",
            exact=bool(doc["exact"]),
            why_not_exact=_str(doc.get("why_not_exact")),
            commit=_str(doc.get("commit")),
            tree=_str(doc.get("tree")),
            subdir=_str(doc.get("subdir")) or "",
            patch=None
            if not isinstance(patch, dict)
            else CarriedFile(patch["path"], patch["sha256"], size=patch["size"]),
            manifest=None
            if not isinstance(manifest, dict)
            else CarriedFile(manifest["path"], manifest["sha256"], files=manifest["files"]),
        )


@dataclass(frozen=True)
class Environment:
    names: tuple[str, ...]  # every variable's name
    values: Mapping[str, str]  # only the allow-listed ones
    withheld: tuple[str, ...]


@dataclass(frozen=True)
class Env:
    python: PythonInfo
    os: OSInfo
    locale: LocaleInfo
    packages: tuple[Package, ...]
    git: GitState | None
    environment: Environment
    repro_python: str | None = None
    code: CodeState | None = None  # None in records from before repro carried it

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Env:
        py, os_, loc, env = doc["python"], doc["os"], doc["locale"], doc["environment"]
        libc = os_.get("libc")
        if isinstance(libc, dict):
            libc = " ".join(s for s in (_str(libc.get("name")), _str(libc.get("version"))) if s)
        git = doc["git"]
        return cls(
            python=PythonInfo(
                implementation=py["implementation"],
                version=py["version"],
                executable=py["executable"],
                venv=py["venv"],
            ),
            os=OSInfo(
                system=_str(os_.get("system")),
                release=_str(os_.get("release")),
                machine=_str(os_.get("machine")),
                platform=_str(os_.get("platform")),
                libc=_str(libc) or None,
                cpu_count=_int(os_.get("cpu_count")),
            ),
            locale=LocaleInfo(
                locale=_str(loc.get("locale")),
                encoding=_str(loc.get("encoding")),
                tz=_str(loc.get("tz")),
            ),
            packages=tuple(_package(p) for p in doc["packages"]),
            git=None
            if git is None
            else GitState(
                commit=git["commit"],
                branch=git["branch"],
                dirty=git["dirty"],
                diff_sha256=git["diff_sha256"],
                remotes=tuple(git["remotes"]),
            ),
            environment=Environment(
                names=tuple(env["names"]),
                values=dict(env["values"]),
                withheld=tuple(env["withheld"]),
            ),
            code=CodeState.from_json(doc["code"]) if isinstance(doc.get("code"), dict) else None,
            repro_python=doc.get("repro_python"),
        )


def _package(p: Mapping[str, Any]) -> Package:
    direct = p.get("direct_url")
    url = _str(direct.get("url")) if isinstance(direct, dict) else None
    editable = p.get("editable") is True
    return Package(p["name"], p["version"], p.get("installer"), editable, url)


# --- lock.json -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unhashable:
    name: str
    version: str


@dataclass(frozen=True)
class LockRecord:
    kind: LockKind
    reason: str | None
    inputs: tuple[str, ...]
    fingerprint: str
    created: str
    tools: Mapping[str, str | None]
    packages: int
    unhashable: tuple[Unhashable, ...]
    command: tuple[str, ...] = ()
    hashed: bool | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LockRecord:
        return cls(
            kind=LockKind(doc["kind"]),
            reason=doc["reason"],
            inputs=tuple(doc["inputs"]),
            fingerprint=doc["fingerprint"],
            created=doc["created"],
            tools=dict(doc["tools"]),
            packages=doc["packages"],
            unhashable=tuple(Unhashable(u["name"], u["version"]) for u in doc["unhashable"]),
            command=tuple(doc.get("command", ())),
            hashed=doc.get("hashed"),
        )


# --- run_metadata.json -----------------------------------------------------------------------


@dataclass(frozen=True)
class FileRef:
    size: int
    sha256: str


@dataclass(frozen=True)
class KillStep:
    signal: str
    at: float  # seconds after the start
    reason: str


@dataclass(frozen=True)
class Timeout:
    seconds: float | None
    grace: float
    term_grace: float


@dataclass(frozen=True)
class CollectError:
    id: str
    message: str
    text: str = ""  # the full report, from results.jsonl (run_metadata.json keeps the message)


@dataclass(frozen=True)
class Drift:
    name: str
    kind: DriftKind
    locked: str | None = None
    installed: str | None = None


@dataclass(frozen=True)
class Redaction:
    pattern: str
    count: int


CountsSource = Literal["pytest", "stream"]


@dataclass(frozen=True)
class Collection:
    """The whole collection before deselection: how many node ids, and the sha256 of the
    sorted ids one per line (what shards of one suite share)."""

    n: int
    sha256: str

    @classmethod
    def from_json(cls, doc: Any) -> Collection | None:
        if not isinstance(doc, dict):
            return None
        return cls(int(doc["n"]), str(doc["sha256"]))


@dataclass(frozen=True)
class PythonRan:
    """The Python that ran: as repro's probe saw it, and as pytest reported it (None when
    pytest never started)."""

    probe: str | None
    pytest: str | None
    executable: str | None


@dataclass(frozen=True)
class RunMetadata:
    run_id: str
    argv: tuple[str, ...]
    repro_argv: tuple[str, ...]
    cwd: str
    python: str
    pytest_version: str | None
    pytest_plugins: tuple[str, ...]
    seeds: Mapping[str, str | None]
    started: str
    ended: str
    duration_seconds: float
    exit_code: int | None
    signal: str | None
    status: Status
    status_reason: str
    counts: Counts
    tests_total: int
    collected: int | None
    order: tuple[str, ...]
    in_flight: str | None
    collect_errors: tuple[CollectError, ...]
    timeout: Timeout
    kill_sequence: tuple[KillStep, ...]
    group_cleanup: tuple[KillStep, ...]
    output_abandoned: bool
    files: Mapping[str, FileRef]  # run-folder path -> size and sha256
    drift: tuple[Drift, ...] | None  # None: no lock to compare with
    redactions: tuple[Redaction, ...]
    # pytest's own summary ("pytest") or recounted from the stream ("stream"); None in
    # records from before repro recorded it, as for the fields below.
    counts_source: CountsSource | None = None
    python_ran: PythonRan | None = None
    results_format: int | None = None
    salvaged: bool = False  # `repro salvage` wrote this record (it says what is missing)
    collection: Collection | None = None

    @property
    def pytest_args(self) -> tuple[str, ...]:
        """The user's pytest arguments: those after repro's own `--repro-results`."""
        for i, arg in enumerate(self.argv):
            if arg.startswith("--repro-results"):
                return self.argv[i + 1 :]
        return ()

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RunMetadata:
        t = doc["timeout"]
        drift = doc["drift"]
        return cls(
            run_id=doc["run_id"],
            argv=tuple(doc["argv"]),
            repro_argv=tuple(doc.get("repro_argv", ())),
            cwd=doc["cwd"],
            python=doc["python"],
            pytest_version=doc["pytest"]["version"],
            pytest_plugins=tuple(doc["pytest"]["plugins"]),
            seeds=dict(doc["seeds"]),
            started=doc["started"],
            ended=doc["ended"],
            duration_seconds=float(doc["duration_seconds"]),
            exit_code=doc["exit_code"],
            signal=doc["signal"],
            status=Status(doc["status"]),
            status_reason=doc["status_reason"],
            counts=Counts.from_json(doc["counts"]),
            tests_total=doc["tests_total"],
            collected=doc["collected"],
            order=tuple(doc["order"]),
            in_flight=doc["in_flight"],
            collect_errors=tuple(
                CollectError(_str(e["id"]) or "", _str(e["message"]) or "")
                for e in doc["collect_errors"]
            ),
            timeout=Timeout(t["seconds"], t["grace"], t["term_grace"]),
            kill_sequence=tuple(KillStep(**s) for s in doc["kill_sequence"]),
            group_cleanup=tuple(KillStep(**s) for s in doc["group_cleanup"]),
            output_abandoned=doc.get("output_abandoned", False),
            files={rel: FileRef(f["size"], f["sha256"]) for rel, f in doc["files"].items()},
            drift=None
            if drift is None
            else tuple(
                Drift(d["name"], DriftKind(d["kind"]), d.get("locked"), d.get("installed"))
                for d in drift
            ),
            redactions=tuple(
                Redaction(_str(r["pattern"]) or "", _int(r["count"]) or 0)
                for r in doc["redactions"]
            ),
            counts_source=doc.get("counts_source"),
            python_ran=_python_ran(doc.get("python_ran")),
            results_format=_int(doc["pytest"].get("results_format")),
            salvaged="salvage" in doc,
            collection=Collection.from_json(doc.get("collection")),
        )


def _python_ran(doc: Any) -> PythonRan | None:
    if not isinstance(doc, dict):
        return None
    return PythonRan(_str(doc.get("probe")), _str(doc.get("pytest")), _str(doc.get("executable")))


# --- run_stamp.json --------------------------------------------------------------------------


@dataclass(frozen=True)
class StampGit:
    commit: str | None
    dirty: bool


@dataclass(frozen=True)
class StampLock:
    path: str  # run-folder path of the lock file
    sha256: str
    kind: LockKind


@dataclass(frozen=True)
class RunStamp:
    run_id: str
    repro_version: str
    created: str  # UTC start of the run: also the zip entries' timestamp
    git: StampGit | None
    command: tuple[str, ...]
    status: Status
    exit_code: int | None
    lock: StampLock | None
    records: Mapping[str, str]  # run-folder path of each record -> its sha256

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RunStamp:
        git, lock = doc["git"], doc["lock"]
        return cls(
            run_id=doc["run_id"],
            repro_version=doc["repro_version"],
            created=doc["created"],
            git=None if git is None else StampGit(git["commit"], git["dirty"]),
            command=tuple(doc["command"]),
            status=Status(doc["status"]),
            exit_code=doc["exit_code"],
            lock=None
            if lock is None
            else StampLock(lock["path"], lock["sha256"], LockKind(lock["kind"])),
            records=dict(doc["records"]),
        )


# --- repro-bundle.json -----------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestFile:
    path: str  # bag path: data/...
    size: int
    sha256: str
    role: Role
    schema: str | None = None  # "run_stamp@1" for records


@dataclass(frozen=True)
class BundleManifest:
    format: str
    run_id: str
    created: str
    repro_version: str
    files: tuple[ManifestFile, ...]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> BundleManifest:
        return cls(
            format=doc["format"],
            run_id=doc["run_id"],
            created=doc["created"],
            repro_version=doc["repro_version"],
            files=tuple(
                ManifestFile(f["path"], f["size"], f["sha256"], Role(f["role"]), f.get("schema"))
                for f in doc["files"]
            ),
        )


# --- merge.json (a bundle `repro merge` made) -----------------------------------------------


@dataclass(frozen=True)
class ShardEntry:
    name: str  # its folder: shards/<name>/
    run_id: str
    digest: str
    bundle: str
    group: int | None
    splits: int | None
    status: str
    exit_code: int | None
    counts: Counts
    tests: int
    started: str
    ended: str
    duration_seconds: float
    argv: tuple[str, ...]
    files: Mapping[str, FileRef]  # shard run-folder path (logs/...) -> size and sha256


@dataclass(frozen=True)
class Missing:
    groups: tuple[int, ...]
    tests: int
    ids: tuple[str, ...]
    exact: bool


@dataclass(frozen=True)
class MergeRecord:
    run_id: str
    partial: bool
    collection: Collection
    splits: int | None
    shards: tuple[ShardEntry, ...]
    missing: Missing
    deselected: int

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> MergeRecord:
        m = doc["missing"]
        collection = Collection.from_json(doc["collection"])
        assert collection is not None  # the schema requires it
        return cls(
            run_id=doc["run_id"],
            partial=doc["partial"],
            collection=collection,
            splits=doc["splits"],
            shards=tuple(_shard(s) for s in doc["shards"]),
            missing=Missing(tuple(m["groups"]), m["tests"], tuple(m["ids"]), m["exact"]),
            deselected=doc["deselected"],
        )


def _shard(s: Mapping[str, Any]) -> ShardEntry:
    return ShardEntry(
        name=s["name"],
        run_id=s["run_id"],
        digest=s["digest"],
        bundle=s["bundle"],
        group=s["group"],
        splits=s["splits"],
        status=s["status"],
        exit_code=s["exit_code"],
        counts=Counts.from_json(s["counts"]),
        tests=s["tests"],
        started=s["started"],
        ended=s["ended"],
        duration_seconds=float(s["duration_seconds"]),
        argv=tuple(s["argv"]),
        files={rel: FileRef(f["size"], f["sha256"]) for rel, f in s["files"].items()},
    )


# --- results/results.jsonl -------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    """One test as results.jsonl tells it. `outcome` is None for the test in flight."""

    __test__ = False  # not a pytest test class, despite the name

    id: str
    outcome: Outcome | None
    duration: float  # seconds, setup + call + teardown as far as they ran
    file: str | None = None  # where the test is defined, when the id does not say it
    line: int | None = None  # 1-based line of the test's definition
    phase: Phase | None = None  # the phase that failed, errored or skipped
    message: str = ""  # one line: why it failed or was skipped
    text: str = ""  # the full failure report (traceback)

    @property
    def location(self) -> str:
        """`path:line` where the test is defined, as far as known."""
        path = self.file or self.id.split("::", 1)[0]
        return f"{path}:{self.line}" if self.line is not None else path


def build_tests(ids: Sequence[str], *columns: Iterable[Any]) -> tuple[TestResult, ...]:
    """`TestResult`s from one column per field, in the order of the fields, made as pickle
    makes them: each one's dict of fields set at once, by C-level maps. A frozen dataclass's
    `__init__` sets each field through `object.__setattr__`; that, or a Python function per
    test, was a third of the cost of the 50,000 tests a bundle's results are read into
    (twice per `repro diff`, and once more when the fork's are unpickled)."""
    fields = map(dict, map(zip, itertools.repeat(_TEST_FIELDS), zip(ids, *columns, strict=True)))
    tests: list[TestResult] = list(map(object.__new__, itertools.repeat(TestResult, len(ids))))
    collections.deque(map(object.__setattr__, tests, itertools.repeat("__dict__"), fields), 0)
    return tuple(tests)


@dataclass(frozen=True)
class Results:
    tests: tuple[TestResult, ...]  # in the order they started; the one in flight included
    counts: Counts
    in_flight: str | None
    collect_errors: tuple[CollectError, ...]
    session_started: bool
    session_finished: bool
    exitstatus: int | None
    collected: int | None
    pytest_version: str | None
    plugins: tuple[str, ...]
    bad_lines: int = 0
    finished: int = 0  # tests that finished, each once whatever its reruns
    counts_source: CountsSource = "stream"
    format: int | None = None  # of the stream (docs/results-stream.md)
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update((t.id, i) for i, t in enumerate(self.tests))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled when `repro diff` opens its second bundle in a worker process: the tests
        # go as one list per field, not as 50,000 objects each with its field names (nor
        # rows: most columns are one value over and over, which pickle sends as a memo
        # reference), and the index is rebuilt rather than sent.
        tests = self.tests
        columns = [list(map(operator.attrgetter(f), tests)) for f in _TEST_FIELDS]
        rest = [getattr(self, f.name) for f in dataclasses.fields(self) if f.init]
        return _results_from_columns, (columns, *rest[1:])

    def positions(self) -> Mapping[str, int]:
        """Each test id -> its index in `tests` (the last, for an id that started twice)."""
        return MappingProxyType(self._index)

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tests)

    def get(self, test_id: str) -> TestResult | None:
        i = self._index.get(test_id)
        return None if i is None else self.tests[i]

    def with_outcome(self, *outcomes: Outcome) -> tuple[TestResult, ...]:
        return tuple(t for t in self.tests if t.outcome in outcomes)

    def slowest(self, n: int) -> tuple[TestResult, ...]:
        """The n finished tests that took longest: the one in flight has no duration yet."""
        import heapq

        done = (t for t in self.tests if t.outcome is not None)
        return tuple(heapq.nlargest(n, done, key=lambda t: t.duration))


_TEST_FIELDS = tuple(f.name for f in dataclasses.fields(TestResult))


def _results_from_columns(columns: list[list[Any]], *rest: Any) -> Results:
    return Results(build_tests(*columns), *rest)


# --- JSON out ----------------------------------------------------------------------------------


def to_jsonable(obj: Any) -> Any:
    """Plain JSON values for any model object (enums as their values, tuples as lists)."""
    if isinstance(obj, Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_jsonable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not f.name.startswith("_")
        }
    if isinstance(obj, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


__all__ = [
    "BAD_OUTCOMES",
    "BundleManifest",
    "CarriedFile",
    "CodeState",
    "CollectError",
    "Collection",
    "Counts",
    "CountsSource",
    "Drift",
    "DriftKind",
    "Env",
    "Environment",
    "FileRef",
    "GitState",
    "KillStep",
    "LocaleInfo",
    "LockKind",
    "LockRecord",
    "ManifestFile",
    "MergeRecord",
    "Missing",
    "OSInfo",
    "Outcome",
    "Package",
    "Phase",
    "PythonInfo",
    "PythonRan",
    "Redaction",
    "Results",
    "Role",
    "RunMetadata",
    "RunStamp",
    "ShardEntry",
    "StampGit",
    "StampLock",
    "Status",
    "TestResult",
    "TextEnum",
    "Timeout",
    "Unhashable",
    "normalize_name",
    "to_jsonable",
]
