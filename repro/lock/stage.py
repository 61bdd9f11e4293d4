"""The lock stage: choose inputs, resolve (or reuse), guard what is there, write.

The lock's record (`<lock>.json`) says which kind of lock it is, what it was
made from and why, and a fingerprint of those inputs so that an unchanged
project reuses its lock instead of resolving again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro import envinfo, records
from repro.errors import LockError
from repro.fsutil import write_bytes, write_json
from repro.lock import guard
from repro.lock.compile import portable, regenerate_command, run_pip_compile
from repro.lock.drift import parse_lock
from repro.lock.inputs import Selection, select
from repro.lock.pylock import PYLOCK, write_pylock
from repro.progress import Reporter, silent
from repro.redact import strip_url_credentials

DEFAULT_LOCK = "requirements.lock"


@dataclass(frozen=True)
class LockOptions:
    project: Path
    output: Path | None = None  # default: <project>/requirements.lock
    inputs: tuple[Path, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    upgrade: bool = False
    build_isolation: bool = True
    require_hashes: bool = False
    force: bool = False  # replace a lock repro did not write, or a hashed one by a snapshot
    pylock: bool = False  # also write pylock.toml (PEP 751) with `pip lock`
    index_timeout: float = 5.0  # seconds to decide that no index answers
    compile_timeout: float = 600.0
    python: str = sys.executable

    @property
    def lock_path(self) -> Path:
        return self.output or self.project / DEFAULT_LOCK


@dataclass(frozen=True)
class LockResult:
    path: Path
    record_path: Path
    kind: str  # pip-compile | snapshot
    reason: str | None
    source: str  # what was locked, in words
    reused: bool
    packages: int
    unhashable: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...] = field(default=())
    record: dict[str, Any] = field(default_factory=dict)


def find_inputs(opts: LockOptions) -> Selection:
    """The inputs the default rule (or the options) choose for this project."""
    return select(opts.project, opts.inputs, opts.extras, opts.all_extras, opts.groups)


# --- fingerprint ------------------------------------------------------------


def _version(dist: str) -> str | None:
    """Version of a distribution installed beside repro (pip, pip-tools)."""
    found = _dist_info_version(dist)
    if found is not None:
        return found
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _dist_info_version(dist: str) -> str | None:
    """`metadata.version(dist)` read the way importlib.metadata finds it (the first folder
    of sys.path holding a dist-info or egg-info of that name, in listing order), for the
    plain case only: a dist-info whose METADATA has a one-line Version header. None
    otherwise, and importlib.metadata answers. Importing it (email, zipfile, csv) was
    ~12 ms of CPU of every `repro bundle` with a lock, for the fingerprint's pip-tools."""
    want = re.sub(r"[-_.]+", "_", dist).lower()
    for entry in sys.path:
        try:
            children = os.listdir(entry or ".")
        except OSError:
            if os.path.exists(entry or "."):  # a zip on sys.path: importlib.metadata's case
                return None
            continue
        for child in children:
            low = child.lower()
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            if re.sub(r"[-_.]+", "_", low.rpartition(".")[0].partition("-")[0]) != want:
                continue
            if not low.endswith(".dist-info"):
                return None
            return _version_header(Path(entry or ".", child, "METADATA"))
    return None


