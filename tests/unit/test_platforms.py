"""The OS-specific module's parts that are not the fault tests (tests/e2e/test_faults.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro import platforms
from repro.errors import UsageError
from tests.conftest import PASSING, run_repro


def test_backend_from_the_environment():
    assert platforms.choose_backend({}) == platforms.default_backend()
    assert platforms.choose_backend({"REPRO_CAPTURE": "Portable"}) == "portable"
    assert platforms.choose_backend({"REPRO_CAPTURE": "posix"}) == "posix"
    with pytest.raises(UsageError, match="not a capture backend"):
        platforms.choose_backend({"REPRO_CAPTURE": "threads"})


def test_an_unknown_backend_is_a_usage_error_from_the_cli(project):
    proj = project(PASSING)
    res = run_repro("run", cwd=proj, env={"REPRO_CAPTURE": "threads"})
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("repro: error: REPRO_CAPTURE=")
    assert not [p for p in (proj / "outputs/runs").iterdir()]


@pytest.mark.parametrize("backend", platforms.BACKENDS)
def test_each_reader_returns_every_byte_in_order_per_pipe(backend, tmp_path):
    script = (
        "import os, sys\n"
        "for i in range(2000):\n"
        "    os.write(1, b'%d,' % i)\n"
        "    os.write(2, b'%d;' % i)\n"
    )
    group = platforms.start_child([sys.executable, "-c", script], cwd=tmp_path, env={})
    proc = group.proc
    assert proc.stdout is not None and proc.stderr is not None
    reader = platforms.open_reader(backend, {"out": proc.stdout, "err": proc.stderr})
    got = {"out": b"", "err": b""}
    while reader.open:
        for name, chunk in reader.read(1.0):
            assert chunk
            got[name] += chunk
    reader.close()
    assert proc.wait() == 0
    group.close()
    assert got["out"] == b"".join(b"%d," % i for i in range(2000))
    assert got["err"] == b"".join(b"%d;" % i for i in range(2000))


def test_the_group_ladder_reaches_a_grandchild(tmp_path):
    # The child starts a grandchild and exits; the group still holds the grandchild.
    script = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )
    group = platforms.start_child([sys.executable, "-c", script], cwd=tmp_path, env={})
    group.proc.communicate(timeout=30)
    assert group.alive()
    assert group.send(group.ladder[-1])
    for _ in range(100):
        if not group.alive():
            break
        time.sleep(0.05)
    assert not group.alive()
    assert not group.send(group.ladder[-1])  # nothing left to stop
    group.close()


def test_exit_signal_names():
    assert platforms.exit_signal(0) is None and platforms.exit_signal(1) is None
    if not platforms.IS_WINDOWS:
        assert platforms.exit_signal(-11) == "SIGSEGV"
        assert platforms.exit_signal(-9) == "SIGKILL"


def test_latest_pointer_file_where_symlinks_cannot_be_made(tmp_path):
    outputs = tmp_path / "outputs"
    first, second = outputs / "runs/a", outputs / "runs/b"
    first.mkdir(parents=True)
    second.mkdir()
    platforms.point_latest(outputs, first, symlink=False)
    assert not (outputs / "latest").exists()
    assert (outputs / "latest.txt").read_bytes() == b"runs/a\n"
    assert platforms.latest_run(outputs) == first.resolve()
    assert platforms.resolve_latest(outputs / "latest") == first.resolve()
    # Symlinks work again: the link wins and the stale pointer goes.
    platforms.point_latest(outputs, second)
    assert (outputs / "latest").is_symlink() and not (outputs / "latest.txt").exists()
    assert platforms.latest_run(outputs) == second.resolve()
    assert [p.name for p in outputs.iterdir() if p.name.startswith(".")] == []


def test_pack_follows_a_latest_pointer_file(project, cli):
    proj = project(PASSING)
    res = run_repro("run", "--json", "-q", cwd=proj)
    assert res.returncode == 0, res.stderr
    run_dir = Path(proj, json.loads(res.stdout)["run_dir"])
    outputs = proj / "outputs"
    (outputs / "latest").unlink()
    platforms.point_latest(outputs, run_dir, symlink=False)
    packed = cli("pack", outputs / "latest", "--out", outputs / "bundles", "--json")
    assert packed.exit_code == 0, packed.output
    assert json.loads(packed.stdout)["run_id"] == run_dir.name


def test_pid_alive_tells_a_running_a_finished_and_an_unrecorded_process():
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        assert platforms.pid_alive(child.pid)
    finally:
        child.communicate(b"")
    assert not platforms.pid_alive(child.pid)  # reaped: gone
    # No pid recorded (0) must not be taken for a live process: signal 0 to pid 0 would
    # reach our own process group and say "alive".
    assert not platforms.pid_alive(0)
    assert not platforms.pid_alive(-1)
    assert platforms.pid_alive(os.getpid())
