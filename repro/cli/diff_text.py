"""The text rendering of `repro diff` (the comparison is built in repro/compare.py)."""

from __future__ import annotations

from repro.cli.style import Style
from repro.compare import ChangeKind, Comparison, FieldChange, Side
from repro.model import Counts, Outcome

LIST_LIMIT = 50  # tests listed per kind of change; --json has them all

KIND_TITLES = {
    ChangeKind.NOW_FAILING: "now failing",
    ChangeKind.NOW_PASSING: "now passing",
    ChangeKind.MISSING: "missing in B",
    ChangeKind.NEW: "new in B",
    ChangeKind.CHANGED: "other outcome",
}


def render(c: Comparison, style: Style) -> list[str]:
    lines = _side("A", c.a, style) + _side("B", c.b, style) + [""]
    lines += _status(c, style)
    lines += _fields("commit", c.commit, style)
    lines += _fields("env", c.env, style)
    lines += _packages(c, style)
    lines += _fields("lock", c.lock, style)
    lines += _tests(c, style)
    lines += _durations(c, style)
    lines += ["", _summary(c, style)]
    return lines


def _side(label: str, s: Side, style: Style) -> list[str]:
    v = s.verdict
    head = f"{label}  " + style.verdict_word(v.intact, f"{v.word} ({v.integrity})")
    lines = [head + "  tests: " + style.status(v.status, v.tests_text())]
    return lines + style.wrap(s.path, "   ", "   ")


def _arrow(before: str | None, after: str | None) -> str:
    return f"{before if before is not None else 'none'} -> {after if after is not None else 'none'}"


def _status(c: Comparison, style: Style) -> list[str]:
    if c.status is None:
        status = c.a.verdict.status
        lines = style.field("status", f"same ({status.value if status else 'unknown'})", "")
    else:
        lines = style.field("status", _arrow(c.status.before, c.status.after), "")
    ca, cb = c.counts
    if ca is not None and cb is not None and ca != cb:
        lines += style.field("counts", _counts(ca, cb), "")
    return lines


def _counts(a: Counts, b: Counts) -> str:
    parts = [f"{o.value} {a.get(o)} -> {b.get(o)}" for o in Outcome if a.get(o) != b.get(o)]
    return ", ".join(parts)


def _fields(title: str, changes: tuple[FieldChange, ...], style: Style) -> list[str]:
    if not changes:
        return style.field(title, "same", "")
    lines = style.field(title, f"{len(changes)} difference(s)", "")
    for f in changes:
        lines += style.wrap(f"{f.name}: {_arrow(f.before, f.after)}", "  ", "    ")
    return lines


def _packages(c: Comparison, style: Style) -> list[str]:
    if not c.packages:
        return style.field("packages", "same", "")
    added = [p for p in c.packages if p.before is None]
    removed = [p for p in c.packages if p.after is None]
    changed = [p for p in c.packages if p.before is not None and p.after is not None]
    lines = style.field(
        "packages", f"{len(changed)} changed, {len(added)} added, {len(removed)} removed", ""
    )
    for p in changed:
        lines += style.wrap(f"{p.name} {p.before} -> {p.after}", "  ~ ", "    ")
    for p in added:
        lines += style.wrap(f"{p.name} {p.after}", "  + ", "    ")
    for p in removed:
        lines += style.wrap(f"{p.name} {p.before}", "  - ", "    ")
    return lines


def _tests(c: Comparison, style: Style) -> list[str]:
    if not c.tests_compared:
        return style.field("tests", "not compared: a results stream could not be read", "")
    if not c.tests:
        return style.field("tests", "every test has the same outcome", "")
    counts = ", ".join(
        f"{len(c.of_kind(k))} {title}" for k, title in KIND_TITLES.items() if c.of_kind(k)
    )
    lines = style.field("tests", counts, "")
    for kind, title in KIND_TITLES.items():
        changes = c.of_kind(kind)
        if not changes:
            continue
        lines += ["", style.heading(f"Tests {title} ({len(changes)})")]
        for t in changes[:LIST_LIMIT]:
            lines += style.wrap(t.id, "  ", "    ")
            if kind is not ChangeKind.NEW and kind is not ChangeKind.MISSING:
                lines += [f"    {_arrow(t.before, t.after)}"]
        if len(changes) > LIST_LIMIT:
            lines += [f"  … and {len(changes) - LIST_LIMIT} more (--json lists them all)"]
    return lines


def _durations(c: Comparison, style: Style) -> list[str]:
    if not c.durations:
        return []
    lines = ["", style.heading(f"Durations changed more than 2x and 0.5 s ({len(c.durations)})")]
    for d in c.durations[:LIST_LIMIT]:
        lines += style.wrap(d.id, "  ", "    ")
        lines += [f"    {d.before:.2f} s -> {d.after:.2f} s ({d.factor:.1f}x)"]
    if len(c.durations) > LIST_LIMIT:
        lines += [f"  … and {len(c.durations) - LIST_LIMIT} more (--json lists them all)"]
    return lines


def _summary(c: Comparison, style: Style) -> str:
    if c.same_outcomes:
        return style.paint("Same outcomes.", "green", bold=True)
    if not (c.a.verdict.intact and c.b.verdict.intact):
        return style.paint("Not comparable as evidence: a bundle is not intact.", "red", bold=True)
    return style.paint("Outcomes differ.", "red", bold=True)
