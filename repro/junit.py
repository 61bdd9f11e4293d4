"""JUnit XML built from the results event stream, as pytest's own `--junitxml` writes it.

The run feeds every event of results.jsonl to `JUnitWriter` while pytest is
still running (see `results.Follower`), so the XML costs the tests nothing: no
second plugin in the test process, no reporter or XML tree held per test as
pytest's own `--junitxml` does (+22% CPU on 50,000 trivial tests, measured).

`JUnitBuilder` follows pytest's writer (`_pytest/junitxml.py`, `LogXML`) report
by report, so the cases are pytest's: one `<testcase>` per test, opened at the
test's first report and written in that order; a failing call and a failing
teardown are two cases; a rerun attempt (pytest-rerunfailures) is a case of its
own with no outcome element; a subtest's failure is a `<failure>` of its test's
case; a collection error or skip is a case named after the collector, reported
twice when two collectors (a module and its doctests) fail on one file. Where
pytest versions write differently, `Dialect` says how (docs/results-stream.md).
`tests/conformance` compares the two writers case by case on real suites.

A run that died still gets its JUnit file: the cases so far, plus the test in
flight with an `<error>` saying the run ended while it ran.
"""

from __future__ import annotations

import platform
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from repro.fsutil import CHUNK, atomic_writer

# Characters pytest's writer shows as #xNN (bin_xml_escape): XML 1.0 cannot carry
# them, and pytest leaves out DEL as well.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


# Escapes for text and for attribute values (which must also keep their
# whitespace); xml.sax.saxutils would do, but it imports urllib.request and ssl.
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def _clean(text: str) -> str:
    return _ILLEGAL.sub(lambda m: f"#x{ord(m.group()):02X}", text)


def _attr(text: str) -> str:
    return '"' + _clean(text).translate(_ATTR) + '"'


def _text(text: str) -> str:
    return _clean(text).translate(_TEXT)


def _names(nodeid: str) -> tuple[str, str]:
    """classname and name, as pytest's junitxml derives them from a node id."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _str(ev: dict[str, Any], key: str) -> str:
    value = ev.get(key)
    return value if isinstance(value, str) else ""


def _version(text: str | None) -> tuple[int, ...]:
    parts = re.findall(r"\d+", (text or "").split("+")[0])[:3]
    return tuple(int(p) for p in parts)


MESSAGE_BUDGET = 500  # pytest >= 9.2's budget for a message attribute


def shorten_message(msg: str, budget: int = MESSAGE_BUDGET) -> str:
    """pytest >= 9.2 keeps whole lines of a long message while they fit (the text
    keeps the whole report); same rule, so the attributes are pytest's."""
    lines = msg.splitlines() or [""]
    kept: list[str] = []
    size = 0
    for line in lines:
        if kept and size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
    shortened = "\n".join(kept)
    first_line_cut = len(shortened) > budget
    if first_line_cut:
        shortened = shortened[:budget] + "..."
    remaining = len(lines) - len(kept)
    if remaining:
        note = f"+{remaining} more line{'s' if remaining > 1 else ''}"
    elif first_line_cut:
        note = "truncated"
    else:
        return msg
    return f"{shortened}\n[{note}; full report in element text]"


@dataclass(frozen=True)
class Dialect:
    """How the pytest of the run writes JUnit where versions and settings differ."""

    family: str = "xunit1"  # junit_family; xunit2 drops file and line
    suite_name: str = "pytest"
    duration_report: str = "total"  # or "call": only the call's duration
    short_messages: bool = True  # pytest >= 9.2: shorten_message on attributes
    # pytest >= 9.1 (#3850): a passing call with a teardown error is one test in
    # the suite's total, a failing call with one is two; before, the reverse.
    teardown_counting_91: bool = True

    @classmethod
    def of(cls, session: dict[str, Any]) -> Dialect:
        version = _version(_str(session, "pytest")) or (9, 2)
        config = session.get("config")
        config = config if isinstance(config, dict) else {}
        family = _str(config, "junit_family") or "xunit1"
        return cls(
            family="xunit2" if family == "xunit2" else "xunit1",
            suite_name=_str(config, "junit_suite_name") or "pytest",
            duration_report=_str(config, "junit_duration_report") or "total",
            short_messages=version >= (9, 2),
            teardown_counting_91=version >= (9, 1),
        )


class _Case:
    """One <testcase>, pytest's `_NodeReporter`."""

    __slots__ = ("body", "done", "dur", "file", "line", "nodeid", "tags")

    def __init__(self, nodeid: str, file: str, line: int | None) -> None:
        self.nodeid, self.file, self.line = nodeid, file, line
        self.dur = 0.0
        self.body: list[str] = []  # the outcome elements as XML (none when only counting)
        self.tags: list[str] = []  # their tags: failure, error, skipped
        self.done = False


