"""Per-test outcomes from the plugin's JSON-lines stream, read as it is written.

Both the run (to write run_metadata.json) and the verifier (to cross-check a
bundle) read results through this module, so they cannot disagree on what a
count means.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from repro import model

if TYPE_CHECKING:
    from repro.junit import JUnitBuilder

READ_SIZE = 1 << 18
_decode = json.JSONDecoder().decode
# Nine lines in ten of a stream are a test's `start` or the one line of a test whose three
# phases passed, in the plugin's fixed compact shape. Such a line is read with one regex
# into the dict json.loads would give (same keys, order, types); anything else, including
# an id with an escape or a non-ASCII byte, goes through json.loads. Half the cost of
# reading a 50,000-test stream was decoding and checking these two shapes. Durations match
# only as the plugin writes them (a fraction, no exponent), which json.loads reads as float().
_DUR = rb"(-?(?:0|[1-9][0-9]*)\.[0-9]+)"
_HOT = re.compile(
    rb'\{"ev":"(start|passed)","id":"([ !#-\[\]-~]*)",'
    rb'(?:"line":(0|[1-9][0-9]*)|"dur":\[' + _DUR + b"," + _DUR + b"," + _DUR + rb"\])\}"
).fullmatch


def _hot(m: re.Match[bytes]) -> dict[str, Any]:
    kind, nodeid, line, d0, d1, d2 = m.groups()
    if line is not None:
        return {"ev": kind.decode(), "id": nodeid.decode(), "line": int(line)}
    return {"ev": kind.decode(), "id": nodeid.decode(), "dur": [float(d0), float(d1), float(d2)]}


# A test's own outcome (one per test: `outcomes`, `order`).
OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
# The stream versions this reader understands (docs/results-stream.md). Format 1
# and 2 have no per-report category; it is derived as pytest's default would.
FORMATS = (1, 2, 3)


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
    format: int | None = None
    # Reports counted by the category pytest's terminal files them under, as the
    # stream shows them; and pytest's own summary, when its session finished.
    categories: dict[str, int] = field(default_factory=dict)
    summary: dict[str, int] | None = None
    config: dict[str, Any] | None = None
    python: str | None = None
    executable: str | None = None
    # The whole collection before deselection: count and digest of the sorted ids.
    collection: dict[str, Any] | None = None
    crashed_workers: tuple[dict[str, str], ...] = ()  # xdist: worker and its test

    @property
    def counts(self) -> dict[str, int]:
        """What pytest's summary line says (recounted from the stream if pytest never
        printed one), with repro's six outcome keys always present."""
        base = self.summary if self.summary is not None else self.categories
        return {**dict.fromkeys(OUTCOMES, 0), **base}

    @property
    def counts_source(self) -> str:
        return "pytest" if self.summary is not None else "stream"


def _phase_outcome(current: str | None, ev: dict[str, object]) -> str | None:
    """Fold one report into the test's single outcome.

    A failing setup or teardown makes the test an `error` unless the call had
    already failed; an expected failure is `xfailed`, an unexpected pass
    `xpassed` (a strict xpass is reported by pytest as failed). A failing subtest
    fails its test; a passing one, or the test's own passing call after a failed
    subtest, changes nothing.
    """
    when, outcome, xfail = ev.get("when"), ev.get("outcome"), bool(ev.get("xfail"))
    if outcome == "failed":
        if when in ("setup", "teardown"):
            return current if current == "failed" else "error"
        return "failed"  # the call, a subtest, or xdist's `???` for a crashed worker
    if "sub" in ev:
        return current
    if outcome == "skipped" and when != "teardown":
        return "xfailed" if xfail else "skipped"
    if outcome == "passed" and when == "call" and current != "failed":
        return "xpassed" if xfail else "passed"
    return current


def category(ev: dict[str, Any]) -> str:
    """The category pytest's terminal counts a report under: the plugin's word for
    it, or (format 1 and 2, and the plugin's fast path) pytest's default rule."""
    cat = ev.get("cat")
    if isinstance(cat, str):
        return cat
    when, outcome, xfail = ev.get("when"), ev.get("outcome"), bool(ev.get("xfail"))
    if outcome == "failed":
        return "error" if when in ("setup", "teardown") else "failed"
    if outcome == "skipped":
        return "xfailed" if xfail else "skipped"
    if outcome == "passed":
        return ("xpassed" if xfail else "passed") if when == "call" else ""
    return str(outcome)  # `rerun`, or a plugin's own outcome


