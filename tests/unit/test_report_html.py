"""The HTML report's page (repro/report/html.py), read back with an HTML parser."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

from repro.report import html
from repro.report.data import Excerpt
from tests.report.inputs import PAYLOADS, XSS, sample_input


class Page(HTMLParser):
    """Every element with its attributes, and the text of each script and of the body."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in_script: dict[str, str | None] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_allows_exactly_the_inline_style_and_script_and_nothing_else():
    page = Page(html.render(sample_input()))
    metas = [a for t, a in page.elements if t == "meta"]
    assert metas[1]["http-equiv"] == "Content-Security-Policy"  # right after the charset
    csp = metas[1]["content"] or ""
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert "unsafe" not in csp
    code = [text for attrs, text in page.scripts if "type" not in attrs]
    assert len(code) == 1 and directives["script-src"] == _hash(code[0])
    style = re.search(r"<style>(.*?)</style>", html.render(sample_input()), re.S)
    assert style and directives["style-src"] == _hash(style.group(1))
    for d in ("connect-src", "img-src", "base-uri", "form-action", "object-src"):
        assert directives[d] == "'none'"


def test_bundle_strings_become_text_and_never_markup():
    inp = sample_input()
    page = Page(html.render(inp))
    # Only repro's own element kinds, and no attribute carrying script or a URL.
    allowed = {
        *("html", "head", "meta", "title", "style", "body", "header", "nav", "main", "footer"),
        *("section", "h1", "h2", "h3", "p", "a", "div", "span", "code", "pre", "ul", "li"),
        *("dl", "dt", "dd", "form", "fieldset", "legend", "label", "input", "select"),
        *("option", "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td"),
        *("details", "summary", "svg", "g", "rect", "text", "script", "noscript", "b"),
    }
    assert {t for t, _ in page.elements} <= allowed
    for tag, attrs in page.elements:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        if tag == "a":
            assert (attrs["href"] or "").startswith("#"), attrs
        assert tag != "script" or attrs.get("type") in (None, "application/json")
    # Each payload is on the page as the very text it was, in the body and the chart.
    body = "".join(page.text)
    for p in PAYLOADS:
        assert p in body
    assert f"{XSS}: version (locked 1, installed 2)" in body


def test_test_table_json_round_trips_hostile_ids_inside_its_data_block():
    inp = sample_input()
    page = Page(html.render(inp))
    (data,) = [text for attrs, text in page.scripts if attrs.get("type") == "application/json"]
    doc = json.loads(data)
    assert [row[0] for row in doc["tests"]] == [t.nodeid for t in inp.tests]
    assert [doc["outcomes"][row[1]] for row in doc["tests"]] == [t.outcome for t in inp.tests]
    failed = [row for row in doc["tests"] if row[5] >= 0]
    assert len(failed) == len(inp.failures)
    assert "<" not in data  # so "</script" inside a test id cannot end the block


def test_log_cut_in_the_middle_at_whole_lines_with_a_note():
    head = b"".join(b"head line %d\n" % i for i in range(100)) + b"partial hea"
    tail = b"ad tail\n" + b"".join(b"tail line %d\n" % i for i in range(100))
    total = 10_000_000
    inp = sample_input(log=b"")
    inp = type(inp)(**{**inp.__dict__, "logs": (Excerpt("logs/x.log", head, tail, total),)})
    page = "".join(Page(html.render(inp)).text)
    assert "head line 99\n" in page and "tail line 0\n" in page
    assert "partial hea" not in page and "ad tail" not in page
    left_out = total - len(head) + len(b"partial hea") - len(tail) + len(b"ad tail\n")
    assert f"{left_out:,} bytes cut here" in page
    assert "10,000,000 bytes" in page


def test_failure_list_and_failure_text_are_bounded():
    inp = sample_input(8 * html.FAILURES_LIMIT, hostile=False)  # a quarter of them fail
    big = inp.failures[0]
    huge = type(big)(big.nodeid, big.outcome, big.message, "x" * (html.FAILURE_TEXT_LIMIT * 3))
    inp = type(inp)(**{**inp.__dict__, "failures": (huge, *inp.failures)})
    text = html.render(inp)
    assert text.count('<details id="fail-') == html.FAILURES_LIMIT
    assert f"{len(inp.failures) - html.FAILURES_LIMIT:,} more failures" in text
    assert "x" * html.FAILURE_TEXT_LIMIT in text and "x" * (html.FAILURE_TEXT_LIMIT + 1) not in text
