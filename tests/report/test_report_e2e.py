"""`repro report` and `repro bundle --report` on real bundles of fixture suites, the page
opened in headless Chromium (tests/browser.py); the README's screenshot is made here."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CRASHING, EVERY_OUTCOME, FAILING, run_repro, write_project
from tests.report.inputs import PAYLOADS, XSS

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img" / "report.png"
HOSTILE = {
    "tests/test_hostile.py": f"""
        import pytest

        PAYLOADS = {list(PAYLOADS)!r}

        @pytest.mark.parametrize("payload", PAYLOADS, ids=PAYLOADS)
        def test_named(payload):
            print("output:", payload)

        def test_fails_with_payload():
            print("\\x1b[35mcoloured by the test\\x1b[0m {XSS}")
            assert "{XSS}" == "</script><script>alert(7)</script>"

        @pytest.mark.skip(reason="{XSS}")
        def test_skipped():
            pass
    """,
    **FAILING,
}


SHOWCASE = {
    "tests/test_parse.py": """
        import pytest

        @pytest.mark.parametrize("n", range(12))
        def test_parse_record(n):
            assert str(n).isdigit()

        def test_parse_unicode():
            assert "\u00e9".encode() == b"\\xc3\\xa9"
    """
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `repro bundle --report` of the hostile suite, with pytest's colours on."""
    root = tmp_path_factory.mktemp("hostile")
    proj = write_project(root / "proj", HOSTILE)
    res = run_repro(
        "bundle", "--project", proj, "--no-lock", "--report", "--json", "-q", "--", "--color=yes"
    )
    assert res.returncode == 1, res.stderr  # tests failed; bundle and report written
    out: dict[str, Any] = json.loads(res.stdout)
    out["project"] = proj
    return out


def _results(bundle: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(bundle) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith("data/results/results.jsonl")]
        return [json.loads(line) for line in zf.read(name).splitlines()]


def test_bundle_report_lists_every_test_as_text(hostile, page):
    report = Path(hostile["report"])
    assert report == Path(hostile["bundle"]).with_suffix(".html")
    ids = [ev["id"] for ev in _results(Path(hostile["bundle"])) if ev["ev"] == "start"]
    assert len(ids) == len(PAYLOADS) + 6
    page.open(report)
    header = page.page.inner_text("header")
    assert "intact" in header and hostile["digest"] in header and "failed" in header
    page.page.fill("#search", "test_named")
    named = [i for i in ids if "test_named" in i]
    page.wait_shown(len(named))
    assert [r[1] for r in page.rows()] == named
    # file:line names the line of the `def`, counted from 1 as editors do.
    source = (Path(hostile["project"]) / "tests/test_hostile.py").read_text().splitlines()
    line = 1 + next(n for n, text in enumerate(source) if text.startswith("def test_named"))
    assert page.rows()[0][3] == f"tests/test_hostile.py:{line}"
    assert page.page.locator("img, iframe, svg[onload], [onerror]").count() == 0
    page.page.eval_on_selector_all("details", "ds => ds.forEach(d => { d.open = true; })")
    # text_content: the long sections skip rendering until scrolled to (content-visibility).
    failures = page.page.text_content("section[aria-labelledby=failures-h]") or ""
    assert "test_fails_with_payload" in failures and "alert(7)" in failures
    page.assert_quiet(report)


def test_log_keeps_pytest_colours_as_styles_not_markup(hostile, page):
    page.open(Path(hostile["report"]))
    log = page.page.locator("section[aria-labelledby=logs-h] pre.log").first
    assert XSS in (log.text_content() or "")
    # pytest's red for the failure summary, and the test's own magenta, as classes.
    assert log.locator("span.f1").count() > 0 and log.locator("span.f5").count() == 1
    colour = log.locator("span.f1").first.evaluate("e => getComputedStyle(e).color")
    assert colour != log.evaluate("e => getComputedStyle(e).color")
    assert "\x1b" not in (log.text_content() or "")
    # The output is shown once, however many of the bundle's logs hold it.
    logs = page.page.text_content("section[aria-labelledby=logs-h]") or ""
    assert logs.count("test session starts") == 1


def test_report_of_the_run_folder_matches_the_bundles_tests(hostile, tmp_path):
    run_dir = Path(hostile["project"]) / "outputs" / "latest"
    out = tmp_path / "run.html"
    res = run_repro("report", run_dir, "-o", out, "--json")
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["report"] == str(out) and got["status"] == "failed" and got["intact"] is True
    assert got["tests"] == len(PAYLOADS) + 6 and out.stat().st_size == got["size"]


def test_a_bundle_that_fails_verification_is_reported_as_such(hostile, tmp_path, page):
    out = tmp_path / "bad.html"
    wrong = "sha256:" + "0" * 64
    res = run_repro("report", hostile["bundle"], "-o", out, "--expect", wrong)
    assert res.returncode == 1 and res.stdout.strip() == str(out)
    assert "failed verification" in res.stderr
    page.open(out)
    assert "FAIL" in page.page.inner_text("header .verdict")
    assert wrong in page.page.inner_text("header .problems")


