"""What `repro verify` does about credentials, and about inputs that are not files.

A bundle is scanned with masking's token shapes (repro.mask.RULES) while the
fixity step inflates each member, so the scan costs no second pass over the
bytes. The values of the producer's environment are unknown here, so only the
shapes can be found. A finding is a warning (a failure with --strict) naming
the member and the rule, never the matched text.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from repro import mask


def open_regular(path: Path) -> BinaryIO:
    """Open `path` for reading only if it is a regular file.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a
    writer; the type is then taken from the open descriptor (no race with a
    rename), and anything but a regular file is refused before a byte is read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"not a regular file ({_kind(mode)}): refused without reading it")
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


class Scanner:
    """Counts token shapes per member, fed chunk by chunk.

    Each chunk is searched together with the last `RULES_MAX` bytes before it, and
    only matches that end inside the new chunk are counted: a token split across
    two chunks is found once. Nothing is replaced.
    """

    def __init__(self) -> None:
        self._masker = mask.build(None)
        self.counts: dict[str, Counter[str]] = {}

    def member(self, name: str) -> Callable[[bytes], None]:
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
