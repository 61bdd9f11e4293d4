"""How a long stage reports progress without printing: a `Reporter` the caller passes in.

A stage opens one step per long job, `with progress("packing", total_bytes) as advance:`,
and calls `advance(n)` as bytes go by (`total=None` for a step with no byte count, such as
resolving a lock). The library's default reports nothing; the command line passes one
that draws a progress bar on a terminal (repro/cli/progress.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

Advance = Callable[[int], None]


class Reporter(Protocol):
    def __call__(
        self, label: str, total: int | None = None
    ) -> contextlib.AbstractContextManager[Advance]: ...


def _ignore(n: int) -> None:
    return None


@contextlib.contextmanager
def silent(label: str, total: int | None = None) -> Iterator[Advance]:
    yield _ignore
