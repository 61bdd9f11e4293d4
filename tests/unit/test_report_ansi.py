"""ANSI terminal output -> escaped HTML spans (repro/report/ansi.py)."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from repro.report.ansi import palette_css, to_html

SPAN = re.compile(r'<span class="[a-z0-9 ]+">|</span>')


def test_pytest_colours_become_classes():
    out = to_html("\x1b[1m== 1 failed ==\x1b[0m ok \x1b[31;1mFAILED\x1b[0m \x1b[32m.\x1b[39m")
    assert '<span class="b">== 1 failed ==</span>' in out
    assert '<span class="b f1">FAILED</span>' in out
    assert '<span class="f2">.</span>' in out
    assert " ok " in out and "\x1b" not in out


def test_bright_256_and_truecolour_map_to_the_palette():
    out = to_html("\x1b[91ma\x1b[0m\x1b[38;5;208mb\x1b[0m\x1b[48;2;255;0;0mc\x1b[0m")
    assert '<span class="f9">a</span>' in out
    assert '<span class="f208">b</span>' in out
    assert '<span class="g196">c</span>' in out
    for cls in ("f9", "f208", "g196", "b", "u"):
        assert f".{cls}{{" in palette_css()


def test_markup_is_escaped_and_links_titles_and_controls_are_dropped():
    out = to_html(
        '<img src=x onerror=alert(1)>"&\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07'
        "\x1b]0;title\x07\x1b[2K\x1b[1A\x07\x00\x08end\r\nx\ry"
    )
    assert out == '&lt;img src=x onerror=alert(1)&gt;"&amp;clickend\nx\ny'


def test_unknown_and_malformed_sequences_do_not_break_the_text():
    # 99 is no SGR code; 38;5 and 38;2 without their values set no colour.
    assert to_html("a\x1b[99mb\x1b[38;5mc\x1b[38;2;1md\x1b") == "abcd"


@given(st.text(alphabet=st.sampled_from(list("<>&\"'ab \n\x1b[;0123456789mK]\x07\\"))))
def test_output_holds_no_markup_but_the_spans_and_keeps_the_visible_text(text):
    out = to_html(text)
    bare = SPAN.sub("", out)
    assert "<" not in bare and ">" not in bare
    # What remains, unescaped, is the input's characters in order (escapes removed).
    visible = html.unescape(bare)
    it = iter(text.replace("\r", "\n"))
    assert all(ch in it for ch in visible)


def test_neighbouring_runs_of_one_style_share_a_span():
    dots = "\x1b[32m.\x1b[0m" * 1000 + "\x1b[32m\x1b[0m\x1b[31mF\x1b[0m"
    assert to_html(dots) == '<span class="f2">' + "." * 1000 + '</span><span class="f1">F</span>'
