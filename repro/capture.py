"""Run the test command as a child process group and capture everything it prints.

One loop takes fixed-size chunks from both pipes (a `platforms.PipeReader`:
`selectors` on POSIX, a reader thread per pipe on Windows or with
REPRO_CAPTURE=portable) and writes each at once to its own log, to the combined
log and to the terminal (the logs get it masked, line by line: `_Sinks`). Memory
stays constant whatever the child prints, neither pipe can stay full and block
the child (a trickle of output is gathered for up to COALESCE_SECONDS between
reads), and bytes are kept exactly (nothing is decoded).

The child heads its own process group (`platforms.start_child`), so a terminal
Ctrl-C reaches only repro; repro then stops the group in order (POSIX: SIGINT,
grace, SIGTERM, grace, SIGKILL; Windows: CTRL_BREAK_EVENT, grace, the Job
Object terminated), the same sequence a `--timeout` triggers. Nothing here
interprets test results.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from repro import platforms
from repro.errors import EnvironmentProblem

if TYPE_CHECKING:
    from repro.mask import RunMasking

READ_SIZE = platforms.READ_SIZE
# A child that prints a trickle (pytest's progress: one byte or one line per test)
# would wake this loop once per test, and on two cores those wake-ups cost the
# child ~10% of its wall time. After a read smaller than COALESCE_BELOW the loop
# therefore lets output gather in the pipe for COALESCE_SECONDS (the terminal lags
# by at most that), unless a large read came within HEAVY_SECONDS: a heavy writer
# is never left blocked on a full pipe.
# (The portable reader's threads follow the same rule with the same values.)
COALESCE_BELOW = platforms.COALESCE_BELOW
COALESCE_SECONDS = platforms.COALESCE_SECONDS
HEAVY_SECONDS = platforms.HEAVY_SECONDS
# After the child exits, how long a grandchild may keep the pipes open before
# the group is terminated, and how long reads go on after that.
DRAIN_SECONDS = 1.0


@dataclass(frozen=True)
class KillStep:
    signal: str
    at: float  # seconds since the child started
    reason: str


@dataclass(frozen=True)
class CaptureResult:
    argv: tuple[str, ...]
    pid: int
    returncode: int
    signal: str | None  # the signal that ended the child, if any
    started: float  # epoch seconds
    ended: float
    timed_out: bool
    interrupted: bool
    kill_sequence: tuple[KillStep, ...]
    group_cleanup: tuple[KillStep, ...]  # signals sent to leftovers after the child exited
    output_abandoned: bool  # a process outside the group still held the pipes open
    backend: platforms.Backend = "posix"  # how the pipes were read
    terminated: bool = False  # repro itself was sent SIGTERM (not the user's Ctrl-C)

    @property
    def duration(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class StopPolicy:
    timeout: float | None = None  # seconds, None for no limit
    grace: float = 5.0  # after SIGINT, before SIGTERM
    term_grace: float = 2.0  # after SIGTERM, before SIGKILL


class _Stopper:
    """The escalation ladder, shared by the timeout and by Ctrl-C."""

    def __init__(self, group: platforms.ChildGroup, started: float, policy: StopPolicy) -> None:
        self.group = group
        self.ladder = group.ladder
        self.started = started
        self.policy = policy
        self.steps: list[KillStep] = []
        self.next_at: float | None = None
        self.reason = ""

    @property
    def active(self) -> bool:
        return bool(self.steps)

    def escalate(self, reason: str) -> None:
        if len(self.steps) >= len(self.ladder):
            return
        index = len(self.steps)
        step = self.ladder[index]
        self.reason = self.reason or reason
        self.group.send(step)
        now = time.monotonic()
        self.steps.append(KillStep(step, round(now - self.started, 3), reason))
        delay = self.policy.grace if index == 0 else self.policy.term_grace
        self.next_at = now + delay if index + 1 < len(self.ladder) else None

    def due(self, now: float) -> bool:
        return self.next_at is not None and now >= self.next_at


class _StopRequest(threading.Event):
    """Set by Ctrl-C or by a SIGTERM to repro; remembers which, since only Ctrl-C is the user."""

    signum: int = signal.SIGINT

    def ask(self, signum: int, frame: object) -> None:
        self.signum = signum
        self.set()


@contextlib.contextmanager
def _sigint_to_flag(flag: _StopRequest) -> Iterator[None]:
    """While capturing, Ctrl-C (or SIGTERM to repro) asks for an orderly stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = flag.ask
    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


