"""requirements.lock: pip-tools with hashes, an installed-environment fallback, and drift.

pip-tools always runs as a subprocess (`python -m piptools compile`); its
internals are not a stable API. The lock's record (`<lock>.json`) says which
kind of lock it is, what it was made from, and a fingerprint of those inputs
so that an unchanged project reuses its lock instead of resolving again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro import envinfo, records
from repro.config import parse_toml, read_toml
from repro.errors import LockError, UsageError
from repro.fsutil import write_bytes, write_json
from repro.progress import Reporter, silent
from repro.redact import strip_url_credentials

DEFAULT_LOCK = "requirements.lock"
DRIFT_IGNORE = ("pip", "setuptools", "wheel", "distribute", "repro-bundle")


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


# --- what to lock -----------------------------------------------------------


def _group_requirements(
    pyproject: dict[str, Any], group: str, seen: tuple[str, ...] = ()
) -> list[str]:
    """PEP 735 dependency groups, with `{include-group = ...}` expanded."""
    groups = pyproject.get("dependency-groups", {})
    if group not in groups:
        raise UsageError(
            f"pyproject.toml has no dependency group {group!r}",
            hint=f"known groups: {', '.join(sorted(groups)) or 'none'}",
        )
    if group in seen:
        raise UsageError(f"dependency group {group!r} includes itself")
    out: list[str] = []
    for item in groups[group]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and "include-group" in item:
            out += _group_requirements(pyproject, item["include-group"], (*seen, group))
    return out


def find_inputs(opts: LockOptions) -> tuple[list[Path], str]:
    """The files pip-compile should read, and a phrase naming them; [] means the installed env."""
    if opts.inputs:
        missing = [p for p in opts.inputs if not p.is_file()]
        if missing:
            raise UsageError(f"lock input not found: {missing[0]}")
        return list(opts.inputs), "--input " + " ".join(str(p) for p in opts.inputs)
    proj = opts.project
    if (proj / "requirements.in").is_file():
        return [proj / "requirements.in"], "requirements.in"
    layout = (
        sorted((proj / "requirements").glob("*.in")) if (proj / "requirements").is_dir() else []
    )
    if layout:
        return layout, "requirements/*.in"
    if (proj / "pyproject.toml").is_file():
        data = read_toml(proj / "pyproject.toml")
        if "project" in data:
            return [proj / "pyproject.toml"], "pyproject.toml"
    if (proj / "setup.cfg").is_file():
        return [proj / "setup.cfg"], "setup.cfg"
    return [], "the installed environment"


# --- fingerprint ------------------------------------------------------------


def _version(dist: str) -> str | None:
    """Version of a distribution installed beside repro (pip, pip-tools)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def fingerprint(opts: LockOptions, inputs: Sequence[Path], snapshot: Sequence[str]) -> str:
    h = hashlib.sha256()
    parts: dict[str, Any] = {
        "inputs": [
            [
                str(p.relative_to(opts.project) if p.is_relative_to(opts.project) else p),
                hashlib.sha256(p.read_bytes()).hexdigest(),
            ]
            for p in inputs
        ],
        "snapshot": list(snapshot),
        "extras": sorted(opts.extras),
        "all_extras": opts.all_extras,
        "groups": list(opts.groups),
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


def _extras_args(opts: LockOptions) -> list[str]:
    """The extras options, spelled the same for pip-compile and for `repro lock`."""
    args = [arg for e in opts.extras for arg in ("--extra", e)]
    return [*args, "--all-extras"] if opts.all_extras else args


def _compile_command(opts: LockOptions) -> list[str]:
    """What the lock header says to run again (never with credentials)."""
    cmd = ["repro", "lock", *(arg for p in opts.inputs for arg in ("--input", str(p)))]
    cmd += _extras_args(opts)
    return cmd + [arg for g in opts.groups for arg in ("--group", g)]


def _run_pip_compile(
    opts: LockOptions, src: Sequence[Path], out: Path, env: dict[str, str]
) -> tuple[bytes | None, str | None]:
    """(the lock's text, None), or (None, why pip-compile could not make it)."""
    argv = [
        sys.executable,
        "-m",
        "piptools",
        "compile",
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--no-emit-trusted-host",
        "--no-config",
        "--output-file",
        str(out),
        *_extras_args(opts),
    ]
    for link in opts.find_links:
        argv += ["--find-links", link]
    if opts.no_index:
        argv.append("--no-index")
    if opts.upgrade:
        argv.append("--upgrade")
    if not opts.build_isolation:
        argv.append("--no-build-isolation")
    argv += [str(p) for p in src]
    # pip-tools reads the regeneration command for its header from the environment.
    env["CUSTOM_COMPILE_COMMAND"] = " ".join(_compile_command(opts))
    # Index URLs travel in the environment, not argv, so they never show in `ps`.
    if opts.index_url:
        env["PIP_INDEX_URL"] = opts.index_url
    if opts.extra_index_urls:
        env["PIP_EXTRA_INDEX_URL"] = " ".join(opts.extra_index_urls)
    env.setdefault("PIP_TIMEOUT", str(max(1, int(opts.index_timeout))))
    env.setdefault("PIP_RETRIES", "1")
    try:
        proc = subprocess.run(
            argv,
            cwd=opts.project,
            env=env,
            capture_output=True,
            timeout=opts.compile_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"pip-compile did not finish within {opts.compile_timeout:g}s"
    if proc.returncode != 0 or not out.is_file():
        return None, f"pip-compile failed: {_last_line(proc.stderr)}"
    return out.read_bytes(), None


def _last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    return strip_url_credentials(lines[-1].strip() if lines else "pip-compile failed")


# --- snapshot and parsing ---------------------------------------------------


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


_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s;\\#]+)", re.M)


def parse_lock(text: str) -> dict[str, str]:
    """canonical name -> pinned version, from a pip-compile or snapshot lock."""
    from packaging.utils import canonicalize_name

    return {canonicalize_name(m.group(1)): m.group(2) for m in _PIN_RE.finditer(text)}


def drift(
    locked: Mapping[str, str],
    installed: Iterable[dict[str, Any]],
    ignore: Iterable[str] = DRIFT_IGNORE,
) -> list[dict[str, Any]]:
    """What differs between the lock and the interpreter that runs the tests."""
    from packaging.utils import canonicalize_name

    skip = {canonicalize_name(n) for n in ignore}
    have: dict[str, str] = {canonicalize_name(p["name"]): p["version"] for p in installed}
    out: list[dict[str, Any]] = []
    for name in sorted(set(locked) | set(have)):
        if name in skip:
            continue
        want, got = locked.get(name), have.get(name)
        if got is None:
            out.append({"name": name, "kind": "missing", "locked": want, "installed": None})
        elif want is None:
            out.append({"name": name, "kind": "extra", "locked": None, "installed": got})
        elif want != got:
            out.append({"name": name, "kind": "version", "locked": want, "installed": got})
    return out


# --- the stage --------------------------------------------------------------


def lock(
    opts: LockOptions,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Reporter = silent,
) -> LockResult:
    """Write (or reuse) the lock and its record."""
    environ = dict(os.environ if environ is None else environ)
    inputs, source = find_inputs(opts)
    pkgs = _installed(opts.python) if not inputs else []
    snapshot, unhashable = installed_snapshot(pkgs)
    fp = fingerprint(opts, inputs, snapshot)
    out, record_path = opts.lock_path, opts.lock_path.with_name(opts.lock_path.name + ".json")

    if not opts.upgrade:
        reused = _reusable(out, record_path, fp)
        if reused is not None:
            extra: list[str] = []
            if opts.pylock and not out.with_name(PYLOCK).is_file():
                extra = write_pylock(opts, inputs, snapshot, environ)
            return _result(out, record_path, reused, source, True, tuple(extra))

    warnings: list[str] = []
    with progress("checking the package index"):
        reason = _index_reachable(opts, environ)
    text: bytes | None = None
    with tempfile.TemporaryDirectory(prefix="repro-lock-") as tmp:
        src = list(inputs)
        if not inputs:
            snap_in = Path(tmp, "installed.in")
            snap_in.write_text("\n".join(snapshot) + "\n", encoding="utf-8")
            src = [snap_in]
        if opts.groups:
            group_in = Path(tmp, "groups.in")
            data = read_toml(opts.project / "pyproject.toml")
            reqs = [r for g in opts.groups for r in _group_requirements(data, g)]
            group_in.write_text("\n".join(reqs) + "\n", encoding="utf-8")
            src.append(group_in)
        if reason is None:
            with progress("resolving the lock (pip-tools)"):
                lock_file = Path(tmp, "requirements.lock")
                text, reason = _run_pip_compile(opts, src, lock_file, environ)
    kind = "pip-compile" if text is not None else "snapshot"
    if text is None:
        if opts.require_hashes:
            raise LockError(
                f"cannot make a hashed lock: {reason}",
                hint="check the index options, or drop --require-hashes",
            )
        if inputs and not pkgs:
            snapshot, unhashable = installed_snapshot(_installed(opts.python))
        text = _snapshot_text(snapshot, reason or "")
        warnings.append(
            f"{reason}; wrote an unhashed snapshot of the installed environment "
            "instead: a bundle cannot be rebuilt exactly from this lock"
        )
    assert text is not None
    record = records.validate(
        {
            "schema": "lock",
            "schema_version": 1,
            "kind": kind,
            "reason": reason,
            "inputs": [
                str(p.relative_to(opts.project) if p.is_relative_to(opts.project) else p)
                for p in inputs
            ]
            or ["<installed environment>"],
            "fingerprint": fp,
            "created": records.utc_iso(time.time()),
            "command": _compile_command(opts),
            "tools": {
                "pip-tools": _version("pip-tools"),
                "pip": _version("pip"),
                "python": sys.version.split()[0],
            },
            "packages": len(parse_lock(text.decode())),
            "hashed": kind == "pip-compile",
            "unhashable": unhashable,
        },
        "lock",
    )
    write_bytes(out, text)
    write_json(record_path, record)
    if opts.pylock:
        warnings += write_pylock(opts, inputs, snapshot, environ)
    return _result(out, record_path, record, source, False, tuple(warnings))


PYLOCK = "pylock.toml"


def write_pylock(
    opts: LockOptions, inputs: Sequence[Path], snapshot: Sequence[str], environ: dict[str, str]
) -> list[str]:
    """pylock.toml (PEP 751) from `pip lock`, validated with `packaging.pylock`.

    Returns warnings; an unavailable pip or packaging is said plainly, not fatal.
    """
    from packaging.version import Version

    pip = _version("pip")
    if pip is None or Version(pip) < Version("25.1"):
        return [f"pylock.toml not written: `pip lock` needs pip >= 25.1, this is pip {pip}"]
    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:
        return ["pylock.toml not written: this `packaging` has no pylock support (need >= 25.1)"]
    with tempfile.TemporaryDirectory(prefix="repro-pylock-") as tmp:
        reqs: list[str] = []
        for p in inputs:
            if p.suffix in (".toml", ".cfg"):  # the project itself, with its extras
                extras = f"[{','.join(opts.extras)}]" if opts.extras else ""
                reqs.append(f"{p.parent}{extras}")
            else:
                reqs += ["-r", str(p)]
        if not inputs:
            Path(tmp, "installed.in").write_text("\n".join(snapshot) + "\n", encoding="utf-8")
            reqs = ["-r", str(Path(tmp, "installed.in"))]
        argv = [sys.executable, "-m", "pip", "lock", "--quiet", "-o", str(Path(tmp, PYLOCK))]
        argv += [f"--find-links={link}" for link in opts.find_links]
        argv += ["--no-index"] if opts.no_index else []
        env = dict(environ)
        if opts.index_url:
            env["PIP_INDEX_URL"] = opts.index_url
        proc = subprocess.run(
            [*argv, *reqs],
            cwd=opts.project,
            env=env,
            capture_output=True,
            timeout=opts.compile_timeout,
            check=False,
        )
        if proc.returncode != 0:
            return [f"pylock.toml not written: pip lock failed: {_last_line(proc.stderr)}"]
        data = Path(tmp, PYLOCK).read_bytes()
    try:
        Pylock.from_dict(parse_toml(data.decode(), PYLOCK))
    except (PylockValidationError, ValueError) as exc:
        return [f"pylock.toml not written: pip lock produced an invalid file: {exc}"]
    write_bytes(opts.lock_path.with_name(PYLOCK), data)
    return []


def _installed(python: str) -> list[dict[str, Any]]:
    packages: list[dict[str, Any]] = envinfo.probe_interpreter(python)["packages"]
    return packages


def _snapshot_text(pins: Sequence[str], reason: str) -> bytes:
    header = [
        "# This file was generated by repro as an exact snapshot of the installed environment,",
        "# WITHOUT hashes, because a hashed lock could not be made:",
        f"#   {reason}",
        "# To regenerate: repro lock",
        "",
    ]
    return ("\n".join(header + list(pins)) + "\n").encode()


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
