"""Under a simulated GitHub Actions job, `repro bundle` writes the step summary and
annotates failures; under any CI it records only allow-listed CI variables."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

from repro import ci
from repro.runner import RunOptions, run
from tests.conftest import CRASHING, run_repro, write_project

TOKEN = "ghp_" + "A1b2C3d4" * 5  # the shape of a GitHub token
RUNTIME = "opaque-runtime-credential-7f3a"  # a value nothing would recognise as secret

ODD_DIR = "tests/odd,dir:x"
ODD_TESTS = {
    f"{ODD_DIR}/test_odd.py": """
        import pytest

        def test_pass():
            pass

        def test_fail():
            pytest.fail("100%, done: yes\\r\\nsecond, line")

        @pytest.fixture
        def broken():
            raise RuntimeError("setup broke, 50%: badly")

        def test_error(broken):
            pass
    """
}


def github_env(tmp: Path, summary: Path) -> dict[str, str]:
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(tmp),
        "GITHUB_RUN_ID": "987654321",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_REPOSITORY": "octo/repro",
        "GITHUB_WORKFLOW": "ci",
        "GITHUB_JOB": "test",
        "RUNNER_OS": "Linux",
        "GITHUB_TOKEN": TOKEN,
        "ACTIONS_RUNTIME_TOKEN": RUNTIME,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": RUNTIME,
    }


def unescape(text: str) -> str:
    """GitHub's reading of an escaped workflow-command value."""
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: chr(int(m.group(1), 16)), text)


def parse_command(line: str) -> tuple[dict[str, str], str]:
    m = re.fullmatch(r"::error (?P<props>[^:]*)::(?P<msg>.*)", line)
    assert m, line
    props = dict(p.split("=", 1) for p in m.group("props").split(","))
    return {k: unescape(v) for k, v in props.items()}, unescape(m.group("msg"))


def members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as zf:
        return {i.filename.split("/", 1)[1]: zf.read(i) for i in zf.infolist()}


def test_github_summary_annotations_and_ci_record_end_to_end(tmp_path):
    proj = write_project(tmp_path / "proj", ODD_TESTS)
    summary = tmp_path / "step_summary.md"
    summary.write_text("## an earlier step wrote this\n")
    env = github_env(tmp_path, summary)

    res = run_repro("bundle", "--no-lock", "--json", "-q", cwd=proj, env=env)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)  # --json: the workflow commands stay off stdout
    bundle, digest = Path(proj, out["bundle"]), out["digest"]
    assert run_repro("verify", bundle, "--expect", digest).returncode == 0

    text = summary.read_text()
    assert text.startswith("## an earlier step wrote this\n")
    assert f"repro verify {out['bundle']} --expect {digest}" in text
    assert f"| Digest | {digest} |" in text
    assert "**failed**" in text and "1 passed, 1 failed, 1 error" in text
    rows = [ln for ln in text.splitlines() if "test\\_odd" in ln]
    assert len(rows) == 2 and all(ln.count(" | ") == 2 for ln in rows)

    commands = [ln for ln in res.stderr.splitlines() if ln.startswith("::")]
    assert len(commands) == 2
    parsed = [parse_command(c) for c in commands]
    source = (proj / ODD_DIR / "test_odd.py").read_text().splitlines()
    fail_props, fail_msg = parsed[0]
    assert fail_props["file"] == f"proj/{ODD_DIR}/test_odd.py"  # relative to the workspace
    assert source[int(fail_props["line"]) - 1].strip().startswith("pytest.fail(")
    assert fail_props["title"].endswith("test_fail")
    # pytest's crash message in full: CR and LF survive the one-line command.
    assert fail_msg.endswith("100%, done: yes\r\nsecond, line")
    err_props, err_msg = parsed[1]
    assert source[int(err_props["line"]) - 1].strip().startswith("raise RuntimeError")
    assert err_props["title"].endswith("test_error")
    assert "setup" in err_msg and "setup broke, 50%: badly" in err_msg

    files = members(bundle)

    ci_rec = json.loads(files["data/env.json"])["ci"]
    assert ci_rec == {
        "provider": "github",
        **{f: env[v] for f, v in ci.CI_VARIABLES["github"].items()},
    }
    for name, data in files.items():
        assert TOKEN.encode() not in data and RUNTIME.encode() not in data, name


