"""Facts about a Python interpreter, gathered inside that interpreter.

Run as `python -I _probe.py` by whichever interpreter runs the tests (repro's
own or `repro run --python PATH`); so it imports nothing from repro and only
the standard library. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from typing import Any


def _canonical(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def packages() -> list[dict[str, Any]]:
    """Installed distributions, first on sys.path wins (as the import system sees them)."""
    seen: dict[str, dict[str, Any]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = _canonical(name)
        if key in seen:
            continue
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


def probe() -> dict[str, Any]:
    return {"python": python_info(), "packages": packages(), "pid": os.getpid()}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(probe()))
