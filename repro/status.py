"""A run's final status, from exit code + signal + whether pytest finished its session.

Kept apart from the runner: it is the one judgement `repro run` makes about the suite,
and every reader of a bundle relies on it meaning the same thing (see docs/design.md).
"""

from __future__ import annotations

from repro import capture, results
from repro.errors import EXIT_BAD, EXIT_INTERRUPTED, EXIT_OK
from repro.model import Status


def classify(cap: capture.CaptureResult, res: results.TestResults) -> tuple[Status, str]:
    """Final status from exit code + signal + whether pytest finished its session.

    The exit code alone lies: `os._exit(1)` looks like "tests failed".
    """
    rc = cap.returncode
    if cap.timed_out:
        return Status.TIMED_OUT, f"stopped after the timeout; hung test: {res.in_flight or 'none'}"
    if cap.terminated and rc != 0:  # rc 0: the suite had finished when the signal came
        return Status.KILLED, "repro was sent SIGTERM from outside and stopped the suite"
    if cap.interrupted:
        return Status.INTERRUPTED, "interrupted by the user"
    if cap.signal is not None:
        kind = Status.KILLED if cap.signal in ("SIGKILL", "SIGTERM") else Status.CRASHED
        where = f" during {res.in_flight}" if res.in_flight else ""
        return kind, f"pytest was ended by {cap.signal}{where}"
    if not res.session_started:
        return Status.ERROR, f"pytest stopped before starting a session (exit code {rc})"
    if not res.session_finished:
        where = f" during {res.in_flight}" if res.in_flight else ""
        return Status.CRASHED, f"pytest exited with code {rc}{where} without finishing its session"
    if res.exitstatus != rc:
        return (
            Status.CRASHED,
            f"pytest finished with {res.exitstatus} but the process exited with {rc}",
        )
    if rc == 0:
        return Status.PASSED, "all tests passed"
    if rc == 1:
        return Status.FAILED, "some tests failed"
    if rc == 5:
        return Status.NO_TESTS, "no tests were collected"
    if res.collect_errors:
        n = len(res.collect_errors)
        return Status.ERROR, f"{n} error{'s' if n > 1 else ''} during collection"
    names = {
        2: "pytest was interrupted",
        3: "pytest hit an internal error",
        4: "pytest usage error",
    }
    return Status.ERROR, names.get(rc, f"pytest exited with code {rc}")


def exit_code_for(status: Status) -> int:
    if status is Status.PASSED:
        return EXIT_OK
    if status is Status.INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_BAD
