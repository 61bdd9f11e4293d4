"""Per-test outcomes from the plugin's JSON-lines stream, read as it is written.

Both the run (to write run_metadata.json) and the verifier (to cross-check a
bundle) read results through this module, so they cannot disagree on what a
count means.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from repro import model

READ_SIZE = 1 << 18
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


# A test's outcome so far as one byte: 0 while nothing decided it yet.
_OUTCOME: tuple[str | None, ...] = (None, *OUTCOMES)
_CODE = {outcome: code for code, outcome in enumerate(_OUTCOME)}
_SEP = b"\xff"  # never part of UTF-8 (nor of a lone surrogate encoded with surrogatepass)

_PHASES = ("setup", "call", "teardown")
_PHASE_OUTCOMES = ("passed", "failed", "skipped")


def _well_formed(ev: Any) -> bool:
    """The shape the plugin writes; anything else is counted as a bad line, not trusted."""
    if not isinstance(ev, dict) or not isinstance(ev.get("ev"), str):
        return False
    kind = ev["ev"]
    if kind in ("start", "passed", "report", "collect_error") and not isinstance(ev.get("id"), str):
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


class EventParser:
    """Folds the event stream into `TestResults` a line at a time.

    Incremental so that the run can read results.jsonl while pytest writes it
    (`Follower`); each well-formed event is also handed to `listener` (the JUnit
    writer), so the stream is parsed once. This state lives beside pytest for the
    whole run, so it is kept as bytes: each started test adds its node id (UTF-8)
    and a separator to one buffer and one byte to another, not Python objects
    (~90 bytes per test less: 4.5 MiB on 50,000 tests).
    """

    def __init__(self, listener: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.listener = listener
        self.started = self.finished = False
        self.exitstatus: int | None = None
        self.collected: int | None = None
        self.pytest_version: str | None = None
        self.plugins: tuple[str, ...] = ()
        self.ids = bytearray()  # node ids in the order the tests started, _SEP after each
        self.states = bytearray()  # per started test: its outcome so far (_CODE)
        self.running: dict[str, int] = {}  # tests not finished -> their index
        self.collect_errors: list[dict[str, str]] = []
        self.bad = 0

    def _start(self, nodeid: str) -> int:
        self.ids += nodeid.encode("utf-8", "surrogatepass") + _SEP
        self.states.append(0)
        self.running[nodeid] = index = len(self.states) - 1
        return index

    def feed(self, raw: bytes) -> None:
        try:
            ev = json.loads(raw)
        except (ValueError, RecursionError):
            ev = None
        if not _well_formed(ev):
            self.bad += 1  # a line cut short by a full disk, or not written by the plugin
            return
        kind = ev["ev"]
        if kind == "passed":  # a test whose three phases passed, in one line
            index = self.running.pop(ev["id"], None)
            if index is None:
                index = self._start(ev["id"])
                del self.running[ev["id"]]
            self.states[index] = _CODE["passed"]
        elif kind == "report":
            nodeid = ev["id"]
            index = self.running.get(nodeid)
            if index is None:  # no start line: not from the plugin, but keep what it says
                index = self._start(nodeid)
            outcome = _phase_outcome(_OUTCOME[self.states[index]], ev)
            if ev["when"] == "teardown":
                del self.running[nodeid]
                outcome = outcome or "passed"
            self.states[index] = _CODE[outcome]
        elif kind == "start":
            self._start(ev["id"])
        elif kind == "session":
            self.started = True
            self.pytest_version = ev.get("pytest")
            self.plugins = tuple(ev.get("plugins", ()))
        elif kind == "collected":
            self.collected = ev["n"]
        elif kind == "collect_error":
            self.collect_errors.append({"id": ev["id"], "message": ev.get("msg", "")})
        elif kind == "finish":
            self.finished = True
            self.exitstatus = ev["exitstatus"]
        if self.listener is not None:
            self.listener(ev)

    def results(self) -> TestResults:
        order = [i.decode("utf-8", "surrogatepass") for i in self.ids.split(_SEP)[:-1]]
        running = set(self.running.values())
        # A finished test always has an outcome; state 0 outside `running` is a test
        # started again before it finished (not from the plugin): it did not finish.
        outcomes = {
            nodeid: OUTCOMES[state - 1]
            for index, (nodeid, state) in enumerate(zip(order, self.states, strict=True))
            if state and index not in running
        }
        in_flight = order[max(running)] if running else None
        return TestResults(
            session_started=self.started,
            session_finished=self.finished,
            exitstatus=self.exitstatus,
            collected=self.collected,
            pytest_version=self.pytest_version,
            plugins=self.plugins,
            order=tuple(order),
            outcomes=outcomes,
            in_flight=in_flight,
            collect_errors=tuple(self.collect_errors),
            bad_lines=self.bad,
        )


def parse_events(lines: Iterable[bytes]) -> TestResults:
    parser = EventParser()
    for raw in lines:
        parser.feed(raw)
    return parser.results()


class Follower:
    """Reads results.jsonl while pytest appends to it, on a thread of its own.

    On a large suite, parsing the stream (and building JUnit XML from it) after
    pytest ends would add about 4% to the run's wall time; done while pytest
    runs, it uses the otherwise idle second core and `finish` has little left.
    Only complete lines are parsed while the file grows (a read may end in the
    middle of the plugin's write); at the end the remainder is fed as a last
    line, so a write cut short counts as a bad line, as a full read would.
    """

    POLL_SECONDS = 0.05

    def __init__(self, path: Path, parser: EventParser) -> None:
        self.path = Path(path)
        self.parser = parser
        self._fh: IO[bytes] | None = None
        self._tail = b""
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="repro-results", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def finish(self) -> TestResults:
        """Stop following, parse what is left, and return the results."""
        self._stop.set()
        self._thread.join()
        if self._fh is not None:
            self._fh.close()
        if self._error is not None:
            raise self._error
        return self.parser.results()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.POLL_SECONDS):
                self._read()
            self._read()
            if self._tail:
                self.parser.feed(self._tail)
                self._tail = b""
        except BaseException as exc:  # re-raised by finish(), in the caller's thread
            self._error = exc

    def _read(self) -> None:
        if self._fh is None:
            try:
                self._fh = open(self.path, "rb")  # noqa: SIM115
            except FileNotFoundError:
                return  # the plugin has not started yet
        while chunk := self._fh.read(READ_SIZE):
            data = self._tail + chunk
            cut = data.rfind(b"\n") + 1
            self._tail = data[cut:]
            if cut:
                feed = self.parser.feed
                for line in data[: cut - 1].split(b"\n"):
                    feed(line)


class _Details:
    """What the counts leave out, per test: durations, location, and why it did not pass.

    A listener on `EventParser`, so the outcome of each test is still decided in one place
    and the details only ride along (the read side wants them; the run does not)."""

    def __init__(self) -> None:
        # id -> [duration, file, line, phase, message, text]
        self.tests: dict[str, list[Any]] = {}
        self.collect_text: dict[str, str] = {}

    def _of(self, nodeid: str) -> list[Any]:
        got = self.tests.get(nodeid)
        if got is None:
            got = self.tests[nodeid] = [0.0, None, None, None, "", ""]
        return got

    def __call__(self, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        if kind == "start":
            d = self._of(ev["id"])
            line, file = ev.get("line"), ev.get("file")
            # pytest's line numbers count from 0; people (and editors) count from 1.
            d[2] = line + 1 if type(line) is int else None
            d[1] = file if isinstance(file, str) else None
        elif kind == "passed":
            dur = ev.get("dur")
            d = self._of(ev["id"])
            if isinstance(dur, list):
                d[0] += sum(x for x in dur if type(x) in (int, float))
        elif kind == "report":
            d = self._of(ev["id"])
            dur = ev.get("dur")
            if type(dur) in (int, float):
                d[0] += dur
            outcome = ev["outcome"]
            # The first phase that did not pass says why (a teardown error after a failed
            # call does not hide the failure); a skip in teardown is not a reason.
            if d[3] is None and (
                outcome == "failed" or (outcome == "skipped" and ev["when"] != "teardown")
            ):
                d[3] = ev["when"]
                d[4] = _text_field(ev, "msg")
                d[5] = _text_field(ev, "text")
        elif kind == "collect_error":
            self.collect_text[ev["id"]] = _text_field(ev, "text")


def _text_field(ev: dict[str, Any], key: str) -> str:
    value = ev.get(key)
    return value if isinstance(value, str) else ""


def load(lines: Iterable[bytes]) -> model.Results:
    """The typed `repro.model.Results` of a results.jsonl stream: every test in the order it
    started, with its outcome (None for the test in flight), duration, location and, for
    one that did not pass, the message and full report."""
    details = _Details()
    parser = EventParser(details)
    for raw in lines:
        parser.feed(raw)
    res = parser.results()
    tests = []
    for nodeid in res.order:
        dur, file, line, phase, msg, text = details.tests.get(
            nodeid, (0.0, None, None, None, "", "")
        )
        outcome = res.outcomes.get(nodeid)
        tests.append(
            model.TestResult(
                id=nodeid,
                outcome=None if outcome is None else model.Outcome(outcome),
                duration=round(dur, 6),
                file=file,
                line=line,
                phase=None if phase is None else model.Phase(phase),
                message=msg,
                text=text,
            )
        )
    return model.Results(
        tests=tuple(tests),
        counts=model.Counts.from_json(res.counts),
        in_flight=res.in_flight,
        collect_errors=tuple(
            model.CollectError(e["id"], e["message"], details.collect_text.get(e["id"], ""))
            for e in res.collect_errors
        ),
        session_started=res.session_started,
        session_finished=res.session_finished,
        exitstatus=res.exitstatus,
        collected=res.collected,
        pytest_version=res.pytest_version,
        plugins=res.plugins,
        bad_lines=res.bad_lines,
    )
