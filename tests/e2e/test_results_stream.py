"""The results plugin holds passing setup/call reports until the test's teardown:
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
    # Its start is on disk (its passing setup and call reports may not be: they are held
    # until the teardown report, which never came).
    assert last[0]["ev"] == "start"
    assert not any(ev.get("when") == "teardown" for ev in last)
    # Every finished test has its three phase reports, in order.
    first = [ev for ev in lines if ev.get("id") == "tests/test_teardown.py::test_first"]
    assert [(ev["ev"], ev.get("when")) for ev in first] == [
        ("start", None),
        ("report", "setup"),
        ("report", "call"),
        ("report", "teardown"),
    ]
