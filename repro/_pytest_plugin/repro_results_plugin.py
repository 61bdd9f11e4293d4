"""pytest plugin that streams per-test events to a JSON-lines file.

It is loaded by `repro run` with `-p repro_results_plugin` and a PYTHONPATH
entry for this folder, so it must not import anything from `repro`: the
interpreter that runs the tests need not have repro installed.

Events are written with `os.write` on an unbuffered descriptor, so when the
process dies (os._exit, a segfault, SIGKILL) the file still names every finished
test and the one in flight. Only one thing may wait in memory: the durations of
a test's *passing* setup and call, which go out with its next event (at the
latest its teardown). Every `start` line is therefore on disk before its test
runs, and a finished test is on disk with everything before it; there is no
fsync per line, the kernel keeps written bytes even if the process is killed.

The stream (format 2), one JSON object per line:

- `session` (pytest version, plugins, pid), `collected` (n), `collect_error`
  (id, msg, text), `finish` (pytest's exit status);
- `start` (id; line and, if the node id does not say it, file) before each test;
- `passed` (id, dur: [setup, call, teardown]) for a test whose three phases
  passed: most tests, so one short line and two writes per test;
- otherwise `report` per phase (id, when, outcome, dur; msg and text for a
  failure, msg for a skip; xfail when pytest expected a failure).

The hooks run for every test of the suite: they format lines by hand (several
times faster than json.dumps) and do as little as a passing test allows.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

# ASCII-only JSON strings: a lone surrogate in a message cannot break the write.
_enc = json.encoder.encode_basestring_ascii
_MSG_LIMIT = 500

FORMAT_VERSION = 2


class _Recorder:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        # The passing setup/call durations of one test, not yet written. Plain
        # attributes, not a list of tuples: nothing here allocates an object the
        # cyclic garbage collector tracks, which would make it run more often.
        self.held_id: str | None = None
        self.held_setup: float | None = None
        self.held_call: float | None = None
        self.last_id = ""  # the last node id encoded, and its JSON string
        self.last_enc = '""'

    def write(self, line: str) -> None:
        if self.held_id is not None:
            line = self._unhold() + line
        os.write(self.fd, line.encode("utf-8", "surrogatepass"))

    def _unhold(self) -> str:
        """The held phases as the `report` lines they stand for."""
        nodeid, setup, call = self.held_id or "", self.held_setup, self.held_call
        self.held_id = self.held_setup = self.held_call = None
        lines = [
            self._report_line(nodeid, when, "passed", dur, "")
            for when, dur in (("setup", setup), ("call", call))
            if dur is not None
        ]
        return "".join(lines)

    def _id(self, nodeid: str) -> str:
        if nodeid != self.last_id:  # a test's four events share one encoding
            self.last_id, self.last_enc = nodeid, _enc(nodeid)
        return self.last_enc

    def event(self, **fields: Any) -> None:
        self.write(json.dumps(fields, separators=(",", ":"), default=str) + "\n")

    # The per-test events are formatted by hand: json.dumps of a dict is several
    # times slower, and these run once or twice for every test of the suite.
    def start(self, nodeid: str, location: Any) -> None:
        # Where the test is defined, for JUnit's file and line attributes; the file
        # only when the node id does not already say it.
        extra = ""
        if location:
            fspath, lineno = str(location[0]), location[1]
            if type(lineno) is int:
                extra = f',"line":{lineno}'
            if not (nodeid.startswith(fspath) and nodeid.startswith("::", len(fspath))):
                extra += ',"file":' + _enc(fspath)
        self.write(f'{{"ev":"start","id":{self._id(nodeid)}{extra}}}\n')

    def passing(self, nodeid: str, when: str, dur: float) -> None:
        if when == "teardown":
            setup, call = self.held_setup, self.held_call
            if self.held_id == nodeid and setup is not None and call is not None:
                self.held_id = self.held_setup = self.held_call = None
                line = f'{{"ev":"passed","id":{self._id(nodeid)},"dur":[{setup:.6f},'
                os.write(self.fd, f"{line}{call:.6f},{dur:.6f}]}}\n".encode())
            else:
                self.report(nodeid, when, "passed", dur, "")
            return
        if self.held_id is not None and (
            self.held_id != nodeid or when == "setup" or self.held_call is not None
        ):
            self.write("")  # not setup-then-call of one test: what is held goes out as is
        self.held_id = nodeid
        if when == "setup":
            self.held_setup = dur
        else:
            self.held_call = dur

    def report(self, nodeid: str, when: str, outcome: str, dur: float, extra: str) -> None:
        self.write(self._report_line(nodeid, when, outcome, dur, extra))

    def _report_line(self, nodeid: str, when: str, outcome: str, dur: float, extra: str) -> str:
        return (
            f'{{"ev":"report","id":{self._id(nodeid)},"when":"{when}",'
            f'"outcome":"{outcome}","dur":{dur:.6f}{extra}}}\n'
        )

    def close(self) -> None:
        if self.held_id is not None:
            self.write("")
        os.close(self.fd)


_recorder: _Recorder | None = None


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--repro-results", default=None, help="repro: per-test JSON-lines file")


def pytest_configure(config: Any) -> None:
    global _recorder
    path = config.getoption("repro_results")
    if not path or _recorder is not None or hasattr(config, "workerinput"):
        return
    _recorder = _Recorder(path)
    import pytest

    plugins = sorted(
        {
            f"{dist.project_name}-{dist.version}"
            for _, dist in config.pluginmanager.list_plugin_distinfo()
        }
    )
    _recorder.event(
        ev="session",
        format=FORMAT_VERSION,
        pytest=pytest.__version__,
        plugins=plugins,
        pid=os.getpid(),
        python=sys.version.split()[0],
        time=time.time(),
    )


def pytest_collectreport(report: Any) -> None:
    if _recorder is not None and report.failed:
        _recorder.event(
            ev="collect_error", id=report.nodeid, msg=_short(report), text=report.longreprtext
        )


def pytest_collection_finish(session: Any) -> None:
    if _recorder is not None:
        _recorder.event(ev="collected", n=len(session.items))


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    if _recorder is not None:
        _recorder.start(nodeid, location)


def pytest_runtest_logreport(report: Any) -> None:
    if _recorder is None:
        return
    outcome, when = report.outcome, report.when
    xfail = hasattr(report, "wasxfail")
    if outcome == "passed" and not xfail:
        _recorder.passing(report.nodeid, when, report.duration)
        return
    extra = ',"xfail":true' if xfail else ""
    if outcome == "failed":
        # The whole report too: repro builds JUnit XML from this stream.
        extra += f',"msg":{_enc(_short(report))},"text":{_enc(report.longreprtext)}'
    elif outcome == "skipped" and when != "teardown":
        # An expected failure says why it was expected, as pytest's JUnit XML does.
        reason = str(report.wasxfail)[:_MSG_LIMIT] if xfail else _short(report)
        extra += ',"msg":' + _enc(reason)
    _recorder.report(report.nodeid, when, outcome, report.duration, extra)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _recorder is not None:
        _recorder.event(ev="finish", exitstatus=int(exitstatus), time=time.time())


def pytest_unconfigure(config: Any) -> None:
    global _recorder
    if _recorder is not None:
        _recorder.close()
        _recorder = None


def _short(report: Any) -> str:
    """One line that says why: the crash message, never the whole traceback."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, lineno, reason)
        text = str(longrepr[2])
    else:
        crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
        text = crash if crash is not None else str(longrepr)
    text = text.strip().splitlines()[0] if text.strip() else ""
    return text[:_MSG_LIMIT]
