"""A page of the report under watch: what must never happen on it is recorded."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

ROWS = "#tests tbody tr:not(.spacer)"


class Watched:
    """A page, with everything that must not happen on a report recorded: dialogs
    (an alert() that ran), script errors, console messages (CSP violations among them)
    and any request that is not the report file itself."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.console.append(m.text))
        page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: Path) -> float:
        """Load `path` and wait until the test table is drawn; seconds it took."""
        start = time.perf_counter()
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("html[data-ready]", timeout=60_000)
        return time.perf_counter() - start

    def assert_quiet(self, path: Path) -> None:
        assert self.dialogs == [] and self.errors == [] and self.console == []
        assert self.requests == [path.resolve().as_uri()]

    def wait_shown(self, n: int) -> None:
        """Wait until the table says it shows `n` tests (search is debounced)."""
        from playwright.sync_api import expect

        expect(self.page.locator("#shown")).to_have_text(re.compile(f"^{n:,} of "))

    def rows(self) -> list[list[str]]:
        """The cells' text of the table rows now in the document (those in view)."""
        rows: list[list[str]] = self.page.eval_on_selector_all(
            ROWS, "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
        )
        return rows
