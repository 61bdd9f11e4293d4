"""`repro replay` end to end: a bundle made in one clone, replayed in another.

The lock is resolved by real pip-tools and installed by real pip from a local
wheelhouse (`make test` fills .wheelhouse/ with pytest and its dependencies at
install time), so nothing here reaches an index.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git_init, write_project

pytestmark = pytest.mark.slow

WHEELHOUSE = Path(__file__).resolve().parents[2] / ".wheelhouse"

SUITE = {
    "tests/test_suite.py": """
        import os
        from pathlib import Path


        def test_ok():
            assert True


        def test_env_sensitive():
            # Passes where it was recorded; a replay with REPLAY_BREAK=1 really changes it.
            assert os.environ.get("REPLAY_BREAK") != "1"


        def test_flaky():
            # Fails on every second run in a row: flaky, not changed.
            counter = Path(os.environ["FLAKY_COUNTER"])
            n = int(counter.read_text()) + 1 if counter.exists() else 1
            counter.write_text(str(n))
            assert n % 2 == 1
    """,
}


def repro(
    *args: str | os.PathLike[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "repro", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def offline(*extra: str) -> list[str]:
    if not any(WHEELHOUSE.glob("pytest-*.whl")):
        reason = f"{WHEELHOUSE} has no pytest wheel: `make test` fills it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return ["--find-links", str(WHEELHOUSE), "--no-index", *extra]


def lock_in() -> list[str]:
    return ["--input", "requirements.in", *offline()]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One clean and one dirty bundle of the suite, made in `origin`, and a clone."""
    root = tmp_path_factory.mktemp("replay")
    counter = root / "flaky-counter"
    env = {**os.environ, "FLAKY_COUNTER": str(counter)}
    env.pop("REPLAY_BREAK", None)
    origin = write_project(root / "origin", {**SUITE, "requirements.in": "pytest\n"})
    (origin / ".gitignore").write_text("outputs/\n")
    git_init(origin)
    locked = repro("lock", "--input", "requirements.in", *offline(), cwd=origin, env=env)
    assert locked.returncode == 0, locked.stderr
    subprocess.run(["git", "add", "requirements.lock", "requirements.lock.json"], cwd=origin)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "lock"],
        cwd=origin,
        check=True,
    )
    clean = repro("bundle", "--json", *lock_in(), cwd=origin, env=env)
    assert clean.returncode == 0, clean.stderr
    # The same checkout made dirty: a changed test and an untracked one.
    (origin / "tests/test_suite.py").write_text(
        (origin / "tests/test_suite.py").read_text() + "\n\ndef test_added_in_place():\n    pass\n"
    )
    (origin / "tests/test_untracked.py").write_text("def test_untracked():\n    pass\n")
    counter.unlink()  # each recorded run is test_flaky's first: it passes
    dirty = repro("bundle", "--json", *lock_in(), cwd=origin, env=env)
    assert dirty.returncode == 0, dirty.stderr
    counter.unlink()
    # A lock repro did not write, without hashes: bundled as it is.
    hashed = (origin / "requirements.lock").read_text()
    pins = [
        line.split()[0] for line in hashed.splitlines() if "==" in line and not line[0].isspace()
    ]
    (origin / "requirements.lock").write_text("\n".join(pins) + "\n")
    (origin / "requirements.lock.json").unlink()
    snap = repro("bundle", "--json", *lock_in(), cwd=origin, env=env)
    assert snap.returncode == 0, snap.stderr
    (origin / "requirements.lock").write_text(hashed)
    subprocess.run(["git", "checkout", "requirements.lock.json"], cwd=origin, check=True)
    counter.unlink()
    # Made with an interpreter that is then removed: a replay must find another.
    gone = root / "gone-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(gone)], check=True)
    site = next((gone / "lib").glob("python*/site-packages"))
    (site / "repro-tests.pth").write_text(
        "\n".join(p for p in sys.path if p.endswith("site-packages"))
    )
    away = repro(
        "bundle", "--json", "--python", gone / "bin/python", *lock_in(), cwd=origin, env=env
    )
    assert away.returncode == 0, away.stderr
    shutil.rmtree(gone)
    clone = root / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    counter.unlink()
    return {
        "clean": origin / json.loads(clean.stdout)["bundle"],
        "dirty": origin / json.loads(dirty.stdout)["bundle"],
        "gone": origin / json.loads(away.stdout)["bundle"],
        "snapshot": origin / json.loads(snap.stdout)["bundle"],
        "clone": clone,
        "counter": counter,
    }


def replay(made: dict[str, Path], which: str, *extra: str, **env_extra: str) -> tuple[int, dict]:
    env = {**os.environ, "FLAKY_COUNTER": str(made["counter"]), **env_extra}
    if "REPLAY_BREAK" not in env_extra:
        env.pop("REPLAY_BREAK", None)
    made["counter"].write_text("1")  # the replay's first run of test_flaky is its 2nd: fails
    proc = repro(
        "replay",
        made[which],
        "--repo",
        made["clone"],
        "--json",
        *offline(*extra),
        cwd=made["clone"],
        env=env,
    )
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_a_clean_run_reproduces_in_another_clone_and_flaky_is_told_apart(made) -> None:
    code, doc = replay(made, "clean")
    assert (code, doc["verdict"]) == (0, "reproduced"), doc
    assert doc["exact"] is True
    tests = {t["id"]: t for t in doc["tests"]}
    assert tests["tests/test_suite.py::test_ok"]["kind"] == "same"
    flaky = tests["tests/test_suite.py::test_flaky"]
    assert flaky["flaky"] is True and flaky["replayed"] == "failed"
    assert flaky["attempts"][0] == "passed"
    # The replay is a bundle of its own that verifies.
    verified = subprocess.run(
        [sys.executable, "-m", "repro", "verify", doc["replay_bundle"]], capture_output=True
    )
    assert verified.returncode == 0


