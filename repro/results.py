"""Per-test outcomes from the plugin's JSON-lines stream, and JUnit XML counts.

Both the run (to write run_metadata.json) and the verifier (to cross-check a
bundle) read results through this module, so they cannot disagree on what a
count means.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")


@dataclass(frozen=True)
class TestResults:
    session_started: bool = False
    session_finished: bool = False
    exitstatus: int | None = None  # pytest's own, from sessionfinish
    collected: int | None = None
    pytest_version: str | None = None
    plugins: tuple[str, ...] = ()
    order: tuple[str, ...] = ()  # tests in the order they started
    outcomes: dict[str, str] = field(default_factory=dict)  # finished tests only
    in_flight: str | None = None
    collect_errors: tuple[dict[str, str], ...] = ()
    bad_lines: int = 0

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(self.outcomes.values())
        return {k: c.get(k, 0) for k in OUTCOMES}


def _phase_outcome(current: str | None, ev: dict[str, object]) -> str | None:
    """Fold one phase report into the test's single outcome.

    A failing setup or teardown makes the test an `error` unless the call had
    already failed; an expected failure is `xfailed`, an unexpected pass
    `xpassed` (a strict xpass is reported by pytest as failed).
    """
    when, outcome, xfail = ev.get("when"), ev.get("outcome"), bool(ev.get("xfail"))
    if outcome == "failed":
        if when == "call":
            return "failed"
        return current if current == "failed" else "error"
    if outcome == "skipped" and when != "teardown":
        return "xfailed" if xfail else "skipped"
    if outcome == "passed" and when == "call":
        return "xpassed" if xfail else "passed"
    return current


_PHASES = ("setup", "call", "teardown")
_PHASE_OUTCOMES = ("passed", "failed", "skipped")


def _well_formed(ev: Any) -> bool:
    """The shape the plugin writes; anything else is counted as a bad line, not trusted."""
    if not isinstance(ev, dict) or not isinstance(ev.get("ev"), str):
        return False
    kind = ev["ev"]
    if kind in ("start", "report", "collect_error") and not isinstance(ev.get("id"), str):
        return False
    if kind == "report":
        return ev.get("when") in _PHASES and ev.get("outcome") in _PHASE_OUTCOMES
    if kind == "session":
        plugins = ev.get("plugins", [])
        return (
            isinstance(plugins, list)
            and all(isinstance(p, str) for p in plugins)
            and (ev.get("pytest") is None or isinstance(ev.get("pytest"), str))
        )
    if kind == "collected":
        return isinstance(ev.get("n"), int)
    if kind == "collect_error":
        return isinstance(ev.get("msg", ""), str)
    if kind == "finish":
        return isinstance(ev.get("exitstatus"), int)
    return True  # unknown kinds are skipped: newer plugins may add events


def parse_events(lines: Iterable[bytes]) -> TestResults:
    started = finished = False
    exitstatus: int | None = None
    collected: int | None = None
    pytest_version: str | None = None
    plugins: tuple[str, ...] = ()
    order: list[str] = []
    current: dict[str, str | None] = {}
    outcomes: dict[str, str] = {}
    collect_errors: list[dict[str, str]] = []
    bad = 0
    for raw in lines:
        try:
            ev = json.loads(raw)
        except (ValueError, RecursionError):
            ev = None
        if not _well_formed(ev):
            bad += 1  # a line cut short by a full disk, or not written by the plugin
            continue
        kind = ev["ev"]
        if kind == "start":
            order.append(ev["id"])
            current[ev["id"]] = None
        elif kind == "report":
            nodeid = ev["id"]
            current[nodeid] = _phase_outcome(current.get(nodeid), ev)
            if ev.get("when") == "teardown":
                outcomes[nodeid] = current.pop(nodeid, None) or "passed"
        elif kind == "session":
            started = True
            pytest_version = ev.get("pytest")
            plugins = tuple(ev.get("plugins", ()))
        elif kind == "collected":
            collected = ev.get("n")
        elif kind == "collect_error":
            collect_errors.append({"id": ev.get("id", ""), "message": ev.get("msg", "")})
        elif kind == "finish":
            finished = True
            exitstatus = ev.get("exitstatus")
    in_flight = next((t for t in reversed(order) if t in current), None)
    return TestResults(
        session_started=started,
        session_finished=finished,
        exitstatus=exitstatus,
        collected=collected,
        pytest_version=pytest_version,
        plugins=plugins,
        order=tuple(order),
        outcomes=outcomes,
        in_flight=in_flight,
        collect_errors=tuple(collect_errors),
        bad_lines=bad,
    )


def read_results(path: str) -> TestResults:
    try:
        with open(path, "rb") as fh:
            return parse_events(fh)
    except FileNotFoundError:
        return TestResults()


@dataclass(frozen=True)
class JUnitCounts:
    tests: int
    failures: int
    errors: int
    skipped: int


def junit_counts(data: bytes) -> JUnitCounts:
    """Count testcases in a JUnit XML document by what each contains.

    Parsed with expat through ElementTree, which does not fetch external
    entities; the document may come from an untrusted bundle.
    """
    import xml.etree.ElementTree as ET

    root = ET.fromstring(data)
    tests = failures = errors = skipped = 0
    for case in root.iter("testcase"):
        tests += 1
        tags = {child.tag for child in case}
        failures += "failure" in tags
        errors += "error" in tags
        skipped += "skipped" in tags
    return JUnitCounts(tests, failures, errors, skipped)
