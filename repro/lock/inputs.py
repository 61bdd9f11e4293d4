"""Which inputs a lock is made from, and why (docs/lock.md, "What is locked").

The default is what the tests need, not everything the project declares: the
runtime dependencies plus the project's test extra or dependency group. Merging
every `requirements/*.in` would pin documentation, typing and release tools, and
every run would then report them as drift.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.config import read_toml
from repro.errors import UsageError

# Names a project gives to "what the tests need", in the order they are preferred.
TEST_NAMES = ("test", "tests", "testing", "dev")


@dataclass(frozen=True)
class Selection:
    """The inputs of one lock: files for pip-compile plus extras and groups."""

    files: tuple[Path, ...]
    extras: tuple[str, ...]
    all_extras: bool
    groups: tuple[str, ...]
    source: str  # short: "pyproject.toml", "requirements.in", "the installed environment"
    why: str  # one sentence for the record: the rule that chose these inputs

    @property
    def installed_env(self) -> bool:
        """Nothing declared: the installed environment of the test interpreter is locked."""
        return not self.files and not self.groups


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


@dataclass(frozen=True)
class _Declared:
    """What the project declares: the metadata file holding its runtime dependencies
    (None for a pyproject.toml with dependency groups only), its extras and groups."""

    path: Path | None
    extras: tuple[str, ...]
    groups: tuple[str, ...]


def _setup_cfg_extras(setup_cfg: Path) -> tuple[str, ...]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(setup_cfg, encoding="utf-8")
    except configparser.Error as exc:
        raise UsageError(f"cannot read {setup_cfg}: {exc}") from exc
    section = "options.extras_require"
    return tuple(parser.options(section)) if parser.has_section(section) else ()


def _declared(project: Path) -> _Declared | None:
    pyproject, setup_cfg = project / "pyproject.toml", project / "setup.cfg"
    data = read_toml(pyproject) if pyproject.is_file() else {}
    # PEP 735 groups need no [project] table: a project that is not a package has them too.
    groups = tuple(data.get("dependency-groups", {}))
    if "project" in data:
        extras = tuple(data["project"].get("optional-dependencies", {}))
        return _Declared(pyproject, extras, groups)
    if setup_cfg.is_file():
        return _Declared(setup_cfg, _setup_cfg_extras(setup_cfg), groups)
    return _Declared(None, (), groups) if groups else None


def _find(names: tuple[str, ...], wanted: str) -> str | None:
    """The declared name matching `wanted` under PEP 685/735 normalisation."""
    return next((n for n in names if _canonical(n) == _canonical(wanted)), None)


def _check_extras(decl: _Declared | None, extras: tuple[str, ...], all_extras: bool) -> None:
    if not extras and not all_extras:
        return
    if decl is None or decl.path is None:
        raise UsageError(
            "--extra and --all-extras need project metadata",
            hint="the project has no pyproject.toml [project] table and no setup.cfg",
        )
    for extra in extras:
        if _find(decl.extras, extra) is None:
            raise UsageError(
                f"{decl.path.name} has no extra {extra!r}",
                hint=f"known extras: {', '.join(sorted(decl.extras)) or 'none'}",
            )


def select(
    project: Path,
    inputs: tuple[Path, ...] = (),
    extras: tuple[str, ...] = (),
    all_extras: bool = False,
    groups: tuple[str, ...] = (),
) -> Selection:
    """Apply the input rule of docs/lock.md to a project and the options given."""
    if inputs:
        missing = [p for p in inputs if not p.is_file()]
        if missing:
            raise UsageError(f"lock input not found: {missing[0]}")
        source = "--input " + " ".join(map(str, inputs))
        return Selection(
            inputs, extras, all_extras, groups, source, "the inputs given with --input"
        )
    decl = _declared(project)
    _check_extras(decl, extras, all_extras)
    if extras or all_extras or groups:
        # The user chose: the runtime dependencies plus what was asked for.
        if decl is not None and decl.path is not None:
            base: tuple[Path, ...] = (decl.path,)
        elif (project / "requirements.in").is_file():
            base = (project / "requirements.in",)
        else:
            base = ()
        source = base[0].name if base else "pyproject.toml"
        why = "the extras and groups given on the command line or in [tool.repro]"
        return Selection(base, extras, all_extras, groups, source, why)
    if (project / "requirements.in").is_file():
        why = "requirements.in is the project's own pip-tools input"
        return Selection((project / "requirements.in",), (), False, (), "requirements.in", why)
    choice = _test_selection(project, decl)
    if choice is not None:
        return choice
    if decl is not None and decl.path is not None:
        name = decl.path.name
        why = (
            f"the runtime dependencies of {name}: it declares no extra, group or "
            f"requirements/*.in named {', '.join(TEST_NAMES)}"
        )
        return Selection((decl.path,), (), False, (), name, why)
    why = "the project declares no dependencies for its tests: the installed environment"
    return Selection((), (), False, (), "the installed environment", why)


def _test_selection(project: Path, decl: _Declared | None) -> Selection | None:
    """The first of TEST_NAMES that the project declares as an extra, a group or a file."""
    order = f"the first of {', '.join(TEST_NAMES)} that the project declares"
    runtime = decl.path if decl is not None else None
    files: tuple[Path, ...] = (runtime,) if runtime is not None else ()
    plus = f"the runtime dependencies of {runtime.name} and " if runtime is not None else ""
    for name in TEST_NAMES:
        extra = _find(decl.extras, name) if decl is not None else None
        group = _find(decl.groups, name) if decl is not None else None
        if extra or group:
            what = " and ".join(
                w for w in (extra and f"extra {extra!r}", group and f"group {group!r}") if w
            )
            return Selection(
                files,
                (extra,) if extra else (),
                False,
                (group,) if group else (),
                runtime.name if runtime is not None else "pyproject.toml",
                f"{plus}the test {what} ({order})",
            )
        req = project / "requirements" / f"{name}.in"
        if req.is_file():
            return Selection(
                (*files, req),
                (),
                False,
                (),
                f"requirements/{name}.in",
                f"{plus}requirements/{name}.in ({order}; other requirements/*.in files "
                "are not what the tests need)",
            )
    return None


def group_requirements(
    pyproject: dict[str, Any], group: str, seen: tuple[str, ...] = ()
) -> list[str]:
    """PEP 735 dependency groups, with `{include-group = ...}` expanded."""
    groups = pyproject.get("dependency-groups", {})
    key = _find(tuple(groups), group)
    if key is None:
        raise UsageError(
            f"pyproject.toml has no dependency group {group!r}",
            hint=f"known groups: {', '.join(sorted(groups)) or 'none'}",
        )
    if key in seen:
        raise UsageError(f"dependency group {group!r} includes itself")
    out: list[str] = []
    for item in groups[key]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and "include-group" in item:
            out += group_requirements(pyproject, item["include-group"], (*seen, key))
    return out
