"""Issue 11 end to end: nothing secret leaves in a bundle, and nothing is lost when repro dies."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from repro import platforms
from tests.conftest import run_repro

GH = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
AWS = "AKIA" + "QWERTYUIOPASDFGH"
ENV = {
    "GITHUB_TOKEN": GH,
    "DATABASE_URL": "postgres://app:db-pass-31337@db.invalid/app",
    "MY_SERVICE_SECRET": "only-the-environment-knows-this",
}
NEEDLES = [GH, AWS, "db-pass-31337", "only-the-environment-knows-this"]

PRINTING = {
    "tests/test_leaky.py": f"""
        import os, sys
        import pytest

        def test_prints_env():
            print("token", os.environ["GITHUB_TOKEN"])
            print("db", os.environ["DATABASE_URL"], file=sys.stderr)

        def test_split_writes():
            t = os.environ["MY_SERVICE_SECRET"]
            sys.stdout.write(t[:5]); sys.stdout.flush()
            sys.stdout.write(t[5:] + "\\n"); sys.stdout.flush()

        def test_binary():
            token = os.environ["GITHUB_TOKEN"].encode()
            sys.stdout.buffer.write(b"\\xff\\xfe " + token + b"\\x80\\n")

        @pytest.mark.parametrize("key", ["{AWS}"])
        def test_in_id(key):
            pass

        def test_failure_message():
            assert os.environ["MY_SERVICE_SECRET"] == "{AWS}"
    """
}


def members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_suite_printing_tokens_yields_a_bundle_without_them(project):
    proj = project(PRINTING)
    # -s: the tests' output goes through repro's capture as it is written, split writes too
    res = run_repro("bundle", "--no-lock", "--json", "--", "-s", cwd=proj, env=ENV)
    assert res.returncode == 1, res.stderr  # one test fails on purpose
    bundle = Path(proj, json.loads(res.stdout)["bundle"])
    files = members(bundle)
    for name, data in files.items():
        for needle in NEEDLES:
            assert needle.encode() not in data, (name, needle)
    top = next(iter(files)).split("/")[0]
    meta = json.loads(files[f"{top}/data/run_metadata.json"])
    counts = meta["masking"]["counts"]
    assert meta["masking"]["enabled"] is True
    assert counts["logs/stdout.log"]["env:GITHUB_TOKEN"] >= 2
    assert counts["logs/stdout.log"]["env:MY_SERVICE_SECRET"] >= 1
    assert counts["results/results.jsonl"]
    assert meta["status"] == "failed" and meta["counts"]["failed"] == 1
    ok = run_repro("verify", bundle, "--strict", cwd=proj)
    assert ok.returncode == 0, ok.stdout
    assert "warning" not in ok.stdout


def test_token_split_by_stderr_output_is_masked_in_every_log(project):
    """Half a token on stdout, a line on stderr, the other half on stdout, each read
    on its own (the test sleeps in between): no log holds either half, and the
    combined log's counts are those of the two streams."""
    proj = project(
        {
            "tests/test_split.py": """
            import os, sys, time

            def test_split_by_stderr():
                t = os.environ["GITHUB_TOKEN"]
                sys.stdout.write("token " + t[:17]); sys.stdout.flush()
                time.sleep(0.3)
                sys.stderr.write("warning in between\\n"); sys.stderr.flush()
                time.sleep(0.3)
                sys.stdout.write(t[17:] + " end\\n"); sys.stdout.flush()
        """
        }
    )
    res = run_repro("run", "--json", "--", "-s", "-q", "-p", "no:cacheprovider", cwd=proj, env=ENV)
    assert res.returncode == 0, res.stderr
    run_dir = Path(proj, json.loads(res.stdout)["run_dir"])
    for name in ("stdout.log", "stderr.log", "pytest_output.txt"):
        data = (run_dir / "logs" / name).read_bytes()
        assert GH[:17].encode() not in data and GH[17:].encode() not in data, name
    combined = (run_dir / "logs/pytest_output.txt").read_bytes()
    assert b"token [MASKED] end\n" in combined and b"warning in between\n" in combined
    counts = json.loads((run_dir / "run_metadata.json").read_text())["masking"]["counts"]
    assert counts["logs/stdout.log"]["env:GITHUB_TOKEN"] == 1
    assert counts["logs/pytest_output.txt"] == counts["logs/stdout.log"]


