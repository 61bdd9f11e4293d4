"""Drift between the lock and the interpreter that runs the tests, with tooling kept apart.

Not every difference is drift. The project under test is installed in its own
test interpreter but is never one of its own locked dependencies, and repro (with
what it needs) may be installed there to run the suite. Those are recorded as
`tooling` (docs/lock.md, "Drift and tooling"); drift is what remains.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from repro.config import read_toml
from repro.errors import UsageError

DRIFT_IGNORE = ("pip", "setuptools", "wheel", "distribute", "repro-bundle")
REPRO_DIST = "repro-bundle"

_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s;\\#]+)", re.M)


_SEPARATORS = re.compile(r"[-_.]+")


def _canonical(name: str) -> str:
    # PEP 503's normalisation, as packaging.utils.canonicalize_name does it: importing
    # that module (with packaging.tags, logging, sysconfig) was ~6 ms of every run.
    return _SEPARATORS.sub("-", name).lower()


def parse_lock(text: str) -> dict[str, str]:
    """canonical name -> pinned version, from a pip-compile or snapshot lock."""
    return {_canonical(m.group(1)): m.group(2) for m in _PIN_RE.finditer(text)}


def drift(
    locked: Mapping[str, str],
    installed: Iterable[dict[str, Any]],
    ignore: Iterable[str] = DRIFT_IGNORE,
) -> list[dict[str, Any]]:
    """What differs between the lock and the interpreter that runs the tests."""
    skip = {_canonical(n) for n in ignore}
    have: dict[str, str] = {_canonical(p["name"]): p["version"] for p in installed}
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


def project_names(project: Path, installed: Iterable[dict[str, Any]]) -> set[str]:
    """Distribution names of the project under test: declared in its metadata, or
    installed from its folder (an editable or local install)."""
    names: set[str] = set()
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        try:
            name = read_toml(pyproject).get("project", {}).get("name")
        except UsageError:  # the tests ran already: an unreadable file only names nothing
            name = None
        if isinstance(name, str):
            names.add(_canonical(name))
    setup_cfg = project / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf-8")
            name = parser.get("metadata", "name", fallback=None)
        except configparser.Error:
            name = None
        if name:
            names.add(_canonical(name))
    here = project.resolve()
    for pkg in installed:
        url = (pkg.get("direct_url") or {}).get("url")
        local = isinstance(url, str) and url.startswith("file:")
        if local and Path(unquote(urlparse(url).path)).resolve() == here:
            names.add(_canonical(pkg["name"]))
    return names


def tooling(
    locked: Mapping[str, str],
    installed: Iterable[dict[str, Any]],
    project: set[str],
    repro: set[str],
) -> list[dict[str, Any]]:
    """Installed packages that are not the project's dependencies: the project itself,
    and what only repro needs. A package the lock pins is compared, never tooling."""
    out: list[dict[str, Any]] = []
    for pkg in sorted(installed, key=lambda p: _canonical(p["name"])):
        name = _canonical(pkg["name"])
        if name in project:
            role = "project"
        elif name in repro and name not in locked:
            role = "repro"
        else:
            continue
        out.append(
            {"name": name, "role": role, "installed": pkg["version"], "locked": locked.get(name)}
        )
    return out


def compare(
    lock_text: str,
    installed: list[dict[str, Any]],
    *,
    project: Path,
    repro_closure: Iterable[str],
    ignore: Iterable[str] = DRIFT_IGNORE,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(drift, tooling) between a lock and the packages of the test interpreter;
    `repro_closure` is repro and its installed dependencies there (the probe's `closure`
    of REPRO_DIST: empty when repro is not installed there)."""
    locked = parse_lock(lock_text)
    own = project_names(project, installed)
    skip = {_canonical(n) for n in ignore} | own
    unlocked = {_canonical(p["name"]) for p in installed} - set(locked) - skip
    # Only an installed package the lock does not pin can be repro's tooling.
    closure = {_canonical(n) for n in repro_closure} if unlocked else {REPRO_DIST}
    tools = tooling(locked, installed, own, closure)
    return drift(locked, installed, [*skip, *(t["name"] for t in tools)]), tools