# A test's outcome so far as one byte: 0 while nothing decided it yet.
_OUTCOME: tuple[str | None, ...] = (None, *OUTCOMES)
_CODE = {outcome: code for code, outcome in enumerate(_OUTCOME)}
_PASSED = _CODE["passed"]
_PASSED_STATE = bytes([_PASSED])
_RERUN = len(_OUTCOME)  # an attempt that pytest-rerunfailures runs again
_SEP = b"\xff"  # never part of UTF-8 (nor of a lone surrogate encoded with surrogatepass)

_FINISHING = ("setup", "call")  # any other `when` (teardown, xdist's `???`) ends a test


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _well_formed(ev: Any) -> bool:
    """The shape the plugin writes; anything else is counted as a bad line, not trusted.

    `when` and `outcome` are open: plugins add their own (pytest-rerunfailures'
    `rerun`, xdist's `???` for a crashed worker).
    """
    if not isinstance(ev, dict) or not isinstance(ev.get("ev"), str):
        return False
    kind = ev["ev"]
    if kind in ("start", "passed", "report", "collect_error", "collect_skip") and not _is_str(
        ev.get("id")
    ):
        return False
    if kind == "report":
        return _is_str(ev.get("when")) and _is_str(ev.get("outcome")) and _is_str(ev.get("cat", ""))
    if kind == "session":
        plugins = ev.get("plugins", [])
        return (
            isinstance(plugins, list)
            and all(isinstance(p, str) for p in plugins)
            and (ev.get("pytest") is None or isinstance(ev.get("pytest"), str))
            and ev.get("format", 1) in FORMATS
            and isinstance(ev.get("config", {}), dict)
        )
    if kind in ("collected", "deselected", "collection"):
        return isinstance(ev.get("n"), int)
    if kind in ("collect_error", "collect_skip"):
        return isinstance(ev.get("msg", ""), str)
    if kind == "finish":
        summary = ev.get("summary")
        return isinstance(ev.get("exitstatus"), int) and (
            summary is None
            or (
                isinstance(summary, dict)
                and all(type(n) is int and n >= 0 for n in summary.values())
            )
        )
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
        self.format: int | None = None
        self.categories: Counter[str] = Counter()
        self.summary: dict[str, int] | None = None
        self.config: dict[str, Any] | None = None
        self.python: str | None = None
        self.executable: str | None = None
        self.collection: dict[str, Any] | None = None
        self.crashed: list[dict[str, str]] = []

    def _start(self, nodeid: str) -> int:
        self.ids += nodeid.encode("utf-8", "surrogatepass") + _SEP
        self.states.append(0)
        self.running[nodeid] = index = len(self.states) - 1
        return index

    def feed(self, raw: bytes) -> None:
        hot = _HOT(raw)
        if hot is not None:
            self.event(_hot(hot))  # well-formed by its shape
        else:
            self.feed_json(raw)

    def feed_json(self, raw: bytes) -> None:
        """A line that is not one of the two hot shapes (or not known to be)."""
        try:
            # The plugin writes ASCII JSON; decoding here skips json.loads's detection
            # of UTF-16/32, a tenth of the cost of a line (anything else is a bad line).
            ev = _decode(raw.decode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError):
            ev = None
        if not _well_formed(ev):
            self.bad += 1  # a line cut short by a full disk, or not written by the plugin
            return
        self.event(ev)

    def event(self, ev: dict[str, Any]) -> None:
        """One well-formed event."""
        kind = ev["ev"]
        if kind == "passed":  # a test whose three phases passed, in one line
            self.passed(ev["id"])
        elif kind == "report":
            self._report(ev)
        elif kind == "start":
            self.start(ev["id"])
        elif kind == "session":
            self.started = True
            self.format = ev.get("format", 1)
            self.pytest_version = ev.get("pytest")
            self.plugins = tuple(ev.get("plugins", ()))
            self.config = ev.get("config")
            self.python = ev.get("python") if _is_str(ev.get("python")) else None
            self.executable = ev.get("executable") if _is_str(ev.get("executable")) else None
        elif kind == "collected":
            self.collected = ev["n"]
        elif kind == "collection" and self.collection is None:
            self.collection = {"n": ev["n"], "sha256": str(ev.get("sha256", ""))}
        elif kind == "collect_error":
            self.collect_errors.append({"id": ev["id"], "message": ev.get("msg", "")})
            self.categories["error"] += 1
        elif kind == "collect_skip":
            self.categories["skipped"] += 1
        elif kind == "deselected":
            self.categories["deselected"] += ev["n"]
        elif kind == "finish":
            self.finished = True
            self.exitstatus = ev["exitstatus"]
            self.summary = ev.get("summary")
        if self.listener is not None:
            self.listener(ev)

    def start(self, nodeid: str) -> None:
        """A `start` event's effect on the state (its listener is not called)."""
        index = self.running.get(nodeid, -1)
        if index >= 0 and self.states[index] == _RERUN:
            self.states[index] = 0  # the next attempt of a rerun test: the same test
        else:
            self._start(nodeid)

    def started_and_passed(self, ids: list[str], ids_b: list[bytes]) -> None:
        """For each test in turn, `start`, then `passed` (`ids_b`: the ids in UTF-8)."""
        running = self.running
        if running and not running.keys().isdisjoint(ids):  # a rerun, or a test started twice
            for nodeid in ids:
                self.start(nodeid)
                self.passed(nodeid)
            return
        # Each test starts, so its id and state are added, and finishes at once: `running`
        # is as it was.
        self.ids += _SEP.join(ids_b) + _SEP
        self.states += _PASSED_STATE * len(ids)
        self.categories["passed"] += len(ids)

    def passed(self, nodeid: str) -> None:
        """A `passed` event's effect on the state (its listener is not called)."""
        index = self.running.pop(nodeid, None)
        if index is None:
            index = self._start(nodeid)
            del self.running[nodeid]
        self.states[index] = _PASSED
        self.categories["passed"] += 1

    def _report(self, ev: dict[str, Any]) -> None:
        nodeid, when = ev["id"], ev["when"]
        cat = category(ev)
        if cat:
            self.categories[cat] += 1
        index = self.running.get(nodeid)
        if index is None:  # no start line (not from the plugin, or a later attempt)
            index = self._start(nodeid)
        if when not in _FINISHING and when != "teardown" and isinstance(ev.get("wk"), str):
            self.crashed.append({"worker": ev["wk"], "test": nodeid})  # xdist's `???`
        if ev["outcome"] == "rerun":
            # pytest-rerunfailures runs the test again: this attempt decides nothing.
            self.states[index] = _RERUN
            return
        state = self.states[index]
        current = None if state == _RERUN else _OUTCOME[state]
        if state == _RERUN and when == "teardown":
            return  # the teardown of an attempt that is run again
        outcome = _phase_outcome(current, ev)
        if when not in _FINISHING and "sub" not in ev:
            del self.running[nodeid]
            outcome = outcome or "passed"
        self.states[index] = _CODE[outcome] if outcome else 0

    def results(self) -> TestResults:
        order = [i.decode("utf-8", "surrogatepass") for i in self.ids.split(_SEP)[:-1]]
        running = set(self.running.values())
        # A finished test always has an outcome; state 0 outside `running` is a test
        # started again before it finished (not from the plugin): it did not finish.
        outcomes = {
            nodeid: OUTCOMES[state - 1]
            for index, (nodeid, state) in enumerate(zip(order, self.states, strict=True))
            if state and state != _RERUN and index not in running
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
            format=self.format,
            categories=dict(self.categories),
            summary=self.summary,
            config=self.config,
            python=self.python,
            executable=self.executable,
            collection=self.collection,
            crashed_workers=tuple(self.crashed),
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

    def __init__(
        self,
        path: Path,
        parser: EventParser,
        *,
        copy_to: Path | None = None,
        transform: Callable[[bytes], bytes] | None = None,
    ) -> None:
        """With `copy_to`, every complete line is also appended there, passed through
        `transform` first (masking), and the parser sees the transformed lines."""
        self.path = Path(path)
        self.parser = parser
        self.copy_to = copy_to
        self.transform = transform
        self._out: IO[bytes] | None = None
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
        if self._thread.ident is not None:
            self._thread.join()
        if self._fh is not None:
            self._fh.close()
        if self._out is not None:
            self._out.close()
        if self._error is not None:
            raise self._error
        return self.parser.results()

    def read_once(self) -> TestResults:
        """Without a thread: read the file to its end once (a stream nobody writes any more)."""
        self._stop.set()
        self._loop()
        return self.finish()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.POLL_SECONDS):
                self._read()
            self._read()
            if self._tail:
                self._lines(self._tail + b"\n")
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
                self._lines(data[:cut])

    def _lines(self, block: bytes) -> None:
        """Complete lines, each ending in a newline: copied, then parsed."""
        if self.transform is not None:
            block = self.transform(block)
        if self.copy_to is not None:
            try:
                if self._out is None:
                    self._out = open(self.copy_to, "ab", buffering=0)  # noqa: SIM115
                self._out.write(block)
            except OSError as exc:
                from repro.errors import EnvironmentProblem

                raise EnvironmentProblem(
                    f"cannot write {self.copy_to.name}: {exc.strerror}",
                    hint="free disk space or make the outputs folder writable",
                ) from exc
        feed = self.parser.feed
        for line in block[:-1].split(b"\n"):
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

    def start(self, nodeid: str, line: Any, file: Any) -> None:
        d = self._of(nodeid)
        # pytest's line numbers count from 0; people (and editors) count from 1.
        d[2] = line + 1 if type(line) is int else None
        d[1] = file if isinstance(file, str) else None

    def passed(self, nodeid: str, dur: Any) -> None:
        d = self._of(nodeid)
        if type(dur) is list:
            for x in dur:
                if type(x) is float or type(x) is int:
                    d[0] += x

    def started_and_passed(self, ids: list[str], pairs: list[tuple[bytes, ...]]) -> None:
        """For each test in turn, `start` with its line, then `passed` with its three
        durations (`pairs`: the groups of _PAIR, as text)."""
        # The entry `start` then `passed` make of a test seen for the first time.
        new = {
            nodeid: [0.0 + float(d0) + float(d1) + float(d2), None, int(line) + 1, None, "", ""]
            for nodeid, (_, line, d0, d1, d2) in zip(ids, pairs, strict=True)
        }
        tests = self.tests
        if len(new) == len(ids) and tests.keys().isdisjoint(new):
            tests.update(new)
            return
        for nodeid, (_, line, d0, d1, d2) in zip(ids, pairs, strict=True):  # seen before
            self.start(nodeid, int(line), None)
            self.passed(nodeid, [float(d0), float(d1), float(d2)])

    def __call__(self, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        if kind == "start":
            self.start(ev["id"], ev.get("line"), ev.get("file"))
        elif kind == "passed":
            self.passed(ev["id"], ev.get("dur"))
        elif kind == "report":
            d = self._of(ev["id"])
            dur = ev.get("dur")
            if type(dur) in (int, float):
                d[0] += dur
            outcome = ev["outcome"]
            if outcome == "rerun":  # pytest-rerunfailures runs it again: the next attempt says
                d[3], d[4], d[5] = None, "", ""
                return
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


# Phases a report may name; plugins add their own `when` (xdist's `???`): no phase then.
_NO_DETAILS = (0.0, None, None, None, "", "")
_PHASE: dict[str | None, model.Phase] = {p.value: p for p in model.Phase}
# An outcome's text, or None for a test that did not finish.
_OUTCOME_OF: dict[str | None, model.Outcome | None] = {
    None: None,
    **{o.value: o for o in model.Outcome},
}


def _text_field(ev: dict[str, Any], key: str) -> str:
    value = ev.get(key)
    return value if isinstance(value, str) else ""


def load(lines: Iterable[bytes], junit: JUnitBuilder | None = None) -> model.Results:
    """The typed `repro.model.Results` of a results.jsonl stream, given as its lines: every
    test in the order it started, with its outcome (None for the test in flight), duration,
    location and, for one that did not pass, the message and full report. `junit`, when
    given, is fed every well-formed event as well (verify counts the JUnit cases the stream
    implies)."""
    return load_chunks(_blocks_of_lines(lines), junit)


def load_chunks(chunks: Iterable[bytes], junit: JUnitBuilder | None = None) -> model.Results:
    """`load` of the stream's bytes, in chunks cut anywhere."""
    import gc

    # Reading builds a few objects per test and no reference cycles; the cyclic collector
    # would walk the growing heap again and again (a fifth of the time on 50,000 tests).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(_blocks(chunks), junit)
    finally:
        if enabled:
            gc.enable()


def _blocks_of_lines(lines: Iterable[bytes]) -> Iterator[bytes]:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) == 4096:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"


