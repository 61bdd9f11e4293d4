"""One error type per failure class, each mapped to a documented exit code.

The CLI catches `ReproError` in one place and prints `diagnostics()` as a single
line; anything else escaping is a bug in repro and keeps its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BAD = 1  # the thing checked is bad: tests failed/crashed, bundle invalid
EXIT_USAGE = 2
EXIT_ENV = 3  # environment or I/O: cannot write, pip-tools failed, no index
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # repro was sent SIGTERM (128 + 15); records still written


class ReproError(Exception):
    """Base class: a failure repro can explain to its user."""

    exit_code = EXIT_ENV

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ReproError):
    """Bad input from the user: a missing file, a malformed option value."""

    exit_code = EXIT_USAGE


class EnvironmentProblem(ReproError):
    """The machine cannot do what was asked: unwritable outputs, disk full, no pytest."""

    exit_code = EXIT_ENV


class LockError(EnvironmentProblem):
    """pip-tools could not produce a lock and no fallback was allowed."""


class RecordInvalid(ReproError):
    """A record repro built does not match its own schema: a bug in repro."""

    exit_code = EXIT_ENV
