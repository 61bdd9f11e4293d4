"""The reader's model of a bundle -> the report's plain inputs (`ReportInput`).

Everything the page shows is picked here, from `repro.reader.Bundle` only: no record
is read by string key, and logs are read through the reader, which reads only what the
verifier found intact.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from repro import layout
from repro.errors import UsageError
from repro.model import Drift, Outcome, Results
from repro.reader import Bundle
from repro.report.data import Excerpt, Failure, ReportInput, TestRow, Verdict
from repro.report.svg import fmt_seconds
from repro.verdict import verdict

# Outcomes whose text the report gives in full.
SHOWN = (Outcome.FAILED, Outcome.ERROR, Outcome.XPASSED)
# A log over this many bytes is shown as its head and tail; the reader streams a bundle's
# members from the start, so the tail is only taken from logs up to TAIL_READ_LIMIT.
LOG_LIMIT = 1 << 20
TAIL_READ_LIMIT = 64 << 20


def report_input(b: Bundle, *, log_limit: int = LOG_LIMIT) -> ReportInput:
    md = b.metadata
    counts = md.counts if md else (b.results.counts if b.results else None)
    said = verdict(b.report)
    return ReportInput(
        title=b.path.name,
        verdict=Verdict(
            intact=said.intact,
            problems=tuple(str(p) for p in b.report.problems),
            warnings=tuple(b.report.warnings),
            integrity=said.integrity,
            line=said.line(),
        ),
        digest=b.digest,
        run_id=b.run_id or "unknown",
        status=md.status.value if md else "unknown",
        status_reason=md.status_reason if md else "",
        counts=counts.as_dict() if counts else {},
        run_facts=tuple(_run_facts(b)),
        env_facts=tuple(_env_facts(b)),
        tests=_rows(b.results) if b.results else (),
        failures=_failures(b.results) if b.results else (),
        packages=tuple((p.name, p.version) for p in b.env.packages) if b.env else (),
        lock_kind=b.stamp.lock.kind.value if b.stamp and b.stamp.lock else None,
        lock=_excerpt(b, b.stamp.lock.path, log_limit) if b.stamp and b.stamp.lock else None,
        drift=tuple(_drift(d) for d in (md.drift or ())) if md else (),
        logs=tuple(_logs(b, log_limit)),
    )


def _run_facts(b: Bundle) -> Iterator[tuple[str, str]]:
    s, md = b.stamp, b.metadata
    if s:
        yield "command", shlex.join(s.command)
        if s.git:
            yield "commit", f"{s.git.commit or 'unknown'}{' (dirty)' if s.git.dirty else ''}"
        yield "repro", s.repro_version
    if b.merge:
        m = b.merge
        names = ", ".join(f"{sh.name} ({sh.status})" for sh in m.shards)
        yield "shards", f"{len(m.shards)} merged by repro merge: {names}"
        if m.partial:
            yield "partial", f"{m.missing.tests} test(s) of {m.collection.n} not run by any shard"
    if md:
        yield "started", md.started
        yield "duration", fmt_seconds(md.duration_seconds)
        signal = f", signal {md.signal}" if md.signal else ""
        yield "exit code", f"{md.exit_code}{signal}"
        yield "pytest", md.pytest_version or "unknown"
        if md.pytest_plugins:
            yield "plugins", ", ".join(md.pytest_plugins)
        if md.in_flight:
            yield "in flight when the run ended", md.in_flight
        yield "working directory", md.cwd


def _env_facts(b: Bundle) -> Iterator[tuple[str, str]]:
    e = b.env
    if e is None:
        return
    venv = " (venv)" if e.python.venv else ""
    yield "Python", f"{e.python.implementation} {e.python.version}{venv}"
    yield "interpreter", e.python.executable
    os_ = e.os
    yield "OS", " ".join(x for x in (os_.system, os_.release, os_.machine) if x) or "unknown"
    if os_.platform:
        yield "platform", os_.platform
    if os_.libc:
        yield "libc", os_.libc
    if os_.cpu_count is not None:
        yield "CPUs", str(os_.cpu_count)
    loc = e.locale
    yield "locale", " ".join(x for x in (loc.locale, loc.encoding) if x) or "unknown"
    if loc.tz:
        yield "time zone", loc.tz
    if e.git and e.git.branch:
        yield "git branch", e.git.branch
    for name, value in sorted(e.environment.values.items()):
        yield f"${name}", value
    if e.environment.withheld:
        yield "withheld variables", ", ".join(e.environment.withheld)


def _line(line: int | None) -> int | None:
    # The plugin records pytest's location, whose line numbers count from 0.
    return None if line is None else line + 1


def _rows(res: Results) -> tuple[TestRow, ...]:
    return tuple(
        TestRow(
            nodeid=t.id,
            outcome=t.outcome.value if t.outcome else "running",
            duration=t.duration if t.outcome else None,
            file=t.file,
            line=_line(t.line),
        )
        for t in res.tests
    )


def _failures(res: Results) -> tuple[Failure, ...]:
    out = [
        Failure(t.id, t.outcome.value, t.message, t.text) for t in res.tests if t.outcome in SHOWN
    ]
    if res.in_flight:
        why = "the run ended while this test ran: it never finished"
        out.append(Failure(res.in_flight, "running", why, ""))
    out += [
        Failure(e.id, "error", "collection error: " + e.message, e.text) for e in res.collect_errors
    ]
    return tuple(out)


def _drift(d: Drift) -> str:
    versions = f" (locked {d.locked or '-'}, installed {d.installed or '-'})"
    return f"{d.name}: {d.kind.value}{versions}"


def _logs(b: Bundle, limit: int) -> Iterator[Excerpt]:
    """The run's logs; a merged bundle's are its shards', each under shards/<name>/."""
    shards = b.merge.shards if b.merge else ()
    for prefix in ("", *(layout.shard_folder(s.name) + "/" for s in shards)):
        yield from _logs_of(b, limit, prefix)


