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

The stream (format 3; docs/results-stream.md), one JSON object per line:

- `session` (pytest version, plugins, pid, Python, how pytest resolved its
  configuration: rootdir, configfile, addopts, invocation args, JUnit settings),
  `collection` (n and sha256 of the sorted node ids before any deselection; one
  per xdist worker, with wk), `collected` (n), `collect_error` / `collect_skip` (id, msg, text),
  `deselected` (n, ids), `finish` (pytest's exit status and, when pytest's terminal
  reporter ran, its own summary counts by category);
- `start` (id; line and, if the node id does not say it, file) before each test;
- `passed` (id, dur: [setup, call, teardown]) for a test whose three phases
  passed: most tests, so one short line and two writes per test;
- otherwise `report` per report pytest logs (id, when, outcome, dur, cat: the
  category pytest's terminal counts it under; msg and text for a failure, msg
  and loc for a skip; xfail when pytest expected a failure; sub for a subtest;
  wk and ii for the xdist worker and its item index). A rerun attempt
  (pytest-rerunfailures) is a `report` with outcome `rerun`; a crashed xdist
  worker's test is a `report` with when `???`, as xdist logs it.

The hooks run for every test of the suite: they format lines by hand (several
times faster than json.dumps) and do as little as a passing test allows.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import pytest

# ASCII-only JSON strings: a lone surrogate in a message cannot break the write.
_enc = json.encoder.encode_basestring_ascii

FORMAT_VERSION = 3


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
_config: Any = None
_plain_report: Any = None  # pytest's TestReport: the only class the fast path trusts


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--repro-results", default=None, help="repro: per-test JSON-lines file")
    parser.addoption(
        "--repro-order",
        default=None,
        help="repro replay: run the tests in the order of this JSON list of node ids",
    )


class _Order:
    """`repro replay`: the recorded order, whatever else reordered the tests; tests the
    run did not have go last, in the order collected."""

    def __init__(self, path: str) -> None:
        with open(path, encoding="utf-8") as fh:
            order = json.load(fh)
        self.rank = {nodeid: i for i, nodeid in enumerate(order)}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: Any) -> None:
        last = len(self.rank)
        items.sort(key=lambda item: self.rank.get(item.nodeid, last))


@pytest.hookimpl(trylast=True)  # after pytest-randomly and xdist have settled their options
def pytest_configure(config: Any) -> None:
    global _recorder, _config, _plain_report
    order = config.getoption("repro_order")
    if order and not config.pluginmanager.has_plugin("repro-order"):
        config.pluginmanager.register(_Order(order), "repro-order")  # xdist workers too
    path = config.getoption("repro_results")
    if not path or _recorder is not None or hasattr(config, "workerinput"):
        return
    _recorder = _Recorder(path)
    _config = config
    from _pytest.reports import TestReport

    _plain_report = TestReport
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
        executable=sys.executable,
        time=time.time(),
        config=_resolved_config(config),
    )


def _ini(config: Any, name: str) -> Any:
    try:
        return config.getini(name)
    except (ValueError, KeyError):  # the option belongs to a plugin that is not active
        return None


def _resolved_config(config: Any) -> dict[str, Any]:
    """The configuration as pytest resolved it: what was in force, not what was asked."""
    inipath = getattr(config, "inipath", None)
    numprocesses = getattr(config.option, "numprocesses", None)
    seed = getattr(config.option, "randomly_seed", None)  # pytest-randomly's, as resolved
    return {
        "rootdir": str(config.rootpath),
        "configfile": str(inipath) if inipath else None,
        "args": [str(a) for a in config.invocation_params.args],
        "addopts_ini": list(_ini(config, "addopts") or []),
        "addopts_env": os.environ.get("PYTEST_ADDOPTS", ""),
        "junit_family": _ini(config, "junit_family") or "xunit1",
        "junit_suite_name": _ini(config, "junit_suite_name") or "pytest",
        "junit_duration_report": _ini(config, "junit_duration_report") or "total",
        "xdist_workers": numprocesses if isinstance(numprocesses, int) else None,
        "randomly_seed": seed if isinstance(seed, int) else None,
        "active_plugins": sorted(
            name for name, plugin in config.pluginmanager.list_name_plugin() if plugin is not None
        ),
    }


def pytest_collectreport(report: Any) -> None:
    if _recorder is None or report.passed:
        return
    kind = "collect_error" if report.failed else "collect_skip"
    _recorder.event(ev=kind, id=report.nodeid, msg=_message(report), text=str(report.longrepr))


