"""Benchmark 2: the fixed cost of repro on a small suite, and of its quick commands.

`repro bundle` (lock reused) against bare pytest on a ~300-test suite whose tests do some
work (bare pytest takes about as long as itsdangerous' 297 tests); `repro verify` of that
small bundle; `repro --help`. Where `repro bundle`'s and `repro verify`'s own time goes
comes from cProfile and `python -X importtime`.
"""

from __future__ import annotations

import json
import pstats
import re
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

BUNDLE_GOAL, VERIFY_GOAL, HELP_GOAL = 1.15, 0.2, 0.15
COMMANDS = [
    "repro lock --no-index --find-links <empty dir>   # once, before timing",
    "python -m pytest -q -p no:cacheprovider          # BENCH_WORK set: tests that work",
    "repro bundle --no-index --find-links <empty dir> -- -q -p no:cacheprovider",
    "repro bundle --no-lock -- -q -p no:cacheprovider",
    "repro verify <the small bundle>",
    "repro --help ; python -c pass",
    "python -X importtime -m repro verify <the small bundle>",
]


@dataclass(frozen=True)
class Fixed:
    tests: int
    bare: Series
    bundle: Series
    nolock: Series
    verify: Series
    help: Series
    python: Series
    bundle_profile: list[tuple[str, float]]  # (stage, cumulative seconds)
    verify_imports: list[tuple[str, float]]  # (top-level module, seconds to import)

    @property
    def bundle_ratio(self) -> float:
        return self.bundle.median() / self.bare.median()

    def rows(self) -> list[Row]:
        name = f"2. fixed ({self.tests} tests)"
        wb, wbu, wnl = self.bare.median(), self.bundle.median(), self.nolock.median()
        wv, wh, wpy = self.verify.median(), self.help.median(), self.python.median()
        return [
            Row(
                name,
                "bare pytest, wall (median; each run)",
                f"{secs(wb)} ({self.bare.spread()}); CPU {secs(self.bare.median('cpu'))}",
            ),
            Row(
                name,
                "repro bundle (lock reused), wall",
                f"{secs(wbu)} ({signed(wbu - wb)}); CPU {secs(self.bundle.median('cpu'))}",
                secs(wb),
                f"{self.bundle_ratio:.3f}x",
                f"<= {BUNDLE_GOAL}x",
                self.bundle_ratio <= BUNDLE_GOAL,
            ),
            Row(
                name,
                "repro bundle --no-lock, wall",
                f"{secs(wnl)} ({signed(wnl - wb)})",
                secs(wb),
                f"{wnl / wb:.3f}x",
            ),
            Row(
                name,
                "repro verify of that bundle, wall",
                f"{secs(wv)}; CPU {secs(self.verify.median('cpu'))}",
                f"{secs(wpy)} (python -c pass)",
                "",
                f"<= {VERIFY_GOAL} s",
                wv <= VERIFY_GOAL,
            ),
            Row(
                name,
                "repro verify of that bundle, CPU",
                secs(self.verify.median("cpu")),
                f"{secs(self.python.median('cpu'))} (python -c pass)",
                "",
                f"<= {VERIFY_GOAL} s",
                self.verify.median("cpu") <= VERIFY_GOAL,
            ),
            Row(
                name,
                "repro --help, wall",
                f"{secs(wh)}; CPU {secs(self.help.median('cpu'))}",
                f"{secs(wpy)} (python -c pass)",
                f"+{secs(wh - wpy)}",
                f"<= {HELP_GOAL} s",
                wh <= HELP_GOAL,
            ),
        ]


def signed(x: float) -> str:
    return ("+" if x >= 0 else "-") + secs(abs(x))