class _Sinks:
    """Where each chunk goes: its own log, the combined log, the terminal.

    The files get the chunk masked (repro.mask): each stream's masker holds back
    the line in progress, which may be the start of a secret, and what it releases
    goes to both the stream's log and the combined log. Each byte is masked once,
    and a secret split by the other stream's output in between is masked whole in
    the combined log too; the cost is that the combined log interleaves the two
    streams by lines (docs/safety.md). The terminal gets each chunk at once, as is.
    """

    def __init__(
        self,
        logs: Path,
        echo_out: IO[bytes] | None,
        echo_err: IO[bytes] | None,
        masking: RunMasking | None = None,
    ):
        logs.mkdir(parents=True, exist_ok=True)
        self.files = {
            "stdout": open(logs / "stdout.log", "wb", buffering=0),  # noqa: SIM115
            "stderr": open(logs / "stderr.log", "wb", buffering=0),  # noqa: SIM115
            "combined": open(logs / "pytest_output.txt", "wb", buffering=0),  # noqa: SIM115
        }
        self.maskers = (
            masking.streams(
                {"stdout": "logs/stdout.log", "stderr": "logs/stderr.log"},
                combined="logs/pytest_output.txt",
            )
            if masking is not None
            else {}
        )
        self.echo: dict[str, IO[bytes] | None] = {"stdout": echo_out, "stderr": echo_err}

    def _put(self, name: str, data: bytes) -> None:
        if data:
            self.files[name].write(data)
            self.files["combined"].write(data)

    def write(self, name: str, chunk: bytes) -> None:
        sm = self.maskers.get(name)
        try:
            self._put(name, sm.feed(chunk) if sm is not None else chunk)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot write the test logs: {exc.strerror}",
                hint="free disk space or make the outputs folder writable",
            ) from exc
        echo = self.echo[name]
        if echo is not None:
            try:
                echo.write(chunk)
                echo.flush()
            except (OSError, ValueError):
                # The terminal went away (closed pipe): keep capturing, stop echoing.
                self.echo[name] = None

    def close(self) -> None:
        for name, sm in self.maskers.items():
            with contextlib.suppress(OSError):  # a full disk was reported by write()
                self._put(name, sm.flush())
        for fh in self.files.values():
            fh.close()


def run_captured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    logs_dir: Path,
    policy: StopPolicy = StopPolicy(),
    echo_out: IO[bytes] | None = None,
    echo_err: IO[bytes] | None = None,
    backend: platforms.Backend | None = None,
    masking: RunMasking | None = None,
) -> CaptureResult:
    """Run `argv`, tee its output into `logs_dir`, and say how it ended.

    `backend` picks how the pipes are read (default: REPRO_CAPTURE, else the
    platform's own; see repro.platforms).
    """
    backend = backend or platforms.choose_backend(os.environ)
    sinks = _Sinks(logs_dir, echo_out, echo_err, masking)
    interrupt = _StopRequest()
    try:
        with _sigint_to_flag(interrupt):
            return _run(argv, cwd, env, sinks, policy, interrupt, backend)
    finally:
        sinks.close()


