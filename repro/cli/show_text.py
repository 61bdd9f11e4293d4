"""The text rendering of `repro show` (the view is built in repro/show.py)."""

from __future__ import annotations

from repro.cli.style import Style, safe
from repro.model import Outcome, TestResult
from repro.show import ShowView, WhatRan, Where, utc
from repro.verdict import counts_text

TRACEBACK_LINES = 12  # of each failure's report, in the overview


def render(view: ShowView, style: Style, *, failed_only: bool = False) -> list[str]:
    lines = _verdict(view, style)
    if not failed_only:
        lines += _ran(view.ran, style) + _where(view.where, style)
    lines += _status(view, style)
    lines += _shards(view, style)
    lines += _failures(view, style)
    if not failed_only:
        lines += _slowest(view, style) + _lock(view, style)
    if view.tests is not None:
        lines += _every_test(view.tests, style)
    return lines


def _every_test(tests: tuple[TestResult, ...], style: Style) -> list[str]:
    lines = ["", style.heading(f"Every test ({len(tests)}, in run order)")]
    for t in tests:
        label = (t.outcome.value if t.outcome else "in flight").upper()
        head = f"  {style.outcome(t.outcome, f'{label:<9}')} {_seconds(t.duration):>8}  "
        lines += style.wrap(t.id, head, " " * 22)
    return lines


def verdict_lines(view: ShowView, style: Style) -> list[str]:
    """The verdict line, wrapped within the width (a run with every kind of outcome has a
    long one); the words are painted after wrapping, so escapes never count as columns."""
    v = view.verdict
    head = f"{v.word} ({v.integrity})"
    first, *rest = style.wrap(f"{head}  tests: {v.tests_text()}", "", "    ")
    tests = first[len(head) + len("  tests: ") :]
    lines = [style.verdict_word(v.intact, head) + "  tests: " + style.status(view.status, tests)]
    return lines + ["    " + style.status(view.status, line[4:]) for line in rest]


def _verdict(view: ShowView, style: Style) -> list[str]:
    v = view.verdict
    lines = verdict_lines(view, style)
    # A bundle too broken to have a digest (a truncated zip) is not a run folder.
    none = "none (not computed: see the problems)"
    if view.kind != "bundle":
        none = "none (a run folder is not packed)"
    lines += style.field("digest", v.digest or none, "")
    lines += style.field("bundle" if view.kind == "bundle" else "folder", view.path, "")
    for p in view.problems:
        lines += style.wrap(f"[{p.kind}] {p}", "  - ", "    ")
    for w in view.warnings:
        lines += style.wrap(f"warning: {w}", "  ", "    ")
    return lines


def _ran(r: WhatRan, style: Style) -> list[str]:
    lines = ["", style.heading("What ran")]
    lines += style.field("run", " ".join(x for x in (r.run_id, _v(r.repro_version)) if x))
    lines += style.field("command", " ".join(r.command))
    lines += style.field("pytest", " ".join(r.pytest_argv))
    lines += style.field("in", r.cwd or "")
    if r.commit is not None or r.dirty is not None:
        state = "dirty: uncommitted changes" if r.dirty else "clean"
        where = f" on {r.branch}" if r.branch else ""
        lines += style.field("commit", f"{(r.commit or 'no commit')[:12]}{where} ({state})")
    else:
        lines += style.field("commit", "not a git checkout")
    when = utc(r.started) or ""
    if r.duration_seconds is not None:
        when += f", {_seconds(r.duration_seconds)}"
    lines += style.field("when", when)
    return lines


def _v(version: str | None) -> str | None:
    return f"(repro {version})" if version else None


def _where(w: Where, style: Style) -> list[str]:
    lines = ["", style.heading("Where")]
    if w.python is None:
        return [*lines, "  env.json could not be read"]
    lines += style.field("python", f"{w.python}{' (venv)' if w.venv else ''} {w.executable}")
    lines += style.field("os", ", ".join(x for x in (w.os, w.libc) if x))
    lines += style.field("cpus", str(w.cpu_count) if w.cpu_count is not None else "unknown")
    if w.pytest:
        plugins = f" with {', '.join(w.plugins)}" if w.plugins else ""
        lines += style.field("pytest", f"{w.pytest}{plugins}")
    return lines


def _status(view: ShowView, style: Style) -> list[str]:
    lines = ["", style.heading("Outcome")]
    if view.status is None:
        return [*lines, "  no readable record says how the run ended"]
    how = f"exit code {view.exit_code}" if view.exit_code is not None else "no exit code"
    if view.signal:
        how += f", {view.signal}"
    first, *rest = style.wrap(f"{view.status.value}: {view.status_reason} ({how})", "  ")
    status = view.status.value
    lines += [first.replace(status, style.status(view.status, status), 1), *rest]
    if view.counts is not None:
        lines += style.wrap(f"{counts_text(view.counts)} ({view.counts.total} finished)", "  ")
    for step in view.kill_sequence:
        lines += style.wrap(f"{step.signal} at {step.at:.1f} s: {step.reason}", "  sent ")
    return lines


