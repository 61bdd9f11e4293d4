"""The captured logs after the run: free of terminal colour, and no bytes stored twice
when one file is an exact copy of another.

Colour: when pytest wrote colour (repro asks for it on a terminal, or the user
passed `--color=yes`), the escapes are removed from logs/stdout.log,
logs/stderr.log and logs/pytest_output.txt, which a reviewer reads; what pytest
wrote, byte for byte, is kept as logs/pytest_output.ansi (both streams in
arrival order, as the terminal showed them). Without colour nothing changes and
there is no .ansi file.

Sharing: logs/pytest_output.txt interleaves the two streams in arrival order.
When one stream is empty (the usual case: pytest writes its report to stdout)
the combined log is byte for byte the other stream, and it becomes a hard link
to it, so the run folder stores those bytes once. The bundle still holds both
members (readers without repro find every log where docs/bundle-format.md says).
When both streams carry output, the order of their chunks exists only in the
combined log, so it cannot be rebuilt from the other two and is kept whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

# CSI sequences (colours, cursor moves) and OSC sequences (titles, hyperlinks).
ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
LINE_LIMIT = 1 << 20
STREAMS = ("stdout.log", "stderr.log")
COMBINED = "pytest_output.txt"
RAW = "pytest_output.ansi"


def _has_escape(path: Path) -> bool:
    with open(path, "rb") as fh:
        while chunk := fh.read(LINE_LIMIT):
            if b"\x1b" in chunk:
                return True
    return False


def _strip_file(path: Path) -> None:
    """Remove escapes a line at a time (bounded memory; a sequence cut by the 1 MiB
    line limit is left as it is)."""
    tmp = path.with_name(path.name + ".stripping")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        while line := src.readline(LINE_LIMIT):
            dst.write(ANSI.sub(b"", line))
    os.replace(tmp, path)


def strip_colour(logs: Path) -> bool:
    """Strip escapes from the logs, keeping the raw combined log; True if there were any."""
    combined = logs / COMBINED
    if not combined.is_file() or not _has_escape(combined):
        return False
    os.link(combined, logs / RAW)  # the raw bytes stay under the new name
    for name in (*STREAMS, COMBINED):
        if (logs / name).is_file():
            _strip_file(logs / name)
    return True


def share_identical(logs: Path, sha256: Mapping[str, str]) -> str | None:
    """Hard-link the combined log to a stream with the same bytes; that stream's name, or None.

    `sha256` maps file names in `logs` to their digests, which the run computes
    for its records anyway, so finding the twin costs no extra read.
    """
    combined = sha256.get(COMBINED)
    twin = next((n for n in STREAMS if combined is not None and sha256.get(n) == combined), None)
    if twin is None:
        return None
    tmp = logs / f".{COMBINED}.link"
    try:
        os.link(logs / twin, tmp)
    except OSError:  # a filesystem without hard links keeps both copies
        return None
    os.replace(tmp, logs / COMBINED)
    return twin