@dataclass
class JUnitCounts:
    """Elements of a JUnit document: testcases, and the outcome elements in them."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0


_Key = tuple[str, str | None]  # node id, xdist worker: pytest's reporter key


class JUnitBuilder:
    """pytest's LogXML, driven by well-formed events of the results stream.

    Finished cases go to `sink` as XML text in the order pytest writes them;
    only the cases still open (and those opened after one that is) stay in memory.
    With no sink only `counts` is kept: verify needs the numbers of the cases, and writing
    the XML of 50,000 of them took it longer than everything else it does with the stream.
    """

    def __init__(self, sink: Callable[[str], None] | None) -> None:
        self.sink = sink
        self.dialect = Dialect()
        self.started: float | None = None
        self.finished: float | None = None
        self.counts = JUnitCounts()  # what the written cases contain
        self.stats = {"passed": 0, "failure": 0, "error": 0, "skipped": 0}  # pytest's
        self.double = 0  # pytest's cnt_double_fail_tests
        self.open: dict[_Key, _Case] = {}
        self.queue: deque[_Case] = deque()
        self.failing_calls: list[tuple[str, str | None, Any]] = []  # pytest's open_reports
        self.where: dict[str, tuple[str, int | None]] = {}  # node id -> file, line
        self.collecting: _Case | None = None  # a collection case a second report may join

    def event(self, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        if kind == "passed":
            self.passed(ev["id"], ev.get("dur"))
            return
        if kind == "start":
            self.start(ev["id"], ev.get("file"), ev.get("line"))
            return
        if self.collecting is not None and not (
            kind in ("collect_error", "collect_skip") and ev["id"] == self.collecting.nodeid
        ):
            self._collected_done()
        if kind == "report":
            self._report(ev)
        elif kind in ("collect_error", "collect_skip"):
            self._collected(ev)
        elif kind == "session" and self.started is None:
            self.started = _number(ev.get("time")) or time.time()
            self.dialect = Dialect.of(ev)
        elif kind == "finish":
            self.finished = _number(ev.get("time"))

    def start(self, nodeid: str, file: Any, line: Any) -> None:
        """A `start` event (`file` and `line` as the event has them, or None)."""
        if self.collecting is not None:
            self._collected_done()
        # The file is the node id's when the event names none (see _case).
        self.where[nodeid] = (
            file if isinstance(file, str) else "",
            line if type(line) is int else None,
        )

    def passed(self, nodeid: str, durations: Any) -> None:
        """A `passed` event: setup, call and teardown passed (`durations` as the event
        has them, or None)."""
        if self.collecting is not None:
            self._collected_done()
        if self.sink is None and not self.queue:
            # Counting, and no case open: this one opens and closes at once.
            self.counts.tests += 1
            self.stats["passed"] += 1
            self.where.pop(nodeid, None)
        else:
            self._passed(nodeid, durations)

    def started_and_passed(self, ids: list[str], pairs: list[tuple[bytes, ...]]) -> None:
        """For each test in turn, a `start` with its line, then a `passed` with its three
        durations (`pairs`: id, line and durations, as text)."""
        if self.sink is None and not self.queue and self.collecting is None:
            # Counting, and no case open: each case opens and closes at once.
            self.counts.tests += len(ids)
            self.stats["passed"] += len(ids)
            where = self.where
            if where and not where.keys().isdisjoint(ids):
                for nodeid in ids:
                    where.pop(nodeid, None)
            return
        for nodeid, (_, line, d0, d1, d2) in zip(ids, pairs, strict=True):
            self.start(nodeid, None, int(line))
            self.passed(nodeid, [float(d0), float(d1), float(d2)])

    def _collected_done(self) -> None:
        if self.collecting is not None:
            self.collecting.done = True
            self.collecting = None
            self._flush()

    def _case(self, nodeid: str, worker: str | None) -> _Case:
        key = (nodeid, worker)
        case = self.open.get(key)
        if case is None:
            file, line = self.where.get(nodeid) or ("", None)
            case = self.open[key] = _Case(nodeid, file or nodeid.partition("::")[0], line)
            self.queue.append(case)
        return case

    def _add(self, case: _Case, tag: str, attrs: Callable[[], str], text: str | None) -> None:
        if self.sink is not None:
            body = (
                f"<{tag} {attrs()}>{_text(text)}</{tag}>"
                if text is not None
                else f"<{tag} {attrs()} />"
            )
            case.body.append(body)
        case.tags.append(tag)
        self.stats["failure" if tag == "failure" else tag] += 1

    def _message(self, msg: str) -> str:
        return _attr(shorten_message(msg) if self.dialect.short_messages else msg)

    def _passed(self, nodeid: str, durations: Any) -> None:
        """setup, call and teardown passed: pytest's three reports in one line."""
        case = self._case(nodeid, None)
        if isinstance(durations, list) and len(durations) == 3:
            numbers = [_number(d) or 0.0 for d in durations]
            case.dur += numbers[1] if self.dialect.duration_report == "call" else sum(numbers)
        self.stats["passed"] += 1
        self._finalize(nodeid, None)
        self.where.pop(nodeid, None)

    def _report(self, ev: dict[str, Any]) -> None:
        nodeid, when, outcome = ev["id"], ev["when"], ev["outcome"]
        worker = ev.get("wk") if isinstance(ev.get("wk"), str) else None
        attempt = (nodeid, worker, ev.get("ii"))
        if outcome == "passed":
            if when == "call":
                self._case(nodeid, worker)
                self.stats["passed"] += 1
        elif outcome == "failed":
            if when == "teardown":
                if attempt in self.failing_calls:
                    self._finalize(nodeid, worker)  # the call's case; the error gets its own
                    self.double += not self.dialect.teardown_counting_91
                elif self.dialect.teardown_counting_91:
                    self.double += (nodeid, worker) in self.open
            case = self._case(nodeid, worker)
            if when == "call":
                if ev.get("xfail"):
                    self._add(
                        case,
                        "skipped",
                        lambda: 'message="xfail-marked test passes unexpectedly"',
                        "None",
                    )
                else:
                    self._add(
                        case,
                        "failure",
                        lambda: f"message={self._message(_str(ev, 'msg'))}",
                        _str(ev, "text"),
                    )
                self.failing_calls.append(attempt)
            else:
                why = "teardown" if when == "teardown" else "setup"
                msg = f'failed on {why} with "{_str(ev, "msg")}"'
                self._add(case, "error", lambda: f"message={self._message(msg)}", _str(ev, "text"))
        elif outcome == "skipped":
            case = self._case(nodeid, worker)
            if ev.get("xfail"):
                reason = _str(ev, "msg").removeprefix("reason: ")
                self._add(
                    case, "skipped", lambda: f'type="pytest.xfail" message={_attr(reason)}', None
                )
            else:
                reason = _str(ev, "msg").removeprefix("Skipped: ")
                details = f"{_str(ev, 'loc')}: {reason}"
                self._add(
                    case, "skipped", lambda: f'type="pytest.skip" message={_attr(reason)}', details
                )
        if self.dialect.duration_report in ("total", when):
            self._case(nodeid, worker).dur += _number(ev.get("dur")) or 0.0
        if when == "teardown":
            self._case(nodeid, worker)
            self._finalize(nodeid, worker)
            if attempt in self.failing_calls:
                self.failing_calls.remove(attempt)
            if outcome != "rerun" and not any(k[0] == nodeid for k in self.open):
                self.where.pop(nodeid, None)

    def _collected(self, ev: dict[str, Any]) -> None:
        nodeid = ev["id"]
        case = self.collecting
        if case is None:
            # Never finished by pytest: a later report of the same collector joins it.
            case = self.collecting = _Case(nodeid, nodeid.partition("::")[0], None)
            self.queue.append(case)
        if ev["ev"] == "collect_error":
            self._add(case, "error", lambda: 'message="collection failure"', _str(ev, "text"))
        else:
            self._add(case, "skipped", lambda: 'message="collection skipped"', _str(ev, "text"))

    def _finalize(self, nodeid: str, worker: str | None) -> None:
        case = self.open.pop((nodeid, worker), None)
        if case is not None:
            case.done = True
            self._flush()

    def _flush(self) -> None:
        while self.queue and self.queue[0].done:
            self._write(self.queue.popleft())

    def _write(self, case: _Case) -> None:
        c = self.counts
        c.tests += 1
        for tag in case.tags:
            if tag == "failure":
                c.failures += 1
            elif tag == "error":
                c.errors += 1
            else:
                c.skipped += 1
        if self.sink is None:
            return
        classname, name = _names(case.nodeid)
        attrs = f"classname={_attr(classname)} name={_attr(name)}"
        if self.dialect.family == "xunit1":
            attrs += f" file={_attr(case.file)}"
            if case.line is not None:
                attrs += f' line="{case.line}"'  # 0-based, as pytest
        self.sink(f'<testcase {attrs} time="{case.dur:.3f}"')
        self.sink(">" + "".join(case.body) + "</testcase>" if case.body else " />")

    def end(self, in_flight: str | None, why: str) -> None:
        """Write every case still open, as pytest does at the end of its session;
        the test in flight of a run that died gets an error saying so."""
        if self.collecting is not None:
            self.collecting.done = True
            self.collecting = None
        if in_flight:
            case = next((c for c in reversed(self.queue) if c.nodeid == in_flight), None)
            if case is None:
                case = self._case(in_flight, None)
            self._add(case, "error", lambda: f"message={_attr(why)}", why)
        while self.queue:
            self._write(self.queue.popleft())
        self.open.clear()

    def header(
        self, ended: float, *, hostname: str | None = None, timestamp: str | None = None
    ) -> str:
        """The document's head; `hostname` and `timestamp` replace this machine's (`repro
        merge` keeps the first shard's, so that a merge is the same bytes anywhere)."""
        s = self.stats
        tests = s["passed"] + s["failure"] + s["skipped"] + s["error"] - self.double
        took = (self.finished or ended) - (self.started or ended)
        stamp = timestamp or time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(self.started or ended)
        )
        host = platform.node() if hostname is None else hostname
        return (
            '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
            f'<testsuite name={_attr(self.dialect.suite_name)} errors="{s["error"]}" '
            f'failures="{s["failure"]}" skipped="{s["skipped"]}" tests="{tests}" '
            f'time="{max(took, 0.0):.3f}" timestamp="{stamp}" '
            f"hostname={_attr(host)}>"
        )


