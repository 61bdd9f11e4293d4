"""Benchmark 5: `repro pack` of the loud run against one SHA-256 pass over the same bytes.

Also: the bundle re-packed into the same folder (reused, not rewritten), byte-identical
bytes from a second pack, and the compression levels on samples of the run's own data,
the measurement DEFAULT_LEVEL was chosen from.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    HERE,
    MIB,
    PY,
    REPRO,
    Measurement,
    Row,
    Series,
    Sizes,
    alternate,
    clean_env,
    fixture,
    log,
    measure,
    rate,
    rate_of,
    secs,
)

GOAL = 0.4  # pack's throughput, as a fraction of one SHA-256 pass
COMMANDS = [
    "python bench/baselines.py sha256 <every file of the run>",
    "repro pack <run> --out <fresh folder> --json",
    "repro pack <run> --out <fresh folder> --store --json",
    "repro pack <run> --out <the same folder>   # again: reused",
    "python bench/fixtures/pack_timed.py <run> <fresh folder> deflate   # seconds per pass",
]


@dataclass(frozen=True)
class Level:
    library: str  # "isal" or "zlib"
    level: int
    sample: str  # what was compressed
    ratio: float
    compress_mib_s: float
    inflate_mib_s: float  # with ISA-L's inflate, as repro verify reads


@dataclass(frozen=True)
class Pack:
    payload: int
    zip_bytes: int
    compression: str
    sha256: Series
    deflated: Series
    stored: Series
    reuse: Series
    identical: bool  # two packs of the run gave the same bytes
    difference: str  # where they first differ, when they do
    readers: str  # what unzip -t and zipfile said
    stages: dict[str, float]
    levels: list[Level]
    sha256_mib_s: float  # one thread, in-process, on the same sample as `levels`

    @property
    def speed(self) -> float:
        """pack's throughput as a fraction of one SHA-256 pass's (wall time)."""
        return self.sha256.median() / self.deflated.median()

    @property
    def cpu_speed(self) -> float:
        """The same in CPU time (user + system, every thread)."""
        return self.sha256.median("cpu") / self.deflated.median("cpu")

    @property
    def chosen(self) -> Level | None:
        """The level repro packs with, on the run's own log."""
        return next(
            (
                lv
                for lv in self.levels
                if self.compression.startswith(f"{lv.library} ")
                and self.compression.endswith(f"level {lv.level}")
            ),
            None,
        )

    @property
    def cpu_ceiling(self) -> float:
        """The best CPU-time ratio any pack that deflates at repro's level could reach: one
        SHA-256 pass plus DEFLATE alone, nothing else (no reads, writes, CRC or zip)."""
        lv = self.chosen
        if lv is None:
            return float("nan")
        return lv.compress_mib_s / (lv.compress_mib_s + self.sha256_mib_s)

    def rows(self) -> list[Row]:
        name = f"5. pack ({self.payload / MIB:,.0f} MiB run)"
        ws, wd, wst, wr = (
            s.median() for s in (self.sha256, self.deflated, self.stored, self.reuse)
        )
        rows = [
            Row(
                name,
                f"repro pack ({self.compression}), zip {self.zip_bytes / MIB:.0f} MiB "
                f"(median; each run)",
                f"{secs(wd)}, {rate(self.payload, wd)} ({self.deflated.spread()}); "
                f"CPU {secs(self.deflated.median('cpu'))}",
                f"{secs(ws)}, {rate(self.payload, ws)} (sha256 once); "
                f"CPU {secs(self.sha256.median('cpu'))}",
                f"{self.speed:.2f}x the speed",
                f">= {GOAL}x the speed",
                self.speed >= GOAL,
            ),
            Row(
                name,
                "repro pack, CPU time (user + system, every thread)",
                f"{secs(self.deflated.median('cpu'))}",
                f"{secs(self.sha256.median('cpu'))} (sha256 once)",
                f"{self.cpu_speed:.2f}x the speed",
                f">= {GOAL}x the speed",
                self.cpu_speed >= GOAL,
            ),
            Row(
                name,
                "CPU ceiling: one SHA-256 pass + DEFLATE alone at repro's level",
                f"{self.cpu_ceiling:.2f}x the speed",
                f"SHA-256 {self.sha256_mib_s:.0f} MiB/s, one thread, on the level samples",
            ),
            Row(
                name,
                "repro pack --store",
                f"{secs(wst)}, {rate(self.payload, wst)}; CPU {secs(self.stored.median('cpu'))}",
                f"{secs(ws)} (sha256 once)",
                f"{ws / wst:.2f}x the speed",
            ),
            Row(
                name,
                "repro pack again, same folder (the bundle is reused)",
                secs(wr),
                secs(wd),
                f"{wr / wd:.2f}x",
            ),
            Row(
                name,
                "two packs of the run give identical bytes",
                "yes" if self.identical else f"no: {self.difference}",
                goal="yes",
                met=self.identical,
            ),
            Row(
                name,
                "read by unzip -t and Python's zipfile",
                self.readers,
                goal="OK",
                met=self.readers == "OK",
            ),
        ]
        for lv in self.levels:
            mark = (
                " (repro's choice)"
                if f"{lv.library} " in self.compression
                and (self.compression.endswith(f"level {lv.level}"))
                else ""
            )
            rows.append(
                Row(
                    name,
                    f"{lv.library} level {lv.level}{mark}, {lv.sample}",
                    f"{lv.compress_mib_s:.0f} MiB/s compress, {lv.ratio:.2f}:1",
                    f"{lv.inflate_mib_s:.0f} MiB/s inflate",
                )
            )
        return rows


