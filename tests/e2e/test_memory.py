"""repro's own memory stays flat however much the suite prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Runs the real CLI in-process and reports this process's peak RSS (KiB), so
# the number is repro's alone, not pytest's (which runs as a child).
DRIVER = """
import resource, sys
from repro.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.platform == "darwin":  # bytes there, KiB on Linux
    peak //= 1024
print("MAXRSS", peak, code, file=sys.stderr)
"""


def _peak_kib(proj: Path) -> tuple[int, int]:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, "run", "--project", str(proj), "--", "-s", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=300,
        check=False,
    )
    line = next(
        ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.startswith("MAXRSS")
    )
    _, kib, code = line.split()
    return int(kib), int(code)


def _suite(mb: int) -> dict[str, str]:
    return {
        "tests/test_loud.py": f"""
        import sys

        def test_loud():
            line = b"x" * 1023 + b"\\n"
            for _ in range({mb} * 1024):
                sys.stdout.buffer.write(line)
                sys.stderr.buffer.write(line)
    """
    }


def test_50mb_on_each_stream_keeps_repro_memory_flat(tmp_path):
    from tests.conftest import write_project

    quiet = write_project(tmp_path / "quiet", _suite(0))
    loud = write_project(tmp_path / "loud", _suite(50))
    base, code0 = _peak_kib(quiet)
    peak, code1 = _peak_kib(loud)
    assert (code0, code1) == (0, 0)
    assert peak - base < 16 * 1024, f"peak RSS grew by {(peak - base) / 1024:.1f} MiB"
    run_dir = max((loud / "outputs/runs").iterdir())
    meta = json.loads((run_dir / "run_metadata.json").read_text())
    assert meta["files"]["logs/stdout.log"]["size"] >= 50 * 1024 * 1024  # plus pytest's own lines
    assert meta["files"]["logs/stderr.log"]["size"] == 50 * 1024 * 1024
    assert (run_dir / "logs/pytest_output.txt").stat().st_size > 100 * 1024 * 1024


def test_1gb_without_a_newline_is_kept_exactly_in_flat_memory(tmp_path):
    from tests.conftest import write_project

    chunk_expr = "bytes(range(256)) * 4096"  # 1 MiB, no newline, not UTF-8
    loud = write_project(
        tmp_path / "huge",
        {
            "tests/test_huge.py": f"""
        import sys

        def test_huge():
            chunk = {chunk_expr}
            for _ in range(1024):
                sys.stdout.buffer.write(chunk)
    """
        },
    )
    quiet = write_project(tmp_path / "quiet", _suite(0))
    base, _ = _peak_kib(quiet)
    peak, code = _peak_kib(loud)
    assert code == 0
    assert peak - base < 16 * 1024, f"peak RSS grew by {(peak - base) / 1024:.1f} MiB"
    run_dir = max((loud / "outputs/runs").iterdir())
    log = run_dir / "logs/stdout.log"
    chunk = bytes(range(256)) * 4096
    with open(log, "rb") as fh:
        assert fh.read(len(chunk)) == chunk
        fh.seek(1023 * len(chunk))
        assert fh.read(len(chunk)) == chunk
    meta = json.loads((run_dir / "run_metadata.json").read_text())
    assert meta["files"]["logs/stdout.log"]["size"] >= 1024 * len(chunk)
    import hashlib

    h = hashlib.sha256()
    with open(log, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    assert meta["files"]["logs/stdout.log"]["sha256"] == h.hexdigest()
