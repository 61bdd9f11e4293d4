"""Guarantees of the write side that no other test would miss if they were removed:
each test here fails when one step of repro is deleted (see docs/testing.md)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from repro.bundle import pack
from repro.errors import RecordInvalid
from repro.runner import RunOptions, run
from tests.conftest import PASSING, real_run, write_project

# The suite's interpreter, behind a wrapper that ignores SIGINT (and, with TERM, SIGTERM):
# an ignored signal stays ignored across exec, and Python installs no SIGINT handler of its
# own when SIGINT is ignored at start-up, so the whole pytest process ignores it from its
# first instruction, however slowly it starts. Only the later steps of the ladder stop it.
WRAPPER = """#!/bin/sh
trap '' {signals}
exec {python} "$@"
"""
HANG = """
import time

def test_stubborn():
    print("ignoring", flush=True)
    time.sleep(600)
"""

# Runs the suite in a child so that a ladder missing its last step fails this test by its
# timeout instead of hanging the suite.
RUN_CHILD = """
import json, sys
from pathlib import Path
from repro.capture import StopPolicy
from repro.runner import RunOptions, run
res = run(RunOptions(project=Path(sys.argv[1]), outputs=Path(sys.argv[2]), python=sys.argv[3],
                     policy=StopPolicy(timeout=1.0, grace=0.5, term_grace=0.5)))
print(json.dumps({"run_dir": str(res.run_dir), "signal": res.signal, "status": res.status}))
"""


@pytest.mark.parametrize(
    ("signals", "ladder"),
    [("INT", ["SIGINT", "SIGTERM"]), ("INT TERM", ["SIGINT", "SIGTERM", "SIGKILL"])],
    ids=["ignores-sigint", "ignores-sigint-and-sigterm"],
)
def test_timeout_ladder_escalates_to_sigterm_then_sigkill(
    tmp_path: Path, signals: str, ladder: list[str]
) -> None:
    proj = write_project(tmp_path / "proj", {"tests/test_stubborn.py": HANG})
    python = tmp_path / "stubborn-python"
    python.write_text(WRAPPER.format(signals=signals, python=sys.executable))
    python.chmod(0o755)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CHILD, proj, tmp_path / "out", python],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 30
    out = json.loads(proc.stdout)
    assert (out["status"], out["signal"]) == ("timed-out", ladder[-1])
    meta = json.loads(Path(out["run_dir"], "run_metadata.json").read_text())
    steps = meta["kill_sequence"]
    assert [s["signal"] for s in steps] == ladder
    # Each step waits for the previous one's grace period.
    assert steps[0]["at"] >= 1.0
    for before, after in itertools.pairwise(steps):
        assert after["at"] - before["at"] >= 0.5


def test_run_metadata_is_validated_before_it_is_written(tmp_path: Path) -> None:
    """A suite that writes a line of its own into the results stream (its path is on
    pytest's command line) can make the metadata invalid: the run stops with RecordInvalid
    naming run_metadata, and leaves no run folder, staged or final."""
    forge = """
        import sys

        def test_forges_the_stream():
            path = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--repro-results="))
            with open(path, "a") as fh:
                fh.write('{"ev":"collected","n":-1}\\n')
    """
    proj = write_project(tmp_path / "proj", {"tests/test_forge.py": forge})
    with pytest.raises(RecordInvalid, match="invalid run_metadata record: collected: -1"):
        run(RunOptions(project=proj, outputs=tmp_path / "out"))
    assert list((tmp_path / "out" / "runs").iterdir()) == []


@pytest.fixture(scope="module")
def old_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder whose run started in 2001 (its stamp says so)."""
    root = tmp_path_factory.mktemp("old")
    run_dir = real_run(root, PASSING)
    copy = root / "old-run"
    shutil.copytree(run_dir, copy)
    stamp = json.loads((copy / "run_stamp.json").read_text())
    stamp["created"] = "2001-02-03T04:05:07.250Z"
    (copy / "run_stamp.json").write_text(json.dumps(stamp))
    return copy


def test_zip_timestamps_are_the_run_start_not_the_pack_time(
    old_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    res = pack(old_run, out_dir=tmp_path)
    with zipfile.ZipFile(res.path) as zf:
        # Zip times have 2-second steps: 04:05:07 is stored as 04:05:06.
        assert {i.date_time for i in zf.infolist()} == {(2001, 2, 3, 4, 5, 6)}
    bag_info = zipfile.ZipFile(res.path).read(f"repro-{res.run_id}/bag-info.txt").decode()
    assert "Bagging-Date: 2001-02-03\n" in bag_info


@pytest.mark.parametrize(
    ("epoch", "want"),
    [("1000000000", (2001, 9, 9, 1, 46, 40)), ("5", (1980, 1, 1, 0, 0, 0))],
)
def test_source_date_epoch_overrides_the_run_start_and_is_clamped_to_1980(
    old_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    epoch: str,
    want: tuple[int, ...],
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    res = pack(old_run, out_dir=tmp_path)
    with zipfile.ZipFile(res.path) as zf:
        assert {i.date_time for i in zf.infolist()} == {want}


def test_source_date_epoch_that_is_not_a_number_is_a_usage_error(
    old_run: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    res = cli("pack", old_run, "--out", tmp_path / "out")
    assert res.exit_code == 2
    assert res.stderr.startswith("repro: error: SOURCE_DATE_EPOCH is not an integer: 'yesterday'")
    assert len(res.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("size", "method"), [(255, zipfile.ZIP_STORED), (256, zipfile.ZIP_DEFLATED)]
)
def test_files_below_256_bytes_are_stored_and_larger_ones_deflated(
    old_run: Path, tmp_path: Path, size: int, method: int
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(old_run, run_dir)
    (run_dir / "notes.txt").write_bytes(b"n" * size)
    res = pack(run_dir, out_dir=tmp_path / "out")
    with zipfile.ZipFile(res.path) as zf:
        assert zf.getinfo(f"repro-{res.run_id}/data/notes.txt").compress_type == method
