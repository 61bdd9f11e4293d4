"""`repro run`: one run of the suite into a new run folder, with every record.

The folder is built under a hidden staging name and renamed into place only
once every record has been validated and written, so `outputs/runs/` never
holds a half-made run; `outputs/latest` then points at it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from repro import (
    __version__,
    capture,
    codestate,
    envinfo,
    junit,
    layout,
    ledger,
    logtidy,
    mask,
    platforms,
    records,
    results,
)
from repro.errors import EXIT_TERMINATED, EnvironmentProblem, UsageError
from repro.fsutil import sha256_file, write_json
from repro.lock import DRIFT_IGNORE, compare
from repro.lock.drift import REPRO_DIST
from repro.model import LockRecord
from repro.progress import Reporter, silent
from repro.redact import DEFAULT_ENV_ALLOW
from repro.status import classify, exit_code_for

PLUGIN_DIR = Path(__file__).resolve().parent / "_pytest_plugin"
PLUGIN_NAME = "repro_results_plugin"
LOG_FILES = layout.LOG_FILES
RESULT_FILES = layout.RESULT_FILES
# What the plugin writes, unmasked; results.jsonl is its masked copy. Removed once
# the run is complete; `repro salvage` masks it into results.jsonl after a crash.
RAW_EVENTS = "results/.events.jsonl"


@dataclass(frozen=True)
class RunOptions:
    project: Path
    outputs: Path
    python: str = sys.executable
    pytest_args: tuple[str, ...] = ()
    policy: capture.StopPolicy = field(default_factory=capture.StopPolicy)
    lock_path: Path | None = None  # a lock to include (and check for drift)
    env_allow: tuple[str, ...] = DEFAULT_ENV_ALLOW
    drift_ignore: tuple[str, ...] = DRIFT_IGNORE
    redact: tuple[str, ...] = ()
    repro_argv: tuple[str, ...] = ()
    mask: bool = True
    echo_out: IO[bytes] | None = None
    echo_err: IO[bytes] | None = None
    environ: Mapping[str, str] | None = None
    # Every effective option with where its value came from (command line,
    # [tool.repro], environment, default): what was configured, for the record.
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    status_reason: str
    exit_code: int  # what `repro run` exits with
    pytest_exit_code: int | None
    signal: str | None
    counts: dict[str, int]
    in_flight: str | None
    drift: tuple[dict[str, Any], ...]
    started: float
    ended: float
    warnings: tuple[str, ...] = field(default=())


def new_run_id(now: float | None = None) -> str:
    """UTC time to the second plus 24 random bits: sortable, unique under concurrency."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(3)}"


def _prepare(outputs: Path) -> tuple[str, Path]:
    """A fresh run_id and its staging folder. mkdir is the arbiter between concurrent
    runs: whoever creates the folder owns the id; a loser draws another suffix."""
    runs = outputs / "runs"
    try:
        runs.mkdir(parents=True, exist_ok=True)
        while True:
            run_id = new_run_id()
            staging = runs / f".{run_id}.partial"
            if (runs / run_id).exists():
                continue
            try:
                staging.mkdir()
            except FileExistsError:
                continue
            (staging / "logs").mkdir()
            (staging / "results").mkdir()
            return run_id, staging
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot create the run folder in {outputs}: {exc.strerror}",
            hint="make it writable or pass --outputs DIR",
        ) from exc


def _pytest_argv(opts: RunOptions, staging: Path) -> list[str]:
    return [
        opts.python,
        "-m",
        "pytest",
        "-p",
        PLUGIN_NAME,
        f"--repro-results={staging / RAW_EVENTS}",
        *opts.pytest_args,
    ]


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    # The plugin comes from its own folder, not from repro's site-packages: only
    # the plugin becomes importable, nothing of repro's environment leaks in.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_DIR), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # A signing key's passphrase is never handed to the code under test (docs/attestation.md).
    env.pop("REPRO_KEY_PASSPHRASE", None)
    return env


