"""Runs that go wrong still give a complete, valid bundle with the right status.

The capture tests run once per pipe reader (repro.platforms): "posix" (selectors)
and "portable" (a thread per pipe, the Windows path), chosen with REPRO_CAPTURE.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from repro.platforms import BACKENDS
from tests.conftest import CRASHING, run_repro


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every repro started by the test (it inherits os.environ) reads pipes this way."""
    monkeypatch.setenv("REPRO_CAPTURE", request.param)
    return str(request.param)


HANG = {
    "tests/test_hang.py": """
        import time

        def test_quick():
            pass

        def test_hangs():
            print("going to sleep", flush=True)
            time.sleep(600)
    """
}


def _meta(bundle: Path, rel: str = "run_metadata.json") -> dict:
    with zipfile.ZipFile(bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        return json.loads(zf.read(f"{top}/data/{rel}"))


def test_timeout_stops_the_group_in_order_and_names_the_hung_test(project, backend):
    proj = project(HANG)
    started = time.monotonic()
    res = run_repro("bundle", "--no-lock", "--json", "--timeout", "3", "--grace", "2", cwd=proj)
    assert time.monotonic() - started < 30
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert out["status"] == "timed-out"
    meta = _meta(Path(proj, out["bundle"]))
    assert meta["in_flight"] == "tests/test_hang.py::test_hangs"
    assert meta["counts"]["passed"] == 1
    assert meta["kill_sequence"][0]["signal"] == "SIGINT"
    assert meta["kill_sequence"][0]["at"] >= 3
    assert meta["timeout"] == {"seconds": 3.0, "grace": 2.0, "term_grace": 2.0}
    assert meta["capture_backend"] == backend
    assert run_repro("verify", Path(proj, out["bundle"])).returncode == 0


def test_ctrl_c_on_repro_stops_orderly_and_still_bundles(project, backend):
    proj = project(HANG)
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "bundle", "--no-lock", "--json", "--", "-s"],
        cwd=proj,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stderr is not None
    # Wait until the hanging test is running, then press "Ctrl-C".
    seen = b""
    while b"going to sleep" not in seen:
        chunk = proc.stderr.read1(4096)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (seen + err).decode(errors="replace")
    result = json.loads(out)
    assert result["status"] == "interrupted" and result["exit_code"] == 130
    meta = _meta(Path(proj, result["bundle"]))
    assert meta["kill_sequence"][0]["signal"] == "SIGINT"
    assert meta["in_flight"] == "tests/test_hang.py::test_hangs"
    assert meta["capture_backend"] == backend
    assert run_repro("verify", Path(proj, result["bundle"])).returncode == 0


def test_grandchild_holding_stdout_does_not_hang_repro(project, backend):
    proj = project(
        {
            "tests/test_daemon.py": """
            import subprocess, sys

            def test_spawns_a_lingering_child():
                subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        """
        }
    )
    started = time.monotonic()
    res = run_repro("run", "--json", cwd=proj)
    assert time.monotonic() - started < 30
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    meta = json.loads(Path(proj, out["run_dir"], "run_metadata.json").read_text())
    assert meta["status"] == "passed"
    assert meta["group_cleanup"] and meta["group_cleanup"][0]["signal"] == "SIGTERM"
    assert meta["capture_backend"] == backend


def test_grandchild_outside_the_group_is_abandoned_not_waited_for(project, backend):
    # setsid puts the grandchild out of reach of the group's signals while it keeps
    # stdout open: repro stops reading 3 s after pytest exits and says so (had it
    # waited for end of file, it would take the grandchild's 60 s and not say so).
    proj = project(
        {
            "tests/test_escape.py": """
            import subprocess, sys

            def test_spawns_an_escaped_child():
                subprocess.Popen(
                    [sys.executable, "-c", "import time; time.sleep(60)"],
                    start_new_session=True,
                )
        """
        }
    )
    started = time.monotonic()
    res = run_repro("run", "--json", "--", "-s", cwd=proj)  # -s: the test's stdout is the pipe
    assert time.monotonic() - started < 50
    assert res.returncode == 0, res.stderr
    meta = json.loads(
        Path(proj, json.loads(res.stdout)["run_dir"], "run_metadata.json").read_text()
    )
    assert meta["output_abandoned"] is True
    assert meta["status"] == "passed" and meta["capture_backend"] == backend


def test_os_exit_mid_test_is_a_crash_naming_the_test(project, backend):
    proj = project(CRASHING)
    res = run_repro("bundle", "--no-lock", "--json", "--", "-s", cwd=proj)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["status"] == "crashed"
    meta = _meta(Path(proj, out["bundle"]))
    assert meta["in_flight"] == "tests/test_crash.py::test_third"
    assert meta["counts"]["passed"] == 2 and meta["capture_backend"] == backend
    with zipfile.ZipFile(Path(proj, out["bundle"])) as zf:
        top = zf.namelist()[0].split("/")[0]
        assert b"about to die" in zf.read(f"{top}/data/logs/stdout.log")


