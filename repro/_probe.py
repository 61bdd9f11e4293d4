"""Facts about a Python interpreter, gathered inside that interpreter.

Run as `python -I _probe.py` by whichever interpreter runs the tests (repro's
own or `repro run --python PATH`); so it imports nothing from repro and only
the standard library. Prints one JSON object.

`python -I _probe.py NAME` also reports, as `closure`, the installed dependency closure
of distribution NAME (repro's own, for drift's tooling: docs/lock.md): in the same child,
since a second child of the test interpreter cost as much CPU as the probe itself.
Markers are evaluated with that interpreter's `packaging` (a dependency of repro, so
present whenever repro is installed there); without it, only unconditional requirements
are followed. The closure is a list of canonical names, NAME first; [] when NAME is not
installed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from importlib import metadata
from typing import Any


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, tuple[str, metadata.Distribution]]:
    """Installed distributions by canonical name, first on sys.path wins (as the import
    system sees them). One scan: lookups by name miss dist-info folders whose name is not
    normalised the way this Python's importlib expects."""
    out: dict[str, tuple[str, metadata.Distribution]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]  # read from disk on every access: once here
        if name:
            out.setdefault(_canonical(name), (name, dist))
    return out


def packages(dists: dict[str, tuple[str, metadata.Distribution]]) -> list[dict[str, Any]]:
    """An entry for each installed distribution."""
    seen: dict[str, dict[str, Any]] = {}
    for key, (name, dist) in dists.items():
        entry: dict[str, Any] = {"name": name, "version": dist.version}
        installer = dist.read_text("INSTALLER")
        entry["installer"] = installer.strip() if installer else None
        direct = dist.read_text("direct_url.json")
        if direct:
            try:
                info = json.loads(direct)
            except ValueError:
                info = None
            if isinstance(info, dict):
                entry["direct_url"] = info
                entry["editable"] = bool(info.get("dir_info", {}).get("editable", False))
        seen[key] = entry
    return sorted(seen.values(), key=lambda e: _canonical(e["name"]))


def python_info() -> dict[str, Any]:
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    return {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:3]),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "venv": in_venv,
        "build": list(platform.python_build()),
        "compiler": platform.python_compiler(),
    }


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        return [
            re.split(r"[\s\[;(<>=!~]", r, maxsplit=1)[0]
            for r in dist.requires or ()
            if ";" not in r
        ]
    names = []
    for text in dist.requires or ():
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        # extra="" keeps requirements of extras out: nobody asked for them.
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(req.name)
    return names


def closure(root: str, dists: dict[str, tuple[str, metadata.Distribution]]) -> list[str]:
    out: list[str] = []
    todo = [root]
    while todo:
        name = _canonical(todo.pop())
        if name in out or name not in dists:
            continue
        out.append(name)
        todo += _requirement_names(dists[name][1])
    return out


def probe(closure_of: str | None = None) -> dict[str, Any]:
    dists = installed()
    out = {"python": python_info(), "packages": packages(dists), "pid": os.getpid()}
    if closure_of is not None:
        try:
            out["closure"] = closure(closure_of, dists)
        except Exception:  # a broken dependency's metadata: at least NAME is known
            out["closure"] = [_canonical(closure_of)] if _canonical(closure_of) in dists else []
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(probe(sys.argv[1] if len(sys.argv) > 1 else None)))