def _run(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    sinks: _Sinks,
    policy: StopPolicy,
    interrupt: _StopRequest,
    backend: platforms.Backend,
) -> CaptureResult:
    started_wall = time.time()
    try:
        group = platforms.start_child(argv, cwd=cwd, env=env)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot start {argv[0]}: {exc.strerror or exc}") from exc
    started = time.monotonic()
    proc = group.proc
    assert proc.stdout is not None and proc.stderr is not None
    stopper = _Stopper(group, started, policy)
    deadline = started + policy.timeout if policy.timeout else None
    timed_out = interrupted = terminated = False
    cleanup: list[KillStep] = []
    abandoned = False

    reader = platforms.open_reader(backend, {"stdout": proc.stdout, "stderr": proc.stderr})
    exited_at: float | None = None
    heavy_until = 0.0
    try:
        while reader.open:
            now = time.monotonic()
            if interrupt.is_set():
                interrupt.clear()
                if exited_at is None:
                    by_user = interrupt.signum == signal.SIGINT
                    interrupted = interrupted or (by_user and not timed_out and not terminated)
                    terminated = terminated or (not by_user and not timed_out)
                    # a second Ctrl-C skips the rest of the grace period
                    stopper.escalate("interrupted by the user" if by_user else "repro got SIGTERM")
            if (
                deadline is not None
                and now >= deadline
                and not stopper.active
                and exited_at is None
            ):
                timed_out = True
                stopper.escalate(f"timeout of {policy.timeout:g}s expired")
            elif stopper.due(now) and exited_at is None:
                stopper.escalate(stopper.reason)
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None:
                abandoned = _reap_group(group, started, exited_at, now, cleanup)
                if abandoned:
                    break
            wait = 0.05 if (exited_at is not None or stopper.active) else 0.25
            if deadline is not None and not stopper.active:
                wait = max(0.0, min(wait, deadline - now))
            got = 0
            for name, chunk in reader.read(wait):
                sinks.write(name, chunk)
                got += len(chunk)
            if got:
                now = time.monotonic()
                if got >= COALESCE_BELOW:
                    heavy_until = now + HEAVY_SECONDS
                elif now >= heavy_until and exited_at is None and not stopper.active:
                    pause = COALESCE_SECONDS
                    if deadline is not None:
                        pause = max(0.0, min(pause, deadline - now))
                    time.sleep(pause)
    finally:
        reader.close()
        if proc.poll() is None:  # only on an exception inside repro itself
            group.send(group.ladder[-1])
        proc.wait()
        if not cleanup:
            _end_leftovers(group, started, cleanup)
        group.close()

    rc = proc.returncode
    return CaptureResult(
        argv=tuple(argv),
        pid=proc.pid,
        returncode=rc,
        signal=platforms.exit_signal(rc),
        started=started_wall,
        ended=started_wall + (time.monotonic() - started),
        timed_out=timed_out,
        interrupted=interrupted,
        kill_sequence=tuple(stopper.steps),
        group_cleanup=tuple(cleanup),
        output_abandoned=abandoned,
        terminated=terminated,
        backend=backend,
    )


def _reap_group(
    group: platforms.ChildGroup,
    started: float,
    exited_at: float,
    now: float,
    cleanup: list[KillStep],
) -> bool:
    """Once the child has exited, end what is left of its group.

    A test may leave a grandchild that keeps stdout open; without this repro
    would wait for EOF forever. Returns True when reading should stop because
    the pipes are held by a process repro cannot signal.
    """
    waited = now - exited_at
    sent = {step.signal for step in cleanup}
    steps = group.ladder[1:]  # no polite first step: the tests are over
    for after, step in enumerate(steps, 1):
        if waited >= after * DRAIN_SECONDS and step not in sent and group.send(step):
            cleanup.append(KillStep(step, round(now - started, 3), "left over after exit"))
    return waited >= (len(steps) + 1) * DRAIN_SECONDS


def _end_leftovers(group: platforms.ChildGroup, started: float, cleanup: list[KillStep]) -> None:
    """Processes of the group that closed their output but outlived the child."""
    if not group.alive():
        return
    for step in group.ladder[1:]:
        if not group.send(step):
            return
        cleanup.append(KillStep(step, round(time.monotonic() - started, 3), "left over after exit"))
        limit = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < limit:
            if not group.alive():
                return
            time.sleep(0.02)
