"""`repro salvage`: a run whose repro process died becomes a complete run folder.

`repro run` stages a run in `outputs/runs/.<run_id>.partial/` and, before pytest
starts, writes there `INTENT` (what was about to run), the lock, env.json and
the schemas, then the ledger's `start` line. While pytest runs, the logs are
written masked and the plugin appends every event to `results/.events.jsonl`.
If repro is killed, that folder is all there is; salvage turns it into a run
folder with status `abandoned`: logs and events masked again (with the rules
and the environment of the salvaging process), results.jsonl and junit.xml
rebuilt from the events, the test in flight named, and run_metadata.json saying
what is missing and why. The ledger records the salvage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro import __version__, junit, ledger, mask, platforms, records, results
from repro.errors import EnvironmentProblem, UsageError
from repro.fsutil import sha256_file, write_json

if TYPE_CHECKING:
    from repro.runner import RunOptions

INTENT = ".repro-run.json"
STATUS = "abandoned"


def host() -> str:
    return socket.gethostname()


def write_intent(
    staging: Path,
    opts: RunOptions,
    run_id: str,
    argv: list[str],
    masking: mask.RunMasking,
    python_version: str,
) -> None:
    """What is about to run, on disk before pytest starts (no secret: it is masked)."""
    intent = {
        "run_id": run_id,
        "started": time.time(),
        "pid": os.getpid(),
        "host": host(),
        "repro_version": __version__,
        "repro_argv": list(opts.repro_argv),
        "argv": [a.replace(str(staging), "<run>") for a in argv],
        "cwd": str(opts.project.resolve()),
        "python": opts.python,
        "timeout": {
            "seconds": opts.policy.timeout,
            "grace": opts.policy.grace,
            "term_grace": opts.policy.term_grace,
        },
        "mask": masking.masker is not None,
        "options": dict(opts.options),
        "python_version": python_version,
        "seeds": {"PYTHONHASHSEED": (opts.environ or os.environ).get("PYTHONHASHSEED")},
    }
    write_json(staging / INTENT, masking.record(INTENT, intent))


@dataclass(frozen=True)
class Abandoned:
    path: Path  # the .partial folder
    run_id: str
    alive: bool  # the repro process that owns it still runs on this host
    captured: bool  # pytest was about to start or running: there is something to keep
    # pytest runs in its own session and outlives a SIGKILLed repro: while it runs (a hung
    # test runs forever, with nobody left to time it out) the run is not over. Its pid,
    # which is also its process group's id, else None.
    pytest_pid: int | None = None


_STAGING = re.compile(r"\.\d{8}T\d{6}Z-[0-9a-f]+\.partial")


def is_staging(path: Path) -> bool:
    """`runs/.<run_id>.partial`, as runner._prepare names a run before it is finished."""
    return bool(_STAGING.fullmatch(path.name)) and path.resolve().parent.name == "runs"


def inspect(partial: Path) -> Abandoned:
    name = partial.name
    run_id = name[1 : -len(".partial")] if name.startswith(".") else name
    try:
        intent = json.loads((partial / INTENT).read_bytes())
    except (OSError, ValueError):
        # Died before the intent was written: nothing ran, only empty folders are there.
        return Abandoned(partial, run_id, False, False)
    here = intent.get("host") == host()
    alive = here and platforms.pid_alive(int(intent.get("pid", 0)))
    pytest_pid = _pytest_pid(partial) if here else None
    if pytest_pid is not None and not platforms.pid_alive(pytest_pid):
        pytest_pid = None
    return Abandoned(partial, str(intent.get("run_id", run_id)), alive, True, pytest_pid)


def _pytest_pid(partial: Path) -> int | None:
    """The pid the plugin's `session` event (the stream's first line) recorded."""
    from repro.runner import RAW_EVENTS

    try:
        with open(partial / RAW_EVENTS, "rb") as fh:
            first = json.loads(fh.readline(1 << 20))
    except (OSError, ValueError):
        return None
    pid = first.get("pid") if isinstance(first, dict) and first.get("ev") == "session" else None
    return pid if isinstance(pid, int) and pid > 0 else None


def still_running(info: Abandoned) -> str:
    """Why a run whose repro died cannot be salvaged yet: its pytest still runs."""
    return (
        f"run {info.run_id}: repro died but its pytest (pid {info.pytest_pid}) still runs; "
        f"stop it with `kill -- -{info.pytest_pid}` (its process group) or let it finish, "
        "then salvage (--force salvages now what it wrote so far)"
    )


def find(outputs: Path) -> list[Abandoned]:
    """Staged runs whose repro process is gone (running ones are left alone)."""
    runs = Path(outputs) / "runs"
    if not runs.is_dir():
        return []
    found = [inspect(p) for p in sorted(runs.glob(".*.partial")) if is_staging(p)]
    return [a for a in found if not a.alive]


@dataclass(frozen=True)
class SalvageResult:
    run_id: str
    run_dir: Path | None  # None: nothing had been captured, the staging folder was removed
    counts: dict[str, int]
    in_flight: str | None
    missing: tuple[str, ...]


def salvage(partial: Path, *, outputs: Path, force: bool = False) -> SalvageResult:
    partial = Path(partial)
    if not partial.is_dir():
        raise UsageError(f"not a run folder: {partial}", hint="pass outputs/runs/.<run_id>.partial")
    # A staging folder with no intent record is removed below, whole: anything but a
    # staging folder (`repro salvage .`, a finished run) must be refused before that.
    if not is_staging(partial):
        raise UsageError(
            f"not the staging folder of an unfinished run: {partial}",
            hint="pass outputs/runs/.<run_id>.partial; a finished run is packed with `repro pack`",
        )
    info = inspect(partial)
    if info.alive and not force:
        raise UsageError(
            f"run {info.run_id} is still running (its repro process is alive)",
            hint="wait for it, or pass --force if that process is not repro",
        )
    if info.pytest_pid is not None and not force:
        raise UsageError(still_running(info))
    if not info.captured:
        shutil.rmtree(partial)
        return SalvageResult(info.run_id, None, {}, None, ("repro died before the run started",))
    intent = json.loads((partial / INTENT).read_bytes())
    masking = mask.for_run(os.environ, enabled=bool(intent.get("mask", True)))
    missing = _fill(partial, intent, masking)
    res = _results(partial, masking)
    _write_records(partial, intent, masking, res, missing)
    run_dir = partial.with_name(info.run_id)
    try:
        os.replace(partial, run_dir)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot finish {run_dir}: {exc.strerror}") from exc
    ledger.append(outputs, "salvaged", run_id=info.run_id, status=STATUS)
    return SalvageResult(info.run_id, run_dir, res.counts, res.in_flight, tuple(missing))


def _fill(partial: Path, intent: dict[str, Any], masking: mask.RunMasking) -> list[str]:
    """Mask the logs again and supply what the run had not written yet."""
    from repro.runner import LOG_FILES, copy_schemas

    missing = [
        "exit code and signal: repro died, so nobody waited for pytest",
        "end time: the last time any file of the run changed",
        f"up to {masking.masker.carry if masking.masker else 0} bytes at the end of each "
        "log: held back for masking when repro died",
    ]
    for rel in LOG_FILES:
        path = partial / rel
        if path.is_file():
            if masking.masker is not None:
                mask.mask_file(path, masking.masker, masking.counts.setdefault(rel, Counter()))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            missing.append(f"{rel}: repro died before capture began (empty)")
    if not (partial / "schemas").is_dir():
        copy_schemas(partial / "schemas")
    if not (partial / "env.json").is_file():
        _collect_env(partial, intent, masking)
        missing.append("env.json: collected at salvage time (repro died before writing it)")
    return missing


def _collect_env(partial: Path, intent: dict[str, Any], masking: mask.RunMasking) -> None:
    from repro import envinfo

    probe = envinfo.probe_interpreter(intent["python"])
    record = envinfo.collect(probe=probe, git=None, environ=os.environ)
    write_json(partial / "env.json", records.validate(masking.record("env.json", record), "env"))


def _results(partial: Path, masking: mask.RunMasking) -> results.TestResults:
    """results.jsonl and junit.xml rebuilt from the raw event stream, masked."""
    from repro.runner import RAW_EVENTS

    raw = partial / RAW_EVENTS
    out = partial / "results/results.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in (out, partial / "results/junit.xml", partial / "results/junit.xml.part"):
        stale.unlink(missing_ok=True)
    writer = junit.JUnitWriter(partial / "results/junit.xml")
    if raw.is_file():
        follower = results.Follower(
            raw,
            results.EventParser(writer.event),
            copy_to=out,
            transform=lambda block: masking.data("results/results.jsonl", block),
        )
        res = follower.read_once()  # the writer is dead: one pass over what is there
        raw.unlink()
    else:
        out.touch()
        res = results.TestResults()
    out.touch()
    writer.close(res.in_flight, "repro died while this test ran", time.time())
    return res


def _ended(partial: Path) -> float:
    return max(p.stat().st_mtime for p in partial.rglob("*") if p.is_file())


def _write_records(
    partial: Path,
    intent: dict[str, Any],
    masking: mask.RunMasking,
    res: results.TestResults,
    missing: list[str],
) -> None:
    from repro.runner import LOG_FILES, RESULT_FILES, pytest_record, results_fields

    ended = _ended(partial)
    started = float(intent["started"])
    files = {}
    for rel in (*LOG_FILES, *RESULT_FILES):
        if (partial / rel).is_file():  # no junit.xml when no session started, as in a run
            digest, size = sha256_file(partial / rel)
            files[rel] = {"size": size, "sha256": digest}
    reason = "repro died" + (f" while {res.in_flight} ran" if res.in_flight else "")
    metadata = records.validate(
        {
            "schema": "run_metadata",
            "schema_version": 1,
            "run_id": intent["run_id"],
            "repro_argv": intent["repro_argv"],
            "argv": intent["argv"],
            "cwd": intent["cwd"],
            "python": intent["python"],
            "options": intent.get("options", {}),
            "pytest": pytest_record(res, partial),
            "python_ran": {
                "probe": intent.get("python_version") or "unknown",
                "pytest": res.python,
                "executable": res.executable,
            },
            "seeds": intent["seeds"],
            "started": records.utc_iso(started),
            "ended": records.utc_iso(max(ended, started)),
            "duration_seconds": round(max(0.0, ended - started), 6),
            "exit_code": None,
            "signal": None,
            "status": STATUS,
            "status_reason": f"{reason}; salvaged by repro salvage",
            **results_fields(res),
            "timeout": intent["timeout"],
            "kill_sequence": [],
            "group_cleanup": [],
            "output_abandoned": False,
            "files": files,
            "drift": None,
            "redactions": [],
            "salvage": {"salvaged": records.utc_iso(time.time()), "missing": missing},
            "masking": masking.summary(),
        },
        "run_metadata",
    )
    meta_bytes = write_json(partial / "run_metadata.json", metadata)
    env = json.loads((partial / "env.json").read_bytes())
    lock_info = None
    if (partial / "requirements.lock").is_file():
        text = (partial / "requirements.lock").read_text()
        kind = "pip-compile" if "--hash=sha256:" in text else "snapshot"
        if (partial / "lock.json").is_file():
            kind = json.loads((partial / "lock.json").read_bytes())["kind"]
        lock_info = {
            "path": "requirements.lock",
            "kind": kind,
            "sha256": sha256_file(partial / "requirements.lock")[0],
        }
    recs = {
        "env.json": sha256_file(partial / "env.json")[0],
        "run_metadata.json": hashlib.sha256(meta_bytes).hexdigest(),
    }
    if (partial / "lock.json").is_file():
        recs["lock.json"] = sha256_file(partial / "lock.json")[0]
    git = env.get("git")
    stamp = {
        "schema": "run_stamp",
        "schema_version": 1,
        "run_id": intent["run_id"],
        "repro_version": __version__,
        "created": records.utc_iso(started),
        "git": {"commit": git["commit"], "dirty": git["dirty"]} if git else None,
        "command": intent["repro_argv"] or intent["argv"],
        "status": STATUS,
        "exit_code": None,
        "lock": lock_info,
        "records": recs,
    }
    write_json(partial / "run_stamp.json", records.validate(stamp, "run_stamp"))
    (partial / INTENT).unlink()
