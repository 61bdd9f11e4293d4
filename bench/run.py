"""repro's benchmarks: each measurement against its baseline, in the same run.

    python bench/run.py               # full sizes (`make bench`), writes docs/PERFORMANCE.md
    python bench/run.py --smoke       # tiny sizes, well under a minute, writes no markdown
    python bench/run.py --only pack --log-mb 256 --markdown /tmp/perf.md

One module per benchmark, each returning a typed result with its table rows:
 capture      1. a suite of >= 50,000 tests: bare pytest, pytest --junitxml --report-log,
                 `repro run` (capture.py); 1b. repro's pieces one at a time (attribution.py)
 fixed        2. `repro bundle` on a ~300-test suite, `repro verify` of its bundle,
                 `repro --help` (fixed.py)
 env          3. the environment probe against pip freeze (env.py)
 bundle       4. a test printing ~1 GB under repro (loud.py); 5. `repro pack` of that run
                 against one SHA-256 pass, and the compression levels (pack.py);
                 6. `repro verify` of its bundles against inflate + SHA-256 (verify.py)
 open         7. `repro diff` of two bundles of the big suite, and where opening one
                 goes (diff.py)

The harness (harness.py) runs every command in a fresh bench/measure.py process,
alternates variants and reports medians; the programs the benchmarks run are files in
bench/fixtures/. The prose of docs/PERFORMANCE.md is bench/template.md. Nothing here
reaches the network.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import `bench` from the checkout instead
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import attribution, capture, diff, env, fixed, loud, pack, report, verify
from bench.harness import FULL, ROOT, SMOKE, Row, Sizes, log, table

Results = dict[str, Any]


def bench_capture(tmp: Path, sz: Sizes, out: Results) -> None:
    out["capture"] = capture.run(tmp, sz)
    out["attribution"] = attribution.run(tmp, sz)


def bench_fixed(tmp: Path, sz: Sizes, out: Results) -> None:
    out["fixed"] = fixed.run(tmp, sz)


def bench_env(tmp: Path, sz: Sizes, out: Results) -> None:
    out["env"] = env.run(tmp, sz)


def bench_bundle(tmp: Path, sz: Sizes, out: Results) -> None:
    out["loud"] = run = loud.run(tmp, sz)
    samples = {"the log": run.run_dir / "logs" / "stdout.log"}
    results_sample = tmp / "samples" / "results.jsonl"  # from benchmark 1, when it ran
    if results_sample.is_file():
        samples["results.jsonl of benchmark 1"] = results_sample
    out["pack"] = pack.run(tmp, sz, run.run_dir, samples)
    deflated = pack.bundle_of(tmp, run.run_dir)
    stored = pack.bundle_of(tmp, run.run_dir, "--store")
    out["verify"] = verify.run(sz, run.run_dir, deflated, stored)


def bench_open(tmp: Path, sz: Sizes, out: Results) -> None:
    out["open"] = diff.run(tmp, sz)


BENCHES: dict[str, Callable[[Path, Sizes, Results], None]] = {
    "capture": bench_capture,
    "fixed": bench_fixed,
    "env": bench_env,
    "bundle": bench_bundle,
    "open": bench_open,
}
COMMANDS = {
    "capture": capture.COMMANDS,
    "fixed": fixed.COMMANDS,
    "env": env.COMMANDS,
    "loud": loud.COMMANDS,
    "pack": pack.COMMANDS,
    "verify": verify.COMMANDS,
    "open": diff.COMMANDS,
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, well under a minute")
    ap.add_argument(
        "--only", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES)
    )
    ap.add_argument("--tests", type=int, help="tests in the big suite")
    ap.add_argument("--log-mb", type=int, help="MB (10**6 bytes) the loud test prints")
    ap.add_argument("--packages", type=int, help="fake distributions in the env benchmark")
    ap.add_argument("--reps", type=int, help="alternating repetitions of the long runs")
    ap.add_argument(
        "--markdown",
        type=Path,
        help="where to write the report [default: docs/PERFORMANCE.md, none with --smoke]",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.markdown is None and not args.smoke:
        args.markdown = ROOT / "docs" / "PERFORMANCE.md"
    args.wanted = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(args.wanted) - set(BENCHES)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def sizes(args: argparse.Namespace) -> Sizes:
    sz = SMOKE if args.smoke else FULL
    changes = {
        k: v
        for k, v in (
            ("tests", args.tests),
            ("log_mb", args.log_mb),
            ("fake_packages", args.packages),
            ("reps", args.reps),
        )
        if v
    }
    sz = dataclasses.replace(sz, **changes)
    return dataclasses.replace(sz, attrib_tests=min(sz.attrib_tests, sz.tests))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sz = sizes(args)
    info = report.machine()
    results: Results = {}
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="repro-bench-"))
    try:
        for name in args.wanted:
            BENCHES[name](tmp, sz, results)
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    took = time.perf_counter() - started
    rows: list[Row] = [row for res in results.values() for row in res.rows()]
    print(table(rows, args.smoke))
    print(f"\n{took:.1f} s; CPU: {info['CPU']}, {info['cores']} cores, Python {info['Python']}")
    if args.markdown is not None:
        commands = {k: v for k, v in COMMANDS.items() if k in results}
        text = report.render(
            results, rows, info, commands, smoke=args.smoke, took=took, argv=args.argv
        )
        report.write(args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
