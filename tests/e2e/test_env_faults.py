"""Failures of repro's own environment and of pytest's start-up: one clear line, the
documented exit code, nothing half-written."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_repro


def _leftovers(outputs: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(outputs)) for p in outputs.rglob("*")) if outputs.exists() else []
    )


def test_disk_full_while_capturing_leaves_nothing_behind(project):
    proj = project(
        {
            "tests/test_big.py": """
        import sys

        def test_prints_a_lot():
            for _ in range(20000):
                sys.stdout.write("y" * 1000 + "\\n")
    """
        }
    )

    def limit_file_size():  # every write past 1 MB fails with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    proc = subprocess.run(
        [sys.executable, "-m", "repro", "bundle", "--no-lock", "--", "-s"],
        cwd=proj,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("repro: error: cannot write the test logs") or last.startswith(
        "repro: error: no space left"
    ), last
    assert "Traceback" not in proc.stderr
    # nothing of the run: only repro's own .gitignore and README.md, written on first use
    assert _leftovers(proj / "outputs") in ([".gitignore", "README.md", "runs"],)


def test_unwritable_outputs_is_an_environment_error(project):
    proj = project({"tests/test_x.py": "def test_x(): pass\n"})
    res = run_repro("run", "--outputs", "/proc/repro-outputs", cwd=proj)
    assert res.returncode == 3
    assert res.stderr.strip() == (
        "repro: error: cannot create the outputs folder /proc/repro-outputs: No such file or "
        "directory (make it writable or pass --outputs DIR)"
    )


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_killed_from_outside_is_status_killed(project, sig):
    # A sibling process kills pytest, as an OOM killer or a CI runner would.
    proj = project(
        {
            "tests/test_term.py": f"""
        import os, subprocess, sys, time

        def test_ok():
            pass

        def test_gets_killed():
            subprocess.Popen(["kill", "-{sig[3:]}", str(os.getpid())])
            time.sleep(30)
    """
        }
    )
    res = run_repro("bundle", "--no-lock", "--json", cwd=proj)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["status"] == "killed"
    assert f"pytest was ended by {sig} during tests/test_term.py::test_gets_killed" in res.stderr
    meta_ok = run_repro("verify", Path(proj, out["bundle"]))
    assert meta_ok.returncode == 0, meta_ok.stdout


def test_collection_error_is_status_error(project):
    proj = project(
        {
            "tests/test_ok.py": "def test_ok(): pass\n",
            "tests/test_broken.py": "import no_such_module_here\n",
        }
    )
    res = run_repro("bundle", "--no-lock", "--json", cwd=proj)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["status"] == "error"
    assert "repro: 1 error during collection" in res.stderr
    assert run_repro("verify", Path(proj, out["bundle"])).returncode == 0


def test_conftest_that_raises_is_status_error(project):
    proj = project(
        {
            "tests/conftest.py": "raise RuntimeError('broken conftest')\n",
            "tests/test_ok.py": "def test_ok(): pass\n",
        }
    )
    res = run_repro("bundle", "--no-lock", "--json", cwd=proj)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["status"] == "error"
    bundle = Path(proj, out["bundle"])
    assert run_repro("verify", bundle).returncode == 0
    run_dir = max((proj / "outputs/runs").iterdir())
    assert b"broken conftest" in (run_dir / "logs/stderr.log").read_bytes()
