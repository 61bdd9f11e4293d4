"""Benchmark 4: capturing a test that prints ~1 GB, and the run folder the next two use.

Baselines: pytest writing to a file, and `pytest | tee` into two files (repro keeps two
logs: stdout.log and the combined pytest_output.txt); masking's cost is `repro run`
against `repro run --no-mask`, both with the credential-named variables a CI job has.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.capture import FAKE_SECRETS
from bench.harness import (
    MIB,
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
    paired_ratio,
    rate,
    secs,
)
from bench.logdata import log_block
from bench.suites import latest_run, run_metadata

LOUD = ["-q", "-s", "-p", "no:cacheprovider"]
COMMANDS = [
    "python -m pytest -q -s -p no:cacheprovider > <file>   # fixtures/test_loud.py, bare",
    "python -m pytest -q -s -p no:cacheprovider | tee <file> <file> > /dev/null",
    "repro run --outputs <tmp>/outputs -- -q -s -p no:cacheprovider",
    "repro run --no-mask --outputs <tmp>/outputs -- -q -s -p no:cacheprovider",
    "(both repro runs with the credential-named variables of capture.FAKE_SECRETS set)",
]


@dataclass(frozen=True)
class Loud:
    printed: int  # bytes the test printed
    to_file: Series
    tee: Series
    repro: Series
    in_capture: float
    run_dir: Path
    payload: int  # bytes in the run folder
    nomask: Series  # repro run --no-mask

    @property
    def mask_cpu(self) -> float:
        """CPU seconds masking added (median masked minus median --no-mask)."""
        return self.repro.median("cpu") - self.nomask.median("cpu")

    @property
    def mask_share(self) -> float:
        """Masking's CPU against repro's own (the tree's CPU less pytest writing to a file)."""
        return self.mask_cpu / (self.nomask.median("cpu") - self.to_file.median("cpu"))

    def rows(self) -> list[Row]:
        name = f"4. loud test ({self.printed / 1e6:,.0f} MB printed)"
        wf, wt, wr = self.to_file.median(), self.tee.median(), self.repro.median()
        tf, tr = self.to_file.median("tree_peak_kib"), self.repro.median("tree_peak_kib")
        return [
            Row(
                name,
                "repro run, wall (logs: stdout.log + combined copy)",
                f"{secs(wr)}, {rate(self.printed, wr)}",
                f"{secs(wf)} (pytest > file)",
                f"{wr / wf:.2f}x",
            ),
            Row(
                name,
                "  of which pytest under capture (run_metadata duration_seconds)",
                f"{secs(self.in_capture)}, {rate(self.printed, self.in_capture)}",
                f"{secs(wf)} (pytest > file)",
                f"{self.in_capture / wf:.2f}x",
            ),
            Row(
                name,
                "pytest | tee into two files",
                f"{secs(wt)}, {rate(self.printed, wt)}",
                f"{secs(wf)} (pytest > file)",
                f"{wt / wf:.2f}x",
            ),
            Row(name, "repro run, peak RSS of the tree", mib(tr), mib(tf), f"+{mib(tr - tf)}"),
            Row(
                name,
                "masking's cost: repro run vs repro run --no-mask, CPU (median; each run)",
                f"{secs(self.repro.median('cpu'))} ({self.repro.spread('cpu')})",
                f"{secs(self.nomask.median('cpu'))} ({self.nomask.spread('cpu')})",
                f"{self.repro.median('cpu') / self.nomask.median('cpu'):.3f}x "
                f"(paired {paired_ratio(self.repro, self.nomask, 'cpu'):.3f}x)",
            ),
            Row(
                name,
                "  masking's CPU against repro's own (tree less pytest > file)",
                f"{secs(self.mask_cpu)}",
                f"{secs(self.nomask.median('cpu') - self.to_file.median('cpu'))}",
                f"{self.mask_share:.1%}",
            ),
        ]


def run(tmp: Path, sz: Sizes) -> Loud:
    total = sz.log_mb * 10**6
    log(f"loud: a run whose one test prints {sz.log_mb} MB")
    proj = tmp / "loud"
    (proj / "tests").mkdir(parents=True)
    block = proj / "block.log"
    block.write_bytes(log_block(min(total, 8 * MIB)))
    (proj / "tests" / "test_loud.py").write_bytes(fixture("test_loud.py").read_bytes())
    env = clean_env(BENCH_BLOCK=str(block), BENCH_TOTAL=str(total))
    repro_env = {**env, **FAKE_SECRETS}
    outs, outs_nm = tmp / "loud-outputs", tmp / "loud-outputs-nomask"
    bare_out, tee_a, tee_b = tmp / "loud-bare.log", tmp / "loud-tee-a.log", tmp / "loud-tee-b.log"
    tee_cmd = f'"$0" -m pytest {" ".join(LOUD)} | tee "$1" "$2" > /dev/null'
    in_capture: list[float] = []

    def repro_run() -> Measurement:
        m = measure([REPRO, "run", "--outputs", str(outs), "--", *LOUD], cwd=proj, env=repro_env)
        in_capture.append(float(str(run_metadata(outs)["duration_seconds"])))
        if m.rc != 0:
            raise RuntimeError(f"the loud run failed: {m}")
        return m

    def nomask_run() -> Measurement:
        cmd = [REPRO, "run", "--no-mask", "--outputs", str(outs_nm), "--", *LOUD]
        m = measure(cmd, cwd=proj, env=repro_env)
        shutil.rmtree(outs_nm, ignore_errors=True)
        if m.rc != 0:
            raise RuntimeError(f"the loud --no-mask run failed: {m}")
        return m

    got = alternate(
        {
            "to a file": lambda: measure(
                [PY, "-m", "pytest", *LOUD], cwd=proj, env=env, out=bare_out
            ),
            "tee": lambda: measure(
                ["sh", "-c", tee_cmd, PY, str(tee_a), str(tee_b)], cwd=proj, env=env
            ),
            "repro run": repro_run,
            "repro run --no-mask": nomask_run,
        },
        sz.reps,
        "loud",
    )
    for p in (bare_out, tee_a, tee_b):
        p.unlink(missing_ok=True)
    runs = sorted((outs / "runs").iterdir())
    for old in runs[:-1]:  # keep the last run only: the pack and verify benchmarks read it
        shutil.rmtree(old)
    run_dir = latest_run(outs)
    payload = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    return Loud(
        total,
        got["to a file"],
        got["tee"],
        got["repro run"],
        sorted(in_capture)[len(in_capture) // 2],
        run_dir,
        payload,
        got["repro run --no-mask"],
    )
