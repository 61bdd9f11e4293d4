"""Benchmark 1b: repro's pieces added to bare pytest one at a time, on a subset of the suite.

Says where benchmark 1's overhead comes from: the results plugin, the tee of the output,
the records written after pytest ends, and how much of it the garbage collector is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    FIXTURES,
    PLUGIN_DIR,
    PY,
    REPRO,
    Measurement,
    Row,
    Series,
    Sizes,
    alternate,
    clean_env,
    fixture,
    log,
    measure,
    mib,
    pytest_cmd,
    secs,
)
from bench.suites import make_suite

BASE = "bare pytest"


@dataclass(frozen=True)
class Attribution:
    tests: int
    variants: dict[str, Series]  # BASE first
    hook_seconds: float  # inside the results plugin's per-test hooks, timed within pytest

    def ratio(self, variant: str, key: str = "wall") -> float:
        return self.variants[variant].median(key) / self.variants[BASE].median(key)

    def rows(self) -> list[Row]:
        name = f"1b. attribution ({self.tests:,} tests)"
        b = self.variants[BASE]
        out = [Row(name, f"{BASE}: wall / CPU", f"{secs(b.median())} / {secs(b.median('cpu'))}")]
        for n, ser in self.variants.items():
            if n == BASE:
                continue
            tree = ser.median("tree_peak_kib") - b.median("tree_peak_kib")
            out.append(
                Row(
                    name,
                    f"{n}: wall / CPU (peak RSS of the tree)",
                    f"{secs(ser.median())} / {secs(ser.median('cpu'))} (+{mib(tree)})",
                    f"{secs(b.median())} / {secs(b.median('cpu'))}",
                    f"{self.ratio(n):.3f}x / {self.ratio(n, 'cpu'):.3f}x",
                )
            )
        per_test = self.hook_seconds / self.tests * 1e6
        out.append(
            Row(
                name,
                "time inside the results plugin's per-test hooks (perf_counter, in pytest)",
                f"{secs(self.hook_seconds)}, {per_test:.1f} us per test",
            )
        )
        return out


def run(tmp: Path, sz: Sizes) -> Attribution:
    log(f"attribution: generating {sz.attrib_tests} tests")
    suite = make_suite(tmp / "attrib", sz.attrib_tests, sz.per_file)
    outs = tmp / "attrib-outputs"
    bare = pytest_cmd()
    results = ["-p", "repro_results_plugin", f"--repro-results={tmp}/attrib-results.jsonl"]
    variants: dict[str, list[str]] = {
        BASE: bare,
        "+ PYTHONUNBUFFERED=1 (repro sets it)": bare,
        "+ repro's results plugin": pytest_cmd(*results),
        "under repro's capture (tee) only": [
            PY,
            str(fixture("capture_only.py")),
            str(tmp / "attrib-logs"),
            *bare,
        ],
        "repro run (all of it)": [REPRO, "run", "--outputs", str(outs), "--", *bare[3:]],
        "bare pytest, garbage collector off": pytest_cmd("-p", "bench_gc_off"),
        "+ repro's results plugin, garbage collector off": pytest_cmd(
            "-p", "bench_gc_off", *results
        ),
    }
    plugin_env = clean_env(PYTHONPATH=f"{PLUGIN_DIR}{os.pathsep}{FIXTURES}")
    envs = {
        "+ PYTHONUNBUFFERED=1 (repro sets it)": clean_env(PYTHONUNBUFFERED="1"),
        "+ repro's results plugin": plugin_env,
        "bare pytest, garbage collector off": plugin_env,
        "+ repro's results plugin, garbage collector off": plugin_env,
    }

    def variant(cmd: list[str], env: dict[str, str]) -> Callable[[], Measurement]:
        return lambda: measure(cmd, cwd=suite, env=env)

    got = alternate(
        {n: variant(c, envs.get(n) or clean_env()) for n, c in variants.items()},
        sz.reps,
        "attribution",
    )
    spent_file = tmp / "attrib-hook-seconds"
    subprocess.run(
        pytest_cmd("-p", "bench_timed_plugin", results[2]),
        cwd=suite,
        env={**plugin_env, "BENCH_HOOK_SECONDS": str(spent_file)},
        capture_output=True,
        check=False,
    )
    shutil.rmtree(outs, ignore_errors=True)
    return Attribution(sz.attrib_tests, got, float(spent_file.read_text()))
