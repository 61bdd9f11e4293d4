"""Progress bars: on a terminal for long steps, never in a pipe or with -q."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_repro

# The bars wait DELAY seconds before they appear; the test steps are quicker than that,
# so the command runs with no delay (the code that draws them is the real one).
NO_DELAY = "import repro.cli.progress as p; p.DELAY = 0.0; from repro.cli import main; main()"


def on_a_terminal(*args: str | Path) -> tuple[int, str]:
    """Run repro with stderr on a pseudo-terminal; (exit code, what the terminal got)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", NO_DELAY, *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    return proc.wait(timeout=60), got.decode(errors="replace")


@pytest.mark.slow
def test_pack_and_verify_draw_bars_on_a_terminal_only(valid_bundle: Path, tmp_path: Path) -> None:
    run_dir = next((valid_bundle.parent.parent / "outputs" / "runs").iterdir())
    out = tmp_path / "out"
    rc, seen = on_a_terminal("pack", run_dir, "--out", out)
    assert rc == 0, seen
    assert "packing (isal" in seen or "packing (zlib" in seen
    assert "KiB" in seen  # bytes, with a rate column beside them

    rc, seen = on_a_terminal("pack", run_dir, "--out", out)
    assert rc == 0 and "hashing the run" in seen and "reused" in seen

    rc, seen = on_a_terminal("verify", next(out.glob("*.zip")))
    assert rc == 0 and "verifying repro-" in seen

    rc, seen = on_a_terminal("verify", "-q", next(out.glob("*.zip")))
    assert rc == 0 and "verifying" not in seen and "OK " not in seen  # stdout is not the pty

    shutil.rmtree(out)
    piped = run_repro("pack", run_dir, "--out", out)
    assert piped.returncode == 0
    assert "packing" not in piped.stderr and "\x1b[" not in piped.stderr
