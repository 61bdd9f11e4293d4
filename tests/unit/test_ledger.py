"""outputs/ledger.jsonl: the chain detects edits, insertions and removals; appends serialise."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from pathlib import Path

from repro import ledger
from tests.conftest import PASSING, run_repro


def _fill(outputs: Path) -> list[bytes]:
    ledger.append(outputs, "start", run_id="r1", pid=1, host="h")
    ledger.append(outputs, "end", run_id="r1", status="passed")
    ledger.append(outputs, "packed", run_id="r1", digest="sha256:" + "0" * 64, bundle="b.zip")
    ledger.append(outputs, "start", run_id="r2", pid=2, host="h")
    return ledger.path_for(outputs).read_bytes().splitlines(keepends=True)


def test_header_then_chained_events(tmp_path):
    lines = _fill(tmp_path)
    header = json.loads(lines[0])
    assert header["format"] == ledger.FORMAT and header["prev"] is None
    for before, line in itertools.pairwise(lines):
        assert json.loads(line)["prev"] == hashlib.sha256(before).hexdigest()
    rep = ledger.read(tmp_path)
    assert rep.intact and rep.lines == 5
    runs = {r.run_id: r for r in rep.runs}
    assert runs["r1"].status == "passed" and not runs["r1"].open
    assert runs["r1"].digests == ["sha256:" + "0" * 64]
    assert runs["r2"].open  # started, never ended


def test_edited_line_breaks_the_chain(tmp_path):
    lines = _fill(tmp_path)
    lines[2] = lines[2].replace(b'"passed"', b'"failed"')
    ledger.path_for(tmp_path).write_bytes(b"".join(lines))
    assert ledger.read(tmp_path).problems == ("line 4: chain broken (prev does not hash line 3)",)


def test_dropped_line_breaks_the_chain(tmp_path):
    lines = _fill(tmp_path)
    del lines[2]
    ledger.path_for(tmp_path).write_bytes(b"".join(lines))
    assert not ledger.read(tmp_path).intact


def test_torn_last_line_is_closed_and_the_chain_goes_on(tmp_path):
    lines = _fill(tmp_path)
    ledger.path_for(tmp_path).write_bytes(b"".join(lines) + b'{"event":"st')
    ledger.append(tmp_path, "end", run_id="r2", status="failed")
    rep = ledger.read(tmp_path)
    assert rep.problems == ("line 6: not a JSON object",)  # reported, not hidden
    assert not {r.run_id: r for r in rep.runs}["r2"].open


def test_concurrent_appends_keep_one_chain(tmp_path):
    def worker(n: int) -> None:
        for i in range(20):
            ledger.append(tmp_path, "start", run_id=f"w{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rep = ledger.read(tmp_path)
    assert rep.intact and rep.lines == 81


def test_repro_log_reports_a_broken_chain(tmp_path, cli):
    lines = _fill(tmp_path)
    del lines[1]
    ledger.path_for(tmp_path).write_bytes(b"".join(lines))
    res = cli("log", "--outputs", str(tmp_path))
    assert res.exit_code == 1
    assert "chain BROKEN" in res.output and "open (never ended)" in res.output


def test_disk_watch_warns_once_when_the_run_outgrows_the_free_disk(tmp_path):
    import shutil

    from repro.preflight import DiskWatch

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    said: list[str] = []
    watch = DiskWatch(run_dir, tmp_path, said.append)
    watch.check_once()
    assert said == []
    # A sparse file: as large as the free disk plus 1 GiB, without using any of it.
    with open(run_dir / "big.log", "wb") as fh:
        fh.truncate(shutil.disk_usage(tmp_path).free + (1 << 30))
    watch.check_once()
    watch.check_once()
    assert len(said) == 1 and "packing may fail" in said[0]


def test_repro_log_catches_a_ledger_cut_short_or_emptied(project):
    """A hash chain cannot see its own end: the run folders made since the ledger began
    must each have their lines, so dropping the last lines, or all of them, is caught."""
    proj = project(PASSING)
    for _ in range(2):
        assert run_repro("run", "-q", cwd=proj).returncode == 0
    path = ledger.path_for(proj / "outputs")
    whole = path.read_bytes().splitlines(keepends=True)
    assert run_repro("log", cwd=proj).returncode == 0
    second = json.loads(whole[-1])["run_id"]

    path.write_bytes(b"".join(whole[:-1]))  # the second run's end line dropped
    res = run_repro("log", cwd=proj)
    assert res.returncode == 1
    assert f"runs/{second} is complete but the ledger never saw it end" in res.stdout

    path.write_bytes(b"".join(whole[:-2]))  # and its start line
    res = run_repro("log", "--json", cwd=proj)
    assert res.returncode == 1
    problems = json.loads(res.stdout)["problems"]
    assert problems == [
        f"runs/{second}: the ledger has no line for this run "
        + "(lines were dropped, or the ledger was cut short)"
    ]

    path.write_bytes(b"")  # emptied: every run folder is unaccounted for
    res = run_repro("log", "--json", cwd=proj)
    assert res.returncode == 1 and len(json.loads(res.stdout)["problems"]) == 2
