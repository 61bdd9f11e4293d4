"""JUnit XML built from the results stream has the same test cases as pytest's own
--junitxml (xunit1), and a run that died still gets one."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from repro.junit import JUnitBuilder, JUnitWriter, junit_counts
from repro.results import EventParser
from repro.runner import PLUGIN_DIR, PLUGIN_NAME

SUITE = {
    "tests/test_mix.py": """
        import pytest

        def test_pass():
            print("out \\x01 with a control character")

        def test_fail():
            assert 1 == 2

        @pytest.mark.skip(reason="not today")
        def test_skip():
            pass

        @pytest.mark.xfail(reason="known")
        def test_xfail():
            assert False

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown broke")

        def test_teardown_error(broken_teardown):
            pass

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup broke")

        def test_setup_error(broken_setup):
            pass

        class TestGroup:
            @pytest.mark.parametrize("x", [1, "a<b>"])
            def test_param(self, x):
                assert x

        from tests.base import Base

        class TestInherited(Base):  # its test is defined in another file than its node id says
            pass
    """,
    "tests/__init__.py": "",
    "tests/base.py": """
        class Base:
            def test_from_base(self):
                pass
    """,
}
BROKEN = {**SUITE, "tests/test_broken.py": "import no_such_module_anywhere\n"}


def _well_formed_event(line: bytes) -> dict[str, object] | None:
    got: list[dict[str, object]] = []
    EventParser(got.append).feed(line)
    return got[0] if got else None


def _cases(path: Path) -> dict[tuple[str, str], tuple[object, ...]]:
    """Each case's outcome elements, file and line, by (classname, name)."""
    root = ET.parse(path).getroot()
    return {
        (c.get("classname", ""), c.get("name", "")): (
            tuple(sorted(ch.tag for ch in c)),
            c.get("file"),
            c.get("line"),
        )
        for c in root.iter("testcase")
    }


@pytest.mark.parametrize("files", [SUITE, BROKEN], ids=["suite", "collection-error"])
def test_same_cases_and_outcomes_as_pytest_junitxml(project, tmp_path, files):
    proj = project(files)
    ours, theirs = tmp_path / "ours.xml", tmp_path / "theirs.xml"
    stream = tmp_path / "results.jsonl"
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            PLUGIN_NAME,
            f"--repro-results={stream}",
            f"--junitxml={theirs}",
            "-o",
            "junit_family=xunit1",
        ],
        cwd=proj,
        env=env,
        capture_output=True,
        check=False,
    )
    writer = JUnitWriter(ours)
    parser = EventParser(writer.event)
    counting = JUnitBuilder(None)  # what verify uses: counts, no XML
    for line in stream.read_bytes().splitlines():
        parser.feed(line)
        if ev := _well_formed_event(line):
            counting.event(ev)
    assert writer.close(None, "", 0.0)
    counting.end(None, "")
    assert counting.counts == writer.counts == junit_counts(theirs.read_bytes())
    assert _cases(ours) == _cases(theirs)
    mine, pytests = ET.parse(ours).getroot(), ET.parse(theirs).getroot()
    suite_mine, suite_pytest = mine.find("testsuite"), pytests.find("testsuite")
    assert suite_mine is not None and suite_pytest is not None
    for attr in ("tests", "failures", "errors", "skipped"):
        assert suite_mine.get(attr) == suite_pytest.get(attr), attr
    if files is SUITE:
        assert suite_mine.get("tests") == "9"
        inherited = _cases(ours)[("tests.test_mix.TestInherited", "test_from_base")]
        assert inherited[1] == "tests/base.py"  # the "file" field of the start line
        fail = next(c for c in mine.iter("testcase") if c.get("name") == "test_fail")
        assert "assert 1 == 2" in (fail.findtext("failure") or "")
    else:
        # collection stops the session: one case, an error for the broken module
        assert [tags for tags, _file, _line in _cases(ours).values()] == [("error",)]
    assert not (tmp_path / "ours.xml.part").exists()
