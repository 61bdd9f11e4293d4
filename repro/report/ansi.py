"""Terminal output (pytest's ANSI colours) as escaped HTML.

Only SGR sequences (colour, bold, ...) are kept, as `<span class>`: classes, not
`style` attributes, so the page's Content-Security-Policy needs no 'unsafe-inline'.
Every other escape sequence (cursor movement, OSC hyperlinks and titles) and every
control character but newline and tab is dropped: output comes from the bundle and
must not be able to forge links or hide text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

# CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ST), and any other ESC + one byte.
_ESCAPE = re.compile(r"\x1b\[([0-9;:?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# The 6x6x6 cube levels of xterm's 256 colours, to place a 24-bit colour in it.
_LEVELS = (0, 95, 135, 175, 215, 255)


@dataclass(frozen=True)
class _Style:
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    fg: int | None = None  # 0-255: xterm palette index
    bg: int | None = None

    def classes(self) -> str:
        names = [n for n, on in (("b", self.bold), ("d", self.dim), ("i", self.italic)) if on]
        if self.underline:
            names.append("u")
        if self.fg is not None:
            names.append(f"f{self.fg}")
        if self.bg is not None:
            names.append(f"g{self.bg}")
        return " ".join(names)


_PLAIN = _Style()
_FLAGS = {1: "bold", 2: "dim", 3: "italic", 4: "underline"}


def _cube(r: int, g: int, b: int) -> int:
    def level(v: int) -> int:
        return min(range(6), key=lambda i: abs(_LEVELS[i] - v))

    return 16 + 36 * level(r) + 6 * level(g) + level(b)


def _extended(params: list[int], i: int) -> tuple[int | None, int]:
    """A 38/48 colour starting at params[i] (the 5 or 2): (palette index, next position)."""
    if i < len(params) and params[i] == 5 and i + 1 < len(params):
        return (params[i + 1] if 0 <= params[i + 1] <= 255 else None), i + 2
    if i < len(params) and params[i] == 2 and i + 3 < len(params):
        r, g, b = (min(max(v, 0), 255) for v in params[i + 1 : i + 4])
        return _cube(r, g, b), i + 4
    return None, len(params)


def _apply(style: _Style, codes: str) -> _Style:
    """The style after one SGR sequence: unknown codes are ignored."""
    try:
        params = [int(p) if p else 0 for p in re.split("[;:]", codes)] if codes else [0]
    except ValueError:
        return style
    i = 0
    while i < len(params):
        p = params[i]
        i += 1
        if p == 0:
            style = _PLAIN
        elif p in _FLAGS:
            style = replace(style, **{_FLAGS[p]: True})
        elif p == 22:
            style = replace(style, bold=False, dim=False)
        elif p == 23:
            style = replace(style, italic=False)
        elif p == 24:
            style = replace(style, underline=False)
        elif 30 <= p <= 37 or 90 <= p <= 97:
            style = replace(style, fg=p - 30 if p < 90 else p - 82)
        elif 40 <= p <= 47 or 100 <= p <= 107:
            style = replace(style, bg=p - 40 if p < 100 else p - 92)
        elif p == 39:
            style = replace(style, fg=None)
        elif p == 49:
            style = replace(style, bg=None)
        elif p in (38, 48):
            colour, i = _extended(params, i)
            style = replace(style, fg=colour) if p == 38 else replace(style, bg=colour)
    return style


def to_html(text: str) -> str:
    """`text` with its SGR colours as spans and everything else escaped (no <pre> around).

    Neighbouring runs of one style share a span: pytest colours each progress dot on its
    own, and a span per dot made a 60,000-test log 60,000 elements that the browser
    took seconds to parse."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    runs: list[tuple[str, list[str]]] = []
    style = _PLAIN

    def add(chunk: str) -> None:
        chunk = _CONTROL.sub("", chunk)
        if not chunk:
            return
        cls = style.classes()
        if runs and runs[-1][0] == cls:
            runs[-1][1].append(chunk)
        else:
            runs.append((cls, [chunk]))

    pos = 0
    for m in _ESCAPE.finditer(text):
        add(text[pos : m.start()])
        pos = m.end()
        if m.group(2) == "m":
            style = _apply(style, m.group(1))
    add(text[pos:])
    out = []
    for cls, chunks in runs:
        escaped = html.escape("".join(chunks), quote=False)
        out.append(f'<span class="{cls}">{escaped}</span>' if cls else escaped)
    return "".join(out)


def palette_css() -> str:
    """CSS for the classes `to_html` emits: the 16 colours tuned for the log's dark
    background (readable, WCAG AA), the rest of xterm's 256 as xterm defines them."""
    colours = [
        *("#8b949e", "#ff7b72", "#3fb950", "#d29922", "#79c0ff", "#d2a8ff", "#39c5cf", "#c9d1d9"),
        *("#a0a8b0", "#ffa198", "#56d364", "#e3b341", "#a5d6ff", "#e2c5ff", "#56d4dd", "#f0f6fc"),
    ]
    colours += [
        f"#{_LEVELS[i // 36]:02x}{_LEVELS[i // 6 % 6]:02x}{_LEVELS[i % 6]:02x}" for i in range(216)
    ]
    colours += [f"#{8 + 10 * i:02x}{8 + 10 * i:02x}{8 + 10 * i:02x}" for i in range(24)]
    rules = [
        ".b{font-weight:bold}.d{opacity:.75}.i{font-style:italic}.u{text-decoration:underline}"
    ]
    rules += [f".f{n}{{color:{c}}}.g{n}{{background:{c}}}" for n, c in enumerate(colours)]
    return "".join(rules)
