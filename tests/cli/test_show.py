"""`repro show` on real bundles and run folders: the verdict first, every section, the
filters, JSON, 80 columns, colour only on a terminal, bundle text never obeyed."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from repro.runner import RunOptions, run
from tests import hostile as h
from tests.cli.conftest import TwoRuns
from tests.conftest import CRASHING, EVERY_OUTCOME, write_project

APP = "tests/test_app.py"
LONG_ID = f"{APP}::test_long_id[{'long' * 25}]"


def test_overview_puts_the_verdict_first_then_every_section(cli, two_runs: TwoRuns) -> None:
    res = cli("show", two_runs.after)
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("OK (intact)  tests: failed, 4 passed, 2 failed")
    assert lines[1].startswith("digest   sha256:") and lines[2].startswith("bundle   /")
    assert str(two_runs.after) in "".join(line.strip() for line in lines[2:5])  # wrapped
    for heading in ("What ran", "Where", "Outcome", "Failures and errors (2)", "Slowest tests"):
        assert heading in lines
    text = res.stdout
    assert f"{two_runs.commits[1][:12]} on main (clean)" in text
    assert "CPython" in text and "cpus" in text
    assert "failed: some tests failed (exit code 1)" in text
    assert f"FAILED {APP}::test_breaks" in text and "ValueError: broken now" in text
    assert '    | >       raise ValueError("broken now")' in lines  # the traceback's head
    slowest = lines[lines.index("Slowest tests") + 1]
    assert slowest.endswith(f"{APP}::test_slows") and " s  " in slowest
    assert "none: the run was not checked against a lock" in text
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "\x1b" not in text  # not a terminal: no colour


def test_long_ids_and_messages_wrap_within_80_columns(cli, two_runs: TwoRuns) -> None:
    res = cli("show", "--failed", two_runs.before)
    lines = res.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    joined = "".join(line.strip() for line in lines)
    assert LONG_ID.replace(" ", "") in joined.replace(" ", "")  # wrapped, not cut


def test_failed_shows_only_the_verdict_and_what_failed(cli, two_runs: TwoRuns) -> None:
    res = cli("show", "--failed", two_runs.after_dir)
    assert res.exit_code == 0
    assert res.stdout.startswith("OK (intact, not packed)  tests: failed")
    for absent in ("What ran", "Where", "Slowest tests", "Lock"):
        assert absent not in res.stdout.splitlines()
    assert f"{APP}::test_breaks" in res.stdout and f"{APP}::test_heals" not in res.stdout


def test_one_test_in_full_by_id_or_by_its_tail(cli, two_runs: TwoRuns) -> None:
    full = cli("show", two_runs.after, "--test", f"{APP}::test_breaks")
    tail = cli("show", two_runs.after, "--test", "test_breaks")
    assert full.exit_code == tail.exit_code == 0
    assert full.stdout == tail.stdout
    assert 'raise ValueError("broken now")' in full.stdout
    assert full.stdout.startswith("OK (intact)")
    passed = cli("show", two_runs.after, "--test", "test_stays")
    assert "PASSED" in passed.stdout and "passed" in passed.stdout.splitlines()[-1]


def test_unknown_test_is_a_usage_error_with_suggestions(cli, two_runs: TwoRuns) -> None:
    res = cli("show", two_runs.after, "--test", "test_nope")
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith("repro: error: no single test named 'test_nope'")
    assert len(res.stderr.splitlines()) == 1
    near = cli("show", two_runs.after, "--test", "test_s")
    assert near.exit_code == 2 and f"did you mean: {APP}::test_stays" in near.stderr


def test_json_has_the_same_view(cli, two_runs: TwoRuns) -> None:
    res = cli("show", "--json", two_runs.after)
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["verdict"]["intact"] is True and doc["verdict"]["status"] == "failed"
    assert doc["ran"]["commit"] == two_runs.commits[1] and doc["ran"]["dirty"] is False
    assert doc["where"]["python"].startswith("CPython ")
    assert [t["id"] for t in doc["failures"]] == [f"{APP}::test_breaks", LONG_ID]
    assert doc["failures"][0]["phase"] == "call" and doc["failures"][0]["line"] == 8
    assert doc["slowest"][0]["id"] == f"{APP}::test_slows"
    assert doc["counts"]["passed"] == 4 and doc["in_flight"] is None
    failed = json.loads(cli("show", "--json", "--failed", two_runs.after).stdout)
    assert set(failed) == {"schema_version", "verdict", "problems", "failures", "in_flight"}
    one = json.loads(cli("show", "--json", "--test", "test_heals", two_runs.after).stdout)
    assert one["test"]["outcome"] == "passed" and one["test"]["id"] == f"{APP}::test_heals"


def test_a_crashed_run_names_the_test_in_flight(cli, tmp_path: Path) -> None:
    res_run = run(
        RunOptions(project=write_project(tmp_path / "p", CRASHING), outputs=tmp_path / "o")
    )
    res = cli("show", res_run.run_dir)
    assert res.stdout.startswith("OK (intact, not packed)  tests: crashed, 2 passed")
    lines = res.stdout.splitlines()
    at = lines.index("In flight when the run ended")
    assert lines[at + 1].startswith("  tests/test_crash.py::test_third (tests/test_crash.py:")


def test_text_from_the_bundle_is_never_obeyed(cli, valid_bundle: Path, tmp_path: Path) -> None:
    """A test id with a terminal escape and a newline, forged into results.jsonl: the bundle
    fails verification, and show prints the id escaped, on its own line."""
    data = valid_bundle.read_bytes()
    top = h.top_of(h.members(data))
    stream = h.members(data)[f"{top}/data/results/results.jsonl"]
    evil = "tests/test_mixed.py::test_fail\\u001b]0;owned\\u0007\\nOK (intact)"
    forged = stream.replace(b'"tests/test_mixed.py::test_fail"', f'"{evil}"'.encode())
    assert forged != stream
    path = h.save(h.rebag(data, {"data/results/results.jsonl": forged}), tmp_path)
    res = cli("show", path)
    assert res.exit_code == 1
    assert res.stdout.startswith("FAIL (not intact)")
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    assert "\\x1b]0;owned\\x07\\nOK (intact)" in res.stdout
    assert sum(line.startswith("OK (intact)") for line in res.stdout.splitlines()) == 0


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", *args],
        stdout=child,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(main)
    return out.decode()


@pytest.mark.parametrize("no_color", [None, "1"])
def test_colour_only_on_a_terminal_and_never_with_no_color(
    two_runs: TwoRuns, no_color: str | None
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color is not None:
        env["NO_COLOR"] = no_color
    out = _on_a_terminal(["show", "--failed", str(two_runs.after)], env)
    assert "OK (intact)" in out
    assert ("\x1b[" in out) is (no_color is None)


# --- --all: every test, checked against pytest's own report log of the same run --------------


def _outcomes_pytest_reported(report_log: Path) -> dict[str, tuple[str, float]]:
    """Each test's outcome and summed phase durations, from pytest-reportlog's records (pytest's
    own TestReports), with pytest's rules: a failed setup or teardown is an error, `wasxfail`
    turns a skip into xfailed and a pass into xpassed."""
    seen: dict[str, tuple[str, float]] = {}
    for line in report_log.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("$report_type") != "TestReport":
            continue
        node, when, outcome = rec["nodeid"], rec["when"], rec["outcome"]
        before, total = seen.get(node, ("passed", 0.0))
        total += rec["duration"]
        if outcome == "failed":
            now = "failed" if when == "call" else "error"
        elif outcome == "skipped":
            now = "xfailed" if "wasxfail" in rec else "skipped"
        elif when == "call" and "wasxfail" in rec:
            now = "xpassed"
        else:
            now = before
        seen[node] = (before if before in ("failed", "error") else now, total)
    return seen


def test_all_lists_every_test_as_pytest_reported_it(cli, tmp_path: Path) -> None:
    proj = write_project(tmp_path / "proj", EVERY_OUTCOME)
    log = tmp_path / "pytest-report.jsonl"
    ran = cli("run", "--project", proj, "--outputs", tmp_path / "out", "--", f"--report-log={log}")
    assert ran.exit_code == 1, ran.output
    run_dir = tmp_path / "out" / "latest"
    theirs = _outcomes_pytest_reported(log)
    assert len(theirs) == 10

    res = cli("show", "--json", "--all", run_dir)
    assert res.exit_code == 0, res.output
    listed = json.loads(res.stdout)["tests"]
    assert [t["id"] for t in listed] == list(theirs)  # every test, in the order pytest ran them
    for t in listed:
        outcome, duration = theirs[t["id"]]
        assert t["outcome"] == outcome, t["id"]
        assert t["duration"] == pytest.approx(duration, abs=5e-6), t[
            "id"
        ]  # kept to the µs per phase
        assert "text" not in t and "\n" not in t["message"] and len(t["message"]) <= 200
    by_id = {t["id"].split("::")[1]: t for t in listed}
    assert by_id["test_fail"]["message"].startswith("AssertionError: first line")
    assert by_id["test_fail"]["message"].endswith("…")
    assert by_id["test_long_message"]["message"].endswith("…")
    assert by_id["test_error"]["phase"] == "setup" and by_id["test_skip"]["phase"] == "setup"
    assert by_id["test_pass"]["line"] == 7 and by_id["test_pass"]["message"] == ""

    text = cli("show", "--all", run_dir).stdout.splitlines()
    at = text.index("Every test (10, in run order)")
    rows = text[at + 1 : at + 11]
    assert [row.split()[0].lower() for row in rows] == [o for o, _ in theirs.values()]
    assert [row.split()[-1] for row in rows] == list(theirs)
    assert all(len(line) <= 80 for line in text)


def test_all_cannot_be_combined_with_failed_or_test(cli, valid_bundle: Path) -> None:
    for other in (["--failed"], ["--test", "test_fail"]):
        res = cli("show", "--all", *other, valid_bundle)
        assert res.exit_code == 2 and res.stdout == ""
        assert res.stderr.startswith(
            f"repro: error: --all lists every test; it cannot be combined with {other[0]}"
        )
