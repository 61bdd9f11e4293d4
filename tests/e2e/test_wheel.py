"""The built wheel works on its own: schemas and the pytest plugin travel inside it."""

from __future__ import annotations

import json
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_finds_its_schemas(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("repro_bundle-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "repro/schemas/run_stamp.schema.json" in names
    assert "repro/_pytest_plugin/repro_results_plugin.py" in names
    for static in ("report.html", "report.css", "report.js"):
        assert f"repro/report/static/{static}" in names
    # the --json contract and the README written into users' outputs/ travel too
    assert "repro/schemas/cli/verify.schema.json" in names
    assert "repro/schemas/cli/error.schema.json" in names
    assert "repro/data/outputs-README.md" in names

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # repro's dependencies come from this environment; repro itself only from the wheel.
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = {sysconfig.get_path("purelib"), *site.getsitepackages()}
    Path(purelib, "deps-from-test.pth").write_text("\n".join(sorted(deps)) + "\n")

    version = subprocess.run(
        [str(venv / "bin" / "repro"), "--version"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert version.stdout.startswith("repro, version ")
    check = subprocess.run(
        [
            str(py),
            "-c",
            "import json, repro.records as r; "
            "print(json.dumps([str(r.schema_dir()), r.schema_errors({}, 'run_stamp')[:1]]))",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    where, errors = json.loads(check.stdout)
    assert Path(where).is_relative_to(venv), where
    assert errors and "is a required property" in errors[0]

    # The report's template, style and script are package data read from the wheel.
    page = subprocess.run(
        [
            str(py),
            "-c",
            "import repro.report.html as h, repro.report.data as d; "
            "print(h.render(d.ReportInput('t', d.Verdict(True), None, 'r', 'passed', '', {}, "
            "(), (), (), (), ())))",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