def test_no_mask_is_recorded_and_verify_warns(project):
    proj = project(PRINTING)
    res = run_repro("bundle", "--no-lock", "--no-mask", "--json", "--", "-s", cwd=proj, env=ENV)
    bundle = Path(proj, json.loads(res.stdout)["bundle"])
    files = members(bundle)
    top = next(iter(files)).split("/")[0]
    assert json.loads(files[f"{top}/data/run_metadata.json"])["masking"]["enabled"] is False
    assert GH.encode() in files[f"{top}/data/logs/stdout.log"]
    warned = run_repro("verify", bundle, "--json", cwd=proj)
    assert warned.returncode == 0
    report = json.loads(warned.stdout)["bundles"][0]
    assert any("github-token" in w and "stdout.log" in w for w in report["warnings"])
    assert all(GH not in w for w in report["warnings"])  # the rule, never the value
    strict = run_repro("verify", bundle, "--strict", cwd=proj)
    assert strict.returncode == 1
    assert "[credential]" in strict.stdout


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_verify_refuses_what_is_not_a_file_at_once(tmp_path, kind):
    target = {"fifo": tmp_path / "pipe.zip", "device": Path("/dev/null"), "directory": tmp_path}[
        kind
    ]
    if kind == "fifo":
        os.mkfifo(target)
    started = time.monotonic()
    res = run_repro("verify", target, timeout=20)
    assert time.monotonic() - started < 15
    assert res.returncode == 2
    # A folder is read only when it is a run folder (repro verify outputs/latest).
    why = "not a bundle or a run folder" if kind == "directory" else "not a regular file"
    hint = (
        "pass the bundle's .zip file, or a folder under outputs/runs/"
        if kind == "directory"
        else "pass the bundle's .zip file"
    )
    assert res.stderr.strip() == f"repro: error: {why}: {target} ({hint})"


def test_verify_library_refuses_what_is_not_a_file(tmp_path):
    """The library call too, for callers without the CLI's check: a problem, no read."""
    from repro.verify import verify

    pipe = tmp_path / "pipe.zip"
    os.mkfifo(pipe)
    for target in (pipe, Path("/dev/null")):
        rep = verify(target)
        assert not rep.ok and "not a regular file" in rep.problems[0].message
    rep = verify(tmp_path)  # a folder, but not a run folder: refused before any hashing
    assert not rep.ok and "not a run folder" in rep.problems[0].message


# --- SIGKILL at observed points ------------------------------------------------------

SLOW = {
    "tests/test_slow.py": """
        import os, time

        def test_first():
            print("first")

        def test_records_pid():
            with open(os.environ["PID_FILE"], "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(30)

        def test_after():
            pass
    """
}
FAST = {"tests/test_fast.py": "def test_a():\n    print('a' * 100000)\n\ndef test_b(): pass\n"}


def _kill_repro_when(proj: Path, ready: Callable[[Path], bool], env: dict[str, str]) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "bundle", "--no-lock", "-q"],
        cwd=proj,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not ready(proj / "outputs"):
        time.sleep(0.001)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    return proc.wait()


def _end_pytest(pid_file: Path) -> None:
    """pytest runs in its own session and outlives a killed repro: end it (by its pid)."""
    deadline = time.monotonic() + 10
    while not _read(pid_file).strip() and time.monotonic() < deadline:
        time.sleep(0.01)  # the test is writing it
    if _read(pid_file).strip():
        pid = int(_read(pid_file))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        # salvage waits for a killed repro's pytest to be gone: so does the test
        while platforms.pid_alive(pid) and time.monotonic() < deadline + 10:
            time.sleep(0.01)


def _complete_or_salvaged(proj: Path) -> list[dict[str, object]]:
    """Whatever state the kill left: salvage, finish packing, then every bundle verifies."""
    outputs = proj / "outputs"
    salvaged = run_repro("salvage", "--json", cwd=proj)
    assert salvaged.returncode == 0, salvaged.stderr
    for run_dir in (outputs / "runs").iterdir():
        if not run_dir.name.startswith(".") and not any(
            (outputs / "bundles").glob(f"repro-{run_dir.name}-*.zip")
        ):
            packed = run_repro("pack", run_dir, "--out", outputs / "bundles", cwd=proj)
            assert packed.returncode == 0, packed.stderr
    assert not list((outputs / "runs").glob(".*.partial"))
    bundles = sorted((outputs / "bundles").glob("*.zip"))
    for b in bundles:
        ok = run_repro("verify", b, cwd=proj)
        assert ok.returncode == 0, ok.stdout
    log = run_repro("log", "--outputs", outputs, "--json", cwd=proj)
    assert log.returncode == 0, log.stdout
    ledger = json.loads(log.stdout)
    assert ledger["intact"]
    # Every run the ledger saw start has ended (or was salvaged) and has its bundle.
    for run in ledger["runs"]:
        assert not run["open"] and run["digests"], run
    assert len(bundles) == len(ledger["runs"])
    return json.loads(salvaged.stdout)["salvaged"]  # type: ignore[no-any-return]


def _header_logged(outputs: Path) -> bool:
    """repro has read pytest's header off the pipe and logged it: on a loaded machine it
    may lag the test that writes the pid file, and a SIGKILL then leaves an empty log."""
    return any(b"test session starts" in _read(p) for p in outputs.glob("runs/.*/logs/stdout.log"))


