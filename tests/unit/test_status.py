"""The status classification, case by case: exit code + signal + how far pytest got.

The e2e tests (tests/e2e/test_faults.py, test_env_faults.py) reach each status with a real
suite; this table pins every branch and its reason, which mutation testing showed the e2e
tests alone leave loose (docs/testing.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from repro.capture import CaptureResult, KillStep
from repro.errors import EXIT_BAD, EXIT_INTERRUPTED, EXIT_OK
from repro.model import Status
from repro.results import TestResults as Res
from repro.status import classify, exit_code_for

FINISHED = {"session_started": True, "session_finished": True}


def cap(returncode: int = 0, **kw: Any) -> CaptureResult:
    base: dict[str, Any] = {
        "argv": ("python", "-m", "pytest"),
        "pid": 1,
        "returncode": returncode,
        "signal": None,
        "started": 0.0,
        "ended": 1.0,
        "timed_out": False,
        "interrupted": False,
        "kill_sequence": (),
        "group_cleanup": (),
        "output_abandoned": False,
    }
    return CaptureResult(**{**base, **kw})


CASES: dict[str, tuple[CaptureResult, Res, Status, str]] = {
    "passed": (cap(0), Res(**FINISHED, exitstatus=0), Status.PASSED, "all tests passed"),
    "failed": (cap(1), Res(**FINISHED, exitstatus=1), Status.FAILED, "some tests failed"),
    "no-tests": (
        cap(5),
        Res(**FINISHED, exitstatus=5),
        Status.NO_TESTS,
        "no tests were collected",
    ),
    "timed-out": (
        cap(-9, signal="SIGKILL", timed_out=True, kill_sequence=(KillStep("SIGINT", 1, "t"),)),
        Res(session_started=True, in_flight="t.py::test_hang"),
        Status.TIMED_OUT,
        "stopped after the timeout; hung test: t.py::test_hang",
    ),
    "timed-out-between-tests": (
        cap(2, timed_out=True),
        Res(**FINISHED, exitstatus=2),
        Status.TIMED_OUT,
        "stopped after the timeout; hung test: none",
    ),
    "terminated": (
        cap(-2, terminated=True, interrupted=True),
        Res(session_started=True, in_flight="t.py::test_x"),
        Status.KILLED,
        "repro was sent SIGTERM from outside and stopped the suite",
    ),
    "terminated-after-the-suite-finished": (
        cap(0, terminated=True),
        Res(**FINISHED, exitstatus=0),
        Status.PASSED,
        "all tests passed",
    ),
    "interrupted": (
        cap(2, interrupted=True),
        Res(**FINISHED, exitstatus=2),
        Status.INTERRUPTED,
        "interrupted by the user",
    ),
    "killed-by-sigkill": (
        cap(-9, signal="SIGKILL"),
        Res(session_started=True, in_flight="t.py::test_x"),
        Status.KILLED,
        "pytest was ended by SIGKILL during t.py::test_x",
    ),
    "killed-by-sigterm": (
        cap(-15, signal="SIGTERM"),
        Res(session_started=True),
        Status.KILLED,
        "pytest was ended by SIGTERM",
    ),
    "segfault": (
        cap(-11, signal="SIGSEGV"),
        Res(session_started=True, in_flight="t.py::test_x"),
        Status.CRASHED,
        "pytest was ended by SIGSEGV during t.py::test_x",
    ),
    "no-session": (
        cap(1),
        Res(),
        Status.ERROR,
        "pytest stopped before starting a session (exit code 1)",
    ),
    "os-exit-mid-test": (
        cap(1),
        Res(session_started=True, in_flight="t.py::test_third"),
        Status.CRASHED,
        "pytest exited with code 1 during t.py::test_third without finishing its session",
    ),
    "os-exit-between-tests": (
        cap(0),
        Res(session_started=True),
        Status.CRASHED,
        "pytest exited with code 0 without finishing its session",
    ),
    "exit-code-disagrees": (
        cap(3),
        Res(**FINISHED, exitstatus=0),
        Status.CRASHED,
        "pytest finished with 0 but the process exited with 3",
    ),
    "one-collection-error": (
        cap(2),
        Res(**FINISHED, exitstatus=2, collect_errors=({"id": "t.py", "message": "x"},)),
        Status.ERROR,
        "1 error during collection",
    ),
    "collection-errors": (
        cap(2),
        Res(**FINISHED, exitstatus=2, collect_errors=({"id": "a", "message": "x"},) * 2),
        Status.ERROR,
        "2 errors during collection",
    ),
    "pytest-interrupted": (
        cap(2),
        Res(**FINISHED, exitstatus=2),
        Status.ERROR,
        "pytest was interrupted",
    ),
    "internal-error": (
        cap(3),
        Res(**FINISHED, exitstatus=3),
        Status.ERROR,
        "pytest hit an internal error",
    ),
    "usage-error": (
        cap(4),
        Res(**FINISHED, exitstatus=4),
        Status.ERROR,
        "pytest usage error",
    ),
    "unknown-exit-code": (
        cap(7),
        Res(**FINISHED, exitstatus=7),
        Status.ERROR,
        "pytest exited with code 7",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_classify(case: str) -> None:
    capture, res, status, reason = CASES[case]
    assert classify(capture, res) == (status, reason)


@pytest.mark.parametrize(
    ("status", "code"),
    [(Status.PASSED, EXIT_OK), (Status.INTERRUPTED, EXIT_INTERRUPTED)]
    + [(s, EXIT_BAD) for s in Status if s not in (Status.PASSED, Status.INTERRUPTED)],
)
def test_exit_code_for_each_status(status: Status, code: int) -> None:
    assert exit_code_for(status) == code
