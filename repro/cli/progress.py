"""Progress bars on stderr for steps that take longer than about a second.

Only on a terminal and without -q; nothing is drawn for a step that ends within
`DELAY` seconds, so quick commands print exactly what they printed before. rich is
imported when a bar is first due, never on the way to `repro --help`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

from repro.progress import Advance, Reporter, silent

DELAY = 1.0  # seconds before a step's bar appears


def reporter(quiet: bool = False) -> Reporter:
    """A progress reporter for the command line: bars on a terminal, else silence."""
    if quiet or not sys.stderr.isatty():
        return silent
    return bars


@contextlib.contextmanager
def bars(label: str, total: int | None = None) -> Iterator[Advance]:
    done = [0]
    shown: list[Any] = []  # the rich Progress and its task, once drawn
    lock = threading.Lock()

    def appear() -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), DownloadColumn(binary_units=True), TransferSpeedColumn()]
        columns.append(TimeElapsedColumn())
        bar = Progress(*columns, console=Console(stderr=True), transient=True)
        with lock:
            task = bar.add_task(label, total=total, completed=done[0])
            bar.start()
            shown[:] = [bar, task]

    def advance(n: int) -> None:
        with lock:
            done[0] += n
            if shown:
                shown[0].update(shown[1], completed=done[0])

    timer = threading.Timer(DELAY, appear)
    timer.daemon = True
    timer.start()
    try:
        yield advance
    finally:
        timer.cancel()
        timer.join()
        if shown:
            shown[0].stop()
