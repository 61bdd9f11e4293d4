"""pytest plugin that writes JUnit XML (xunit1 shape) in constant memory.

pytest's own `--junitxml` keeps a reporter and an XML tree per test until the
session ends; on a 50,000-test suite that costs ~14% wall time and ~60 MiB
(docs/PERFORMANCE.md). This writer formats each finished test once, appends it
to a side file, and at session end writes the document: header with totals,
the test cases, footer. Like pytest's, it writes nothing if the process dies.

Loaded by `repro run` with `-p repro_junit_plugin`; imports nothing from repro.
"""

from __future__ import annotations

import os
import platform
import re
import time
from typing import Any
from xml.sax.saxutils import escape, quoteattr

# Characters XML 1.0 cannot carry, written as pytest does: #xNN
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _ILLEGAL.sub(lambda m: f"#x{ord(m.group()):02X}", text)


def _attr(text: str) -> str:
    return quoteattr(_clean(text))


def _names(nodeid: str) -> tuple[str, str]:
    """classname and name, as pytest's junitxml derives them from a node id."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


class _Writer:
    def __init__(self, path: str) -> None:
        self.path = path
        self.part = open(path + ".part", "w", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        self.current: dict[str, Any] = {}
        self.started = time.time()

    def case(self, classname: str, name: str, location: Any, duration: float, body: str) -> None:
        fspath, lineno = (location[0], location[1]) if location else ("", None)
        line = f' line="{lineno}"' if isinstance(lineno, int) else ""  # 0-based, as pytest
        attrs = f"classname={_attr(classname)} name={_attr(name)} file={_attr(str(fspath))}"
        self.part.write(f'<testcase {attrs}{line} time="{duration:.3f}"')
        self.part.write(f">{body}</testcase>" if body else " />")
        self.counts["tests"] += 1

    def report(self, report: Any) -> None:
        state = self.current.setdefault(report.nodeid, {"dur": 0.0, "body": ""})
        state["dur"] += report.duration
        if report.failed:
            tag = "failure" if report.when == "call" else "error"
            if tag == "error" or not state["body"]:
                msg = _message(report) if tag == "failure" else f"failed on {report.when}"
                text = escape(_clean(str(report.longreprtext)))
                state["body"] += f"<{tag} message={_attr(msg)}>{text}</{tag}>"
                state[tag] = True
        elif report.skipped and report.when != "teardown":
            xfail = hasattr(report, "wasxfail")
            kind = "pytest.xfail" if xfail else "pytest.skip"
            reason = report.wasxfail if xfail else _message(report)
            state["body"] += f'<skipped type="{kind}" message={_attr(reason)} />'
            state["skipped"] = True
        if report.when == "teardown":
            del self.current[report.nodeid]
            classname, name = _names(report.nodeid)
            self.case(classname, name, report.location, state["dur"], state["body"])
            for key, counter in (
                ("failure", "failures"),
                ("error", "errors"),
                ("skipped", "skipped"),
            ):
                self.counts[counter] += bool(state.get(key))

    def collect_error(self, report: Any) -> None:
        classname, name = _names(report.nodeid)
        text = escape(_clean(str(report.longreprtext)))
        body = f'<error message="collection failure">{text}</error>'
        self.case(classname, name, None, 0.0, body)
        self.counts["errors"] += 1

    def finish(self) -> None:
        self.part.close()
        c = self.counts
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started))
        head = (
            '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
            f'<testsuite name="pytest" errors="{c["errors"]}" failures="{c["failures"]}" '
            f'skipped="{c["skipped"]}" tests="{c["tests"]}" '
            f'time="{time.time() - self.started:.3f}" timestamp="{stamp}" '
            f"hostname={_attr(platform.node())}>"
        )
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as out, open(self.path + ".part", "rb") as part:
            out.write(head.encode())
            while chunk := part.read(1 << 20):
                out.write(chunk)
            out.write(b"</testsuite></testsuites>")
        os.replace(tmp, self.path)
        os.unlink(self.path + ".part")


def _message(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    return str(crash if crash is not None else longrepr or "")[:1000]


_writer: _Writer | None = None


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--repro-junit", default=None, help="repro: JUnit XML file")


def pytest_configure(config: Any) -> None:
    global _writer
    path = config.getoption("repro_junit")
    if path and _writer is None and not hasattr(config, "workerinput"):
        _writer = _Writer(path)


def pytest_collectreport(report: Any) -> None:
    if _writer is not None and report.failed:
        _writer.collect_error(report)


def pytest_runtest_logreport(report: Any) -> None:
    if _writer is not None:
        _writer.report(report)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    global _writer
    if _writer is not None:
        _writer.finish()
        _writer = None