def test_a_test_that_really_changed_diverges_and_is_named(made) -> None:
    code, doc = replay(made, "clean", REPLAY_BREAK="1")
    assert (code, doc["verdict"]) == (1, "diverged")
    assert doc["diverged"] == ["tests/test_suite.py::test_env_sensitive"]
    changed = next(t for t in doc["tests"] if t["id"] == doc["diverged"][0])
    assert changed["attempts"] == ["failed", "failed", "failed"]


def test_a_dirty_tree_with_an_untracked_file_is_rebuilt_exactly(made) -> None:
    code, doc = replay(made, "dirty")
    assert (code, doc["verdict"]) == (0, "reproduced"), doc
    ids = {t["id"] for t in doc["tests"] if t["kind"] == "same" or t["flaky"]}
    assert "tests/test_untracked.py::test_untracked" in ids
    assert "tests/test_suite.py::test_added_in_place" in ids
    assert any("patch" in step for step in doc["steps"])


def test_a_lock_without_hashes_replays_but_not_exactly(made) -> None:
    code, doc = replay(made, "snapshot")
    assert (code, doc["verdict"]) == (0, "reproduced"), doc
    assert doc["exact"] is False
    assert any("no hashes" in step for step in doc["steps"])


def test_python_not_found_cannot_replay(made, tmp_path) -> None:
    """The recorded interpreter gone, no uv and no pythonX.Y on PATH: exit 3, and why."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "git").symlink_to(shutil.which("git"))
    code, doc = replay(made, "gone", PATH=str(tools))
    assert (code, doc["verdict"]) == (3, "could not replay")
    wanted = ".".join(map(str, sys.version_info[:2]))
    assert f"Python {wanted} not found" in doc["reason"]


def test_offline_without_the_wheels_names_the_package_it_could_not_get(made, tmp_path) -> None:
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = {**os.environ, "FLAKY_COUNTER": str(made["counter"])}
    proc = repro(
        "replay",
        made["clean"],
        "--repo",
        made["clone"],
        "--json",
        "--find-links",
        empty,
        "--no-index",
        cwd=made["clone"],
        env=env,
    )
    doc = json.loads(proc.stdout)
    assert (proc.returncode, doc["verdict"]) == (3, "could not replay")
    assert "could not get" in doc["reason"] and "--find-links" in doc["reason"]
    got = doc["reason"].split("could not get ", 1)[1].split()[0]
    assert got.lower().split("=")[0] in {"iniconfig", "packaging", "pluggy", "pygments", "pytest"}
    # It stopped after the checkout: the scratch worktree is not left in the clone.
    trees = subprocess.run(
        ["git", "worktree", "list", "--porcelain"],
        cwd=made["clone"],
        capture_output=True,
        text=True,
    ).stdout
    assert trees.count("worktree ") == 1, trees


def test_with_uv_the_lock_is_synced_by_uv(made) -> None:
    uv = Path(sys.executable).with_name("uv")
    if not uv.is_file():
        reason = f"uv is not installed beside {sys.executable} (the dev extra installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    code, doc = replay(made, "clean", PATH=f"{uv.parent}{os.pathsep}{os.environ['PATH']}")
    assert (code, doc["verdict"]) == (0, "reproduced"), doc
    assert any(step.startswith("installed the lock with uv") for step in doc["steps"])


def test_replay_from_inside_the_clone_with_the_default_repo(made) -> None:
    """`repro replay BUNDLE` run in the clone, as docs/replay.md shows it: --repo and
    --outputs default to `.` and `./outputs`, relative paths that pytest (which runs in
    the scratch worktree) must not be handed as they are."""
    env = {**os.environ, "FLAKY_COUNTER": str(made["counter"])}
    env.pop("REPLAY_BREAK", None)
    made["counter"].write_text("1")
    proc = repro("replay", made["clean"], "--json", *offline(), cwd=made["clone"], env=env)
    assert proc.stdout, proc.stderr
    doc = json.loads(proc.stdout)
    assert (proc.returncode, doc["verdict"]) == (0, "reproduced"), doc
    assert Path(doc["replay_bundle"]).parent == made["clone"] / "outputs/bundles"  # absolute


def test_ctrl_c_while_the_tests_run_stops_the_replay(made, tmp_path) -> None:
    """SIGINT to repro mid-suite: the run is interrupted, and the replay stops there with
    exit 130 (it went on to rerun the test in flight and call it flaky: `reproduced`)."""
    fifo = tmp_path / "counter"
    os.mkfifo(fifo)  # test_flaky blocks reading it: the suite is mid-run until stopped
    env = {**os.environ, "FLAKY_COUNTER": str(fifo)}
    env.pop("REPLAY_BREAK", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "replay", made["clean"], "--json", *offline()],
        cwd=made["clone"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = made["clone"] / "outputs/runs"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        events = b"".join(_read(p) for p in runs.glob(".*.partial/results/.events.jsonl"))
        if b"test_flaky" in events:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(OSError):  # free a test left reading the fifo
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert proc.returncode == 130, err
    assert json.loads(out)["exit_code"] == 130
    assert err.splitlines()[-1].startswith("repro: error: replay interrupted; what ran is in ")
    trees = subprocess.run(
        ["git", "worktree", "list", "--porcelain"],
        cwd=made["clone"],
        capture_output=True,
        text=True,
    ).stdout
    assert trees.count("worktree ") == 1, trees


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
