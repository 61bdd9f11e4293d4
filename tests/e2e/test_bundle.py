"""`repro bundle` end to end on fixture projects, checked with `repro verify`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from tests.conftest import CRASHING, FAILING, PASSING, git_init, run_repro


def _bundle_json(result_stdout: str) -> dict[str, object]:
    return json.loads(result_stdout)  # stdout must hold the JSON object and nothing else


def _member(bundle: Path, rel: str) -> bytes:
    with zipfile.ZipFile(bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        return zf.read(f"{top}/data/{rel}")


def test_passing_suite_bundles_and_verifies(project, cli):
    proj = project(PASSING)
    git_init(proj)
    res = cli("bundle", "--project", proj, "--no-lock", "--json", "--", "-q", "-s")
    assert res.exit_code == 0, res.stderr
    out = _bundle_json(res.stdout)
    assert out["status"] == "passed" and out["exit_code"] == 0
    bundle = Path(str(out["bundle"]))
    assert bundle.name.startswith("repro-") and str(out["digest"])[7:19] in bundle.name
    assert "hello from test_one" in res.stderr  # live output went to stderr with --json
    assert " started" in res.stderr and "finished: passed" in res.stderr

    ver = cli("verify", bundle, "--expect", out["digest"])
    assert ver.exit_code == 0, ver.stdout
    assert ver.stdout.strip() == f"OK (intact)  tests: passed, 2 passed  {out['digest']}  {bundle}"

    meta = json.loads(_member(bundle, "run_metadata.json"))
    assert meta["counts"]["passed"] == 2 and meta["status"] == "passed"
    assert meta["order"] == ["tests/test_ok.py::test_one", "tests/test_ok.py::test_two"]
    env = json.loads(_member(bundle, "env.json"))
    assert env["git"]["dirty"] is False and len(env["git"]["commit"]) == 40
    stamp = json.loads(_member(bundle, "run_stamp.json"))
    assert stamp["git"]["commit"] == env["git"]["commit"]
    assert b"hello from test_one" in _member(bundle, "logs/stdout.log")
    assert (proj / "outputs" / "latest").resolve() == (proj / "outputs/runs" / meta["run_id"])


def test_failing_suite_still_bundles(project, cli):
    proj = project(FAILING)
    res = cli("bundle", "--project", proj, "--no-lock", "--json")
    assert res.exit_code == 1
    out = _bundle_json(res.stdout)
    assert out["status"] == "failed"
    meta = json.loads(_member(Path(str(out["bundle"])), "run_metadata.json"))
    assert meta["counts"] == {
        "passed": 1,
        "failed": 1,
        "skipped": 1,
        "error": 0,
        "xfailed": 1,
        "xpassed": 0,
    }
    assert cli("verify", out["bundle"]).exit_code == 0


def test_os_exit_in_third_test_is_a_crash(project):
    proj = project(CRASHING)
    res = run_repro("bundle", "--project", proj, "--no-lock", "--json", "--", "-s", cwd=proj)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert out["status"] == "crashed"
    bundle = Path(out["bundle"])
    meta = json.loads(_member(bundle, "run_metadata.json"))
    assert meta["exit_code"] == 1 and meta["signal"] is None
    assert meta["in_flight"] == "tests/test_crash.py::test_third"
    assert meta["counts"]["passed"] == 2
    assert meta["order"][:3] == [
        f"tests/test_crash.py::test_{n}" for n in ("first", "second", "third")
    ]
    assert b"about to die" in _member(bundle, "logs/pytest_output.txt")
    # JUnit XML survives the crash: the finished tests, and the one in flight as an error
    suite = ET.fromstring(_member(bundle, "results/junit.xml")).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("errors")) == ("3", "1")
    third = next(c for c in suite.iter("testcase") if c.get("name") == "test_third")
    error = third.find("error")
    assert error is not None and "without finishing its session" in error.get("message", "")
    assert "in flight: tests/test_crash.py::test_third" in res.stderr
    assert run_repro("verify", bundle).returncode == 0


def test_human_output_names_bundle_and_digest(project):
    proj = project(PASSING)
    res = run_repro("bundle", "--no-lock", "--", "-s", cwd=proj)
    assert res.returncode == 0, res.stderr
    path, digest = res.stdout.strip().splitlines()[-2:]
    assert digest.startswith("sha256:") and Path(proj, path).is_file()
    assert "hello from test_one" in res.stdout  # streamed live to the terminal
    assert f"repro verify {path} --expect {digest}" in res.stderr
    assert f"repro: warning: {proj} is not a git checkout: the records name no commit" in res.stderr