def pytest_deselected(items: Any) -> None:
    if _recorder is not None:
        # The ids too: `repro merge` names exactly the tests no shard ran (docs/merge.md).
        _recorder.event(ev="deselected", n=len(items), ids=[item.nodeid for item in items])


def _ids_digest(ids: Any) -> str:
    import hashlib

    digest = hashlib.sha256()
    for nodeid in sorted(ids):
        digest.update(nodeid.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


@pytest.hookimpl(tryfirst=True)  # before -k, -m, pytest-split and friends deselect
def pytest_collection_modifyitems(session: Any, config: Any, items: Any) -> None:
    """The whole collection, so shards of one suite can be shown to be of one suite."""
    if _recorder is not None:
        ids = [item.nodeid for item in items]
        _recorder.event(ev="collection", n=len(ids), sha256=_ids_digest(ids))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: Any) -> None:
    """Under xdist the controller collects nothing: each worker's collection it is."""
    if _recorder is not None:
        worker = str(getattr(getattr(node, "gateway", None), "id", ""))
        _recorder.event(ev="collection", n=len(ids), sha256=_ids_digest(ids), wk=worker)


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
    worker = getattr(report, "node", None)
    # Most reports: a plain passing phase on this process. pytest's terminal counts
    # it as "passed" (call) or not at all, which the reader knows without asking.
    if outcome == "passed" and not xfail and worker is None and type(report) is _plain_report:
        _recorder.passing(report.nodeid, when, report.duration)
        return
    _recorder.report(report.nodeid, str(when), str(outcome), report.duration, _extra(report))


def _extra(report: Any) -> str:
    """Everything but id, when, outcome and duration, as JSON members."""
    category = _config.hook.pytest_report_teststatus(report=report, config=_config)[0]
    extra = ',"cat":' + _enc(str(category))
    if hasattr(report, "wasxfail"):
        extra += ',"xfail":true'
    if report.outcome == "failed" or (report.outcome == "rerun" and report.longrepr is not None):
        # The whole report too: repro builds JUnit XML from this stream.
        extra += f',"msg":{_enc(_message(report))},"text":{_enc(str(report.longrepr))}'
    elif hasattr(report, "wasxfail"):  # why the failure was expected, as JUnit says
        extra += ',"msg":' + _enc(str(report.wasxfail))
    elif report.outcome == "skipped" and isinstance(report.longrepr, tuple):
        path, lineno, reason = report.longrepr
        extra += f',"msg":{_enc(str(reason))},"loc":{_enc(f"{path}:{lineno}")}'
    context = getattr(report, "context", None)  # a subtest (pytest 9, pytest-subtests)
    if context is not None:
        sub = {"msg": getattr(context, "msg", None), "params": getattr(context, "kwargs", {})}
        extra += ',"sub":' + json.dumps(sub, default=str, ensure_ascii=True)
    worker = getattr(report, "node", None)
    gateway = getattr(worker, "gateway", None)
    worker_id = getattr(gateway, "id", None) or getattr(report, "worker_id", None)
    if worker_id is not None:
        extra += ',"wk":' + _enc(str(worker_id))
    item_index = getattr(report, "item_index", None)
    if type(item_index) is int:
        extra += f',"ii":{item_index}'
    return extra


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _recorder is not None:
        _recorder.event(
            ev="finish",
            exitstatus=int(exitstatus),
            time=time.time(),
            summary=_terminal_summary(session.config),
        )


def _terminal_summary(config: Any) -> dict[str, int] | None:
    """pytest's own counts, as its terminal summary line prints them.

    Read at sessionfinish, before the summary is printed; the categories are
    the terminal reporter's (`rerun`, `subtests passed`, `warnings`, ...), with
    the reports it leaves out of the line left out here too.
    """
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", None)
    if not isinstance(stats, dict):
        return None
    counts = {}
    for category, reports in stats.items():
        if category:  # passing setup and teardown: counted nowhere
            n = sum(1 for r in reports if getattr(r, "count_towards_summary", True))
            if n:
                counts[str(category)] = n
    return counts


def pytest_unconfigure(config: Any) -> None:
    global _recorder, _config
    if _recorder is not None:
        _recorder.close()
        _recorder = _config = None


def _message(report: Any) -> str:
    """Why, in pytest's words: the crash message its JUnit writer uses, or the skip reason."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, lineno, reason)
        return str(longrepr[2])
    crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    return crash if crash is not None else str(longrepr)