def _shards(view: ShowView, style: Style) -> list[str]:
    """A merged bundle's shards, each with its outcome and digest; what they left unrun."""
    if not view.shards:
        return []
    lines = ["", style.heading(f"Shards ({len(view.shards)}, merged by repro merge)")]
    for sh in view.shards:
        group = f"group {sh.group} of {sh.splits}" if sh.group is not None else f"shard {sh.name}"
        head = f"{group}: {sh.status}, {counts_text(sh.counts)} in {_seconds(sh.duration_seconds)}"
        lines += style.wrap(safe(head), "  ", "    ")
        lines += style.wrap(safe(f"{sh.bundle} {sh.digest}"), "    ", "    ")
        lines += style.wrap(f"logs in shards/{safe(sh.name)}/logs/", "    ")
    m = view.missing
    if m is not None and (m.tests or m.groups):
        what = [f"group {', '.join(map(str, m.groups))}"] if m.groups else []
        what.append(f"{m.tests} test(s)")
        lines += style.wrap(f"partial: no shard ran {' and '.join(what)}", "  ", "    ")
        for test in m.ids[:10]:
            lines += style.wrap(safe(test), "    missing ", "      ")
        if len(m.ids) > 10:
            lines.append(f"    ... and {len(m.ids) - 10} more (--json lists them all)")
    return lines


def _failures(view: ShowView, style: Style) -> list[str]:
    lines: list[str] = []
    if view.in_flight is not None or view.collect_errors or view.failures:
        lines += [""]
    if view.in_flight is not None:
        lines += [style.heading("In flight when the run ended")]
        lines += style.wrap(f"{view.in_flight.id} ({view.in_flight.location})", "  ")
    if view.collect_errors:
        lines += [style.heading(f"Collection errors ({len(view.collect_errors)})")]
        for e in view.collect_errors:
            lines += style.wrap(e.id or "(session)", "  ")
            lines += _excerpt(e.text or e.message, style)
    if view.failures:
        lines += [style.heading(f"Failures and errors ({len(view.failures)})")]
        for t in view.failures:
            lines += _test_head(t, style) + _excerpt(t.text or t.message, style)
    return lines


def _test_head(t: TestResult, style: Style) -> list[str]:
    label = (t.outcome.value if t.outcome else "in flight").upper()
    where = f"{t.location}" + (f", in {t.phase.value}" if t.phase else "")
    lines = style.wrap(f"{t.id}", "  " + style.outcome(t.outcome, label) + " ", "    ")
    lines += style.wrap(f"{where}, {_seconds(t.duration)}", "    ")
    if t.message:
        lines += style.wrap(t.message, "    ", "      ")
    return lines


def _excerpt(text: str, style: Style, limit: int = TRACEBACK_LINES) -> list[str]:
    if not text:
        return []
    raw = text.splitlines()
    out = [style.cut(line, "    | ").rstrip() for line in raw[:limit]]
    if len(raw) > limit:
        out.append(f"    | … {len(raw) - limit} more lines (repro show --test ID)")
    return out


def _slowest(view: ShowView, style: Style) -> list[str]:
    if not view.slowest:
        return []
    lines = ["", style.heading("Slowest tests")]
    for t in view.slowest:
        lines += style.wrap(t.id, f"  {_seconds(t.duration):>8}  ", " " * 14)
    return lines


def _lock(view: ShowView, style: Style) -> list[str]:
    lk = view.lock
    lines = ["", style.heading("Lock")]
    if not lk.present:
        return [*lines, "  none: the run was not checked against a lock"]
    kind = lk.kind.value if lk.kind else "unknown kind"
    detail = f"{lk.path} ({kind}"
    detail += f", {lk.packages} packages)" if lk.packages is not None else ")"
    lines += style.field("file", detail)
    if lk.reason:
        lines += style.field("why", lk.reason)
    if lk.unhashable:
        lines += style.field("unhashed", ", ".join(lk.unhashable))
    if lk.drift:
        lines += style.field("drift", f"{len(lk.drift)} package(s) differ from the lock")
        for d in lk.drift:
            change = " -> ".join(v or "none" for v in (d.locked, d.installed))
            lines += style.wrap(f"{d.name}: {d.kind.value} ({change})", "    ")
    else:
        lines += style.field("drift", "none: the environment matches the lock")
    return lines


def render_test(t: TestResult, style: Style) -> list[str]:
    """One test in full: `repro show --test ID`."""
    lines = _test_head(t, style)
    if t.text:
        lines += [""] + [style.cut(line, "  ").rstrip() for line in t.text.splitlines()]
    elif t.outcome is Outcome.PASSED:
        lines += ["    passed"]
    return lines


def _seconds(s: float) -> str:
    return f"{s:.2f} s" if s < 60 else f"{int(s // 60)} min {s % 60:.0f} s"
