"""The results plugin holds passing setup/call durations until the test's teardown:
a test that dies after them is still named as in flight, and nothing finished is lost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_repro

DIES_IN_TEARDOWN = {
    "tests/test_teardown.py": """
        import os

        import pytest


        @pytest.fixture
        def dies_after():
            yield
            os._exit(3)


        def test_first():
            pass


        @pytest.mark.parametrize("i", range(3))
        def test_many(i):
            print("output", i)


        def test_last(dies_after):
            pass


        def test_never_runs():
            pass
    """
}


def test_death_in_teardown_names_the_test_in_flight_and_keeps_the_finished_ones(project):
    proj = project(DIES_IN_TEARDOWN)
    res = run_repro("run", "--json", cwd=proj)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert out["status"] == "crashed"
    assert out["in_flight"] == "tests/test_teardown.py::test_last"
    assert out["counts"]["passed"] == 4
    lines = [
        json.loads(line)
        for line in Path(proj, out["run_dir"], "results/results.jsonl").read_bytes().splitlines()
    ]
    last = [ev for ev in lines if ev.get("id") == "tests/test_teardown.py::test_last"]
    # Its start is on disk (its passing setup and call may not be: they are held
    # until the teardown, which never came).
    assert [ev["ev"] for ev in last] == ["start"]
    # Every finished test is on disk: a passing one as one line with its three durations.
    first = [ev for ev in lines if ev.get("id") == "tests/test_teardown.py::test_first"]
    assert [ev["ev"] for ev in first] == ["start", "passed"]
    assert len(first[1]["dur"]) == 3 and all(d >= 0 for d in first[1]["dur"])