def run(
    opts: RunOptions,
    *,
    on_start: Callable[[str, float], None] | None = None,
    progress: Reporter = silent,
    probe: envinfo.Probe | None = None,
) -> RunResult:
    """`probe`: one of `opts.python` started by the caller (`repro bundle` starts it
    before its preflight and lock); with a lock it must have asked for repro's closure."""
    environ = os.environ if opts.environ is None else opts.environ
    # pytest runs in the project folder and is handed paths under outputs/: a relative
    # outputs (`repro replay` from the clone: REPO/outputs with REPO ".") would name a
    # folder under the project, or none at all.
    opts = replace(opts, outputs=Path(os.path.abspath(opts.outputs)))
    project = opts.project.resolve()
    if not project.is_dir():
        raise UsageError(f"project folder not found: {opts.project}")
    # With a lock, drift needs repro's closure in the test interpreter: the same child.
    closure_of = REPRO_DIST if opts.lock_path is not None else None
    if probe is None or probe.closure_of != closure_of:
        probe = envinfo.Probe(opts.python, closure_of)
    try:
        # The checkout's state is taken before the run: what ran, not what it left behind.
        # Read while the probe's child runs.
        git = envinfo.git_info(project, exclude=[opts.outputs])
        with progress("probing the test interpreter"):
            found = probe.result()
    finally:
        probe.close()
    pytest_pkg = next((p for p in found["packages"] if p["name"].lower() == "pytest"), None)
    if pytest_pkg is None:
        raise EnvironmentProblem(
            f"pytest is not installed for {opts.python}",
            hint=f"install it with: {opts.python} -m pip install pytest",
        )
    run_id, staging = _prepare(opts.outputs)
    try:
        code = codestate.capture(project, staging, exclude=[opts.outputs])
        return _run_into(opts, project, environ, found, git, code, run_id, staging, on_start)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(Exception):  # the disk may be full: the error says so
            ledger.append(opts.outputs, "end", run_id=run_id, status="discarded", reason=str(exc))
        raise
    # Anything else (Ctrl-C inside repro itself, not the suite's) leaves the staging
    # folder: what was captured stays salvageable, as after a SIGKILL.


