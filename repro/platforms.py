"""What repro does differently per operating system, behind one small interface.

Two things differ, and capture.py uses each only through this module:

- Reading the child's pipes (`open_reader`, a `PipeReader`):
  "posix"     one loop over both pipes with `selectors` (Windows cannot select on pipes);
  "portable"  a thread per pipe doing blocking reads into a small bounded queue.
  The default is "posix" where it exists and "portable" on Windows; the environment
  variable REPRO_CAPTURE=portable|posix picks one, which is how the portable path is
  run (and tested) on Linux.
- Grouping and stopping the child's process tree (`start_child`, a `ChildGroup`):
  POSIX    the child leads its own session (setsid), so signals reach its whole group:
           the stop ladder is SIGINT, SIGTERM, SIGKILL to the group.
  Windows  the child gets its own process group (CREATE_NEW_PROCESS_GROUP) and is put in
           a Job Object: CTRL_BREAK_EVENT to the group, then TerminateJobObject ends the
           whole tree (grandchildren included).

Also here: `outputs/latest` (a symlink, or a `latest.txt` pointer where symlinks cannot
be made) and naming how a process ended (a POSIX signal or a Windows crash status).
Only the POSIX code has ever run (docs/platforms.md says exactly what ran where).
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Literal, Protocol

from repro.errors import UsageError

Backend = Literal["posix", "portable"]
BACKENDS: tuple[Backend, ...] = ("posix", "portable")
BACKEND_ENV = "REPRO_CAPTURE"
IS_WINDOWS = sys.platform == "win32"

READ_SIZE = 1 << 16
# The portable reader holds at most this many chunks (of READ_SIZE) between its
# threads and the capture loop: memory stays bounded, and a child writing faster
# than the logs take it blocks on its pipe as it would with the posix reader.
QUEUE_CHUNKS = 4
# The trickle-coalescing rule of capture's loop (explained in capture.py), which
# the reader threads follow too: after a small read, let output gather in the pipe
# for a moment, unless a large read came recently.
COALESCE_BELOW = READ_SIZE // 2
COALESCE_SECONDS = 0.01
HEAVY_SECONDS = 0.25


class PipeReader(Protocol):
    """Chunks from the child's pipes, in the order they were read, bytes untouched."""

    @property
    def open(self) -> bool:
        """Some pipe has not reached end of file yet."""
        ...

    def read(self, timeout: float) -> list[tuple[str, bytes]]:
        """Wait up to `timeout` seconds for output; (pipe name, non-empty chunk) pairs."""
        ...

    def close(self) -> None:
        """Stop reading; output not read yet is dropped."""
        ...


class ChildGroup(Protocol):
    """The child and everything it starts, stopped as one."""

    proc: subprocess.Popen[bytes]

    @property
    def ladder(self) -> tuple[str, ...]:
        """Stop steps, gentlest first; each name is what run_metadata records."""
        ...

    def send(self, step: str) -> bool:
        """Apply one ladder step to the whole group; False if no process was left."""
        ...

    def alive(self) -> bool:
        """Some process of the group (the child or a descendant) still runs."""
        ...

    def close(self) -> None:
        """Release OS handles (after the child was waited for)."""
        ...


def default_backend() -> Backend:
    return "portable" if IS_WINDOWS else "posix"


def choose_backend(environ: Mapping[str, str]) -> Backend:
    """The pipe reader REPRO_CAPTURE asks for, else the platform's default."""
    wanted = environ.get(BACKEND_ENV, "").strip().lower()
    if not wanted:
        return default_backend()
    if wanted == "portable":
        return "portable"
    if wanted == "posix" and not IS_WINDOWS:
        return "posix"
    if wanted == "posix":
        raise UsageError(
            f"{BACKEND_ENV}=posix cannot work on Windows (select cannot wait on pipes)",
            hint=f"unset {BACKEND_ENV} or set it to portable",
        )
    raise UsageError(
        f"{BACKEND_ENV}={wanted!r} is not a capture backend",
        hint=f"set {BACKEND_ENV} to one of: {', '.join(BACKENDS)}",
    )


def open_reader(backend: Backend, pipes: Mapping[str, IO[bytes]]) -> PipeReader:
    if backend == "posix":
        return _SelectReader(pipes)
    return _ThreadReader(pipes)


class _SelectReader:
    """Both pipes in one `selectors` loop: one read per ready pipe per call."""

    def __init__(self, pipes: Mapping[str, IO[bytes]]) -> None:
        self._sel = selectors.DefaultSelector()
        for name, pipe in pipes.items():
            if sys.platform != "win32":  # never used there: choose_backend refuses it
                os.set_blocking(pipe.fileno(), False)
            self._sel.register(pipe.fileno(), selectors.EVENT_READ, (name, pipe))

    @property
    def open(self) -> bool:
        return bool(self._sel.get_map())

    def read(self, timeout: float) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        for key, _ in self._sel.select(timeout):
            name, pipe = key.data
            try:
                chunk = os.read(key.fd, READ_SIZE)
            except BlockingIOError:
                continue
            if chunk:
                out.append((name, chunk))
            else:
                self._sel.unregister(key.fd)
                pipe.close()
        return out

    def close(self) -> None:
        for key in list(self._sel.get_map().values()):
            self._sel.unregister(key.fd)
            key.data[1].close()
        self._sel.close()


