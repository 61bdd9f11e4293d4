"""`ReportInput` -> one self-contained HTML page.

The page loads nothing: its style and script are inlined, and a Content-Security-Policy
allows exactly those two (by hash) and nothing else, so no request can leave the page
even if an escape were missed. Everything from the bundle is escaped here or, for the
test table, embedded as JSON in a data block that the script reads with textContent.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

from repro import __version__
from repro.report import ansi, svg
from repro.report.data import Excerpt, Failure, ReportInput, TestRow
from repro.results import OUTCOMES

# The table's outcomes, in the order of the JSON codes; "running" is the test in flight.
TABLE_OUTCOMES = (*OUTCOMES, "running")
FAILURE_TEXT_LIMIT = 32 << 10  # bytes of one failure's text shown
FAILURES_LIMIT = 500  # failures given in full; the table still lists every test
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _static(name: str) -> str:
    return (resources.files("repro.report") / "static" / name).read_text(encoding="utf-8")


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def csp(style: str, script: str) -> str:
    return (
        "default-src 'none'; "
        f"style-src {_sha256_source(style)}; script-src {_sha256_source(script)}; "
        "img-src 'none'; font-src 'none'; connect-src 'none'; media-src 'none'; "
        "object-src 'none'; frame-src 'none'; worker-src 'none'; manifest-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def render(inp: ReportInput) -> str:
    style = _static("report.css") + ansi.palette_css()
    script = _static("report.js")
    failures = list(inp.failures)
    parts = {
        "csp": esc(csp(style, script)),
        "version": esc(__version__),
        "title": esc(f"repro report: {inp.title}"),
        "style": style,
        "script": script,
        "header": _header(inp),
        "counts": _counts(inp.counts),
        "filters": _filters(inp.tests),
        "failures": _failures(failures),
        "charts": svg.slowest_chart(inp.tests) + svg.histogram(inp.tests)
        or "<p>No test finished, so no durations.</p>",
        "env": _facts(inp.env_facts),
        "packages": _packages(inp.packages),
        "lock": _lock(inp),
        "logs": "".join(_log(x) for x in inp.logs) or "<p>No logs in the bundle.</p>",
        "data": table_json(inp.tests, failures),
    }
    # One pass: text inserted for one placeholder is never scanned for another.
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], _static("report.html"))


def table_json(tests: Sequence[TestRow], failures: Sequence[Failure]) -> str:
    """The test table as compact JSON, safe inside <script type="application/json">."""
    code = {o: i for i, o in enumerate(TABLE_OUTCOMES)}
    shown = {f.nodeid: i for i, f in enumerate(failures[:FAILURES_LIMIT])}
    rows = [
        [
            t.nodeid,
            code.get(t.outcome, code["error"]),
            None if t.duration is None else round(t.duration, 6),
            t.file or "",
            t.line,
            shown.get(t.nodeid, -1),
        ]
        for t in tests
    ]
    text = json.dumps(
        {"outcomes": TABLE_OUTCOMES, "tests": rows}, ensure_ascii=False, separators=(",", ":")
    )
    # "</script" or "<!--" in a test id must not end or change the data block.
    return text.replace("<", "\\u003c")


def _facts(facts: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{rows}</dl>' if rows else "<p>Not recorded.</p>"


def _header(inp: ReportInput) -> str:
    v = inp.verdict
    integrity_word = v.integrity or ("intact" if v.intact else "not intact")
    word = f"{'OK' if v.intact else 'FAIL'} ({integrity_word})"
    integrity = f'<span class="badge {"good" if v.intact else "bad"}">{esc(word)}</span>'
    cls = "good" if inp.status == "passed" else "bad"
    problems = "".join(f"<li>{esc(p)}</li>" for p in v.problems)
    warnings = "".join(f"<li>{esc(w)}</li>" for w in v.warnings)
    reason = f' <span class="muted">{esc(inp.status_reason)}</span>' if inp.status_reason else ""
    return (
        f"<h1>{esc(inp.title)}</h1>"
        '<div class="verdict">'
        f"<span>verify: {integrity}</span>"
        f'<span>tests: <span class="badge {cls}">{esc(inp.status)}</span>{reason}</span>'
        f'<span>digest: <code id="digest">{esc(inp.digest or "none")}</code></span>'
        "</div>"
        + (f'<ul class="problems" aria-label="Verify problems">{problems}</ul>' if problems else "")
        + (f'<ul class="warn" aria-label="Verify warnings">{warnings}</ul>' if warnings else "")
        + (f'<p class="mono" id="verdict-line">{esc(v.line)}</p>' if v.line else "")
        + _facts((("run", inp.run_id), *inp.run_facts))
    )


def _counts(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    items = [f"<li><b>{total}</b>tests</li>"] + [
        f'<li class="o-{esc(k)}"><b>{n}</b>{esc(k)}</li>' for k, n in counts.items() if n
    ]
    return f'<ul class="counts">{"".join(items)}</ul>'


def _filters(tests: Sequence[TestRow]) -> str:
    present = {t.outcome for t in tests}
    return "".join(
        f'<label><input type="checkbox" name="outcome" value="{o}" checked> {o}</label>'
        for o in TABLE_OUTCOMES
        if o in present
    )


def _failures(failures: Sequence[Failure]) -> str:
    if not failures:
        return "<p>No test failed.</p>"
    out = []
    for i, f in enumerate(failures[:FAILURES_LIMIT]):
        text = f.text
        note = ""
        if len(text.encode()) > FAILURE_TEXT_LIMIT:
            text = text.encode()[:FAILURE_TEXT_LIMIT].decode(errors="ignore")
            note = (
                f'<span class="cut">cut at {FAILURE_TEXT_LIMIT:,} bytes; '
                "the full text is in results/results.jsonl</span>"
            )
        msg = f" \u2014 {esc(f.message)}" if f.message else ""
        out.append(
            f'<details id="fail-{i}"><summary>'
            f'<span class="o-{esc(f.outcome)}">{esc(f.outcome)}</span> '
            f"<code>{esc(f.nodeid)}</code>{msg}</summary>"
            f'<pre class="log">{ansi.to_html(text)}{note}</pre></details>'
        )
    if len(failures) > FAILURES_LIMIT:
        out.append(
            f'<p class="cut">{len(failures) - FAILURES_LIMIT:,} more failures are not shown here '
            "(the table lists them all; their text is in results/results.jsonl).</p>"
        )
    return "".join(out)


def _packages(packages: Sequence[tuple[str, str]]) -> str:
    if not packages:
        return "<p>Not recorded.</p>"
    rows = "".join(f"<tr><td>{esc(n)}</td><td>{esc(v)}</td></tr>" for n, v in packages)
    return (
        f'<details><summary>{len(packages)} installed packages</summary><table class="kv">'
        f'<thead><tr><th scope="col">Package</th><th scope="col">Version</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def _lock(inp: ReportInput) -> str:
    drift = "".join(f"<li>{esc(d)}</li>" for d in inp.drift)
    head = f"<p>Kind: <code>{esc(inp.lock_kind or 'none')}</code></p>"
    if drift:
        head += f'<p class="bad">The environment drifted from the lock:</p><ul>{drift}</ul>'
    if inp.lock is None:
        return head + "<p>The bundle holds no lock.</p>"
    return head + (
        f"<details><summary><code>{esc(inp.lock.name)}</code></summary>"
        f"<pre>{_excerpt(inp.lock, colour=False)}</pre></details>"
    )


def _log(x: Excerpt) -> str:
    size = f"{x.total:,} bytes"
    return (
        f'<h3><code>{esc(x.name)}</code> <span class="muted">({size})</span></h3>'
        f'<pre class="log" tabindex="0">{_excerpt(x, colour=True)}</pre>'
    )


def _excerpt(x: Excerpt, *, colour: bool) -> str:
    """The text of `x`, cut at whole lines where the middle is missing, with a note."""
    if x.omitted:
        return f'<span class="cut" role="note">Not shown: {esc(x.omitted)}</span>'
    render = ansi.to_html if colour else (lambda s: esc(s))
    head = x.head.decode("utf-8", errors="replace")
    if not x.cut:
        return render(head)
    tail = x.tail.decode("utf-8", errors="replace")
    head = head[: head.rfind("\n") + 1] or head
    tail = tail[tail.find("\n") + 1 :] if "\n" in tail else tail
    left_out = x.total - len(head.encode()) - len(tail.encode())
    note = (
        f'<span class="cut" role="note">\u2702 {left_out:,} bytes cut here: this report shows the '
        f"first and last lines of {x.total:,} bytes; "
        f"the bundle holds all of <code>{esc(x.name)}</code>.</span>"
    )
    return render(head) + note + render(tail)
