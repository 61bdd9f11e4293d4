"""Benchmark 1: `repro run` on a suite of >= 50,000 tests against bare pytest.

Baselines: bare pytest, and pytest with --junitxml + --report-log (which records about
as much as repro does). Goals: wall and CPU time of the whole process tree.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    REPRO,
    Measurement,
    Row,
    Series,
    Sizes,
    alternate,
    clean_env,
    log,
    measure,
    mib,
    paired_ratio,
    pytest_cmd,
    secs,
)
from bench.suites import latest_run, make_suite, run_metadata

WALL_GOAL, CPU_GOAL, RSS_GOAL_MIB = 1.05, 1.03, 30
COMMANDS = [
    "python -m pytest -q -p no:cacheprovider",
    "python -m pytest -q -p no:cacheprovider --junitxml=<tmp>/junit.xml "
    "--report-log=<tmp>/report-log.jsonl",
    "repro run --outputs <tmp>/outputs -- -q -p no:cacheprovider",
    "repro run --no-mask --outputs <tmp>/outputs -- -q -p no:cacheprovider",
    "(both repro runs with the credential-named variables of FAKE_SECRETS set)",
]
# Credential-named variables (the suite prints none of them) for both repro runs: what
# a CI job has, and what makes masking look for their values in every byte.
FAKE_SECRETS = {
    "GITHUB_TOKEN": "ghp_" + "b3nchB3nchB3nchB3nchB3nchB3nchB3nch",
    "AWS_SECRET_ACCESS_KEY": "bench/secret/value/that/is/long/enough/40",
    "DATABASE_URL": "postgres://bench:bench-password-77@db.invalid/app",
    "NPM_TOKEN": "npm_" + "B3nch" * 7 + "B",
    "SENTRY_DSN": "https://0123456789abcdef@o0.ingest.invalid/1",
}


@dataclass(frozen=True)
class Capture:
    tests: int
    bare: Series
    reportlog: Series
    repro: Series
    in_capture: float  # median seconds pytest ran under repro (run_metadata duration)
    results_bytes: int
    reportlog_bytes: int
    junit_bytes: int
    junit_reportlog_bytes: int
    nomask: Series  # repro run --no-mask: masking's cost is repro against it

    @property
    def wall_ratio(self) -> float:
        return self.repro.median() / self.bare.median()

    @property
    def cpu_ratio(self) -> float:
        return self.repro.median("cpu") / self.bare.median("cpu")

    @property
    def rss_extra_mib(self) -> float:
        return (self.repro.median("tree_peak_kib") - self.bare.median("tree_peak_kib")) / 1024

    @property
    def mask_cpu_ratio(self) -> float:
        """repro run against repro run --no-mask, CPU: masking's cost on this suite."""
        return self.repro.median("cpu") / self.nomask.median("cpu")

    @property
    def own_work(self) -> float:
        return self.repro.median() - self.in_capture

    def rows(self) -> list[Row]:
        name = f"1. capture ({self.tests:,} tests)"
        wb, wr, wl = self.bare.median(), self.repro.median(), self.reportlog.median()
        cb, cr = self.bare.median("cpu"), self.repro.median("cpu")
        tb, tr = self.bare.median("tree_peak_kib"), self.repro.median("tree_peak_kib")
        tl = self.reportlog.median("tree_peak_kib")
        return [
            Row(name, "bare pytest, wall (median; each run)", f"{secs(wb)} ({self.bare.spread()})"),
            Row(
                name, "pytest --junitxml --report-log, wall", secs(wl), secs(wb), f"{wl / wb:.3f}x"
            ),
            Row(
                name,
                "repro run, wall (median; each run)",
                f"{secs(wr)} ({self.repro.spread()})",
                secs(wb),
                f"{self.wall_ratio:.3f}x (paired {paired_ratio(self.repro, self.bare):.3f}x)",
                f"<= {WALL_GOAL}x",
                self.wall_ratio <= WALL_GOAL,
            ),
            Row(
                name,
                "repro run, CPU (user+sys, whole tree; median; each run)",
                f"{secs(cr)} ({self.repro.spread('cpu')})",
                f"{secs(cb)} ({self.bare.spread('cpu')})",
                f"{self.cpu_ratio:.3f}x (paired {paired_ratio(self.repro, self.bare, 'cpu'):.3f}x)",
                f"<= {CPU_GOAL}x",
                self.cpu_ratio <= CPU_GOAL,
            ),
            Row(
                name,
                "  of which pytest under capture (run_metadata duration_seconds)",
                secs(self.in_capture),
                secs(wb),
                f"{self.in_capture / wb:.3f}x",
            ),
            Row(name, "  of which repro's own work before and after pytest", secs(self.own_work)),
            Row(
                name,
                "masking's cost: repro run vs repro run --no-mask, wall",
                secs(wr),
                secs(self.nomask.median()),
                f"{wr / self.nomask.median():.3f}x "
                f"(paired {paired_ratio(self.repro, self.nomask):.3f}x)",
            ),
            Row(
                name,
                "masking's cost: repro run vs repro run --no-mask, CPU",
                secs(cr),
                secs(self.nomask.median("cpu")),
                f"{cr / self.nomask.median('cpu'):.3f}x "
                f"(paired {paired_ratio(self.repro, self.nomask, 'cpu'):.3f}x)",
            ),
            Row(name, "bare pytest, peak RSS of the tree", mib(tb)),
            Row(
                name,
                "pytest --junitxml --report-log, peak RSS",
                mib(tl),
                mib(tb),
                f"+{mib(tl - tb)}",
            ),
            Row(
                name,
                "repro run, peak RSS of the tree",
                mib(tr),
                mib(tb),
                f"+{mib(tr - tb)}",
                f"<= +{RSS_GOAL_MIB} MiB",
                self.rss_extra_mib <= RSS_GOAL_MIB,
            ),
            Row(
                name,
                "results.jsonl size (vs report-log)",
                mib(self.results_bytes / 1024),
                mib(self.reportlog_bytes / 1024),
                f"{self.results_bytes / self.reportlog_bytes:.2f}x",
            ),
            Row(
                name,
                "junit.xml size (repro's xunit1 vs pytest's default xunit2)",
                mib(self.junit_bytes / 1024),
                mib(self.junit_reportlog_bytes / 1024),
                f"{self.junit_bytes / self.junit_reportlog_bytes:.2f}x",
            ),
        ]


