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

    files: tuple[Path, ...]  # [] means the installed environment
    extras: tuple[str, ...]
    all_extras: bool
    groups: tuple[str, ...]
    source: str  # short: "pyproject.toml", "requirements.in", "the installed environment"
    why: str  # one sentence for the record: the rule that chose these inputs

    @property
    def installed_env(self) -> bool:
        return not self.files


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


@dataclass(frozen=True)
class _Metadata:
    """The project's own metadata file and the extras and groups it declares."""

    path: Path
    extras: tuple[str, ...]
    groups: tuple[str, ...]


def _metadata(project: Path) -> _Metadata | None:
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        data = read_toml(pyproject)
        if "project" in data:
            opt = data["project"].get("optional-dependencies", {})
            return _Metadata(pyproject, tuple(opt), tuple(data.get("dependency-groups", {})))
    setup_cfg = project / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf-8")
        except configparser.Error as exc:
            raise UsageError(f"cannot read {setup_cfg}: {exc}") from exc
        extras = (
            parser.options("options.extras_require")
            if parser.has_section("options.extras_require")
            else []
        )
        return _Metadata(setup_cfg, tuple(extras), ())
    return None


def _find(names: tuple[str, ...], wanted: str) -> str | None:
    """The declared name matching `wanted` under PEP 685/735 normalisation."""
    return next((n for n in names if _canonical(n) == _canonical(wanted)), None)


def _check_extras(meta: _Metadata | None, extras: tuple[str, ...]) -> None:
    if not extras:
        return
    if meta is None:
        raise UsageError(
            f"--extra {extras[0]} needs project metadata",
            hint="the project has no pyproject.toml [project] table and no setup.cfg",
        )
    for extra in extras:
        if _find(meta.extras, extra) is None:
            raise UsageError(
                f"{meta.path.name} has no extra {extra!r}",
                hint=f"known extras: {', '.join(sorted(meta.extras)) or 'none'}",
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
        return Selection(
            inputs,
            extras,
            all_extras,
            groups,
            "--input " + " ".join(map(str, inputs)),
            "the inputs given with --input",
        )
    meta = _metadata(project)
    _check_extras(meta, extras)
    if extras or all_extras or groups:
        # The user chose: the runtime dependencies plus what was asked for.
        if meta is not None:
            base: tuple[Path, ...] = (meta.path,)
        elif (project / "requirements.in").is_file():
            base = (project / "requirements.in",)
        else:
            base = ()
        if not base and not groups:
            raise UsageError("--all-extras needs project metadata (pyproject.toml or setup.cfg)")
        return Selection(
            base,
            extras,
            all_extras,
            groups,
            base[0].name if base else "dependency groups",
            "the extras and groups given on the command line or in [tool.repro]",
        )
    if (project / "requirements.in").is_file():
        return Selection(
            (project / "requirements.in",),
            (),
            False,
            (),
            "requirements.in",
            "requirements.in is the project's own pip-tools input",
        )
    choice = _test_selection(project, meta)
    if choice is not None:
        return choice
    if meta is not None:
        return Selection(
            (meta.path,),
            (),
            False,
            (),
            meta.path.name,
            f"the runtime dependencies of {meta.path.name}: it declares no extra, group "
            f"or requirements/*.in named {', '.join(TEST_NAMES)}",
        )
    return Selection(
        (),
        (),
        False,
        (),
        "the installed environment",
        "the project declares no dependencies: the installed environment is locked",
    )


def _test_selection(project: Path, meta: _Metadata | None) -> Selection | None:
    """The first of TEST_NAMES that the project declares as an extra, a group or a file."""
    order = ", ".join(TEST_NAMES)
    for name in TEST_NAMES:
        extra = _find(meta.extras, name) if meta else None
        group = _find(meta.groups, name) if meta else None
        if meta is not None and (extra or group):
            what = " and ".join(
                w
                for w in (f"extra {extra!r}" if extra else "", f"group {group!r}" if group else "")
                if w
            )
            return Selection(
                (meta.path,),
                (extra,) if extra else (),
                False,
                (group,) if group else (),
                meta.path.name,
                f"the runtime dependencies of {meta.path.name} and its test {what} "
                f"(the first of {order} that it declares)",
            )
        req = project / "requirements" / f"{name}.in"
        if req.is_file():
            files = (meta.path, req) if meta else (req,)
            runtime = f"the runtime dependencies of {meta.path.name} and " if meta else ""
            return Selection(
                files,
                (),
                False,
                (),
                f"requirements/{name}.in",
                f"{runtime}requirements/{name}.in (the first of {order} that the project "
                "declares; other requirements/*.in files are not what the tests need)",
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