def _blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Whole lines, each ending in a newline, many at a time; a last line without one gets
    one (it is still a line: cut short, it is a bad line, as when read line by line)."""
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n") + 1
        pending = data[cut:]
        if cut:
            yield data[:cut]
    if pending:
        yield pending + b"\n"


# A run of tests each of which is a `start` line with a line number and the `passed` line
# of the same test with three durations, as the plugin writes them (see _HOT): in a plain
# run, nearly every test. A run begins at the start of a line (re.M) and each line ends in
# a newline, so no part of another line is ever taken for one.
_PAIR = (
    rb'\{"ev":"start","id":"([ !#-\[\]-~]*)","line":(0|[1-9][0-9]*)\}\n'
    rb'\{"ev":"passed","id":"\1","dur":\[' + _DUR + b"," + _DUR + b"," + _DUR + rb"\]\}\n"
)
_PAIR_RUNS = re.compile(rb"^(?:" + _PAIR + rb")+", re.M).finditer
_PAIRS_OF = re.compile(_PAIR).findall


def _load(blocks: Iterable[bytes], junit: JUnitBuilder | None) -> model.Results:
    details = _Details()
    parser = EventParser(details if junit is None else _fan_out(details, junit.event))
    # A run of start/passed pairs (see _PAIR) goes to each reader at once: its ids, lines
    # and total durations, without a dict, a call or a regex match per line. Any other line
    # goes through the parser, and its listeners, one at a time, as `feed` has it; a hot
    # line (see _HOT) to each reader's own method for its kind, with the regex's groups as
    # arguments. Each of these methods does what the reader's `event`/`__call__` does with
    # the dicts `_hot` makes of the lines (tests/unit/test_results.py holds the two paths
    # to the same results and JUnit counts).
    hot = _HOT
    p_start, p_passed = parser.start, parser.passed
    d_start, d_passed = details.start, details.passed
    j_start = junit.start if junit is not None else _ignore
    j_passed = junit.passed if junit is not None else _ignore
    feed_json = parser.feed_json

    def lines(text: bytes) -> None:
        for raw in text[:-1].split(b"\n"):
            m = hot(raw)
            if m is None:
                feed_json(raw)
                continue
            kind, nodeid_b, line_b, d0, d1, d2 = m.groups()
            nodeid = nodeid_b.decode()
            if kind == b"passed":
                dur = None if d0 is None else [float(d0), float(d1), float(d2)]
                p_passed(nodeid)
                d_passed(nodeid, dur)
                j_passed(nodeid, dur)
            else:
                line = None if line_b is None else int(line_b)
                p_start(nodeid)
                d_start(nodeid, line, None)
                j_start(nodeid, None, line)

    for block in blocks:
        at = 0
        for run in _PAIR_RUNS(block):
            if run.start() > at:
                lines(block[at : run.start()])
            pairs = _PAIRS_OF(block, run.start(), run.end())
            ids_b = [p[0] for p in pairs]
            ids = [i.decode() for i in ids_b]
            parser.started_and_passed(ids, ids_b)
            details.started_and_passed(ids, pairs)
            if junit is not None:
                junit.started_and_passed(ids, pairs)
            at = run.end()
        if at < len(block):
            lines(block[at:])
    res = parser.results()
    order = res.order
    # One column per field, each made by C-level maps: no bytecode per test (see
    # model.build_tests). Every test started through an event its details saw too.
    rows = list(map(details.tests.get, order, itertools.repeat(_NO_DETAILS)))
    column = [list(map(operator.itemgetter(k), rows)) for k in range(6)]
    tests = model.build_tests(
        order,
        map(_OUTCOME_OF.__getitem__, map(res.outcomes.get, order)),
        map(round, column[0], itertools.repeat(6)),
        column[1],
        column[2],
        map(_PHASE.get, column[3]),  # None (or a plugin's own phase): None
        column[4],
        column[5],
    )
    return model.Results(
        tests=tests,
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
        finished=len(res.outcomes),
        counts_source="pytest" if res.counts_source == "pytest" else "stream",
        format=res.format,
    )


def _ignore(*_args: Any) -> None:
    pass


def _fan_out(*listeners: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def each(ev: dict[str, Any]) -> None:
        for listener in listeners:
            listener(ev)

    return each
