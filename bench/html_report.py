"""`repro report` at scale: a real bundle of a generated 60,000-test suite, its report's
size, the time to write it, and the time until Chromium shows it and answers a search.

    python bench/html_report.py                  # 60,000 tests (the run takes minutes)
    python bench/html_report.py --tests 2000     # a quick look
    python bench/html_report.py --workdir /tmp/rb  # keep suite and bundle, reuse them next time

Goals (issue 12): the file under 20 MB, the page interactive within 3 s. Writing the
report is compared with `repro verify` of the same bundle, which it includes. The browser
is Debian's chromium driven by Playwright (`pip install playwright`; no downloaded build).
Nothing here reaches the network.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
REPRO = [PY, "-m", "repro"]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

TEST_FILE = """\
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_case(i):
    if i % 100 == 0:
        print(f"case {{i}} of file {index}: printed output")
    if i % 25 == 7:
        pytest.skip("skipped on purpose")
    if i % 97 == 3:
        assert [i, i + 1] == [i, -1], "a failure with a traceback"
"""


@dataclass(frozen=True)
class ReportBench:
    tests: int
    failures: int
    bundle_bytes: int
    report_bytes: int
    verify_wall: float  # seconds, median
    verify_cpu: float
    report_wall: float
    report_cpu: float
    report_peak_mib: float
    load_seconds: float  # until the table is drawn (median of the browser runs)
    search_seconds: float  # typing a query until the filtered count shows


def make_suite(root: Path, tests: int, per_file: int = 1000) -> None:
    (root / "tests").mkdir(parents=True)
    for index, start in enumerate(range(0, tests, per_file)):
        n = min(per_file, tests - start)
        path = root / "tests" / f"test_gen_{index:03d}.py"
        path.write_text(TEST_FILE.format(n=n, index=index))


def measure(cmd: list[str]) -> dict[str, float]:
    proc = subprocess.run(
        [PY, str(HERE / "measure.py"), "--", *cmd], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bundle_of(tmp: Path, tests: int) -> Path:
    suite, outputs = tmp / f"suite-{tests}", tmp / f"outputs-{tests}"
    made = sorted((outputs / "bundles").glob("repro-*.zip"))
    if made:
        return made[-1]
    make_suite(suite, tests)
    run = [*REPRO, "run", "--project", str(suite), "--outputs", str(outputs), "-q"]
    subprocess.run([*run, "--", "-q", "--color=yes", "-p", "no:cacheprovider"], check=False)
    pack = [*REPRO, "pack", str(outputs / "latest"), "--out", str(outputs / "bundles"), "--json"]
    out = subprocess.run(pack, capture_output=True, text=True, check=True).stdout
    return Path(json.loads(out)["bundle"])


def browser_times(report: Path, reps: int) -> tuple[float, float]:
    from playwright.sync_api import expect, sync_playwright

    loads, searches = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(reps):
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(report.as_uri())
            page.wait_for_selector("html[data-ready]", timeout=120_000)
            loads.append(time.perf_counter() - start)
            start = time.perf_counter()
            page.fill("#search", "test_gen_001.py::test_case[99")
            expect(page.locator("#shown")).to_have_text(re.compile("^11 of"), timeout=30_000)
            searches.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return statistics.median(loads), statistics.median(searches)


def bench(tests: int, reps: int, workdir: Path | None) -> ReportBench:
    with tempfile.TemporaryDirectory(prefix="repro-bench-report-") as name:
        tmp = workdir or Path(name)
        bundle = bundle_of(tmp, tests)
        html = tmp / "report.html"
        verify = [measure([*REPRO, "verify", str(bundle)]) for _ in range(reps)]
        report = [measure([*REPRO, "report", str(bundle), "-o", str(html)]) for _ in range(reps)]
        load, search = browser_times(html, reps)
        failures = html.read_text().count('<details id="fail-')
        return ReportBench(
            tests=tests,
            failures=failures,
            bundle_bytes=bundle.stat().st_size,
            report_bytes=html.stat().st_size,
            verify_wall=statistics.median(m["wall"] for m in verify),
            verify_cpu=statistics.median(m["cpu"] for m in verify),
            report_wall=statistics.median(m["wall"] for m in report),
            report_cpu=statistics.median(m["cpu"] for m in report),
            report_peak_mib=max(m["tree_peak_kib"] for m in report) / 1024,
            load_seconds=load,
            search_seconds=search,
        )


def table(r: ReportBench) -> str:
    rows = [
        ("tests in the bundle", f"{r.tests:,}", ""),
        ("failures given in full", f"{r.failures:,}", ""),
        ("bundle size", f"{r.bundle_bytes / 1e6:.1f} MB", ""),
        ("report size", f"{r.report_bytes / 1e6:.1f} MB", "< 20 MB"),
        ("`repro verify` wall (CPU)", f"{r.verify_wall:.2f} s ({r.verify_cpu:.2f} s)", ""),
        ("`repro report` wall (CPU)", f"{r.report_wall:.2f} s ({r.report_cpu:.2f} s)", ""),
        ("report / verify, CPU", f"{r.report_cpu / r.verify_cpu:.2f}x", ""),
        ("`repro report` peak RSS", f"{r.report_peak_mib:.0f} MiB", ""),
        ("Chromium: open until the table is drawn", f"{r.load_seconds:.2f} s", "< 3 s"),
        ("Chromium: search until the count shows", f"{r.search_seconds:.2f} s", ""),
    ]
    lines = ["| measure | value | goal |", "|---|---|---|"]
    return "\n".join([*lines, *(f"| {a} | {b} | {c} |" for a, b, c in rows)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--tests", type=int, default=60_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) suite and bundle")
    args = ap.parse_args(argv)
    r = bench(args.tests, args.reps, args.workdir)
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores)")
    print(table(r))
    print(json.dumps(asdict(r)))
    ok = r.report_bytes < 20_000_000 and r.load_seconds < 3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