def expected_counts(events: Any) -> JUnitCounts:
    """The elements repro's JUnit file must have for this stream (what verify checks)."""
    builder = JUnitBuilder(None)
    for ev in events:
        builder.event(ev)
    builder.end(None, "")
    return builder.counts


class JUnitWriter:
    """Consumes well-formed events (as `results.EventParser` passes them on)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.part_path = self.path.with_name(self.path.name + ".part")
        self.part: IO[str] | None = None  # opened when the session starts
        self.builder = JUnitBuilder(self._sink)

    def _sink(self, text: str) -> None:
        if self.part is not None:  # events before the session event: not from the plugin
            self.part.write(text)

    def event(self, ev: dict[str, Any]) -> None:
        if ev["ev"] == "session" and self.part is None:
            # newline="": the same bytes on Windows (no CRLF translation) as elsewhere
            self.part = open(  # noqa: SIM115
                self.part_path, "w", encoding="utf-8", errors="surrogateescape", newline=""
            )
        self.builder.event(ev)

    @property
    def counts(self) -> JUnitCounts:
        return self.builder.counts

    def close(
        self,
        in_flight: str | None,
        why: str,
        ended: float,
        *,
        hostname: str | None = None,
        timestamp: str | None = None,
    ) -> bool:
        """Write the document and remove the side file; False (and nothing written) if the
        session never started.

        `in_flight` is the test that was running when the run ended, recorded as an
        error with `why` as its message.
        """
        if self.part is None:
            return False
        part = self.part
        try:
            self.builder.end(in_flight, why)
            part.close()
            with atomic_writer(self.path) as out, open(self.part_path, "rb") as cases:
                head = self.builder.header(ended, hostname=hostname, timestamp=timestamp)
                out.write(head.encode())
                while chunk := cases.read(CHUNK):
                    out.write(chunk)
                out.write(b"</testsuite></testsuites>")
        finally:
            part.close()
            self.part_path.unlink(missing_ok=True)
        return True


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None


def junit_counts(data: bytes) -> JUnitCounts:
    """Count testcases in a JUnit XML document, and the outcome elements in them.

    Parsed with expat, which does not fetch external entities (the document may come from
    an untrusted bundle), counting as the elements go by: no tree of 100,000 elements for
    a 50,000-test run. Names in a namespace come as `uri}name`, never equal to a bare
    name, as with ElementTree.
    """
    from xml.parsers import expat

    counts = JUnitCounts()
    open_tags: list[str] = []

    def start(tag: str, _attrs: object) -> None:
        if tag == "testcase":
            counts.tests += 1
        elif open_tags and open_tags[-1] == "testcase":
            if tag == "failure":
                counts.failures += 1
            elif tag == "error":
                counts.errors += 1
            elif tag == "skipped":
                counts.skipped += 1
        open_tags.append(tag)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda _tag: open_tags.pop()
    # An external entity is an error, as ElementTree makes it, and never fetched.
    parser.ExternalEntityRefHandler = lambda *_args: 0
    parser.Parse(data, True)
    return counts
