"""The outputs/ folder of a project: what is in it, and the files that explain it.

`ensure` writes, on first use, `outputs/.gitignore` (so runs and bundles never
show up as untracked in the user's git) and `outputs/README.md` (what each
artifact is; the source is repro's own outputs/README.md, shipped in the wheel).
`inventory` lists the runs and bundles; `write_index` renders that list as
`outputs/index.md`, regenerated after every command that changes outputs/.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.errors import EnvironmentProblem
from repro.fsutil import write_bytes

CACHE = ".index-cache.json"

GITIGNORE = """\
# Written by repro on first use: everything repro generates here stays out of git.
# Files you add yourself are not listed, so git still sees them.
runs/
bundles/
latest
latest.txt
index.md
.index-cache.json
README.md
.gitignore
"""


def readme_source() -> Path:
    """repro's own outputs/README.md: inside the wheel, or in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "data" / "outputs-README.md", here.parent / "outputs" / "README.md"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("outputs/README.md is missing from this repro installation")


def project_outputs(path: Path) -> Path | None:
    """The outputs/ folder a run folder or a bundle belongs to, if it sits in one.

    Runs live in <outputs>/runs/<run_id>/ (or are reached through <outputs>/latest),
    bundles in <outputs>/bundles/; anything elsewhere belongs to no project.
    """
    real = path.resolve()
    if real.parent.name in ("runs", "bundles"):
        return real.parent.parent
    return None


def ensure(outputs: Path) -> None:
    """Create outputs/ with its .gitignore and README.md if they are missing."""
    try:
        outputs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot create the outputs folder {outputs}: {exc.strerror}",
            hint="make it writable or pass --outputs DIR",
        ) from exc
    if not (outputs / ".gitignore").exists():
        write_bytes(outputs / ".gitignore", GITIGNORE.encode())
    if not (outputs / "README.md").exists():
        write_bytes(outputs / "README.md", readme_source().read_bytes())


@dataclass(frozen=True)
class Bundle:
    path: Path
    run_id: str
    digest: str | None  # from the sidecar; None when it is missing
    size: int
    mtime: float


@dataclass(frozen=True)
class Run:
    run_id: str
    path: Path | None  # None when only a bundle is left
    status: str  # from run_stamp.json; "abandoned" for a staging folder left behind
    counts: dict[str, int]
    started: str | None
    mtime: float
    bundles: tuple[Bundle, ...] = field(default=())


@dataclass(frozen=True)
class Inventory:
    outputs: Path
    runs: tuple[Run, ...]  # newest first


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _sidecar_digest(zip_path: Path) -> str | None:
    try:
        first = zip_path.with_name(zip_path.name + ".sha256").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return first.rsplit(" ", 1)[-1] if first.startswith("# repro content digest:") else None


def _bundles(outputs: Path) -> dict[str, list[Bundle]]:
    out: dict[str, list[Bundle]] = {}
    folder = outputs / "bundles"
    for p in sorted(folder.glob("repro-*.zip")) if folder.is_dir() else ():
        run_id = p.name[len("repro-") :].rsplit("-", 1)[0]
        st = p.stat()
        out.setdefault(run_id, []).append(
            Bundle(p, run_id, _sidecar_digest(p), st.st_size, st.st_mtime)
        )
    return out


def _run(path: Path, run_id: str, bundles: list[Bundle], cache: dict[str, Any]) -> Run:
    if path.name.startswith("."):
        return Run(run_id, path, "abandoned", {}, None, path.stat().st_mtime, tuple(bundles))
    summary = _summary(path, cache)
    return Run(
        run_id,
        path,
        str(summary["status"]),
        {k: v for k, v in summary["counts"].items() if v},
        summary["started"],
        path.stat().st_mtime,
        tuple(bundles),
    )


def _summary(path: Path, cache: dict[str, Any]) -> dict[str, Any]:
    """Status, counts and start of a run. A finished run never changes, and its
    run_metadata.json holds every test id (megabytes for a large suite), so the
    summary is read once and kept in outputs/.index-cache.json, keyed by the
    record's size and mtime."""
    meta_path = path / "run_metadata.json"
    try:
        st = meta_path.stat()
        key = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        key = "missing"
    hit = cache.get(path.name)
    if isinstance(hit, dict) and hit.get("key") == key:
        return hit
    meta = _read_json(meta_path)
    stamp = _read_json(path / "run_stamp.json")
    counts = meta.get("counts")
    summary = {
        "key": key,
        "status": stamp.get("status", meta.get("status", "unreadable")),
        "counts": counts if isinstance(counts, dict) else {},
        "started": meta.get("started", stamp.get("created")),
    }
    cache[path.name] = summary
    return summary


def inventory(outputs: Path, *, save_cache: bool = False) -> Inventory:
    """Every run folder, abandoned staging folder and bundle under outputs/."""
    bundles = _bundles(outputs)
    runs: dict[str, Run] = {}
    cache_path = outputs / CACHE
    cache = _read_json(cache_path)
    before = json.dumps(cache, sort_keys=True)
    folder = outputs / "runs"
    for p in folder.iterdir() if folder.is_dir() else ():
        if not p.is_dir() or p.is_symlink():
            continue
        partial = p.name.startswith(".") and p.name.endswith(".partial")
        run_id = p.name[1 : -len(".partial")] if partial else p.name
        if p.name.startswith(".") and not partial:
            continue
        runs[run_id] = _run(p, run_id, bundles.get(run_id, []), cache)
    for run_id, bs in bundles.items():
        if run_id not in runs:
            mtime = max(b.mtime for b in bs)
            runs[run_id] = Run(run_id, None, "bundled", {}, None, mtime, tuple(bs))
    cache = {k: v for k, v in cache.items() if k in runs}  # removed runs leave the cache
    if save_cache and json.dumps(cache, sort_keys=True) != before:
        write_bytes(cache_path, json.dumps(cache, sort_keys=True).encode())
    ordered = sorted(runs.values(), key=lambda r: r.run_id, reverse=True)
    return Inventory(outputs, tuple(ordered))


def _link(target: Path, outputs: Path, text: str | None = None) -> str:
    rel = os.path.relpath(target, outputs).replace(os.sep, "/")
    return f"[{text or rel}]({rel}{'/' if target.is_dir() else ''})"


def render_index(inv: Inventory) -> str:
    lines = [
        "# outputs/",
        "",
        "Written by repro after each command that changes this folder; do not edit.",
        "What each artifact is and how to check it: [README.md](README.md).",
        "",
    ]
    if not inv.runs:
        return "\n".join([*lines, "No runs yet: `repro run` or `repro bundle` makes one.", ""])
    lines += ["| run | status | tests | started | bundle |", "|---|---|---|---|---|"]
    for r in inv.runs:
        name = _link(r.path, inv.outputs, r.run_id) if r.path else r.run_id
        tests = ", ".join(f"{n} {k}" for k, n in r.counts.items()) or "-"
        bundles = " ".join(_link(b.path, inv.outputs, b.path.name) for b in r.bundles) or "-"
        lines.append(f"| {name} | {r.status} | {tests} | {r.started or '-'} | {bundles} |")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return "\n".join([*lines, "", f"Updated {stamp}.", ""])


def write_index(outputs: Path) -> Path:
    """Regenerate outputs/index.md (and the .gitignore and README.md if missing)."""
    ensure(outputs)
    path = outputs / "index.md"
    write_bytes(path, render_index(inventory(outputs, save_cache=True)).encode())
    return path
