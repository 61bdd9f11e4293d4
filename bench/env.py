"""Benchmark 3: the environment snapshot, repro's probe against `pip freeze`.

The probe is a process of its own (`python -I _probe.py`, what `repro run` runs) in a venv
whose site-packages holds ~200 fake distributions shaped like small real ones.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    PROBE,
    PY,
    Measurement,
    Row,
    Series,
    Sizes,
    alternate,
    fixture,
    log,
    measure,
    secs,
)

GOAL = 0.1
COMMANDS = [
    "<fake venv>/bin/python -I bench/fixtures/probe_timed.py repro/_probe.py",
    "<fake venv>/bin/python -I repro/_probe.py   # what `repro run` runs",
    "python -m pip freeze --path <fake venv site-packages>",
]
DESCRIPTION = (
    "A fake distribution made by repro's benchmark. Its metadata is shaped like a small "
    "real package's: a summary, classifiers, requirements and a long description.\n\n"
) * 12
CLASSIFIERS = "".join(
    f"Classifier: {c}\n"
    for c in (
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
        "Operating System :: OS Independent",
        "Intended Audience :: Developers",
    )
)


@dataclass(frozen=True)
class Env:
    packages: int
    in_process: Series  # packages() alone, timed inside the probe
    probe: Series
    pip_freeze: Series

    def rows(self) -> list[Row]:
        name = f"3. env ({self.packages} packages)"
        wp, wproc, wpip = self.in_process.median(), self.probe.median(), self.pip_freeze.median()
        return [
            Row(name, "_probe.packages(), in process", secs(wp), secs(wpip), f"{wp / wpip:.2f}x"),
            Row(
                name,
                "python -I _probe.py (whole process, what repro runs)",
                secs(wproc),
                f"{secs(wpip)} (pip freeze)",
                f"{wproc / wpip:.2f}x",
                f"<= {GOAL} s",
                wproc <= GOAL,
            ),
        ]


def fake_venv(root: Path, n: int) -> tuple[Path, Path]:
    """A venv (no pip) whose site-packages holds `n` fake .dist-info folders."""
    subprocess.run([PY, "-m", "venv", "--without-pip", str(root)], check=True)
    site = next(root.glob("lib/python*/site-packages"))
    for i in range(n):
        name, version = f"fakepkg-{i:03d}", f"1.{i}.0"
        d = site / f"fakepkg_{i:03d}-{version}.dist-info"
        d.mkdir()
        (d / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: fake package {i} for the benchmark\nRequires-Python: >=3.8\n"
            f"License: MIT\n{CLASSIFIERS}Requires-Dist: fakepkg-{(i + 1) % n:03d}\n"
            f"Description-Content-Type: text/markdown\n\n{DESCRIPTION}"
        )
        (d / "INSTALLER").write_text("pip\n")
        (d / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n")
        (d / "top_level.txt").write_text(f"fakepkg_{i:03d}\n")
        (d / "RECORD").write_text(
            f"fakepkg_{i:03d}/__init__.py,,\n{d.name}/METADATA,,\n{d.name}/RECORD,,\n"
        )
        if i % 50 == 0:  # a few editable installs: the probe reads direct_url.json
            (d / "direct_url.json").write_text(
                json.dumps({"url": f"file:///src/{name}", "dir_info": {"editable": True}})
            )
    return root / "bin" / "python", site


def run(tmp: Path, sz: Sizes) -> Env:
    log(f"env: a venv with {sz.fake_packages} fake distributions")
    vpy, site = fake_venv(tmp / "venv-fake", sz.fake_packages)

    def in_process() -> Measurement:
        done = subprocess.run(
            [str(vpy), "-I", str(fixture("probe_timed.py")), str(PROBE)],
            capture_output=True,
            text=True,
            check=True,
        )
        info = json.loads(done.stdout)
        if info["packages"] != sz.fake_packages:
            raise RuntimeError(f"probe found {info['packages']} packages")
        return Measurement(info["seconds"], 0.0, 0, 0, 0)

    pip = [PY, "-m", "pip", "--disable-pip-version-check", "freeze", "--path", str(site)]
    got = alternate(
        {
            "packages()": in_process,
            "probe process": lambda: measure([str(vpy), "-I", str(PROBE)]),
            "pip freeze": lambda: measure(pip),
        },
        sz.fixed_reps,
        "env",
    )
    return Env(sz.fake_packages, got["packages()"], got["probe process"], got["pip freeze"])
