"""Baselines for the verify benchmark: the least work a verifier must do, done plainly.

    python bench/baselines.py sha256 FILE...          hashlib.file_digest per file
    python bench/baselines.py crc32 FILE...           CRC-32 in 1 MiB reads, with the
                                                      implementation repro verify uses
                                                      (ISA-L's if installed, else zlib's)
    python bench/baselines.py inflate-sha256 ZIP      ISA-L inflate (zlib's without it) of every
                                                      member, and SHA-256 of what it gives

Each prints the number of uncompressed bytes it processed. Run under
bench/measure.py, so timing and peak RSS are taken the same way as for repro.
"""

from __future__ import annotations

import hashlib
import struct
import sys
import zipfile

try:
    from isal import isal_zlib as inflate_lib
except ImportError:
    import zlib as inflate_lib  # type: ignore[no-redef]

crc32 = inflate_lib.crc32

READ = 1 << 20


def _sha256(paths: list[str]) -> int:
    total = 0
    for p in paths:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            while chunk := fh.read(READ):
                h.update(chunk)
                total += len(chunk)
    return total


def _crc32(paths: list[str]) -> int:
    total = 0
    for p in paths:
        crc = 0
        with open(p, "rb") as fh:
            while chunk := fh.read(READ):
                crc = crc32(chunk, crc)
                total += len(chunk)
    return total


def _inflate_sha256(zip_path: str) -> int:
    total = 0
    with zipfile.ZipFile(zip_path) as zf, open(zip_path, "rb") as fh:
        for info in zf.infolist():
            fh.seek(info.header_offset)
            head = fh.read(30)
            nlen, xlen = struct.unpack("<HH", head[26:30])
            fh.seek(info.header_offset + 30 + nlen + xlen)
            remaining = info.compress_size
            deflated = info.compress_type == zipfile.ZIP_DEFLATED
            inflater = inflate_lib.decompressobj(-15)
            h = hashlib.sha256()
            while remaining:
                buf = fh.read(min(READ, remaining))
                remaining -= len(buf)
                out = inflater.decompress(buf) if deflated else buf
                h.update(out)
                total += len(out)
    return total


def main() -> int:
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "sha256":
        n = _sha256(args)
    elif mode == "crc32":
        n = _crc32(args)
    elif mode == "inflate-sha256":
        n = _inflate_sha256(args[0])
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
