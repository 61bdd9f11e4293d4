"""The verdict on a bundle: integrity and outcome, kept apart.

A bundle can be intact and record a failed run, or be broken and claim a passing one;
`OK` alone reads as "it passed". Every reader (verify, show, report, diff) states both,
from this one place:

    OK (intact)  tests: failed, 298 passed, 1 failed  sha256:…
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from repro.model import Counts, Status
from repro.verify import VerifyReport

Integrity = Literal["intact", "intact, not packed", "not intact"]


@dataclass(frozen=True)
class Verdict:
    intact: bool  # every check of verify passed
    integrity: Integrity
    status: Status | None  # None when no readable record says how the run ended
    counts: Counts | None
    digest: str | None  # None for a run folder, or a bundle too broken to have one
    partial: bool = False  # a merge of shards that leave tests unrun (merge.json)

    @property
    def passed(self) -> bool:
        """Intact, the run's status is `passed`, and it is not a partial merge: what
        `--require-passed` demands."""
        return self.intact and self.status is Status.PASSED and not self.partial

    @property
    def word(self) -> str:
        return "OK" if self.intact else "FAIL"

    def tests_text(self) -> str:
        """`failed, 298 passed, 1 failed`; `unknown` without a readable record."""
        if self.status is None:
            return "unknown"
        text = self.status.value + (" (partial merge)" if self.partial else "")
        if self.counts is not None:
            text += ", " + counts_text(self.counts)
        return text if self.intact else f"{text} (unverified)"

    def head(self) -> str:
        """The integrity half: `OK (intact)`, `FAIL (not intact)`."""
        return f"{self.word} ({self.integrity})"

    def line(self) -> str:
        """The one-line verdict: `OK (intact)  tests: failed, 2 passed, 1 failed  sha256:…`."""
        parts = [self.head(), f"tests: {self.tests_text()}"]
        if self.digest is not None:
            parts.append(self.digest)
        return "  ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "integrity": self.integrity,
            "status": None if self.status is None else self.status.value,
            "counts": None if self.counts is None else self.counts.as_dict(),
            "passed": self.passed,
            "digest": self.digest,
            "verdict": self.line(),
        }


def counts_text(counts: Counts) -> str:
    """`298 passed, 1 failed, 2 rerun`: the outcomes that occurred, in a fixed order,
    then pytest's other categories as its summary names them."""
    parts = [f"{n} {o.value}" for o, n in counts.items() if n]
    parts += [f"{n} {name}" for name, n in sorted(counts.other.items()) if n]
    return ", ".join(parts) or "no tests"


def verdict(report: VerifyReport) -> Verdict:
    if not report.ok:
        integrity: Integrity = "not intact"
    elif report.kind == "run-folder":
        integrity = "intact, not packed"
    else:
        integrity = "intact"
    return Verdict(
        report.ok, integrity, report.status, report.counts, report.digest, report.partial
    )
