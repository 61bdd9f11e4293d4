"""What `repro verify` does about credentials, and about inputs that are not files.

A bundle is scanned with masking's token shapes (repro.mask.RULES) while the
fixity step inflates each member, so the scan costs no second pass over the
bytes. The values of the producer's environment are unknown here, so only the
shapes can be found. A finding is a warning (a failure with --strict) naming
the member and the rule, never the matched text.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from repro import mask, zipsafe


def open_regular(path: Path) -> BinaryIO:
    """Open `path` for reading only if it is a regular file.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a
    writer; the type is then taken from the open descriptor (no race with a
    rename), and anything but a regular file is refused before a byte is read.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if sys.platform != "win32":  # Windows has no O_NONBLOCK, and no FIFOs to open
        flags |= os.O_NONBLOCK
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"not a regular file ({_kind(mode)}): refused without reading it")
        if sys.platform != "win32":
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


# What repro masks while it runs (repro.mask): in a bundle whose run masked, these
# members already went through the same rules, so scanning them again finds nothing
# and would cost verify most of its speed (a regex pass per shape over every log byte).
MASKED_MEMBERS = (
    "data/logs/",
    "data/results/",
    "data/env.json",
    "data/run_metadata.json",
    "data/shards/",  # a merged bundle: the shards' logs, masked by each shard
)


def masked_at_source(fh: BinaryIO, meta: zipsafe.Entry | None) -> bool:
    """True if the bundle's run_metadata.json says masking was on (a small read)."""
    if meta is None or meta.usize > 32 << 20:
        return False
    try:
        doc = json.loads(zipsafe.read_member(fh, meta, 32 << 20))
    except (zipsafe.MemberError, ValueError, RecursionError):
        return False
    masking = doc.get("masking") if isinstance(doc, dict) else None
    return isinstance(masking, dict) and masking.get("enabled") is True


class Scanner:
    """Counts token shapes per member, fed chunk by chunk.

    With `skip_masked`, members that repro masked at the source (`MASKED_MEMBERS`)
    are not scanned: the rules are the same. Everything else is (the code patch, the
    lock, the schemas), and everything is when masking was off (`--no-mask`) or the
    bundle says nothing about it.

    Each chunk is searched together with the last `RULES_MAX` bytes before it, and
    only matches that end inside the new chunk are counted: a token split across
    two chunks is found once. Nothing is replaced.
    """

    def __init__(self, skip_masked: bool = False) -> None:
        self._masker = mask.build(None)
        self.skip_masked = skip_masked
        self.counts: dict[str, Counter[str]] = {}

    def member(self, name: str) -> Callable[[bytes], None] | None:
        rel = name.split("/", 1)[1] if "/" in name else name
        if self.skip_masked and rel.startswith(MASKED_MEMBERS):
            return None
        counts = self.counts.setdefault(name, Counter())
        tail = b""

        def observe(chunk: bytes) -> None:
            nonlocal tail
            buf = tail + chunk if tail else chunk
            new_from = len(tail)
            for _, end, rule in self._masker.tokens(buf):
                if end > new_from:
                    counts[rule] += 1
            tail = buf[-mask.RULES_MAX :]

        return observe

    def findings(self) -> list[tuple[str, str]]:
        out = []
        for name, counts in self.counts.items():
            if counts:
                what = ", ".join(f"{n} x {rule}" for rule, n in sorted(counts.items()))
                out.append((name, f"looks like it holds credentials ({what})"))
        return out