def run(tmp: Path, sz: Sizes) -> Capture:
    if importlib.util.find_spec("pytest_reportlog") is None:
        raise SystemExit(
            "bench: pytest-reportlog is missing (it is in the dev extra: pip install -e '.[dev]')"
        )
    log(f"capture: generating {sz.tests} tests")
    suite = make_suite(tmp / "big", sz.tests, sz.per_file)
    outs = tmp / "big-outputs"
    rl_junit, rl_log = tmp / "rl-junit.xml", tmp / "report-log.jsonl"
    bare = pytest_cmd()
    reportlog = pytest_cmd(f"--junitxml={rl_junit}", f"--report-log={rl_log}")
    repro = [REPRO, "run", "--outputs", str(outs), "--", *bare[3:]]
    outs_nm = tmp / "big-outputs-nomask"
    nomask = [REPRO, "run", "--no-mask", "--outputs", str(outs_nm), "--", *bare[3:]]
    secrets_env = clean_env(**FAKE_SECRETS)
    in_capture: list[float] = []

    def repro_run() -> Measurement:
        m = measure(repro, cwd=suite, env=secrets_env)
        in_capture.append(float(str(run_metadata(outs)["duration_seconds"])))
        return m

    got = alternate(
        {
            "bare": lambda: measure(bare, cwd=suite),
            "report-log": lambda: measure(reportlog, cwd=suite),
            "repro": repro_run,
            "repro --no-mask": lambda: measure(nomask, cwd=suite, env=secrets_env),
        },
        sz.reps,
        "capture",
    )
    run_dir = latest_run(outs)
    meta = run_metadata(outs)
    if meta["tests_total"] != sz.tests or meta["status"] != "failed":
        raise RuntimeError(f"unexpected repro run: {meta['status']} {meta['counts']}")
    samples = tmp / "samples"
    samples.mkdir(exist_ok=True)
    shutil.copyfile(run_dir / "results/results.jsonl", samples / "results.jsonl")
    result = Capture(
        tests=sz.tests,
        bare=got["bare"],
        reportlog=got["report-log"],
        repro=got["repro"],
        in_capture=sorted(in_capture)[len(in_capture) // 2],
        results_bytes=(run_dir / "results/results.jsonl").stat().st_size,
        reportlog_bytes=rl_log.stat().st_size,
        junit_bytes=(run_dir / "results/junit.xml").stat().st_size,
        junit_reportlog_bytes=rl_junit.stat().st_size,
        nomask=got["repro --no-mask"],
    )
    shutil.rmtree(outs, ignore_errors=True)
    shutil.rmtree(outs_nm, ignore_errors=True)
    return result