def run(tmp: Path, sz: Sizes, run_dir: Path, samples: dict[str, Path]) -> Pack:
    log("pack: the loud run, deflated and stored")
    files = sorted(str(p) for p in run_dir.rglob("*") if p.is_file())
    payload = sum(Path(f).stat().st_size for f in files)
    fresh = tmp / "pack-fresh"
    info_json = tmp / "pack.json"

    def pack(*extra: str) -> Measurement:
        shutil.rmtree(fresh, ignore_errors=True)
        return measure(
            [REPRO, "pack", str(run_dir), "--out", str(fresh), "--json", *extra], out=info_json
        )

    got = alternate(
        {
            "sha256": lambda: measure([PY, str(HERE / "baselines.py"), "sha256", *files]),
            "deflated": pack,
            "stored": lambda: pack("--store"),
        },
        sz.reps,
        "pack",
    )
    pack()  # leaves a bundle in `fresh`, and its --json in info_json
    info = json.loads(info_json.read_text())
    reuse = alternate(
        {"again": lambda: measure([REPRO, "pack", str(run_dir), "--out", str(fresh)])},
        sz.reps,
        "re-pack",
    )["again"]
    zip_path = Path(info["bundle"])
    other = tmp / "pack-second"
    subprocess.run(
        [REPRO, "pack", str(run_dir), "--out", str(other)], capture_output=True, check=True
    )
    second = other / zip_path.name
    difference = _first_difference(zip_path, second) if second.is_file() else "other digest"
    identical = not difference
    readers = _readers(zip_path)
    if identical:
        shutil.rmtree(other)
    else:  # kept for a look (with --keep)
        log(f"pack: two packs differ ({difference}); the second is in {other}")
    stages = _stages(run_dir, tmp / "pack-timed")
    return Pack(
        payload=payload,
        zip_bytes=zip_path.stat().st_size,
        compression=info["compression"],
        sha256=got["sha256"],
        deflated=got["deflated"],
        stored=got["stored"],
        reuse=reuse,
        identical=identical,
        difference=difference,
        readers=readers,
        stages=stages,
        levels=levels(samples, sz.sample_mib),
        sha256_mib_s=sha256_rate(next(iter(samples.values())), sz.sample_mib),
    )


def bundle_of(tmp: Path, run_dir: Path, *extra: str) -> Path:
    """A bundle of the run (for the verify benchmark)."""
    out = tmp / ("bundle" + "".join(extra).replace("-", "_"))
    done = subprocess.run(
        [REPRO, "pack", str(run_dir), "--out", str(out), "--json", *extra],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    )
    return Path(json.loads(done.stdout)["bundle"])


def _first_difference(a: Path, b: Path) -> str:
    """Empty when the two files hold the same bytes, else where they first differ: the
    offset and the member (local header or data) it falls in."""
    offset = 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(MIB), fb.read(MIB)
            if x != y:
                offset += next(
                    (i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q),
                    min(len(x), len(y)),
                )
                break
            if not x:
                return ""
            offset += len(x)
    where = "the central directory or past it"
    with zipfile.ZipFile(a) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
            if info.header_offset <= offset:
                where = info.filename
    return f"byte {offset:,}, in or after the local header of {where}"


def _readers(path: Path) -> str:
    problems = []
    if shutil.which("unzip"):
        done = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            problems.append(f"unzip: {done.stdout.strip()[-200:]}")
    with zipfile.ZipFile(path) as zf:
        bad = zf.testzip()
    if bad is not None:
        problems.append(f"zipfile: {bad}")
    return "; ".join(problems) or "OK"


def _stages(run_dir: Path, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [PY, str(fixture("pack_timed.py")), str(run_dir), str(out), "deflate"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
    )
    shutil.rmtree(out, ignore_errors=True)
    stages: dict[str, float] = json.loads(done.stdout)["stages"]
    return stages


def sha256_rate(path: Path, sample_mib: int) -> float:
    """MiB/s of SHA-256 on one thread, in the 1 MiB calls repro makes (best of three)."""
    import hashlib

    with open(path, "rb") as fh:
        data = fh.read(sample_mib * MIB)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        h = hashlib.sha256()
        for i in range(0, len(data), MIB):
            h.update(data[i : i + MIB])
        best = min(best, time.perf_counter() - t0)
    return rate_of(len(data), best)


def levels(samples: dict[str, Path], sample_mib: int) -> list[Level]:
    """Each library and level on each sample, one thread, in 1 MiB calls as repro makes."""
    from isal import isal_zlib

    out = []
    for what, path in samples.items():
        with open(path, "rb") as fh:
            data = fh.read(sample_mib * MIB)
        label = f"{len(data) / MIB:.0f} MiB of {what}"
        tries = [("isal", lv) for lv in range(4)] + [("zlib", lv) for lv in (1, 6, 9)]
        for lib, lv in tries:
            mod = isal_zlib if lib == "isal" else zlib
            t0 = time.perf_counter()
            comp = mod.compressobj(lv, mod.DEFLATED, -15)
            parts = [comp.compress(data[i : i + MIB]) for i in range(0, len(data), MIB)]
            parts.append(comp.flush())
            tc = time.perf_counter() - t0
            packed = b"".join(parts)
            t0 = time.perf_counter()
            isal_zlib.decompressobj(-15).decompress(packed)
            td = time.perf_counter() - t0
            out.append(
                Level(
                    lib,
                    lv,
                    label,
                    len(data) / len(packed),
                    rate_of(len(data), tc),
                    rate_of(len(data), td),
                )
            )
    return out
