"""JUnit XML (pytest's xunit1 shape) built from the results event stream, and counted.

The run feeds every event of results.jsonl to `JUnitWriter` while pytest is
still running (see `results.Follower`), so the XML costs the tests nothing: no
second plugin in the test process, no reporter or XML tree held per test as
pytest's own `--junitxml` does. Each finished test is formatted once and
appended to a side file; `close` writes the document (header with totals, the
cases, footer) atomically. Memory holds only the tests in flight.

A run that died still gets its JUnit file: the finished tests, plus the test in
flight as an `<error>` saying the run ended while it ran.
"""

from __future__ import annotations

import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from repro.fsutil import CHUNK, atomic_writer

# Characters XML 1.0 cannot carry, written as pytest does: #xNN
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


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


class _Case:
    __slots__ = ("body", "dur", "error", "failure", "file", "line", "skipped")

    def __init__(self, file: str, line: int | None) -> None:
        self.file, self.line = file, line
        self.dur = 0.0
        self.body = ""
        self.failure = self.error = self.skipped = False


class JUnitWriter:
    """Consumes well-formed events (as `results.EventParser` passes them on)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.part_path = self.path.with_name(self.path.name + ".part")
        self.part: IO[str] | None = None  # opened when the session starts
        self.current: dict[str, _Case] = {}
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        self.started: float | None = None
        self.finished: float | None = None

    def event(self, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        if kind == "passed":
            case = self.current.pop(ev["id"], None) or _Case(ev["id"].partition("::")[0], None)
            durations = ev.get("dur")
            if isinstance(durations, list):
                case.dur = sum(_number(d) or 0.0 for d in durations)
            self._finish(ev["id"], case)
        elif kind == "report":
            self._report(ev)
        elif kind == "start":
            nodeid = ev["id"]
            file = _str(ev, "file") or nodeid.partition("::")[0]
            line = ev.get("line")
            self.current[nodeid] = _Case(file, line if type(line) is int else None)
        elif kind == "session" and self.part is None:
            self.started = _number(ev.get("time")) or time.time()
            # newline="": the same bytes on Windows (no CRLF translation) as elsewhere
            self.part = open(  # noqa: SIM115
                self.part_path, "w", encoding="utf-8", errors="surrogateescape", newline=""
            )
        elif kind == "collect_error":
            body = f'<error message="collection failure">{_text(_str(ev, "text"))}</error>'
            self._write(ev["id"], _Case(ev["id"].partition("::")[0], None), body)
            self.counts["errors"] += 1
        elif kind == "finish":
            self.finished = _number(ev.get("time"))

    def _report(self, ev: dict[str, Any]) -> None:
        nodeid, when, outcome = ev["id"], ev["when"], ev["outcome"]
        case = self.current.get(nodeid)
        if case is None:  # a report without a start line: keep what it says
            case = self.current[nodeid] = _Case(nodeid.partition("::")[0], None)
        case.dur += _number(ev.get("dur")) or 0.0
        if outcome == "failed":
            if when != "call":
                msg = f"failed on {when}"
                case.body += f'<error message="{msg}">{_text(_str(ev, "text"))}</error>'
                case.error = True
            elif not case.body:
                msg, text = _str(ev, "msg"), _str(ev, "text")
                case.body += f"<failure message={_attr(msg)}>{_text(text)}</failure>"
                case.failure = True
        elif outcome == "skipped" and when != "teardown":
            kind = "pytest.xfail" if ev.get("xfail") else "pytest.skip"
            reason = _str(ev, "msg").removeprefix("Skipped: ")
            case.body += f'<skipped type="{kind}" message={_attr(reason)} />'
            case.skipped = True
        if when == "teardown":
            del self.current[nodeid]
            self._finish(nodeid, case)

    def _finish(self, nodeid: str, case: _Case) -> None:
        self._write(nodeid, case, case.body)
        self.counts["failures"] += case.failure
        self.counts["errors"] += case.error
        self.counts["skipped"] += case.skipped

    def _write(self, nodeid: str, case: _Case, body: str) -> None:
        if self.part is None:  # events before the session event: not from the plugin
            return
        classname, name = _names(nodeid)
        line = f' line="{case.line}"' if case.line is not None else ""  # 0-based, as pytest
        attrs = f"classname={_attr(classname)} name={_attr(name)} file={_attr(case.file)}"
        self.part.write(f'<testcase {attrs}{line} time="{case.dur:.3f}"')
        self.part.write(f">{body}</testcase>" if body else " />")
        self.counts["tests"] += 1

    def close(self, in_flight: str | None, why: str, ended: float) -> bool:
        """Write the document and remove the side file; False (and nothing written) if the
        session never started.

        `in_flight` is the test that was running when the run ended, recorded as an
        error with `why` as its message.
        """
        if self.part is None or self.started is None:
            return False
        part = self.part
        try:
            case = self.current.pop(in_flight, None) if in_flight else None
            if in_flight and case is not None:
                case.body += f"<error message={_attr(why)}>{_text(why)}</error>"
                case.error = True
                self._finish(in_flight, case)
            part.close()
            c = self.counts
            took = (self.finished or ended) - self.started
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started))
            head = (
                '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
                f'<testsuite name="pytest" errors="{c["errors"]}" failures="{c["failures"]}" '
                f'skipped="{c["skipped"]}" tests="{c["tests"]}" '
                f'time="{max(took, 0.0):.3f}" timestamp="{stamp}" '
                f"hostname={_attr(platform.node())}>"
            )
            with atomic_writer(self.path) as out, open(self.part_path, "rb") as cases:
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