def test_segfault_is_a_crash_with_signal_and_traceback(project, backend):
    proj = project(
        {
            "tests/test_segv.py": """
            import ctypes

            def test_ok():
                pass

            def test_segfaults():
                ctypes.string_at(0)
        """
        }
    )
    res = run_repro("bundle", "--no-lock", "--json", cwd=proj)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["status"] == "crashed"
    bundle = Path(proj, out["bundle"])
    meta = _meta(bundle)
    assert meta["signal"] == "SIGSEGV" and meta["exit_code"] == -signal.SIGSEGV
    assert meta["in_flight"] == "tests/test_segv.py::test_segfaults"
    assert meta["capture_backend"] == backend
    with zipfile.ZipFile(bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        stderr = zf.read(f"{top}/data/logs/stderr.log")
    assert b"Fatal Python error: Segmentation fault" in stderr
    assert b"test_segv.py" in stderr


def test_invalid_utf8_and_binary_output_kept_exactly(project, backend):
    payload = bytes(range(256)) * 64 + b"\xff\xfe no newline at end"
    proj = project(
        {
            "tests/test_bytes.py": f"""
            import sys

            def test_binary():
                sys.stdout.buffer.write({payload!r})
                sys.stdout.flush()
                sys.stderr.buffer.write({payload[::-1]!r})
                sys.stderr.flush()
        """
        }
    )
    res = run_repro("run", "--json", "--", "-s", "-q", cwd=proj)
    assert res.returncode == 0
    run_dir = Path(proj, json.loads(res.stdout)["run_dir"])
    assert payload in (run_dir / "logs/stdout.log").read_bytes()
    assert payload[::-1] in (run_dir / "logs/stderr.log").read_bytes()
    # The combined log holds the two streams' lines as masking released them: each
    # stream's lines whole and in order, interleaved line by line (docs/safety.md).
    combined = (run_dir / "logs/pytest_output.txt").read_bytes()
    out, err = (
        (run_dir / "logs/stdout.log").read_bytes(),
        (run_dir / "logs/stderr.log").read_bytes(),
    )

    def lines(data: bytes) -> list[bytes]:
        return re.findall(rb"[^\n]*\n|[^\n]+$", data)

    assert sorted(lines(combined)) == sorted(lines(out) + lines(err))
    assert [ln for ln in lines(combined) if ln in set(lines(out))] == lines(out)


def test_large_output_on_both_streams_at_once_is_kept_whole(project, backend):
    # Both pipes full at the same time: a reader that drained one pipe only would
    # deadlock with the child blocked on the other.
    mib = 24
    proj = project(
        {
            "tests/test_loud.py": f"""
            import sys

            def test_loud():
                block = bytes(range(256)) * 256  # 64 KiB
                for i in range({mib} * 16):
                    sys.stdout.buffer.write(block)
                    sys.stderr.buffer.write(block[::-1])
                sys.stdout.flush()
        """
        }
    )
    res = run_repro("run", "--json", "-q", "--", "-s", "-q", "-p", "no:cacheprovider", cwd=proj)
    assert res.returncode == 0, res.stderr[-2000:]
    run_dir = Path(proj, json.loads(res.stdout)["run_dir"])
    meta = json.loads((run_dir / "run_metadata.json").read_text())
    assert meta["capture_backend"] == backend
    block = bytes(range(256)) * 256
    stderr = (run_dir / "logs/stderr.log").read_bytes()
    assert stderr == block[::-1] * (mib * 16)
    stdout = (run_dir / "logs/stdout.log").read_bytes()
    assert block * (mib * 16) in stdout
    combined_size = (run_dir / "logs/pytest_output.txt").stat().st_size
    assert combined_size == len(stdout) + len(stderr)


def test_no_tests_collected_and_usage_error_have_their_own_status(project):
    proj = project({"tests/test_nothing.py": "x = 1\n"})
    res = run_repro("run", "--json", cwd=proj)
    assert res.returncode == 1
    assert json.loads(res.stdout)["status"] == "no-tests"
    res = run_repro("run", "--json", "--", "--no-such-option", cwd=proj)
    assert res.returncode == 1
    assert "pytest stopped before starting a session" in res.stderr


def test_pytest_missing_from_target_interpreter(tmp_path, project):
    proj = project({"tests/test_x.py": "def test_x(): pass\n"})
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True
    )
    res = run_repro("run", "--python", tmp_path / "bare/bin/python", cwd=proj)
    assert res.returncode == 3
    assert res.stderr.strip().splitlines()[-1].startswith("repro: error: pytest is not installed")
    assert not (proj / "outputs" / "runs").exists() or not any((proj / "outputs/runs").iterdir())
    assert os.path.exists(tmp_path / "bare/bin/python")
