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

import email.message
import json
import os
import platform
import re
import sys
from importlib import metadata
from typing import Any, NamedTuple

# What `dist.metadata` wraps the parsed message in (it re-indents folded values); None
# before Python 3.10, whose `dist.metadata` is the email message itself.
_Adapted: Any = getattr(getattr(metadata, "_adapters", None), "Message", None)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Dist(NamedTuple):
    name: str  # as its metadata spells it
    dist: metadata.Distribution
    headers: email.message.Message  # the metadata's header block, parsed once


def _headers(dist: metadata.Distribution) -> email.message.Message:
    """The distribution's core metadata as `dist.metadata` gives it, minus the body.

    `dist.metadata` parses the whole file, long description included, on every access
    (`dist.version` and `dist.requires` access it again): most of what the probe cost.
    The headers end at the first empty line; parsing only them with the same parser gives
    the same values (a file that splits lines on a bare CR is parsed whole).
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("") or ""
    end = text.find("\n\n")
    if end >= 0 and "\r" not in text[:end]:
        text = text[: end + 1]
    parsed = email.message_from_string(text)
    return parsed if _Adapted is None else _Adapted(parsed)


def installed() -> dict[str, Dist]:
    """Installed distributions by canonical name, first on sys.path wins (as the import
    system sees them). One scan: lookups by name miss dist-info folders whose name is not
    normalised the way this Python's importlib expects."""
    out: dict[str, Dist] = {}
    for dist in metadata.distributions():
        headers = _headers(dist)
        name = headers.get("Name")
        if name:
            out.setdefault(_canonical(name), Dist(name, dist, headers))
    return out


def packages(dists: dict[str, Dist]) -> list[dict[str, Any]]:
    """An entry for each installed distribution."""
    seen: dict[str, dict[str, Any]] = {}
    for key, (name, dist, headers) in dists.items():
        entry: dict[str, Any] = {"name": name, "version": headers.get("Version")}
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


def _requires(found: Dist) -> list[str]:
    """`dist.requires` from the parsed headers; an egg-info's requires.txt the slow way."""
    reqs = found.headers.get_all("Requires-Dist")
    if reqs:
        return list(reqs)
    return list(found.dist.requires or ()) if found.dist.read_text("requires.txt") else []


def _requirement_names(found: Dist) -> list[str]:
    requires = _requires(found)
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        return [re.split(r"[\s\[;(<>=!~]", r, maxsplit=1)[0] for r in requires if ";" not in r]
    names = []
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        # extra="" keeps requirements of extras out: nobody asked for them.
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(req.name)
    return names


def closure(root: str, dists: dict[str, Dist]) -> list[str]:
    out: list[str] = []
    todo = [root]
    while todo:
        name = _canonical(todo.pop())
        if name in out or name not in dists:
            continue
        out.append(name)
        todo += _requirement_names(dists[name])
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