def test_a_run_that_died_shows_its_test_in_flight_and_cuts_its_long_log(tmp_path, page):
    loud = {
        "tests/test_a_loud.py": """
            def test_loud():
                for i in range(3000):
                    print("line", i)
        """
    }
    proj = write_project(tmp_path / "proj", {**loud, **CRASHING})
    run = run_repro("run", "--project", proj, "-q", "--", "-s")
    assert run.returncode == 1, run.stderr
    out = tmp_path / "died.html"
    res = run_repro(
        "report", proj / "outputs" / "latest", "-o", out, "--log-limit", "8192", "--json"
    )
    assert res.returncode == 0 and json.loads(res.stdout)["status"] == "crashed"
    page.open(out)
    in_flight = "tests/test_crash.py::test_third"
    page.page.uncheck("input[name=outcome][value=passed]")
    page.wait_shown(1)
    assert page.rows()[0][:2] == ["running", in_flight]
    assert in_flight in (page.page.text_content("section[aria-labelledby=failures-h]") or "")
    log = page.page.locator("section[aria-labelledby=logs-h] pre.log").first.text_content() or ""
    size = (proj / "outputs" / "latest" / "logs" / "pytest_output.txt").stat().st_size
    assert size > 8192 and f"of {size:,} bytes" in log and "bytes cut here" in log
    assert "line 0\n" in log and "about to die" in log and "line 1500\n" not in log


def test_a_tampered_log_is_not_shown_and_the_rest_still_is(hostile, tmp_path, page):
    from tests import hostile as h

    rel = "data/logs/pytest_output.txt"
    bad = h.save(h.flip_byte(Path(hostile["bundle"]), rel), tmp_path, sidecar=False)
    out = tmp_path / "tampered.html"
    res = run_repro("report", bad, "-o", out)
    assert res.returncode == 1, res.stderr
    page.open(out)
    assert "FAIL" in page.page.inner_text("header .verdict")
    assert rel in page.page.inner_text("header .problems")
    logs = page.page.text_content("section[aria-labelledby=logs-h]") or ""
    assert "Not shown:" in logs and "failed verification" in logs
    assert "coloured by the test" in logs  # pytest_output.ansi is intact and shown
    page.wait_shown(len(PAYLOADS) + 6)


def _axe_violations(page: Any, report: Path, tests: int) -> None:
    """axe-core on the page, with its `tests` rows drawn and every <details> open (failure
    texts, logs, env)."""
    from axe_playwright_python.sync_playwright import Axe

    page.open(report)
    page.wait_shown(tests)
    page.page.eval_on_selector_all("details", "ds => ds.forEach(d => { d.open = true; })")
    results = Axe().run(page.page)
    assert results.response["passes"], "axe checked nothing"
    assert results.violations_count == 0, results.generate_report()
    page.assert_quiet(report)


@pytest.mark.parametrize("suite", [EVERY_OUTCOME, CRASHING], ids=["every-outcome", "crashed"])
def test_report_of_a_real_bundle_passes_axe(tmp_path, page, suite):
    """Not a built page: `repro report` of a real run, with pytest's colours in the logs,
    every outcome (failures with tracebacks, skips, a setup error, xfail, xpass) or a run
    that died with a test in flight."""
    proj = write_project(tmp_path / "proj", suite)
    made = run_repro("bundle", "--project", proj, "--no-lock", "-q", "--json", "--", "--color=yes")
    assert made.returncode == 1, made.stderr
    bundle = Path(json.loads(made.stdout)["bundle"])
    report = tmp_path / "report.html"
    res = run_repro("report", bundle, "-o", report)
    assert res.returncode == 0, res.stderr
    started = [ev["id"] for ev in _results(bundle) if ev["ev"] == "start"]
    _axe_violations(page, report, len(started))


def test_report_of_the_hostile_bundle_passes_axe(hostile, page):
    started = [ev for ev in _results(Path(hostile["bundle"])) if ev["ev"] == "start"]
    _axe_violations(page, Path(hostile["report"]), len(started))


def test_report_errors_are_one_line(tmp_path):
    res = run_repro("report", tmp_path / "missing.zip", "-o", tmp_path / "x.html")
    assert res.returncode == 2 and res.stderr.startswith("repro: error: ")
    assert len(res.stderr.strip().splitlines()) == 1


def test_readme_screenshot(tmp_path_factory, browser):
    """docs/img/report.png: the report of a small failing suite, as a reviewer first sees it.
    Rewritten only with REPRO_UPDATE_DOCS=1 (run ids and digests change on every run)."""
    root = tmp_path_factory.mktemp("shot")
    proj = write_project(root / "proj", {**FAILING, **SHOWCASE})
    args = ("bundle", "--no-lock", "--report", "--json", "-q", "--", "--color=yes")
    res = run_repro(*args, cwd=proj)
    report = proj / json.loads(res.stdout)["report"]
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    try:
        p = context.new_page()
        p.goto(report.as_uri())
        p.wait_for_selector("html[data-ready]")
        target = DOCS_IMG if os.environ.get("REPRO_UPDATE_DOCS") else root / "report.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(target), full_page=False)
    finally:
        context.close()
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert DOCS_IMG.is_file(), "docs/img/report.png is missing: run REPRO_UPDATE_DOCS=1 make test"
    assert re.search(
        r"!\[[^]]*\]\(docs/img/report\.png\)", (DOCS_IMG.parents[2] / "README.md").read_text()
    )
