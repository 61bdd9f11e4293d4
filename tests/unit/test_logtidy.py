"""logtidy: colour out of the logs (raw bytes kept), and the combined log stored once."""

from __future__ import annotations

import hashlib
from pathlib import Path

from repro import logtidy


def _logs(tmp_path: Path, out: bytes, err: bytes, combined: bytes) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "stdout.log").write_bytes(out)
    (logs / "stderr.log").write_bytes(err)
    (logs / "pytest_output.txt").write_bytes(combined)
    return logs


def _digests(logs: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in logs.iterdir()}


def test_colour_and_hyperlinks_are_stripped_and_the_raw_bytes_kept(tmp_path):
    coloured = (
        b"\x1b[32mPASSED\x1b[0m \x1b]8;;https://x.invalid\x07link\x1b]8;;\x07\n\xff\xfe raw\n"
    )
    logs = _logs(tmp_path, coloured, b"\x1b[1mwarn\x1b[0m\n", coloured + b"\x1b[1mwarn\x1b[0m\n")
    assert logtidy.strip_colour(logs) is True
    assert (logs / "stdout.log").read_bytes() == b"PASSED link\n\xff\xfe raw\n"
    assert (logs / "stderr.log").read_bytes() == b"warn\n"
    assert (logs / "pytest_output.ansi").read_bytes() == coloured + b"\x1b[1mwarn\x1b[0m\n"
    assert (logs / "pytest_output.txt").read_bytes() == b"PASSED link\n\xff\xfe raw\nwarn\n"


def test_plain_logs_are_left_alone(tmp_path):
    logs = _logs(tmp_path, b"plain\n", b"", b"plain\n")
    assert logtidy.strip_colour(logs) is False
    assert not (logs / "pytest_output.ansi").exists()


def test_combined_log_shares_the_bytes_of_its_only_stream(tmp_path):
    logs = _logs(tmp_path, b"", b"only stderr\n", b"only stderr\n")
    assert logtidy.share_identical(logs, _digests(logs)) == "stderr.log"
    assert (logs / "pytest_output.txt").samefile(logs / "stderr.log")
    assert (logs / "pytest_output.txt").read_bytes() == b"only stderr\n"


def test_interleaved_streams_keep_their_own_combined_log(tmp_path):
    logs = _logs(tmp_path, b"out\n", b"err\n", b"out\nerr\n")
    assert logtidy.share_identical(logs, _digests(logs)) is None
    assert not (logs / "pytest_output.txt").samefile(logs / "stdout.log")