def _logs_of(b: Bundle, limit: int, prefix: str) -> Iterator[Excerpt]:
    """The interleaved output first (what the terminal showed: pytest's raw bytes with their
    colour when it wrote colour), then each stream; a file that repeats the one shown (the
    plain copy of coloured output; stdout, when nothing went to stderr) is named, not shown
    twice."""
    files = b.metadata.files if b.metadata else {}
    ansi, combined_rel = prefix + layout.LOG_ANSI, prefix + layout.LOG_COMBINED
    first = ansi if ansi in b.files else combined_rel
    combined = _excerpt(b, first, limit)
    if combined is not None:
        yield combined
    shown = combined is not None and not combined.omitted
    seen = {files.get(first), files.get(combined_rel)} - {None}
    for rel in (combined_rel, prefix + layout.LOG_STDOUT, prefix + layout.LOG_STDERR):
        if rel == first or rel not in b.files:
            continue
        ref = files.get(rel)
        if shown and (rel == combined_rel or (ref and ref.size and ref in seen)):
            checked = _excerpt(b, rel, 0)  # nothing read: only whether it failed verification
            if checked is not None and checked.omitted:
                yield checked
                continue
            why = (
                f"the text of {first} above, without its colour"
                if rel == combined_rel
                else "the same bytes as the output above"
            )
            yield Excerpt(rel, b"", b"", b.files[rel], omitted=why)
        elif (x := _excerpt(b, rel, limit)) is not None:
            yield x


def _excerpt(b: Bundle, rel: str, limit: int) -> Excerpt | None:
    size = b.files.get(rel)
    if size is None:
        return None
    try:
        return _read_excerpt(b, rel, size, limit)
    except UsageError as exc:  # the reader refuses a file that failed verification
        return Excerpt(rel, b"", b"", size, omitted=exc.message)


def _read_excerpt(b: Bundle, rel: str, size: int, limit: int) -> Excerpt:
    if size <= limit:
        data, total = b.read(rel, limit)
        return Excerpt(rel, data, b"", total)
    if size <= TAIL_READ_LIMIT:
        data, total = b.read(rel, size)
        return Excerpt(rel, data[: limit // 2], data[-(limit // 2) :], total)
    data, total = b.read(rel, limit)
    return Excerpt(rel, data, b"", total)