def test_sigkill_mid_suite_is_salvaged_into_a_bundle_that_verifies(project, tmp_path):
    proj = project(SLOW)
    pid_file = tmp_path / "pytest.pid"
    try:
        rc = _kill_repro_when(
            proj,
            lambda out: bool(_read(pid_file).strip()) and _header_logged(out),
            {"PID_FILE": str(pid_file)},
        )
    finally:
        _end_pytest(pid_file)
    assert rc == -signal.SIGKILL
    listed = run_repro("log", "--outputs", proj / "outputs", cwd=proj)
    assert "open (never ended)" in listed.stdout
    notice = run_repro("run", "-q", "--", "-k", "test_first", cwd=proj, env={"PID_FILE": "x"})
    assert "abandoned run(s)" in notice.stderr
    done = _complete_or_salvaged(proj)
    assert len(done) == 1 and done[0]["in_flight"] == "tests/test_slow.py::test_records_pid"
    bundle = proj / str(done[0]["bundle"])
    files = members(bundle)
    top = next(iter(files)).split("/")[0]
    meta = json.loads(files[f"{top}/data/run_metadata.json"])
    assert meta["status"] == "abandoned" and meta["exit_code"] is None
    assert meta["counts"]["passed"] == 1 and meta["salvage"]["missing"]
    assert b"test session starts" in files[f"{top}/data/logs/stdout.log"]
    assert f"{top}/data/env.json" in files
    # The test in flight never finished: `show` names it as such, not among the slowest.
    shown = json.loads(run_repro("show", bundle, "--json", cwd=proj).stdout)
    assert shown["in_flight"]["id"] == done[0]["in_flight"]
    assert [t["id"] for t in shown["slowest"]] == ["tests/test_slow.py::test_first"]
    text = run_repro("show", bundle, cwd=proj).stdout
    assert "test_records_pid" not in text.split("Slowest tests", 1)[1].split("\n\n", 1)[0]


def test_salvage_waits_for_the_pytest_a_killed_repro_left_running(project, tmp_path):
    """pytest leads its own session and outlives a SIGKILLed repro (a hung test would run
    forever, untimed): salvage names it and how to stop it instead of packing a run that
    is still going; once it is gone, the run is salvaged."""
    proj = project(SLOW)
    pid_file = tmp_path / "pytest.pid"
    try:
        rc = _kill_repro_when(
            proj, lambda _: bool(_read(pid_file).strip()), {"PID_FILE": str(pid_file)}
        )
        assert rc == -signal.SIGKILL
        pid = int(_read(pid_file))
        assert platforms.pid_alive(pid)
        waiting = run_repro("salvage", "--json", cwd=proj)
        assert (waiting.returncode, json.loads(waiting.stdout)["salvaged"]) == (0, [])
        assert f"its pytest (pid {pid}) still runs" in waiting.stderr
        assert f"kill -- -{pid}" in waiting.stderr
        (partial,) = (proj / "outputs/runs").glob(".*.partial")
        refused = run_repro("salvage", partial, cwd=proj)
        assert refused.returncode == 2
        assert refused.stderr.startswith("repro: error: ") and refused.stderr.count("\n") == 1
    finally:
        _end_pytest(pid_file)
    (done,) = _complete_or_salvaged(proj)
    assert done["in_flight"] == "tests/test_slow.py::test_records_pid"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _staged(name: str) -> Callable[[Path], bool]:
    def ready(outputs: Path) -> bool:
        return any((outputs / "runs").glob(f".*.partial/{name}"))

    return ready


@pytest.mark.parametrize(
    "point",
    [
        "staging folder made",  # nothing has run yet: nothing to keep
        "before pytest starts",  # the ledger's start line is on disk
        "while writing records",  # run_metadata.json is being written
        "while packing",  # the zip's temporary file exists
    ],
)
def test_sigkill_at_other_points_ends_complete_or_salvageable(project, point):
    proj = project(FAST)
    ready = {
        "staging folder made": lambda o: any((o / "runs").glob(".*.partial")),
        "before pytest starts": lambda o: b'"start"' in _read(o / "ledger.jsonl"),
        "while writing records": _staged("run_metadata.json"),
        "while packing": lambda o: any((o / "bundles").glob(".*")),
    }[point]
    _kill_repro_when(proj, ready, {})
    _complete_or_salvaged(proj)


def test_salvage_refuses_any_folder_but_a_staging_folder_and_removes_nothing(project):
    """A staging folder without an intent record is removed whole: `repro salvage .` (or a
    finished run) once took that path and deleted the project."""
    proj = project(SLOW)
    ran = run_repro("run", "-q", "--", "-k", "test_first", cwd=proj, env={"PID_FILE": "x"})
    assert ran.returncode == 0, ran.stderr
    (finished,) = (proj / "outputs/runs").iterdir()
    before = sorted(p.relative_to(proj) for p in proj.rglob("*"))
    for target in (proj, proj / "tests", finished):
        refused = run_repro("salvage", target, "--json", cwd=proj)
        assert refused.returncode == 2, (target, refused.stderr)
        assert refused.stderr.startswith("repro: error: not the staging folder")
        assert json.loads(refused.stdout)["exit_code"] == 2
    assert sorted(p.relative_to(proj) for p in proj.rglob("*")) == before
