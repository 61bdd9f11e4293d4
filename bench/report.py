"""docs/PERFORMANCE.md: bench/template.md (written by people) with the run's numbers in it.

The template is `str.format` text whose fields name the benchmarks' typed results, e.g.
`{capture.wall_ratio:.3f}`; a benchmark that did not run (`--only`) reads "(not run)".
"""

from __future__ import annotations

import os
import platform
import ssl
import string
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.harness import HERE, MIB, PY, Row, table

TEMPLATE = HERE / "template.md"


class _NotRun:
    """Stands for a benchmark that did not run: any attribute of it, in any format."""

    def __getattr__(self, name: str) -> _NotRun:
        return self

    def __getitem__(self, key: object) -> _NotRun:
        return self

    def __format__(self, spec: str) -> str:
        return "(not run)"


class _Filler(string.Formatter):
    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str) and key not in kwargs:
            return _NotRun()
        return super().get_value(key, args, kwargs)


def machine() -> dict[str, str]:
    import pytest

    from repro import __version__, zipwrite

    cpu, mem = "unknown", "unknown"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        mem = f"{int(Path('/proc/meminfo').read_text().split()[1]) / MIB:.1f} GiB"
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} (usable by this process: {len(os.sched_getaffinity(0))})",
        "memory": mem,
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()} ({PY})",
        "pytest": pytest.__version__,
        "repro": __version__,
        "DEFLATE (pack)": str(zipwrite.DEFAULT_CODEC),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "OpenSSL": ssl.OPENSSL_VERSION,
        "load average at start": load(),
    }


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def two_columns(head: tuple[str, str], rows: Iterable[tuple[str, object]]) -> str:
    out = [f"| {head[0]} | {head[1]} |", "|---|---:|"]
    for k, v in rows:
        out.append(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    return "\n".join(out)


def goals(rows: list[Row], smoke: bool) -> str:
    out = []
    for r in rows:
        if r.met is not None:
            met = "n/a (smoke)" if smoke else "met" if r.met else "**missed**"
            ratio = f" ({r.ratio})" if r.ratio else ""
            out.append(f"- {r.bench}: {r.measure}: {r.value}{ratio}; goal {r.goal}: {met}")
    return "\n".join(out)


def render(
    results: dict[str, Any],
    rows: list[Row],
    info: dict[str, str],
    commands: dict[str, list[str]],
    *,
    smoke: bool,
    took: float,
    argv: list[str],
) -> str:
    info = {
        **info,
        "load average at end": load(),
        "bench run took": f"{took / 60:.1f} min",
        "command": f"`{' '.join(['python bench/run.py', *argv])}`",
    }
    fields: dict[str, Any] = {
        **results,
        "machine": two_columns(("", ""), info.items()),
        "results": table(rows, smoke),
        "goals": goals(rows, smoke),
        "commands": "\n\n".join(
            f"**{name}**\n\n```\n" + "\n".join(cmds) + "\n```" for name, cmds in commands.items()
        ),
    }
    if "fixed" in results:
        fields["bundle_profile"] = two_columns(
            ("stage", "seconds"), results["fixed"].bundle_profile
        )
        fields["verify_imports"] = two_columns(
            ("package", "seconds"), results["fixed"].verify_imports
        )
    if "open" in results:
        fields["open_stages"] = two_columns(
            ("stage", "CPU seconds"), results["open"].stages.items()
        )
    if "pack" in results:
        fields["pack_stages"] = two_columns(("pass", "seconds"), results["pack"].stages.items())
    return _Filler().format(TEMPLATE.read_text(), **fields)


def write(path: Path, text: str) -> None:
    path.write_text(text)
    print(f"wrote {path}", file=sys.stderr)
