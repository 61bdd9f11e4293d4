"""outputs/ looks after itself, and output for people: end to end, with real runs."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.clean import clean
from repro.workspace import readme_source
from tests.conftest import FAILING, PASSING, git_init, run_repro

ESC = re.compile(rb"\x1b\[")


def test_first_run_keeps_git_clean_and_writes_readme_and_index(project):
    proj = project(PASSING)
    git_init(proj)
    res = run_repro("bundle", "--no-lock", "-q", cwd=proj)
    assert res.returncode == 0, res.stderr
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=proj,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""
    out = proj / "outputs"
    assert (out / "README.md").read_bytes() == readme_source().read_bytes()
    index = (out / "index.md").read_text()
    (run_dir,) = (out / "runs").iterdir()
    (bundle,) = (out / "bundles").glob("*.zip")
    assert "[README.md](README.md)" in index
    row = next(line for line in index.splitlines() if run_dir.name in line)
    assert "| passed |" in row and "2 passed" in row
    assert f"(runs/{run_dir.name}/)" in row and f"(bundles/{bundle.name})" in row
    # every link in the index resolves
    for target in re.findall(r"\]\(([^)]+)\)", index):
        assert (out / target).exists(), target


def test_index_is_rewritten_after_each_run_and_a_user_gitignore_is_kept(project):
    proj = project(FAILING)
    (proj / "outputs").mkdir()
    (proj / "outputs/.gitignore").write_text("# mine\n")
    run_repro("run", "-q", cwd=proj)
    run_repro("run", "-q", cwd=proj)
    index = (proj / "outputs/index.md").read_text()
    rows = [line for line in index.splitlines() if "| failed |" in line]
    assert len(rows) == 2 and all("1 failed" in r and "1 passed" in r for r in rows)
    assert (proj / "outputs/.gitignore").read_text() == "# mine\n"
    # the summaries of finished runs are read once and cached; a broken cache is rebuilt
    cache = json.loads((proj / "outputs/.index-cache.json").read_text())
    assert sorted(v["status"] for v in cache.values()) == ["failed", "failed"]
    (proj / "outputs/.index-cache.json").write_text("{not json")
    from repro.workspace import write_index

    assert write_index(proj / "outputs").read_text().count("| failed |") == 2


def _fake_runs(outputs: Path, template: Path, spec: list[tuple[str, str, bool]]) -> None:
    """Run folders copied from a real one, with the given ids, statuses and bundles."""
    for run_id, status, bundled in spec:
        dest = outputs / "runs" / run_id
        shutil.copytree(template, dest)
        stamp = json.loads((dest / "run_stamp.json").read_text())
        (dest / "run_stamp.json").write_text(json.dumps({**stamp, "status": status}))
        if bundled:
            zip_path = outputs / "bundles" / f"repro-{run_id}-000000000000.zip"
            zip_path.parent.mkdir(parents=True, exist_ok=True)
            zip_path.write_bytes(b"zip")
            sidecar = zip_path.with_name(zip_path.name + ".sha256")
            sidecar.write_text(f"# repro content digest: sha256:{'0' * 64}\n")


@pytest.fixture
def outputs(valid_bundle, tmp_path) -> Path:
    template = next((valid_bundle.parent.parent / "outputs" / "runs").iterdir())
    out = tmp_path / "outputs"
    _fake_runs(
        out,
        template,
        [
            ("20260101T000000Z-000001", "passed", True),
            ("20260101T000000Z-000002", "failed", False),  # only copy: the folder
            ("20260101T000000Z-000003", "crashed", True),  # folder goes, bundle stays
            ("20260101T000000Z-000004", "passed", False),
            ("20260101T000000Z-000005", "passed", True),
        ],
    )
    shutil.copytree(template, out / "runs" / ".20260101T000000Z-000000.partial")
    old = time.time() - 3 * 86400
    for p in (out / "runs").iterdir():
        os.utime(p, (old, old))
    os.symlink("runs/20260101T000000Z-000001", out / "latest")
    return out


def test_clean_never_removes_the_only_copy_of_a_failed_or_abandoned_run(outputs, cli):
    res = cli("clean", "--outputs", outputs, "--keep", "1", "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    gone = {Path(i["path"]).name for i in report["removed"]}
    kept = {Path(i["path"]).name for i in report["kept"]}
    assert gone == {
        "20260101T000000Z-000001",
        "repro-20260101T000000Z-000001-000000000000.zip",
        "repro-20260101T000000Z-000001-000000000000.zip.sha256",
        "20260101T000000Z-000003",
        "20260101T000000Z-000004",
    }
    assert kept == {
        "20260101T000000Z-000002",
        ".20260101T000000Z-000000.partial",
        "repro-20260101T000000Z-000003-000000000000.zip",
        "repro-20260101T000000Z-000003-000000000000.zip.sha256",
    }
    for name in gone:
        assert not any(outputs.rglob(name))
    assert sorted(p.name for p in (outputs / "runs").iterdir()) == [
        ".20260101T000000Z-000000.partial",
        "20260101T000000Z-000002",
        "20260101T000000Z-000005",
    ]
    # latest pointed at a removed run: it now points at the newest left
    assert os.readlink(outputs / "latest") == "runs/20260101T000000Z-000005"
    assert "20260101T000000Z-000001" not in (outputs / "index.md").read_text()

    res = cli("clean", "--outputs", outputs, "--keep", "1", "--force")
    assert res.exit_code == 0
    assert [p.name for p in (outputs / "runs").iterdir()] == ["20260101T000000Z-000005"]
    assert sorted(p.name for p in (outputs / "bundles").iterdir()) == [
        "repro-20260101T000000Z-000005-000000000000.zip",
        "repro-20260101T000000Z-000005-000000000000.zip.sha256",
    ]


def test_clean_repoints_a_latest_pointer_file_as_it_does_a_symlink(outputs, cli):
    """Where no symlink can be made (Windows without the privilege), outputs/latest.txt
    names the newest run: cleaning must not leave it naming a removed one."""
    (outputs / "latest").unlink()
    (outputs / "latest.txt").write_text("runs/20260101T000000Z-000001\n")
    res = cli("clean", "--outputs", outputs, "--keep", "1")
    assert res.exit_code == 0, res.output
    assert not (outputs / "runs/20260101T000000Z-000001").exists()
    assert (outputs / "latest.txt").read_text() == "runs/20260101T000000Z-000005\n"
    assert not (outputs / "latest").exists() and not (outputs / "latest").is_symlink()


def test_clean_removes_what_repro_wrote_beside_a_bundle_with_the_bundle(project):
    """`repro bundle --report` leaves the zip, its .sha256, its attestation Statement and
    its HTML page: cleaning the run takes all of them, not the zip alone."""
    proj = project(PASSING)
    for _ in range(2):
        res = run_repro("bundle", "--no-lock", "-q", "--report", cwd=proj)
        assert res.returncode == 0, res.stderr
    bundles = proj / "outputs/bundles"
    old, new = sorted(bundles.glob("*.zip"))
    beside = {p.name for p in bundles.iterdir() if p.name.startswith(old.stem)}
    assert {old.name + ".sha256", old.name + ".intoto.json", old.stem + ".html"} <= beside
    res = run_repro("clean", "--keep", "1", "--json", cwd=proj)
    assert res.returncode == 0, res.stderr
    assert {Path(i["path"]).name for i in json.loads(res.stdout)["removed"]} >= beside
    assert all(p.name.startswith(new.stem) for p in bundles.iterdir()), sorted(bundles.iterdir())


def test_clean_never_removes_a_folder_repro_did_not_name_even_forced(outputs, cli):
    """`--outputs` pointed at a folder whose runs/ is someone else's: only folders named as
    repro names runs (`<run_id>`, `.<run_id>.partial`) are candidates."""
    strangers = [outputs / "runs/my-notes", outputs / "runs/.cache.partial"]
    old = time.time() - 3 * 86400
    for folder in strangers:
        folder.mkdir()
        (folder / "keep.txt").write_text("not a run")
        os.utime(folder, (old, old))
    res = cli("clean", "--outputs", outputs, "--keep", "0", "--force", "--json")
    assert res.exit_code == 0, res.output
    removed = {Path(i["path"]).name for i in json.loads(res.stdout)["removed"]}
    assert "20260101T000000Z-000001" in removed
    assert all((folder / "keep.txt").is_file() for folder in strangers)


def test_clean_dry_run_and_older_than(outputs, cli):
    before = sorted(p.relative_to(outputs) for p in outputs.rglob("*"))
    res = cli("clean", "--outputs", outputs, "--keep", "0", "--dry-run")
    assert res.exit_code == 0 and "would remove" in res.stdout
    assert sorted(p.relative_to(outputs) for p in outputs.rglob("*")) == before
    # nothing is older than 5 days: nothing goes
    assert clean(outputs, keep=0, older_than_days=5).removed == ()
    assert clean(outputs, keep=0, older_than_days=1, dry_run=True).removed != ()
    # a staging folder changed just now may be a run in progress: never touched, even forced
    partial = outputs / "runs" / ".20260101T000000Z-000000.partial"
    os.utime(partial)
    forced = clean(outputs, keep=0, force=True)
    assert partial.is_dir() and partial not in {i.path for i in forced.removed}


def test_logs_of_a_stdout_only_run_are_stored_once_and_the_bundle_verifies(project):
    proj = project(PASSING)
    res = run_repro("bundle", "--no-lock", "-q", "--json", cwd=proj)
    assert res.returncode == 0, res.stderr
    logs = next((proj / "outputs/runs").iterdir()) / "logs"
    assert (logs / "stderr.log").stat().st_size == 0
    assert (logs / "pytest_output.txt").samefile(logs / "stdout.log")
    bundle = json.loads(res.stdout)["bundle"]
    assert run_repro("verify", bundle).returncode == 0


def test_forced_colour_reaches_the_terminal_not_the_logs(project):
    proj = project(FAILING)
    res = run_repro("--color", "always", "bundle", "--no-lock", cwd=proj)
    assert res.returncode == 1
    assert ESC.search(res.stdout.encode()), "pytest's output on the terminal is coloured"
    assert ESC.search(res.stderr.encode()), "repro's own lines are coloured"
    logs = next((proj / "outputs/runs").iterdir()) / "logs"
    for name in ("stdout.log", "stderr.log", "pytest_output.txt"):
        assert b"\x1b" not in (logs / name).read_bytes(), name
    raw = (logs / "pytest_output.ansi").read_bytes()
    assert ESC.search(raw) and b"test_fail" in raw
    assert (
        re.sub(rb"\x1b\[[0-?]*[ -/]*[@-~]", b"", raw) == (logs / "pytest_output.txt").read_bytes()
    )
    bundle = res.stdout.splitlines()[-2]
    verified = run_repro("verify", bundle, cwd=proj)
    assert verified.returncode == 0, verified.stdout


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> bytes:
    """Run repro with stdout and stderr on a pseudo-terminal; everything it showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", *args], cwd=cwd, env=env, stdout=slave, stderr=slave
    )
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        try:
            chunk = os.read(master, 65536) if ready else b""
        except OSError:  # the terminal closed: the process is done
            chunk = b""
        if not chunk:
            break
        shown += chunk
    proc.wait(timeout=60)
    os.close(master)
    return shown