def _run_into(
    opts: RunOptions,
    project: Path,
    environ: Mapping[str, str],
    probe: dict[str, Any],
    git: dict[str, Any] | None,
    code: dict[str, Any],
    run_id: str,
    staging: Path,
    on_start: Callable[[str, float], None] | None,
) -> RunResult:
    argv = _pytest_argv(opts, staging)
    masking = mask.for_run(environ, enabled=opts.mask)
    from repro import salvage

    salvage.write_intent(staging, opts, run_id, argv, masking, probe["python"]["version"])
    lock_info, lock_drift, tooling, env_record, env_bytes = _records_before(
        opts, staging, environ, probe, git, code, masking
    )
    ledger.append(opts.outputs, "start", run_id=run_id, pid=os.getpid(), host=salvage.host())
    if on_start is not None:
        on_start(run_id, time.time())
    junit_xml = junit.JUnitWriter(staging / "results/junit.xml")
    follower = results.Follower(
        staging / RAW_EVENTS,
        results.EventParser(junit_xml.event),
        copy_to=staging / "results/results.jsonl",
        transform=lambda block: masking.data("results/results.jsonl", block),
    ).start()
    try:
        cap = capture.run_captured(
            argv,
            cwd=project,
            env=child_env(environ),
            logs_dir=staging / "logs",
            policy=opts.policy,
            echo_out=opts.echo_out,
            echo_err=opts.echo_err,
            masking=masking,
        )
    finally:
        res = follower.finish()
    (staging / RAW_EVENTS).unlink(missing_ok=True)
    status, reason = classify(cap, res)
    junit_xml.close(res.in_flight, f"the run ended while this test ran: {reason}", cap.ended)
    warnings: list[str] = []

    logtidy.strip_colour(staging / "logs")
    redactions = _redact_logs(staging, opts.redact) if opts.redact else []
    if lock_drift:
        warnings.append(
            f"the environment differs from {opts.lock_path and opts.lock_path.name} in "
            f"{len(lock_drift)} package(s): " + ", ".join(d["name"] for d in lock_drift[:5])
        )

    # pytest may die before the plugin loads; the record still names an (empty) file.
    (staging / "results/results.jsonl").touch()
    files = {}
    for rel in (*LOG_FILES, *RESULT_FILES):
        if (staging / rel).is_file():
            digest, size = sha256_file(staging / rel)
            files[rel] = {"size": size, "sha256": digest}
    log_digests = {r[len("logs/") :]: str(f["sha256"]) for r, f in files.items() if "logs/" in r}
    logtidy.share_identical(staging / "logs", log_digests)

    counts = res.counts
    metadata = records.validate(
        masking.record(
            "run_metadata.json",
            {
                "schema": "run_metadata",
                "schema_version": 1,
                "run_id": run_id,
                "repro_argv": list(opts.repro_argv),
                "argv": [a.replace(str(staging), "<run>") for a in argv],
                "cwd": str(project),
                "python": opts.python,
                "options": dict(opts.options),
                "pytest": pytest_record(res, staging),
                "python_ran": {
                    "probe": probe["python"]["version"],
                    "pytest": res.python,
                    "executable": res.executable,
                },
                "seeds": _seeds(environ, res),
                "started": records.utc_iso(cap.started),
                "ended": records.utc_iso(cap.ended),
                "duration_seconds": round(cap.duration, 6),
                "exit_code": cap.returncode,
                "signal": cap.signal,
                "status": status,
                "status_reason": reason,
                **results_fields(res),
                "timeout": {
                    "seconds": opts.policy.timeout,
                    "grace": opts.policy.grace,
                    "term_grace": opts.policy.term_grace,
                },
                "kill_sequence": [vars(s) for s in cap.kill_sequence],
                "group_cleanup": [vars(s) for s in cap.group_cleanup],
                "output_abandoned": cap.output_abandoned,
                "capture_backend": cap.backend,
                "files": files,
                "drift": lock_drift,
                "tooling": tooling,
                "redactions": redactions,
            },
        )
        | {"masking": masking.summary()},
        "run_metadata",
    )
    meta_bytes = write_json(staging / "run_metadata.json", metadata)

    git = env_record["git"]
    stamp = records.validate(
        {
            "schema": "run_stamp",
            "schema_version": 1,
            "run_id": run_id,
            "repro_version": __version__,
            "created": records.utc_iso(cap.started),
            "git": {"commit": git["commit"], "dirty": git["dirty"]} if git else None,
            "command": masking.record("run_stamp.json", list(opts.repro_argv)) or metadata["argv"],
            "status": status,
            "exit_code": cap.returncode,
            "lock": lock_info,
            "records": {
                "env.json": hashlib.sha256(env_bytes).hexdigest(),
                "run_metadata.json": hashlib.sha256(meta_bytes).hexdigest(),
                **(
                    {"lock.json": sha256_file(staging / "lock.json")[0]}
                    if (staging / "lock.json").is_file()
                    else {}
                ),
            },
        },
        "run_stamp",
    )
    write_json(staging / "run_stamp.json", stamp)
    (staging / salvage.INTENT).unlink()

    run_dir = staging.with_name(run_id)
    try:
        os.replace(staging, run_dir)
        platforms.point_latest(opts.outputs, run_dir)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot finish the run folder {run_dir}: {exc.strerror}") from exc
    ledger.append(opts.outputs, "end", run_id=run_id, status=status)
    if git is None:
        warnings.append(f"{project} is not a git checkout: the records name no commit")
    return RunResult(
        run_id=run_id,
        run_dir=run_dir,
        status=status,
        status_reason=reason,
        exit_code=EXIT_TERMINATED if cap.terminated else exit_code_for(status),
        pytest_exit_code=cap.returncode,
        signal=cap.signal,
        counts=counts,
        in_flight=res.in_flight,
        drift=tuple(lock_drift or ()),
        started=cap.started,
        ended=cap.ended,
        warnings=tuple(warnings),
    )


def _records_before(
    opts: RunOptions,
    staging: Path,
    environ: Mapping[str, str],
    probe: dict[str, Any],
    git: dict[str, Any] | None,
    code: dict[str, Any],
    masking: mask.RunMasking,
) -> tuple[
    dict[str, str] | None,
    list[dict[str, Any]] | None,
    list[dict[str, Any]] | None,
    dict[str, Any],
    bytes,
]:
    """The records known before pytest starts (lock, schemas, env.json), written first so
    that a run whose repro process dies still has them for `repro salvage`."""
    lock_info, lock_drift, tooling = None, None, None
    if opts.lock_path is not None and opts.lock_path.is_file():
        lock_info, lock_drift, tooling = _include_lock(opts, staging, probe)
    copy_schemas(staging / "schemas")
    env = envinfo.collect(
        probe=probe, git=git, environ=environ, env_allow=opts.env_allow, code=code
    )
    env_record = records.validate(masking.record("env.json", env), "env")
    env_bytes = write_json(staging / "env.json", env_record)
    return lock_info, lock_drift, tooling, env_record, env_bytes


