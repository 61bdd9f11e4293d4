"""repro's evidence against pytest's own, on real suites, on pytest 7.4, 8.x and 9.x.

Each case runs a fixture project from `projects/` once, through `repro run`,
with pytest's own `--junitxml` added to the same run. Then:

- run_metadata.json's counts equal the summary line pytest printed in that run
  (read from the captured output, mapped as docs/results-stream.md says);
- repro's results/junit.xml has the cases of pytest's file, in the same order,
  with the same attributes and outcome elements (xunit1 and xunit2);
- the run packs into a bundle that `repro verify` accepts.

The pytest versions and plugins (xdist, rerunfailures, timeout, randomly) live in
virtualenvs the Makefile's install step fills (`make conformance-venvs`, from
`requirements-pytest*.txt`): tests never reach a package index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
PROJECTS = HERE / "projects"
VENVS = Path(os.environ.get("REPRO_CONFORMANCE_VENVS", HERE.parents[1] / ".venv-conformance"))
PYTESTS = ("7.4", "8", "9")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    project: str
    args: tuple[str, ...]
    min_pytest: str = "7.4"
    family: str = "xunit1"


CASES = {
    # pass/fail/skip (mark, inside, module level, unittest), xfail/xpass/strict,
    # setup and teardown errors (also after a failing call), a module that fails
    # to import (reported twice with --doctest-modules), doctests, unittest
    # subTest, a rerun (pytest-rerunfailures), node ids with / :: [x] \n and
    # non-ASCII; pytest-randomly shuffles the order (recorded as run).
    "mixed": Case("mixed", ("--doctest-modules", "--continue-on-collection-errors")),
    "mixed-xunit2": Case(
        "mixed",
        ("--doctest-modules", "--continue-on-collection-errors", "-o", "junit_family=xunit2"),
        family="xunit2",
    ),
    "mixed-xdist": Case("mixed", ("--continue-on-collection-errors", "-n", "2")),
    # Without --continue-on-collection-errors pytest stops before running a test.
    "collection-stops": Case("mixed", ("--doctest-modules",)),
    "subtests": Case("subtests", (), min_pytest="9"),
    "xdist-worker-crash": Case("xdist_crash", ("-n", "2", "-p", "no:randomly")),
    "timeout": Case("timeout", ("--timeout", "1")),
}

# pytest's summary words -> the categories run_metadata.json's counts use (pytest's
# own stats keys): it pluralizes only these, and says "no tests ran" for none.
_WORDS = {"errors": "error", "error": "error", "warning": "warnings", "warnings": "warnings"}
_SUMMARY = re.compile(r"^=+ (.+?) in [\d.]+s(?: \([^)]*\))? =+$")


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's final summary line, by category."""
    lines = [m for line in output.splitlines() if (m := _SUMMARY.match(line.strip()))]
    assert lines, f"no summary line in pytest's output:\n{output[-2000:]}"
    text = lines[-1][1]
    counts: dict[str, int] = {}
    if text.startswith("no tests ran"):
        return counts
    for part in text.split(", "):
        n, _, word = part.partition(" ")
        counts[_WORDS.get(word, word)] = int(n)
    return counts


def cases_of(path: Path) -> list[tuple[Any, ...]]:
    """Each <testcase>: attributes but time, and each outcome element with its attributes
    and text, in document order."""
    root = ET.parse(path).getroot()
    out = []
    for case in root.iter("testcase"):
        attrs = tuple(sorted((k, v) for k, v in case.attrib.items() if k != "time"))
        children = tuple(
            (child.tag, tuple(sorted(child.attrib.items())), child.text or "")
            for child in case
            if child.tag in ("failure", "error", "skipped")
        )
        out.append((attrs, children))
    return out


def suite_totals(path: Path) -> dict[str, str]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return {k: suite.attrib[k] for k in ("tests", "failures", "errors", "skipped", "name")}


def interpreter(version: str) -> str:
    python = VENVS / f"pytest-{version}" / "bin" / "python"
    if not python.is_file():
        reason = f"{python} is missing: `make test` builds it (make conformance-venvs)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return str(python)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@dataclass(frozen=True)
class Outcome:
    run_dir: Path
    metadata: dict[str, Any]
    theirs: Path  # pytest's own --junitxml of the same run
    output: str


def run_case(tmp_path: Path, version: str, case: Case) -> Outcome:
    python = interpreter(version)
    project = tmp_path / "project"
    shutil.copytree(PROJECTS / case.project, project)
    theirs = tmp_path / "pytest-junit.xml"
    outputs = tmp_path / "outputs"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "repro",
            "run",
            "--project",
            str(project),
            "--outputs",
            str(outputs),
            "--python",
            python,
            "--json",
            "-q",
            "--",
            "-p",
            "no:cacheprovider",
            f"--junitxml={theirs}",
            *case.args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode in (0, 1), proc.stderr
    run_dir = Path(json.loads(proc.stdout)["run_dir"])
    output = (run_dir / "logs/pytest_output.txt").read_text(errors="replace")
    metadata = json.loads((run_dir / "run_metadata.json").read_text())
    return Outcome(run_dir, metadata, theirs, output)


