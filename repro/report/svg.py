"""Durations as inline SVG: the slowest tests as bars, and how all durations spread.

Drawn here rather than by a script so the charts show with scripts off and cost the
browser nothing at load; both are a few kilobytes whatever the number of tests.
"""

from __future__ import annotations

import heapq
import html
import math
from collections.abc import Sequence

from repro.report.data import TestRow

WIDTH = 760
LABEL = 380  # px of a bar's row given to the test's name
BAR_H = 18
# Histogram buckets: durations below each bound (seconds), the last one open.
BOUNDS = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
BUCKET_LABELS = ("< 1 ms", "1-10 ms", "10-100 ms", "0.1-1 s", "1-10 s", "10-100 s", ">= 100 s")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _short(name: str, limit: int = 58) -> str:
    return name if len(name) <= limit else "\u2026" + name[-(limit - 1) :]


def fmt_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.001 else f"{seconds * 1e6:.0f} \u00b5s"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def slowest_chart(tests: Sequence[TestRow], n: int = 20) -> str:
    timed = [t for t in tests if t.duration is not None]
    top = heapq.nlargest(n, timed, key=lambda t: t.duration or 0.0)
    if not top:
        return ""
    longest = top[0].duration or 0.0
    height = len(top) * (BAR_H + 6) + 10
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="slow-t" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}">',
        f'<title id="slow-t">The {len(top)} slowest tests, longest {fmt_seconds(longest)}</title>',
    ]
    room = WIDTH - LABEL - 90
    for i, t in enumerate(top):
        y = 5 + i * (BAR_H + 6)
        dur = t.duration or 0.0
        w = max(1.0, room * dur / longest) if longest > 0 else 1.0
        parts.append(
            f"<g><title>{_esc(t.nodeid)}: {fmt_seconds(dur)}</title>"
            f'<text x="{LABEL - 6}" y="{y + 13}" text-anchor="end">{_esc(_short(t.nodeid))}</text>'
            f'<rect class="bar" x="{LABEL}" y="{y}" width="{w:.1f}" height="{BAR_H}"/>'
            f'<text x="{LABEL + w + 5:.1f}" y="{y + 13}">{fmt_seconds(dur)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(tests: Sequence[TestRow]) -> str:
    counts = [0] * len(BUCKET_LABELS)
    for t in tests:
        if t.duration is not None:
            counts[next((i for i, b in enumerate(BOUNDS) if t.duration < b), len(BOUNDS))] += 1
    if not any(counts):
        return ""
    top = max(counts)
    height, base, col = 190, 160, WIDTH // len(counts)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="hist-t" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}">',
        '<title id="hist-t">Number of tests by duration: '
        + ", ".join(f"{lbl}: {c}" for lbl, c in zip(BUCKET_LABELS, counts, strict=True))
        + "</title>",
    ]
    for i, (label, c) in enumerate(zip(BUCKET_LABELS, counts, strict=True)):
        # Square-root scale: one slow test still shows beside 60,000 fast ones.
        h = 0.0 if c == 0 else max(2.0, (base - 30) * math.sqrt(c / top))
        x = i * col + 10
        parts.append(
            f'<rect class="bar" x="{x}" y="{base - h:.1f}" width="{col - 20}" height="{h:.1f}"/>'
            f'<text x="{x + (col - 20) / 2:.1f}" y="{base - h - 5:.1f}" '
            f'text-anchor="middle">{c}</text>'
            f'<text x="{x + (col - 20) / 2:.1f}" y="{base + 18}" '
            f'text-anchor="middle">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
