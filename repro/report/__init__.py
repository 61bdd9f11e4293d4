"""`repro report`: one self-contained HTML page for a bundle or a run folder.

    write_report(source, out)  verify + read (repro.reader) -> collect -> html -> file

Stages apart: `collect` picks what to show from the reader's model into plain values
(`data`), `html` renders them (with `ansi` for logs and `svg` for durations), and only
this module touches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportResult:
    path: Path
    size: int  # bytes of the HTML file
    source: Path
    intact: bool  # what the verifier said
    digest: str | None
    status: str
    tests: int


def write_report(
    source: Path, out: Path, *, expect: str | None = None, log_limit: int | None = None
) -> ReportResult:
    """Verify and read `source` (a bundle zip or a run folder) and write its report to `out`
    atomically. A bundle that fails verification still gets a report: its header says FAIL
    and lists every problem, and it shows whatever records were sound."""
    from repro.fsutil import write_bytes
    from repro.reader import open_bundle
    from repro.report import collect, html

    bundle = open_bundle(source, expect=expect)
    inp = collect.report_input(bundle, log_limit=log_limit or collect.LOG_LIMIT)
    # A lone surrogate (possible in a test id) cannot be UTF-8: it becomes "?".
    data = html.render(inp).encode("utf-8", errors="replace")
    write_bytes(out, data)
    return ReportResult(
        path=out,
        size=len(data),
        source=Path(source),
        intact=inp.verdict.intact,
        digest=inp.digest,
        status=inp.status,
        tests=len(inp.tests),
    )
