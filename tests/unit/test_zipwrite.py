"""repro's zip writer: zipfile's layout when storing, ISA-L blocks any reader inflates."""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from repro import zipsafe, zipwrite
from repro.zipwrite import DEFAULT_CODEC, ZipWriter

WHEN = 1_700_000_000.0


def _members(tmp_path: Path) -> list[tuple[str, bytes | Path, int]]:
    rnd = random.Random(3)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"error", b"passed"]
    big = tmp_path / "big.log"
    # Three and a half blocks of log-like text: several DEFLATE blocks, a short last one.
    big.write_bytes(b" ".join(rnd.choice(words) for _ in range(700_000))[: 7 * zipwrite.BLOCK // 2])
    return [
        ("top/a.txt", b"small", 5),
        ("top/big.log", big, big.stat().st_size),
        ("top/empty", b"", 0),
        ("top/\u00e9t\u00e9.txt", b"non-ASCII name" * 40, 560),
    ]


def _write(members: list[tuple[str, bytes | Path, int]], **kw: object) -> bytes:
    buf = io.BytesIO()
    with ZipWriter(buf, WHEN, **kw) as zw:  # type: ignore[arg-type]
        for name, src, size in members:
            zw.add(name, src, size)
    return buf.getvalue()


def test_stored_zip_is_byte_for_byte_what_zipfile_writes(tmp_path: Path) -> None:
    members = _members(tmp_path)
    ours = _write(members, codec=None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, src, size in members:
            info = zipfile.ZipInfo(name, date_time=time.gmtime(WHEN)[:6])
            info.create_system, info.external_attr, info.file_size = 3, 0o100644 << 16, size
            with zf.open(info, "w") as dst:
                dst.write(src if isinstance(src, bytes) else src.read_bytes())
    assert ours == buf.getvalue()


def test_deflated_blocks_are_the_same_bytes_whatever_the_threads(tmp_path: Path) -> None:
    members = _members(tmp_path)
    one = _write(members, codec=DEFAULT_CODEC, threads=1)
    three = _write(members, codec=DEFAULT_CODEC, threads=3)
    assert one == three
    with zipfile.ZipFile(io.BytesIO(one)) as zf:
        assert zf.testzip() is None
        big = zf.getinfo("top/big.log")
        assert big.compress_type == zipfile.ZIP_DEFLATED and big.compress_size < big.file_size
        assert zf.read("top/big.log") == Path(members[1][1]).read_bytes()  # type: ignore[arg-type]


def test_add_returns_the_sha256_of_the_member(tmp_path: Path) -> None:
    import hashlib

    buf = io.BytesIO()
    with ZipWriter(buf, WHEN, DEFAULT_CODEC) as zw:
        got = [zw.add(name, src, size) for name, src, size in _members(tmp_path)]
    want = [
        hashlib.sha256(src if isinstance(src, bytes) else src.read_bytes()).hexdigest()
        for _, src, _ in _members(tmp_path)
    ]
    assert got == want


@pytest.mark.skipif(shutil.which("unzip") is None, reason="no unzip on this machine")
def test_unzip_reads_a_deflated_zip_with_zip64_headers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(zipwrite, "ZIP64_LIMIT", 1 << 10)
    path = tmp_path / "z.zip"
    path.write_bytes(_write(_members(tmp_path), codec=DEFAULT_CODEC))
    done = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(path, "rb") as fh:
        arc = zipsafe.read_archive(fh)
        assert arc.problems == []
        for e in arc.entries:
            zipsafe.hash_member(fh, e)


def test_a_file_that_changes_size_while_packed_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "grows.log"
    f.write_bytes(b"x" * 1000)
    with pytest.raises(zipwrite.SourceChanged, match="1000 bytes read, 999 expected"):
        _write([("top/grows.log", f, 999)], codec=DEFAULT_CODEC)
