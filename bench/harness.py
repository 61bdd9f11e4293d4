"""The common harness: run a command in a fresh process, alternate variants, take medians.

Every command runs under `bench/measure.py` (wall, CPU of the whole process tree, peak
RSS). Variants alternate within each repetition, the order rotating between repetitions,
so that a machine that slows down or speeds up mid-run weighs on every variant alike.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = HERE / "fixtures"
PY = sys.executable
REPRO = str(Path(PY).parent / "repro")
PLUGIN_DIR = ROOT / "repro" / "_pytest_plugin"
PROBE = ROOT / "repro" / "_probe.py"
MIB = 1 << 20


@dataclasses.dataclass(frozen=True)
class Sizes:
    tests: int  # the big suite
    per_file: int
    attrib_tests: int  # subset for the attribution runs
    small_tests: int  # the fixed-overhead suite
    small_work: int  # work per test of the fixed-overhead suite (an itsdangerous-like pace)
    fake_packages: int
    log_mb: int  # what the loud test prints, in MB (10**6 bytes)
    sample_mib: int  # compression levels are tried on this much of the log
    reps: int  # alternating repetitions of the big runs
    fixed_reps: int  # repetitions of the short runs


FULL = Sizes(52_000, 1000, 6_000, 297, 60_000, 200, 1000, 32, 3, 7)
SMOKE = Sizes(200, 100, 100, 20, 100, 10, 2, 1, 1, 1)


@dataclasses.dataclass(frozen=True)
class Measurement:
    wall: float
    cpu: float  # user + system of every process of the tree
    maxrss_kib: int  # the largest peak RSS of one process
    tree_peak_kib: int  # the largest sum of RSS over the live tree
    rc: int


@dataclasses.dataclass(frozen=True)
class Series:
    """The repetitions of one variant."""

    runs: tuple[Measurement, ...]

    def median(self, key: str = "wall") -> float:
        return float(statistics.median(getattr(m, key) for m in self.runs))

    def spread(self, key: str = "wall") -> str:
        """Each run's value, so that the reader sees how far one run lands from another."""
        return ", ".join(f"{getattr(m, key):.2f}" for m in self.runs)

    def peak(self, key: str = "maxrss_kib") -> int:
        return max(int(getattr(m, key)) for m in self.runs)

    def ok(self) -> bool:
        return all(m.rc == 0 for m in self.runs)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would steer pytest or Python."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "PYTHON", "COV_CORE")) and k != "VIRTUAL_ENV"
    }
    env.update(extra)
    return env


def measure(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    out: Path | None = None,
    err: Path | None = None,
) -> Measurement:
    argv = [PY, str(HERE / "measure.py")]
    for flag, value in (("--out", out), ("--err", err), ("--cwd", cwd)):
        if value is not None:
            argv += [flag, str(value)]
    proc = subprocess.run(
        [*argv, "--", *cmd],
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"measure failed for {cmd}: {proc.stderr.strip()[-500:]}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return Measurement(**got)


def alternate(
    variants: dict[str, Callable[[], Measurement]], reps: int, label: str
) -> dict[str, Series]:
    """Run every variant once per repetition, rotating the order between repetitions."""
    names = list(variants)
    got: dict[str, list[Measurement]] = {n: [] for n in names}
    for r in range(reps):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            m = variants[name]()
            got[name].append(m)
            log(f"  {label} {r + 1}/{reps} {name}: {m.wall:.2f}s cpu {m.cpu:.2f}s")
    return {n: Series(tuple(ms)) for n, ms in got.items()}


def paired_ratio(a: Series, b: Series, key: str = "wall") -> float:
    """Median over repetitions of a[i] / b[i]: robust to drift of the machine's speed."""
    pairs = zip(a.runs, b.runs, strict=True)
    return float(statistics.median(getattr(x, key) / getattr(y, key) for x, y in pairs))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fixture(name: str) -> Path:
    return FIXTURES / name


def pytest_cmd(*args: str) -> list[str]:
    return [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]


# --- the table ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    bench: str
    measure: str
    value: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None  # None: no goal, a number to read


HEADER = "| benchmark | measure | value | baseline | ratio | goal | met |"


def table(rows: list[Row], smoke: bool) -> str:
    lines = [HEADER, "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        met = "" if r.met is None else "n/a (smoke)" if smoke else "yes" if r.met else "**no**"
        lines.append(
            f"| {r.bench} | {r.measure} | {r.value} | {r.baseline} | {r.ratio} | {r.goal} | {met} |"
        )
    return "\n".join(lines)


def secs(x: float) -> str:
    return f"{x:.3f} s" if x < 1 else f"{x:.2f} s"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def rate(nbytes: float, seconds: float) -> str:
    return f"{rate_of(nbytes, seconds):.0f} MiB/s"


def rate_of(nbytes: float, seconds: float) -> float:
    return nbytes / MIB / max(seconds, 1e-9)