def results_fields(res: results.TestResults) -> dict[str, Any]:
    """What run_metadata.json says of the tests, from the results stream: the run and
    `repro salvage` write it alike."""
    return {
        "counts": res.counts,
        "counts_source": res.counts_source,
        "tests_total": len(res.outcomes),
        "collected": res.collected,
        "collection": res.collection,
        "crashed_workers": list(res.crashed_workers),
        "order": list(res.order),
        "in_flight": res.in_flight,
        "collect_errors": list(res.collect_errors),
    }


def _seeds(environ: Mapping[str, str], res: results.TestResults) -> dict[str, str | None]:
    """What a replay needs to run the tests in the same order with the same randomness."""
    seeds: dict[str, str | None] = {"PYTHONHASHSEED": environ.get("PYTHONHASHSEED")}
    seed = (res.config or {}).get("randomly_seed")
    if type(seed) is int:
        seeds["pytest-randomly"] = str(seed)
    return seeds


def pytest_record(res: results.TestResults, staging: Path) -> dict[str, Any]:
    """pytest as it ran: version, plugins, and its configuration as it resolved it."""
    record: dict[str, Any] = {
        "version": res.pytest_version,
        "plugins": list(res.plugins),
        "results_format": res.format,
    }
    if res.config is not None:
        config = dict(res.config)
        args = config.get("args")
        if isinstance(args, list):
            config["args"] = [str(a).replace(str(staging), "<run>") for a in args]
        record["config"] = config
    return record


def _include_lock(
    opts: RunOptions, staging: Path, probe: dict[str, Any]
) -> tuple[dict[str, str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Copy the lock (and its record, and pylock.toml) into the run; compare it with
    what the test interpreter has installed: (lock info, drift, tooling)."""
    assert opts.lock_path is not None
    lock_path = opts.lock_path
    shutil.copyfile(lock_path, staging / layout.LOCK_FILE)
    pylock = lock_path.with_name(layout.PYLOCK)
    if pylock.is_file():
        shutil.copyfile(pylock, staging / layout.PYLOCK)
    lock_record = lock_path.with_name(lock_path.name + ".json")
    text = lock_path.read_text(encoding="utf-8")
    # A lock made without repro has no record: its hashes say which kind it is.
    kind = "pip-compile" if "--hash=sha256:" in text else "snapshot"
    record = _lock_record(lock_record)
    if record is not None:
        shutil.copyfile(lock_record, staging / layout.LOCK_RECORD)
        kind = LockRecord.from_json(record).kind.value
    info = {
        "path": layout.LOCK_FILE,
        "kind": kind,
        "sha256": sha256_file(staging / layout.LOCK_FILE)[0],
    }
    found, tooling = compare(
        text,
        probe["packages"],
        project=opts.project,
        repro_closure=probe.get("closure", ()),
        ignore=opts.drift_ignore,
    )
    return info, found, tooling


def _lock_record(path: Path) -> dict[str, Any] | None:
    """The lock's record if it is there and valid; an edited or foreign one is left out
    of the run rather than shipped for the verifier to reject."""
    import json

    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if not records.schema_errors(record, "lock") else None


def copy_schemas(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in records.SCHEMA_NAMES:
        shutil.copyfile(records.schema_dir() / f"{name}.schema.json", dest / f"{name}.schema.json")


def _redact_logs(staging: Path, patterns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Mask matches of each pattern in the captured logs, in place, in bounded memory.

    Logs are processed a line at a time (a line longer than 1 MiB is cut into
    1 MiB pieces; a match spanning such a cut is not masked).
    """
    from repro.redact import compile_patterns

    compiled = compile_patterns(patterns)
    total = [0] * len(compiled)
    for rel in (*LOG_FILES, "results/results.jsonl", "results/junit.xml"):
        path = staging / rel
        if not path.is_file():
            continue
        tmp = path.with_name(path.name + ".redacting")
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            while line := src.readline(1 << 20):
                for i, rx in enumerate(compiled):
                    line, n = rx.subn(b"[REDACTED]", line)
                    total[i] += n
                dst.write(line)
        os.replace(tmp, path)
    return [{"pattern": p, "count": n} for p, n in zip(patterns, total, strict=True)]
