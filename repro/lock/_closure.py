"""The installed dependency closure of one distribution, computed inside the test interpreter.

Run as `python -I _closure.py NAME` by the interpreter that runs the tests, so it
imports nothing from repro. Markers are evaluated with that interpreter's
`packaging` (a dependency of repro, so present whenever repro is installed
there); without it, only unconditional requirements are followed. Prints a
JSON list of canonical names, NAME first; [] when NAME is not installed.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import metadata


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


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


def closure(root: str) -> list[str]:
    # One scan, first on sys.path wins: lookups by name miss dist-info folders whose
    # name is not normalised the way this Python's importlib expects.
    installed: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            installed.setdefault(_canonical(name), dist)
    out: list[str] = []
    todo = [root]
    while todo:
        name = _canonical(todo.pop())
        if name in out or name not in installed:
            continue
        out.append(name)
        todo += _requirement_names(installed[name])
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(closure(sys.argv[1])))
