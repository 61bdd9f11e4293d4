"""Benchmark 6: `repro verify` of the loud run's bundles against the least work a verifier
must do over the same members: one pass of ISA-L inflate + SHA-256 (deflated), one SHA-256
pass (stored, a number to read: no goal, see `rows`). Peak RSS must stay bounded whatever
the bundle's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    HERE,
    MIB,
    PY,
    REPRO,
    Row,
    Series,
    Sizes,
    alternate,
    log,
    measure,
    mib,
    rate,
    secs,
)

SPEED_GOAL, RSS_GOAL_MIB = 0.8, 64
COMMANDS = [
    "repro verify <deflated bundle> ; repro verify <stored bundle>",
    "python bench/baselines.py inflate-sha256 <deflated bundle>",
    "python bench/baselines.py sha256 <stored bundle's members, as files of the run>",
    "python bench/baselines.py crc32 <the same files>",
]


@dataclass(frozen=True)
class Verify:
    payload: int
    deflated_zip: int
    stored_zip: int
    deflated: Series
    stored: Series
    inflate_sha256: Series
    sha256: Series
    crc32: Series

    def rows(self) -> list[Row]:
        name = f"6. verify ({self.payload / MIB:,.0f} MiB run)"
        rows = []
        for kind, ser, size in (
            ("deflated", self.deflated, self.deflated_zip),
            ("stored", self.stored, self.stored_zip),
        ):
            rows.append(
                Row(
                    name,
                    f"repro verify accepts the {kind} bundle ({size / MIB:.0f} MiB)",
                    "OK" if ser.ok() else "FAIL",
                    goal="OK",
                    met=ser.ok(),
                )
            )
        for kind, ser, base, base_name in (
            ("deflated", self.deflated, self.inflate_sha256, "ISA-L inflate + SHA-256"),
            ("stored", self.stored, self.sha256, "SHA-256 of the files"),
        ):
            speed = base.median() / ser.median()
            rows.append(
                Row(
                    name,
                    f"repro verify, {kind}, vs one pass of {base_name}",
                    f"{secs(ser.median())}, {rate(self.payload, ser.median())}; "
                    f"CPU {secs(ser.median('cpu'))}",
                    f"{secs(base.median())}, {rate(self.payload, base.median())}; "
                    f"CPU {secs(base.median('cpu'))}",
                    f"{speed:.2f}x the speed",
                    # The goal is for deflated bundles. A stored bundle's members
                    # are hashed once each and the whole zip once more (the sidecar names
                    # its SHA-256): two passes over the same bytes, ~0.5x by construction.
                    *(
                        (f">= {SPEED_GOAL}x the speed", speed >= SPEED_GOAL)
                        if kind == "deflated"
                        else ()
                    ),
                )
            )
        for kind, ser in (("deflated", self.deflated), ("stored", self.stored)):
            peak = ser.peak()
            rows.append(
                Row(
                    name,
                    f"repro verify, {kind}, peak RSS",
                    mib(peak),
                    goal=f"<= {RSS_GOAL_MIB} MiB",
                    met=peak <= RSS_GOAL_MIB * 1024,
                )
            )
        w = self.crc32.median()
        rows.append(
            Row(name, "CRC-32 alone over the same bytes", f"{secs(w)}, {rate(self.payload, w)}")
        )
        return rows


def run(sz: Sizes, run_dir: Path, deflated: Path, stored: Path) -> Verify:
    log("verify: the loud run's bundles")
    files = sorted(str(p) for p in run_dir.rglob("*") if p.is_file())
    base = [PY, str(HERE / "baselines.py")]
    got = alternate(
        {
            "verify deflated": lambda: measure([REPRO, "verify", str(deflated)]),
            "verify stored": lambda: measure([REPRO, "verify", str(stored)]),
            "inflate+sha256": lambda: measure([*base, "inflate-sha256", str(deflated)]),
            "sha256": lambda: measure([*base, "sha256", *files]),
            "crc32": lambda: measure([*base, "crc32", *files]),
        },
        sz.reps,
        "verify",
    )
    return Verify(
        payload=sum(Path(f).stat().st_size for f in files),
        deflated_zip=deflated.stat().st_size,
        stored_zip=stored.stat().st_size,
        deflated=got["verify deflated"],
        stored=got["verify stored"],
        inflate_sha256=got["inflate+sha256"],
        sha256=got["sha256"],
        crc32=got["crc32"],
    )