class _ThreadReader:
    """A thread per pipe doing blocking reads: works wherever pipes do.

    Each thread owns its pipe and closes it at end of file. A pipe held open by a
    process outside the child's group (repro then gives up reading, see capture.py)
    leaves its thread blocked in read(): a daemon thread, ending with that process
    or with repro. The pipe is never closed under a blocked read, where its file
    descriptor number could be reused by another file.
    """

    def __init__(self, pipes: Mapping[str, IO[bytes]]) -> None:
        self._queue: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._stop = threading.Event()
        self._open = len(pipes)
        for name, pipe in pipes.items():
            threading.Thread(
                target=self._pump, args=(name, pipe), name=f"repro-{name}", daemon=True
            ).start()

    @property
    def open(self) -> bool:
        return self._open > 0

    def _pump(self, name: str, pipe: IO[bytes]) -> None:
        heavy_until = 0.0
        with pipe:
            while True:
                try:
                    chunk = os.read(pipe.fileno(), READ_SIZE)
                except OSError:  # a broken pipe reads as its end
                    chunk = b""
                if not self._put((name, chunk)) or not chunk:
                    return
                now = time.monotonic()
                if len(chunk) >= COALESCE_BELOW:
                    heavy_until = now + HEAVY_SECONDS
                elif now >= heavy_until:
                    time.sleep(COALESCE_SECONDS)

    def _put(self, item: tuple[str, bytes]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(self, timeout: float) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        try:
            item = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return out
        while True:
            if item[1]:
                out.append(item)
            else:
                self._open -= 1
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return out

    def close(self) -> None:
        self._stop.set()


def start_child(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> ChildGroup:
    """Start `argv` with stdout and stderr piped, as the head of its own group.

    Raises OSError when the program cannot be started.
    """
    if sys.platform == "win32":
        return _WindowsGroup.start(argv, cwd, env)
    return _PosixGroup.start(argv, cwd, env)


class _PosixGroup:
    ladder = ("SIGINT", "SIGTERM", "SIGKILL")

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    @classmethod
    def start(cls, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> _PosixGroup:
        # Its own session: a terminal's Ctrl-C reaches repro only, and the child's
        # pid is the group id of everything it starts (unless a test calls setsid).
        return cls(_popen(argv, cwd, env, start_new_session=True))

    def send(self, step: str) -> bool:
        return _killpg(self.proc.pid, signal.Signals[step])

    def alive(self) -> bool:
        return _killpg(self.proc.pid, 0)

    def close(self) -> None:
        pass


def _killpg(pgid: int, sig: int) -> bool:
    if sys.platform == "win32":
        return False
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _popen(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    start_new_session: bool = False,
    creationflags: int = 0,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=start_new_session,
        creationflags=creationflags,
    )


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    class _BasicAccounting(ctypes.Structure):
        # JOBOBJECT_BASIC_ACCOUNTING_INFORMATION
        _fields_ = [
            ("TotalUserTime", ctypes.c_int64),
            ("TotalKernelTime", ctypes.c_int64),
            ("ThisPeriodTotalUserTime", ctypes.c_int64),
            ("ThisPeriodTotalKernelTime", ctypes.c_int64),
            ("TotalPageFaultCount", wintypes.DWORD),
            ("TotalProcesses", wintypes.DWORD),
            ("ActiveProcesses", wintypes.DWORD),
            ("TotalTerminatedProcesses", wintypes.DWORD),
        ]

    _JOB_BASIC_ACCOUNTING = 1  # JobObjectBasicAccountingInformation
    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

    class _WindowsGroup:
        """The child in its own console process group and in a Job Object.

        A process the child starts joins the job too, so TerminateJobObject ends the
        whole tree. The child is assigned to the job just after it starts; a process
        it spawns in that instant would escape (Python starting pytest spawns none).
        """

        ladder = ("CTRL_BREAK_EVENT", "TerminateJobObject")

        def __init__(self, proc: subprocess.Popen[bytes], job: int | None) -> None:
            self.proc = proc
            self.job = job

        @classmethod
        def start(cls, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> _WindowsGroup:
            proc = _popen(argv, cwd, env, creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)
            job = _kernel32.CreateJobObjectW(None, None)
            handle = int(proc._handle)  # type: ignore[attr-defined]
            if job and not _kernel32.AssignProcessToJobObject(job, handle):
                _kernel32.CloseHandle(job)
                job = None
            return cls(proc, job or None)

        def send(self, step: str) -> bool:
            if not self.alive():
                return False
            if step == "CTRL_BREAK_EVENT":
                try:
                    # Delivered to the child's process group (id = its pid); needs a
                    # shared console. Python's default reaction is to exit at once.
                    os.kill(self.proc.pid, signal.CTRL_BREAK_EVENT)
                except OSError:
                    return False
                return True
            if self.job is not None:
                return bool(_kernel32.TerminateJobObject(self.job, 1))
            self.proc.kill()  # no job: only the child itself can be ended
            return True

        def alive(self) -> bool:
            if self.job is None:
                return self.proc.poll() is None
            info = _BasicAccounting()
            ok = _kernel32.QueryInformationJobObject(
                self.job, _JOB_BASIC_ACCOUNTING, ctypes.byref(info), ctypes.sizeof(info), None
            )
            return bool(ok) and info.ActiveProcesses > 0

        def close(self) -> None:
            if self.job is not None:
                _kernel32.CloseHandle(self.job)
                self.job = None

    _PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _STILL_ACTIVE = 259
    _ERROR_ACCESS_DENIED = 5

    def _windows_pid_alive(pid: int) -> bool:
        handle = _kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            # Another user's process exists but may not be opened; any other error: gone.
            return ctypes.get_last_error() == _ERROR_ACCESS_DENIED
        try:
            code = wintypes.DWORD()
            if not _kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == _STILL_ACTIVE
        finally:
            _kernel32.CloseHandle(handle)


# Windows crash statuses (NTSTATUS) that mean what a fatal signal means on POSIX.
_WINDOWS_CRASHES = {
    0xC0000005: "STATUS_ACCESS_VIOLATION",
    0xC000001D: "STATUS_ILLEGAL_INSTRUCTION",
    0xC0000094: "STATUS_INTEGER_DIVIDE_BY_ZERO",
    0xC00000FD: "STATUS_STACK_OVERFLOW",
    0xC0000409: "STATUS_STACK_BUFFER_OVERRUN",
    0xC000013A: "STATUS_CONTROL_C_EXIT",
}


def exit_signal(returncode: int) -> str | None:
    """What ended a process abnormally, from its return code; None for a normal exit."""
    if IS_WINDOWS:
        return _WINDOWS_CRASHES.get(returncode & 0xFFFFFFFF)
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:  # real-time signals have no name
        return f"SIG{-returncode}"


def pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs on this machine. A zombie does not: a killed
    repro's pytest is reparented to the init process, which may be slow to reap it (or,
    in a container, never), and signal 0 still reaches a zombie."""
    if pid <= 0:  # no pid recorded; and signal 0 to pid 0 would ask about our own group
        return False
    if sys.platform == "win32":
        # os.kill(pid, 0) is TerminateProcess on Windows: ask, never signal.
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            # "pid (comm) S ...": the state follows the last ')' (comm may hold one)
            return fh.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:  # no /proc (macOS): trust the signal
        return True


@contextlib.contextmanager
def exclusive(fd: int) -> Iterator[None]:
    """Hold an exclusive lock on the open file `fd`: other processes asking wait."""
    if sys.platform == "win32":
        import msvcrt

        # A lock on the first byte stands for the whole file (it may lie past the end).
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                break
            except OSError:  # LK_LOCK gives up after 10 tries a second apart: wait on
                continue
        try:
            yield
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


LATEST = "latest"
LATEST_POINTER = "latest.txt"


def point_latest(outputs: Path, run_dir: Path, *, symlink: bool = True) -> None:
    """outputs/latest -> runs/<run_id>, replaced atomically.

    Where no symlink can be made (Windows without the privilege, some network or
    FAT file systems) `outputs/latest.txt` holds the run folder's path relative to
    `outputs`, `/`-separated; `latest_run` reads either.
    """
    from repro.fsutil import write_bytes

    rel = Path(os.path.relpath(run_dir, outputs))
    tmp = outputs / f".{LATEST}.{run_dir.name}"
    try:
        if not symlink:
            raise OSError("symlinks not wanted")
        os.symlink(rel, tmp, target_is_directory=True)
        os.replace(tmp, outputs / LATEST)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        write_bytes(outputs / LATEST_POINTER, rel.as_posix().encode() + b"\n")
        return
    # A pointer left from a time symlinks failed would now disagree with the link.
    with contextlib.suppress(OSError):
        (outputs / LATEST_POINTER).unlink()


def latest_run(outputs: Path) -> Path | None:
    """The run folder `outputs/latest` points at, by symlink or by pointer file."""
    link = outputs / LATEST
    if link.is_dir():
        return link.resolve()
    try:
        rel = (outputs / LATEST_POINTER).read_bytes().decode().strip()
    except (OSError, UnicodeDecodeError):
        return None
    target = (outputs / rel).resolve()
    return target if rel and target.is_dir() else None


def resolve_latest(path: Path) -> Path:
    """`outputs/latest` as a command-line argument, also where it is a pointer file."""
    if path.name == LATEST and not path.exists():
        return latest_run(path.parent) or path
    return path
