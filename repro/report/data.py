"""What the HTML report shows, as plain typed values: the renderer's only input.

The renderer never reads a bundle: `collect.py` turns the reader's model into these
values, so the page can be rendered (and tested) from any source. Every string here
may come from an attacker's bundle; the renderer escapes all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    """What `repro verify` said about the bundle (a run folder is verified the same way)."""

    intact: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    integrity: str = ""  # "intact", "intact, not packed", "not intact"
    line: str = ""  # the one-line verdict every command prints (repro.verdict)


@dataclass(frozen=True)
class TestRow:
    nodeid: str
    outcome: str  # one of repro.results.OUTCOMES
    duration: float | None  # seconds, setup + call + teardown; None if never finished
    file: str | None
    line: int | None


@dataclass(frozen=True)
class Failure:
    """A failed or erroring test, a collection error, or the test in flight."""

    nodeid: str
    outcome: str
    message: str
    text: str


@dataclass(frozen=True)
class Excerpt:
    """A possibly long text kept as its first and last bytes: `tail` is empty unless the
    middle was cut, and `total` is the full size in bytes."""

    name: str
    head: bytes
    tail: bytes
    total: int
    # Why the text is not shown at all: the verifier found the file at fault, or it is a
    # byte-for-byte copy of a log shown above.
    omitted: str = ""

    @property
    def cut(self) -> bool:
        return not self.omitted and len(self.head) + len(self.tail) < self.total


@dataclass(frozen=True)
class ReportInput:
    title: str  # the bundle's file name or the run folder's
    verdict: Verdict
    digest: str | None
    run_id: str
    status: str
    status_reason: str
    counts: Mapping[str, int]
    run_facts: Sequence[tuple[str, str]]  # command, commit, times: label -> value
    env_facts: Sequence[tuple[str, str]]  # Python, OS, CPU, ...
    tests: Sequence[TestRow]
    failures: Sequence[Failure]
    packages: Sequence[tuple[str, str]]  # name, version
    lock_kind: str | None = None
    lock: Excerpt | None = None
    drift: Sequence[str] = ()
    logs: Sequence[Excerpt] = field(default_factory=tuple)