def test_colour_on_a_terminal_unless_no_color(valid_bundle, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    shown = _on_a_terminal(["verify", str(valid_bundle)], env, tmp_path)
    assert ESC.search(shown) and b"OK " in shown
    plain = _on_a_terminal(["verify", str(valid_bundle)], {**env, "NO_COLOR": "1"}, tmp_path)
    assert b"\x1b" not in plain and b"OK " in plain
    never = _on_a_terminal(["--color", "never", "verify", str(valid_bundle)], env, tmp_path)
    assert b"\x1b" not in never


def test_pytest_is_coloured_on_a_terminal(project):
    proj = project(PASSING)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    shown = _on_a_terminal(["run"], env, proj)
    assert re.search(rb"\x1b\[32m.*passed", shown), shown[-500:]
    logs = next((proj / "outputs/runs").iterdir()) / "logs"
    assert b"\x1b" not in (logs / "pytest_output.txt").read_bytes()
    assert (logs / "pytest_output.ansi").is_file()


def test_quiet_still_names_failures_and_why_pytest_stopped(project):
    proj = project(FAILING)
    res = run_repro("run", "-q", cwd=proj)
    assert res.returncode == 1
    assert "repro: FAILED tests/test_mixed.py::test_fail - assert 1 == 2" in res.stderr
    assert "test_pass" not in res.stderr
    res = run_repro("run", "-q", "--", "--no-such-pytest-flag", cwd=proj)
    assert res.returncode == 1
    assert "unrecognized arguments: --no-such-pytest-flag" in res.stderr
