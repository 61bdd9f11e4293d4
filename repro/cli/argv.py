"""Reading the raw command line before click does, for the few things the group
must know before it parses a command's options.

`[tool.repro]` becomes click's default_map in the group's callback, which runs
before the command's own options are parsed; so `--config FILE` and
`--project DIR` written after the command name are looked up here, and the
group's `--config` and `--color` are moved in front of the command name (people
write `repro run --color never` as often as `repro --color never run`).
"""

from __future__ import annotations

from typing import NamedTuple

# Group options that take a value, so that their value is not taken for the command name.
GROUP_VALUE_OPTIONS = ("--config", "--color")


class Scan(NamedTuple):  # not a dataclass: `repro --help` need not import dataclasses
    args: list[str]  # with every `--config`/`--color` moved in front of the command name
    command: str | None
    project: str | None  # `--project DIR` given to the command
    wants_json: bool  # `--json` given before any `--`


def _command_index(args: list[str]) -> int | None:
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return None
        if a in GROUP_VALUE_OPTIONS:
            i += 2
            continue
        if not a.startswith("-"):
            return i
        i += 1
    return None


def _take(rest: list[str], name: str) -> tuple[list[str], list[str]]:
    """Remove every `name VALUE` / `name=VALUE` from `rest`; (remaining, values)."""
    kept: list[str] = []
    values: list[str] = []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--":
            kept.extend(rest[i:])
            break
        if a == name and i + 1 < len(rest):
            values.append(rest[i + 1])
            i += 2
            continue
        if a.startswith(name + "="):
            values.append(a[len(name) + 1 :])
        else:
            kept.append(a)
        i += 1
    return kept, values


def _last_value(rest: list[str], name: str) -> str | None:
    values = _take(rest, name)[1]
    return values[-1] if values else None


def scan(args: list[str]) -> Scan:
    before_dashdash = args[: args.index("--")] if "--" in args else args
    wants_json = "--json" in before_dashdash
    at = _command_index(args)
    if at is None:
        return Scan(list(args), None, None, wants_json)
    head, command, rest = args[:at], args[at], args[at + 1 :]
    moved: list[str] = []
    for name in GROUP_VALUE_OPTIONS:
        rest, values = _take(rest, name)
        moved += [x for value in values for x in (name, value)]
    return Scan(
        [*head, *moved, command, *rest], command, _last_value(rest, "--project"), wants_json
    )