def test_passing_run_in_text_mode_annotates_nothing_and_summarises(tmp_path, cli):
    from tests.conftest import PASSING

    proj = write_project(tmp_path / "proj", PASSING)
    summary = tmp_path / "summary.md"
    env = github_env(tmp_path, summary)
    res = run_repro("bundle", "--no-lock", "-q", "--project", proj, cwd=proj, env=env)
    assert res.returncode == 0, res.stderr
    assert not [ln for ln in res.stdout.splitlines() if ln.startswith("::")]
    text = summary.read_text()
    assert text.startswith("## repro: passed (2 passed)")
    assert "Failures" not in text


def test_the_summary_and_annotations_stay_within_githubs_limits(tmp_path):
    # 300 failures with 2 KiB messages, into a summary file already nearly full.
    proj = write_project(
        tmp_path / "proj",
        {
            "tests/test_many.py": """
            import pytest

            @pytest.mark.parametrize("i", range(300))
            def test_fails(i):
                assert "x" * 2048 == str(i)
        """
        },
    )
    res = run(RunOptions(project=proj, outputs=tmp_path / "outputs"))
    assert res.counts["failed"] == 300
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * (ci.SUMMARY_LIMIT - 40_000) + b"\n")
    env = github_env(tmp_path, summary)
    facts = ci.RunSummary(
        run_id=res.run_id,
        status=res.status,
        status_reason=res.status_reason,
        counts=res.counts,
        in_flight=res.in_flight,
        bundle="b.zip",
        digest="sha256:" + "0" * 64,
    )
    out = ci.publish(env, facts, run_dir=res.run_dir, project=proj)
    assert len(out.annotations) == ci.MAX_ANNOTATIONS
    assert all(len(a) < ci.MAX_MESSAGE + 500 for a in out.annotations)
    size = summary.stat().st_size
    assert ci.SUMMARY_LIMIT - 1000 < size <= ci.SUMMARY_LIMIT
    tail = summary.read_bytes()[-out.summary_bytes :].decode()
    shown = tail.count("test\\_fails\\[")
    assert 0 < shown < 300
    assert f"_{300 - shown} more not shown" in tail

    # A file already at the limit gets nothing, and a warning says why.
    summary.write_bytes(b"x" * ci.SUMMARY_LIMIT)
    out = ci.publish(env, facts, run_dir=res.run_dir, project=proj)
    assert out.summary_bytes == 0 and summary.stat().st_size == ci.SUMMARY_LIMIT
    assert "no step summary written" in out.warnings[0]


def test_the_test_in_flight_when_the_run_died_is_annotated(tmp_path):
    proj = write_project(tmp_path / "proj", CRASHING)
    res = run(RunOptions(project=proj, outputs=tmp_path / "outputs"))
    assert res.status == "crashed" and res.in_flight
    summary = tmp_path / "summary.md"
    facts = ci.RunSummary(
        res.run_id, res.status, res.status_reason, res.counts, res.in_flight, "b.zip", "sha256:0"
    )
    out = ci.publish(github_env(tmp_path, summary), facts, run_dir=res.run_dir, project=proj)
    ((props, message),) = [parse_command(a) for a in out.annotations]
    assert props["title"].endswith(res.in_flight) and message == res.status_reason
    line = (
        (proj / props["file"].removeprefix("proj/"))
        .read_text()
        .splitlines()[int(props["line"]) - 1]
    )
    assert line.startswith("def test_third")
    assert "| In flight | " in summary.read_text()


def test_outside_ci_nothing_is_published_and_env_json_says_null(tmp_path):
    proj = write_project(tmp_path / "proj", {"tests/test_x.py": "def test_x(): assert 0\n"})
    clean = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    res = run(RunOptions(project=proj, outputs=tmp_path / "out", environ=clean))
    assert json.loads((res.run_dir / "env.json").read_text())["ci"] is None
    facts = ci.RunSummary(res.run_id, res.status, "", res.counts, None, "b.zip", "sha256:0")
    out = ci.publish(clean, facts, run_dir=res.run_dir, project=proj)
    assert out.provider is None and out.annotations == () and out.summary_path is None
