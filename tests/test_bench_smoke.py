"""`python bench/run.py --smoke` runs every benchmark at tiny sizes (issue 5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEADER = "| benchmark | measure | value | baseline | ratio | goal | met |"


@pytest.mark.slow
def test_bench_smoke_runs_every_benchmark_and_prints_the_table(tmp_path: Path) -> None:
    report = tmp_path / "PERFORMANCE.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--markdown", str(report)],
        capture_output=True,
        text=True,
        timeout=300,  # a loaded shared machine runs it several times slower than CI
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert HEADER in proc.stdout
    for bench in (
        "1. capture",
        "1b. attribution",
        "2. fixed",
        "3. env",
        "4. loud test",
        "5. pack",
        "6. verify",
        "7. open",
    ):
        assert f"| {bench} " in proc.stdout, bench
    text = report.read_text()
    assert text.startswith("# Performance")
    assert "{" not in text.replace("{}", "")  # every field of bench/template.md was filled
