"""The HTML report in a real browser (headless Chromium via Playwright), from pages
rendered from built inputs: filter, search, hostile content, 60,000 tests, axe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from repro.report import html
from tests.report.browser import ROWS, Watched
from tests.report.inputs import PAYLOADS, XSS, sample_input


def _write(tmp_path: Path, n: int = 300, **kw: Any) -> tuple[Path, Any]:
    inp = sample_input(n, **kw)
    path = tmp_path / "report.html"
    path.write_text(html.render(inp), encoding="utf-8")
    return path, inp


def _shown(page: Watched) -> int:
    text = page.page.inner_text("#shown")
    return int(text.split(" of ")[0].replace(",", ""))


def test_header_counts_and_table_render(tmp_path, page):
    path, inp = _write(tmp_path)
    page.open(path)
    header = page.page.inner_text("header")
    assert inp.digest in header and "intact" in header and "failed" in header
    assert _shown(page) == len(inp.tests)
    rows = page.rows()
    # Only the rows in view are in the document, in run order, with their fields.
    assert 10 < len(rows) < 100
    first = inp.tests[0]
    assert rows[0] == ["passed", first.nodeid, "0 \u00b5s", f"tests/test_mod0.py:{first.line}"]
    assert page.page.locator("svg.chart").count() == 2
    page.assert_quiet(path)


def test_scrolling_draws_the_rows_in_view(tmp_path, page):
    path, inp = _write(tmp_path, 5000)
    page.open(path)
    page.page.eval_on_selector("#tests-scroll", "el => { el.scrollTop = 28 * 3000; }")
    from playwright.sync_api import expect

    expect(page.page.locator(f"{ROWS} >> nth=0")).not_to_contain_text("test_case_0")
    names = [r[1] for r in page.rows()]
    assert inp.tests[3000].nodeid in names and len(names) < 100


def test_filter_by_outcome_and_search_by_name(tmp_path, page):
    path, inp = _write(tmp_path, 2000)
    page.open(path)
    page.page.uncheck("input[name=outcome][value=passed]")
    want = [t for t in inp.tests if t.outcome != "passed"]
    assert _shown(page) == len(want)
    assert {r[0] for r in page.rows()} <= {"failed", "skipped", "xfailed", "error"}

    page.page.fill("#search", "TEST_CASE_17")  # case-insensitive substring
    want = [t for t in want if "test_case_17" in t.nodeid]
    page.wait_shown(len(want))
    names = [r[1] for r in page.rows()]
    assert len(names) > 10 and names == [t.nodeid for t in want[: len(names)]]

    page.page.check("input[name=outcome][value=passed]")
    page.page.select_option("#sort", "slow")
    matching = [t for t in inp.tests if "test_case_17" in t.nodeid]
    page.wait_shown(len(matching))
    slowest = sorted(matching, key=lambda t: -(t.duration or 0))  # stable: ties in run order
    names = [r[1] for r in page.rows()]
    assert names == [t.nodeid for t in slowest[: len(names)]]


def test_hostile_names_and_output_stay_inert_text(tmp_path, page):
    path, _inp = _write(tmp_path, 50)
    page.page.add_init_script("window.__pwned = 0")
    page.open(path)
    # Open every failure and the lock, and show the hostile rows, so all of it renders.
    page.page.eval_on_selector_all("details", "ds => ds.forEach(d => { d.open = true; })")
    page.page.fill("#search", "test_x.py")
    page.wait_shown(len(PAYLOADS))
    assert [r[1] for r in page.rows()] == [f"tests/test_x.py::test_name[{p}]" for p in PAYLOADS]
    # No element the payloads describe exists; their text is on the page as written.
    assert page.page.locator("img, iframe, object, embed, svg[onload], [onerror]").count() == 0
    assert page.page.locator("script").count() == 2
    body = page.page.inner_text("body")
    for p in PAYLOADS:
        assert p in body
    # text_content: the long sections skip rendering until scrolled to (content-visibility).
    assert XSS in (page.page.text_content("#logs-h + h3 + pre") or "")
    page.assert_quiet(path)


def test_failure_link_opens_its_text(tmp_path, page):
    path, inp = _write(tmp_path, 50)
    page.open(path)
    page.page.click(f"{ROWS} a >> nth=0")
    first = inp.failures[0]
    details = page.page.locator("#fail-0")
    assert details.get_attribute("open") is not None
    assert first.text.splitlines()[2] in details.inner_text()


def test_sixty_thousand_tests_stay_small_and_interactive(tmp_path, page, record_property):
    path, _inp = _write(tmp_path, 60_000)
    size = path.stat().st_size
    seconds = page.open(path)
    page.page.fill("#search", "test_case_5999")
    page.wait_shown(11)
    record_property("report_bytes_60k", size)
    record_property("report_load_seconds_60k", round(seconds, 3))
    print(f"60,000-test report: {size / 1e6:.1f} MB, interactive after {seconds:.2f} s")
    assert size < 20_000_000
    assert len(page.rows()) == 11


def test_page_passes_axe(tmp_path, page):
    from axe_playwright_python.sync_playwright import Axe

    path, _ = _write(tmp_path, 200)
    page.open(path)
    page.page.eval_on_selector_all("details", "ds => ds.forEach(d => { d.open = true; })")
    results = Axe().run(page.page)
    assert results.response["passes"], "axe checked nothing"
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("scripts", [False])
def test_page_reads_without_scripts(tmp_path, browser, scripts):
    path, inp = _write(tmp_path, 50)
    context = browser.new_context(java_script_enabled=scripts)
    try:
        p = context.new_page()
        p.goto(path.resolve().as_uri())
        body = p.inner_text("body")
        assert "The test table needs JavaScript" in body
        assert inp.failures[0].nodeid in body and inp.digest in body
    finally:
        context.close()
