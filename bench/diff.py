"""Benchmark 7: opening large bundles on the read side (issue 12): `repro diff` of two
bundles of a >= 50,000-test suite, against `repro verify` of one of them and Python's
start-up. Where the time goes: each stage of `open_bundle` in-process
(bench/fixtures/open_timed.py).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    PY,
    REPRO,
    Row,
    Series,
    Sizes,
    alternate,
    clean_env,
    fixture,
    log,
    measure,
    pytest_cmd,
    secs,
)
from bench.suites import git_commit, make_suite

DIFF_GOAL = 1.2  # seconds: "two bundles with tens of thousands of tests diff in about a second"
COMMANDS = [
    "repro run --outputs <tmp>/open-outputs -- -q -p no:cacheprovider   # twice, then:",
    "repro pack <each run> --out <tmp>/open-bundles",
    "repro diff <bundle A> <bundle B>",
    "repro verify <bundle A>",
    "python -c pass",
    "python bench/fixtures/open_timed.py <bundle A>   # CPU seconds per stage, in-process",
]


@dataclass(frozen=True)
class Open:
    tests: int
    zip_bytes: int
    diff: Series
    verify: Series
    python: Series
    stages: dict[str, float]  # CPU seconds of each stage of open_bundle, in-process

    def rows(self) -> list[Row]:
        name = f"7. open ({self.tests:,} tests)"
        wd, wv, wp = self.diff.median(), self.verify.median(), self.python.median()
        cd = self.diff.median("cpu")
        return [
            Row(
                name,
                f"repro diff of two bundles ({self.zip_bytes / 2**20:.1f} MiB each), wall "
                "(median; each run)",
                f"{secs(wd)} ({self.diff.spread()})",
                f"{secs(wp)} (python -c pass)",
                "",
                f"<= {DIFF_GOAL} s",
                wd <= DIFF_GOAL,
            ),
            Row(
                name,
                "repro diff, CPU (both processes: the second bundle opens in a fork)",
                f"{secs(cd)} ({self.diff.spread('cpu')})",
                f"{secs(self.python.median('cpu'))} (python -c pass)",
                "",
                f"<= {DIFF_GOAL} s",
                cd <= DIFF_GOAL,
            ),
            Row(
                name,
                "repro verify of one of them",
                f"{secs(wv)}; CPU {secs(self.verify.median('cpu'))}",
            ),
            *(
                Row(name, f"open_bundle in-process: {stage}", f"CPU {secs(sec)}")
                for stage, sec in self.stages.items()
            ),
        ]


def run(tmp: Path, sz: Sizes) -> Open:
    log(f"open: two bundles of a {sz.tests}-test suite")
    suite = tmp / "big"  # benchmark 1's suite, when it ran
    if not (suite / "tests").is_dir():
        make_suite(suite, sz.tests, sz.per_file)
    if not (suite / ".git").is_dir():
        git_commit(suite)
    outs, bundles = tmp / "open-outputs", tmp / "open-bundles"
    zips = []
    for _ in range(2):
        subprocess.run(
            [REPRO, "run", "--outputs", str(outs), "--", *pytest_cmd()[3:]],
            cwd=suite,
            env=clean_env(),
            capture_output=True,
            check=False,  # the suite fails on purpose
        )
        done = subprocess.run(
            [REPRO, "pack", str((outs / "latest").resolve()), "--out", str(bundles), "--json"],
            env=clean_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        zips.append(json.loads(done.stdout)["bundle"])
    a, b = zips
    got = alternate(
        {
            "diff": lambda: measure([REPRO, "diff", a, b]),
            "verify": lambda: measure([REPRO, "verify", a]),
            "python -c pass": lambda: measure([PY, "-c", "pass"]),
        },
        2 * sz.reps,
        "open",
    )
    if not got["verify"].ok():
        raise RuntimeError(f"repro verify rejected {a}")
    timed = subprocess.run(
        [PY, str(fixture("open_timed.py")), a],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return Open(
        tests=sz.tests,
        zip_bytes=Path(a).stat().st_size,
        diff=got["diff"],
        verify=got["verify"],
        python=got["python -c pass"],
        stages=json.loads(timed.stdout),
    )