@pytest.fixture(params=PYTESTS, ids=lambda v: f"pytest{v}")
def pytest_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("name", list(CASES))
def test_counts_junit_and_verify_agree_with_pytest(
    tmp_path: Path, pytest_version: str, name: str
) -> None:
    case = CASES[name]
    if _version_tuple(pytest_version) < _version_tuple(case.min_pytest):
        pytest.skip(f"needs pytest >= {case.min_pytest}")
    got = run_case(tmp_path, pytest_version, case)
    meta = got.metadata

    # 1. Counts: pytest's own summary line, category by category; nothing dropped.
    expected = summary_counts(got.output)
    recorded = {k: n for k, n in meta["counts"].items() if n}
    assert recorded == expected
    assert meta["counts_source"] == "pytest"
    assert meta["pytest"]["version"].startswith(pytest_version)

    # The collection as pytest announced it ("collected N items", xdist's "[N items]").
    announced = re.search(r"collected (\d+) items?|\[(\d+) items?\]", got.output)
    assert announced, got.output[:2000]
    assert meta["collection"]["n"] == int(announced[1] or announced[2])
    if name == "xdist-worker-crash":
        (crash,) = meta["crashed_workers"]
        assert crash["test"] == "test_crash.py::test_kills_worker"
        assert f"worker {crash['worker']!r} crashed" in got.output
    else:
        assert meta["crashed_workers"] == []

    # 2. JUnit: pytest's cases, in pytest's order, with pytest's outcome elements.
    ours = got.run_dir / "results/junit.xml"
    assert cases_of(ours) == cases_of(got.theirs)
    assert suite_totals(ours) == suite_totals(got.theirs)
    if case.family == "xunit2":
        assert all("file" not in dict(attrs) for attrs, _ in cases_of(ours))

    # 3. The stream tells reports apart: every rerun attempt, subtest and worker.
    events = [
        json.loads(line)
        for line in (got.run_dir / "results/results.jsonl").read_bytes().splitlines()
    ]
    reports = [e for e in events if e["ev"] == "report"]
    assert events[0]["format"] == 3
    assert sum(e["outcome"] == "rerun" for e in reports) == expected.get("rerun", 0)
    subtests = [e for e in reports if "sub" in e]
    assert sum(e["cat"].startswith("subtests ") for e in subtests) == sum(
        n for k, n in expected.items() if k.startswith("subtests ")
    )
    if "-n" in case.args:
        workers = {e.get("wk") for e in reports if e["when"] == "call" or e["when"] == "???"}
        assert workers and workers <= {"gw0", "gw1", "gw2", "gw3"}, workers

    # The order recorded is the order pytest ran (pytest-randomly shuffles it), with
    # the seed pytest-randomly printed.
    if "-p" not in case.args:
        printed = re.search(r"--randomly-seed=(\d+)", got.output)
        assert printed and meta["seeds"]["pytest-randomly"] == printed[1]
    theirs_order = [dict(attrs)["name"] for attrs, _ in cases_of(got.theirs)]
    ran = list(meta["order"])
    assert len(ran) == len(set(ran))
    if "-n" not in case.args:
        ours_names = [n.split("::")[-1].split(".")[-1] for n in ran]
        assert [n for n in ours_names if n in theirs_order] == [
            n for n in dict.fromkeys(theirs_order) if n in ours_names
        ]

    # 4. The run packs into a bundle its own verifier accepts.
    bundle_dir = tmp_path / "bundles"
    packed = subprocess.run(
        [sys.executable, "-m", "repro", "pack", str(got.run_dir), "--out", str(bundle_dir)],
        capture_output=True,
        text=True,
    )
    assert packed.returncode == 0, packed.stderr
    (bundle,) = bundle_dir.glob("*.zip")
    verified = subprocess.run(
        [sys.executable, "-m", "repro", "verify", str(bundle)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_summary_line_parser_reads_pytest_words() -> None:
    """The mapping docs/results-stream.md documents, on pytest's own wording."""
    line = (
        "== 7 failed, 11 passed, 5 skipped, 1 warning, 5 errors, 2 subtests passed, "
        "1 rerun in 0.09s =="
    )
    assert summary_counts(line) == {
        "failed": 7,
        "passed": 11,
        "skipped": 5,
        "warnings": 1,
        "error": 5,
        "subtests passed": 2,
        "rerun": 1,
    }
    assert summary_counts("===== no tests ran in 0.01s =====") == {}