def _version_header(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip() or "\r" in line:
            return None  # the end of the headers, or line ends the email parser reads its way
        if line.startswith("Version:"):
            folded = i + 1 < len(lines) and lines[i + 1][:1] in (" ", "\t")
            return None if folded else line[len("Version:") :].strip()
    return None


def fingerprint(opts: LockOptions, sel: Selection, snapshot: Sequence[str]) -> str:
    h = hashlib.sha256()
    parts: dict[str, Any] = {
        "inputs": [
            [portable(p, opts.project), hashlib.sha256(p.read_bytes()).hexdigest()]
            for p in sel.files
        ],
        "snapshot": list(snapshot),
        "extras": sorted(sel.extras),
        "all_extras": sel.all_extras,
        "groups": list(sel.groups),
        "index": [strip_url_credentials(u) for u in (opts.index_url or "", *opts.extra_index_urls)],
        "find_links": list(opts.find_links),
        "no_index": opts.no_index,
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "pip_tools": _version("pip-tools"),
    }
    h.update(json.dumps(parts, sort_keys=True).encode())
    return h.hexdigest()


# --- pip-compile ------------------------------------------------------------


def _index_reachable(opts: LockOptions, env: Mapping[str, str]) -> str | None:
    """None if an index (or find-links) can answer; else the reason it cannot."""
    if opts.no_index:
        return None if opts.find_links else "--no-index without --find-links"
    url = opts.index_url or env.get("PIP_INDEX_URL") or "https://pypi.org/simple/"
    if url.startswith("file:"):
        return None
    import urllib.error  # with ssl and http.client: only when a lock needs the network
    import urllib.request

    try:
        req = urllib.request.Request(url, method="HEAD")
        urllib.request.urlopen(req, timeout=opts.index_timeout).close()
    except urllib.error.HTTPError:
        return None  # it answered, even if with 401/404: pip will report properly
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"no package index answered at {strip_url_credentials(url)} ({reason})"
    return None


# --- snapshot ---------------------------------------------------------------


def installed_snapshot(
    packages: Iterable[dict[str, Any]],
) -> tuple[list[str], list[dict[str, Any]]]:
    """`name==version` for what pip can fetch again; the rest (editable, VCS, local) listed."""
    pins, unhashable = [], []
    for pkg in packages:
        direct = pkg.get("direct_url")
        if direct is not None:
            item = {"name": pkg["name"], "version": pkg["version"], "direct_url": direct}
            unhashable.append(item)
        else:
            pins.append(f"{pkg['name']}=={pkg['version']}")
    return sorted(pins, key=str.lower), unhashable


def _installed(python: str, probe: envinfo.Probe | None) -> list[dict[str, Any]]:
    found = probe.result() if probe is not None else envinfo.probe_interpreter(python)
    packages: list[dict[str, Any]] = found["packages"]
    return packages


def _snapshot_text(pins: Sequence[str], reason: str, command: str) -> bytes:
    header = [
        "# This file was generated by repro as an exact snapshot of the installed environment,",
        "# WITHOUT hashes, because a hashed lock could not be made:",
        f"#   {reason}",
        f"# To regenerate: {command}",
        "",
    ]
    return ("\n".join(header + list(pins)) + "\n").encode()


# --- the stage --------------------------------------------------------------


def lock(
    opts: LockOptions,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Reporter = silent,
    probe: envinfo.Probe | None = None,
) -> LockResult:
    """Write (or reuse) the lock and its record. `probe`: one of `opts.python` already
    started (`repro bundle`'s, which its run reads too: the interpreter is probed once)."""
    environ = dict(os.environ if environ is None else environ)
    sel = find_inputs(opts)
    snapshot, unhashable = installed_snapshot(
        _installed(opts.python, probe) if sel.installed_env else []
    )
    fp = fingerprint(opts, sel, snapshot)
    out, record_path = opts.lock_path, opts.lock_path.with_name(opts.lock_path.name + ".json")
    guard.check_not_input((out, record_path), sel.files)
    if not opts.upgrade:
        reused = _reusable(out, record_path, fp)
        if reused is not None:
            extra: list[str] = []
            if opts.pylock and not out.with_name(PYLOCK).is_file():
                extra = write_pylock(opts, sel, snapshot, environ)
            return _result(out, record_path, reused, sel.source, True, tuple(extra))
    # Refuse early, before a resolve that may take minutes, when the file is not ours.
    guard.check_replace(out, record_path, hashed=True, reason=None, force=opts.force)
    made = _make(opts, sel, snapshot, unhashable, environ, progress, probe)
    record = _record(opts, sel, fp, made)
    write_bytes(out, made.text)
    write_json(record_path, record)
    warnings = list(made.warnings)
    if opts.pylock:
        warnings += write_pylock(opts, sel, made.snapshot, environ)
    return _result(out, record_path, record, sel.source, False, tuple(warnings))


@dataclass(frozen=True)
class _Made:
    text: bytes
    kind: str
    reason: str | None
    snapshot: tuple[str, ...]
    unhashable: list[dict[str, Any]]
    warnings: tuple[str, ...]


def _make(
    opts: LockOptions,
    sel: Selection,
    snapshot: list[str],
    unhashable: list[dict[str, Any]],
    environ: dict[str, str],
    progress: Reporter,
    probe: envinfo.Probe | None,
) -> _Made:
    """The lock's bytes: pip-compile's, or a snapshot where that is allowed to replace
    what is there."""
    with progress("checking the package index"):
        reason = _index_reachable(opts, environ)
    if reason is None:
        with progress("resolving the lock (pip-tools)"):
            text, reason = run_pip_compile(opts, sel, snapshot, environ)
        if text is not None:
            return _Made(text, "pip-compile", None, tuple(snapshot), unhashable, ())
    if opts.require_hashes:
        raise LockError(
            f"cannot make a hashed lock: {reason}",
            hint="check the index options, or drop --require-hashes",
        )
    out = opts.lock_path
    guard.check_replace(
        out, out.with_name(out.name + ".json"), hashed=False, reason=reason, force=opts.force
    )
    if not sel.installed_env:
        snapshot, unhashable = installed_snapshot(_installed(opts.python, probe))
    command = shlex.join(regenerate_command(opts, sel))
    warning = (
        f"{reason}; wrote an unhashed snapshot of the installed environment "
        "instead: a bundle cannot be rebuilt exactly from this lock"
    )
    return _Made(
        _snapshot_text(snapshot, reason or "", command),
        "snapshot",
        reason,
        tuple(snapshot),
        unhashable,
        (warning,),
    )


def _record(opts: LockOptions, sel: Selection, fp: str, made: _Made) -> dict[str, Any]:
    return records.validate(
        {
            "schema": "lock",
            "schema_version": 1,
            "kind": made.kind,
            "reason": made.reason,
            "inputs": [portable(p, opts.project) for p in sel.files] or ["<installed environment>"],
            "extras": list(sel.extras),
            "all_extras": sel.all_extras,
            "groups": list(sel.groups),
            "selected_by": sel.why,
            "fingerprint": fp,
            "created": records.utc_iso(time.time()),
            "command": regenerate_command(opts, sel),
            "tools": {
                "pip-tools": _version("pip-tools"),
                "pip": _version("pip"),
                "python": sys.version.split()[0],
            },
            "packages": len(parse_lock(made.text.decode())),
            "hashed": made.kind == "pip-compile",
            "sha256": hashlib.sha256(made.text).hexdigest(),
            "unhashable": made.unhashable,
        },
        "lock",
    )


def _reusable(out: Path, record_path: Path, fp: str) -> dict[str, Any] | None:
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        isinstance(record, dict)
        and record.get("fingerprint") == fp
        and record.get("kind") == "pip-compile"
        and out.is_file()
        and guard.written_by_repro(out, record_path)
    ):
        return record
    return None


def _result(
    out: Path,
    record_path: Path,
    record: dict[str, Any],
    source: str,
    reused: bool,
    warnings: tuple[str, ...],
) -> LockResult:
    return LockResult(
        path=out,
        record_path=record_path,
        kind=record["kind"],
        reason=record.get("reason"),
        source=source,
        reused=reused,
        packages=record["packages"],
        unhashable=tuple(record["unhashable"]),
        warnings=warnings,
        record=record,
    )