def run(tmp: Path, sz: Sizes) -> Fixed:
    log(f"fixed: a {sz.small_tests}-test suite in a git checkout")
    proj = make_suite(tmp / "small", sz.small_tests, 100)
    (proj / "requirements.in").write_text("# no requirements: pip-compile resolves offline\n")
    wheels = tmp / "empty-wheelhouse"
    wheels.mkdir()
    lock_opts = ["--no-index", "--find-links", str(wheels)]
    env = clean_env(BENCH_WORK=str(sz.small_work))
    done = subprocess.run(
        [REPRO, "lock", *lock_opts, "--json"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    kind = json.loads(done.stdout)["kind"] if done.returncode == 0 else f"failed: {done.stderr}"
    if kind != "pip-compile":
        raise RuntimeError(f"repro lock did not make a pip-compile lock: {kind}")
    git_commit(proj)  # requirements.lock included: a clean checkout, as in CI
    bare = pytest_cmd()
    bundle = [REPRO, "bundle", *lock_opts, "--", *bare[3:]]
    nolock = [REPRO, "bundle", "--no-lock", "--", *bare[3:]]
    err, out = tmp / "bundle-stderr.txt", tmp / "bundle-stdout.txt"
    first = measure(bundle, cwd=proj, env=env, err=err, out=out)  # warm-up, proves lock reuse
    if "lock reused" not in err.read_text() or first.rc != 1:
        raise RuntimeError(f"repro bundle did not reuse the lock: {err.read_text()[-500:]}")
    small_zip = out.read_text().split()[0]
    got = alternate(
        {
            "bare": lambda: measure(bare, cwd=proj, env=env),
            "bundle": lambda: measure(bundle, cwd=proj, env=env),
            "bundle --no-lock": lambda: measure(nolock, cwd=proj, env=env),
        },
        sz.fixed_reps,
        "fixed",
    )
    quick = alternate(
        {
            "verify": lambda: measure([REPRO, "verify", small_zip], cwd=proj),
            "--help": lambda: measure([REPRO, "--help"], cwd=proj),
            "python -c pass": lambda: measure([PY, "-c", "pass"], cwd=proj),
        },
        2 * sz.fixed_reps,
        "quick",
    )
    return Fixed(
        tests=sz.small_tests,
        bare=got["bare"],
        bundle=got["bundle"],
        nolock=got["bundle --no-lock"],
        verify=quick["verify"],
        help=quick["--help"],
        python=quick["python -c pass"],
        bundle_profile=profile_cli(proj, ["bundle", *lock_opts, "--", *bare[3:]], tmp, env),
        verify_imports=import_times(proj, ["verify", small_zip]),
    )


STAGES = {
    ("stage.py", "lock"): "lock (reuse check)",
    # Both children start at once, the import first, and run beside repro's own work: these
    # are the waits for their answers, not their cost (their CPU is the children's).
    ("preflight.py", "result"): "preflight: wait for the test interpreter to import pytest",
    ("envinfo.py", "result"): "probe the interpreter (packages, repro's closure): wait",
    ("envinfo.py", "git_info"): "git state",
    ("capture.py", "run_captured"): "pytest itself, under capture",
    ("results.py", "finish"): "results.jsonl: what is left to read when pytest ends",
    ("junit.py", "close"): "write junit.xml (built while pytest ran)",
    ("records.py", "validate"): "schema validation of records",
    ("fsutil.py", "sha256_file"): "sha256 of files (logs, results, the zip)",
    ("fsutil.py", "write_json"): "write records (JSON dump)",
    ("bundle.py", "pack"): "pack (hash, zip, fsync)",
    ("drift.py", "compare"): "drift from the lock, tooling apart",
}


def profile_cli(
    cwd: Path, args: list[str], tmp: Path, env: dict[str, str]
) -> list[tuple[str, float]]:
    """Where a repro command's own time goes: cumulative seconds of its stages (cProfile,
    in-process; pytest runs in a child, so its time shows as the capture stage)."""
    out = tmp / "cli.prof"
    cmd = [PY, str(fixture("profile_cli.py")), str(out), *args]
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for (fname, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.items():
        key = (Path(fname).name, func)
        if key in STAGES and "repro" in fname:
            found[STAGES[key]] = max(found.get(STAGES[key], 0.0), ct)
        if fname == "~" and "fsync" in func:
            found["fsync (atomic writes)"] = ct
    total = max((v[3] for v in stats.values()), default=0.0)
    return [("total (cProfile)", total), *sorted(found.items(), key=lambda kv: -kv[1])]


def import_times(cwd: Path, args: list[str]) -> list[tuple[str, float]]:
    """Seconds to import each top-level package `repro ARGS` imports (python -X importtime)."""
    done = subprocess.run(
        [PY, "-X", "importtime", "-m", "repro", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    tops: dict[str, float] = {}
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and not m.group(2):  # imported at the top level, not by another module
            top = m.group(3).split(".")[0]
            tops[top] = tops.get(top, 0.0) + int(m.group(1)) / 1e6
    return sorted(tops.items(), key=lambda kv: -kv[1])[:8]
