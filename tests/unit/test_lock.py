"""`repro lock` against a wheelhouse the tests build: real pip-tools, no index."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.lock import drift, parse_lock
from tests.conftest import run_repro, write_project
from tests.wheelhouse import sha256, standard_wheelhouse


@pytest.fixture(autouse=True)
def _no_machine_pip_config(monkeypatch):
    # This machine's pip config adds find-links and indexes; tests see only their own.
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("wheelhouse")
    return folder, standard_wheelhouse(folder)


def _hashes(lock_text: str, name: str) -> set[str]:
    block = re.search(rf"^{name}==\S+(.*?)(?=^\S|\Z)", lock_text, re.M | re.S)
    assert block, lock_text
    return set(re.findall(r"--hash=sha256:([0-9a-f]{64})", block.group(1)))


def _offline(wh: Path) -> list[str]:
    return ["--no-index", "--find-links", str(wh)]


def test_requirements_in_locks_with_hashes_of_the_wheels(wheelhouse, project, cli):
    wh, wheels = wheelhouse
    proj = project({"requirements.in": "alpha\n"})
    res = cli("lock", "--project", proj, *_offline(wh), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["kind"] == "pip-compile" and out["source"] == "requirements.in"
    text = (proj / "requirements.lock").read_text()
    assert parse_lock(text) == {"alpha": "1.0", "beta": "1.1"}
    assert _hashes(text, "alpha") == {sha256(wheels["alpha-1.0"])}
    assert _hashes(text, "beta") == {sha256(wheels["beta-1.1"])}
    # the header says how to regenerate it, with the input the default rule chose
    assert f"#    repro lock --input requirements.in --no-index --find-links {wh}\n" in text
    record = json.loads((proj / "requirements.lock.json").read_text())
    assert record["kind"] == "pip-compile" and record["hashed"] is True
    assert record["tools"]["pip-tools"]


def test_pip_tools_layout_locks_the_test_requirements_only(wheelhouse, project, cli):
    wh, _ = wheelhouse
    proj = project(
        {
            "requirements/base.in": "alpha\n",
            "requirements/tests.in": "-r base.in\nbeta==1.0\n",
            "requirements/docs.in": "gamma\n",  # docs tools are not what the tests need
        }
    )
    res = cli("lock", "--project", proj, *_offline(wh), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["source"] == "requirements/tests.in"
    text = (proj / "requirements.lock").read_text()
    assert parse_lock(text) == {"alpha": "1.0", "beta": "1.0"}
    assert "# via -r requirements/base.in" in text  # relative, as pip-compile writes it
    record = json.loads((proj / "requirements.lock.json").read_text())
    assert record["inputs"] == ["requirements/tests.in"]
    assert "requirements/tests.in" in record["selected_by"]
    assert record["command"] == [
        "repro",
        "lock",
        "--input",
        "requirements/tests.in",
        "--no-index",
        "--find-links",
        str(wh),
    ]


def test_pyproject_dependencies_extras_and_groups(wheelhouse, project, cli):
    wh, _ = wheelhouse
    proj = project(
        {
            "pyproject.toml": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "fixture"
        version = "0.1"
        dependencies = ["alpha"]

        [project.optional-dependencies]
        more = ["gamma"]

        [dependency-groups]
        pinned = ["beta==1.0"]

        [tool.hatch.build.targets.wheel]
        bypass-selection = true
    """
        }
    )
    res = cli("lock", "--project", proj, *_offline(wh), "--no-build-isolation", "--json")
    assert res.exit_code == 0, res.output
    assert parse_lock((proj / "requirements.lock").read_text()) == {"alpha": "1.0", "beta": "1.1"}
    res = cli(
        "lock",
        "--project",
        proj,
        *_offline(wh),
        "--no-build-isolation",
        "--extra",
        "more",
        "--group",
        "pinned",
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert parse_lock((proj / "requirements.lock").read_text()) == {
        "alpha": "1.0",
        "beta": "1.0",
        "gamma": "2.0",
    }
    res = cli("lock", "--project", proj, *_offline(wh), "--group", "nope")
    assert res.exit_code == 2 and "no dependency group 'nope'" in res.stderr


def _pip_install(py: Path, *args: str | Path) -> None:
    """pip from this environment, installing into the venv of `py`."""
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", *map(str, args)],
        check=True,
    )


def _fresh_venv(path: Path, *packages: Path) -> Path:
    """A venv holding `packages`, installed by name (as from an index), not from a path."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    py = path / "bin" / "python"
    if packages:
        pins = [p.name.split("-")[0] + "==" + p.name.split("-")[1] for p in packages]
        _pip_install(py, "--no-deps", "--no-index", "--find-links", packages[0].parent, *pins)
    return py


def test_installed_environment_snapshot_gains_hashes(wheelhouse, project, cli, tmp_path):
    wh, wheels = wheelhouse
    py = _fresh_venv(tmp_path / "env", wheels["alpha-1.0"], wheels["beta-1.0"])
    proj = project({})
    res = cli("lock", "--project", proj, "--python", py, *_offline(wh), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["kind"] == "pip-compile" and out["source"] == "the installed environment"
    text = (proj / "requirements.lock").read_text()
    assert parse_lock(text) == {"alpha": "1.0", "beta": "1.0"}
    assert _hashes(text, "beta") == {sha256(wheels["beta-1.0"])}


def test_lock_installs_with_require_hashes_in_a_fresh_venv(wheelhouse, project, cli, tmp_path):
    wh, _ = wheelhouse
    proj = project({"requirements.in": "alpha\ngamma\n"})
    assert cli("lock", "--project", proj, *_offline(wh)).exit_code == 0
    py = _fresh_venv(tmp_path / "rebuild")
    _pip_install(
        py, "--require-hashes", "--no-index", "--find-links", wh, "-r", proj / "requirements.lock"
    )
    versions = subprocess.run(
        [
            str(py),
            "-c",
            "import alpha, beta, gamma; "
            "print(alpha.__version__, beta.__version__, gamma.__version__)",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert versions == ["1.0", "1.1", "2.0"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_index_falls_back_fast_to_a_marked_snapshot(project, cli):
    proj = project({"requirements.in": "alpha\n"})
    url = f"http://user:s3cr3t-value@127.0.0.1:{_closed_port()}/simple"
    started = time.monotonic()
    res = cli("lock", "--project", proj, "--index-url", url, "--index-timeout", "2")
    assert time.monotonic() - started < 10
    assert res.exit_code == 0, res.output
    assert "unhashed snapshot" in res.stderr and "cannot be rebuilt exactly" in res.stderr
    record = json.loads((proj / "requirements.lock.json").read_text())
    assert record["kind"] == "snapshot" and "no package index answered" in record["reason"]
    text = (proj / "requirements.lock").read_text()
    assert "WITHOUT hashes" in text and "--hash" not in text
    assert re.search(r"^click==", text, re.M)  # a snapshot of what is installed here
    for blob in (text, json.dumps(record), res.stdout, res.stderr):
        assert "s3cr3t-value" not in blob

    res = cli(
        "lock",
        "--project",
        proj,
        "--index-url",
        url,
        "--index-timeout",
        "2",
        "--require-hashes",
        "--upgrade",
    )
    assert res.exit_code == 3
    assert res.stderr.startswith("repro: error: cannot make a hashed lock")
    assert "s3cr3t-value" not in res.stderr


def test_unchanged_inputs_reuse_the_lock_without_pip_compile(wheelhouse, project, cli, tmp_path):
    import shutil

    wh, _ = wheelhouse
    private = tmp_path / "wh"
    shutil.copytree(wh, private)
    proj = project({"requirements.in": "alpha\n"})
    assert cli("lock", "--project", proj, *_offline(private)).exit_code == 0
    before = (proj / "requirements.lock").read_bytes()
    shutil.rmtree(private)  # pip-compile could not succeed any more
    res = cli("lock", "--project", proj, *_offline(private), "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["reused"] is True
    assert (proj / "requirements.lock").read_bytes() == before
    (proj / "tests").mkdir()
    (proj / "tests/test_x.py").write_text("def test_x():\n    pass\n")
    res = cli("bundle", "--project", proj, *_offline(private), "--json")
    assert res.exit_code == 0, res.stderr
    assert f"repro: lock reused: {proj / 'requirements.lock'} (pip-compile)" in res.stderr
    (proj / "requirements.in").write_text("alpha\ngamma\n")  # inputs changed: resolve again
    res = cli("lock", "--project", proj, *_offline(private), "--json")
    # ... which fails: the hashed lock is kept, never replaced by a snapshot
    assert res.exit_code == 3 and "kept the hashed lock" in res.stderr
    assert (proj / "requirements.lock").read_bytes() == before


def test_drift_lists_missing_version_and_extra():
    locked = {"alpha": "1.0", "beta": "1.1", "gone": "3"}
    installed = [
        {"name": "Alpha", "version": "1.0"},
        {"name": "beta", "version": "1.0"},
        {"name": "new_pkg", "version": "0.1"},
        {"name": "pip", "version": "24"},
    ]
    assert drift(locked, installed) == [
        {"name": "beta", "kind": "version", "locked": "1.1", "installed": "1.0"},
        {"name": "gone", "kind": "missing", "locked": "3", "installed": None},
        {"name": "new-pkg", "kind": "extra", "locked": None, "installed": "0.1"},
    ]


def test_drift_is_recorded_and_reported_by_verify(wheelhouse, project, cli, tmp_path):
    wh, wheels = wheelhouse
    proj = write_project(
        tmp_path / "driftproj",
        {
            "requirements.in": "alpha\n",
            "tests/test_b.py": "import beta\n\ndef test_b():\n    assert beta.__version__\n",
        },
    )
    assert cli("lock", "--project", proj, *_offline(wh)).exit_code == 0  # locks beta 1.1
    py = _fresh_venv(tmp_path / "drifted", wheels["alpha-1.0"], wheels["beta-1.0"])
    # the test interpreter also needs pytest: borrow it from this environment
    import site
    import sysconfig

    purelib = next((tmp_path / "drifted/lib").glob("python*/site-packages"))
    (purelib / "borrowed.pth").write_text(
        "\n".join({sysconfig.get_path("purelib"), *site.getsitepackages()}) + "\n"
    )
    res = cli("bundle", "--project", proj, "--python", py, *_offline(wh), "--json")
    assert res.exit_code == 0, res.output
    assert "differs from requirements.lock" in res.stderr and "beta" in res.stderr
    bundle = json.loads(res.stdout)["bundle"]
    meta = json.loads(
        next((proj / "outputs/runs").iterdir()).joinpath("run_metadata.json").read_text()
    )
    assert {"name": "beta", "kind": "version", "locked": "1.1", "installed": "1.0"} in meta["drift"]
    # repro and what it needs are borrowed into that interpreter: tooling, not drift
    roles = {t["name"]: t["role"] for t in meta["tooling"]}
    assert roles["repro-bundle"] == roles["click"] == roles["jsonschema"] == "repro"
    assert not {d["name"] for d in meta["drift"]} & set(roles)
    ok = cli("verify", bundle)
    assert ok.exit_code == 0 and "drifted from the lock" in ok.stdout
    strict = cli("verify", bundle, "--strict")
    assert strict.exit_code == 1 and "beta (version)" in strict.stdout


def _fake_dist(site_packages: Path, name: str, version: str, direct_url: dict) -> None:
    """What pip leaves behind for an editable or VCS install: a dist-info with direct_url.json."""
    info = site_packages / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "direct_url.json").write_text(json.dumps(direct_url))


def test_editable_and_vcs_installs_are_listed_not_failing(wheelhouse, project, cli, tmp_path):
    from repro.envinfo import probe_interpreter

    wh, wheels = wheelhouse
    py = _fresh_venv(tmp_path / "env", wheels["gamma-2.0"])
    site_packages = next((tmp_path / "env/lib").glob("python*/site-packages"))
    _fake_dist(
        site_packages,
        "mylib",
        "0.3",
        {"url": f"file://{tmp_path}/mylib", "dir_info": {"editable": True}},
    )
    _fake_dist(
        site_packages,
        "vcspkg",
        "1.2",
        {
            "url": "https://deploy:tok-31337@git.example.invalid/o/vcspkg.git",
            "vcs_info": {"vcs": "git", "commit_id": "a" * 40},
        },
    )
    proj = project({})
    res = cli("lock", "--project", proj, "--python", py, *_offline(wh), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["kind"] == "pip-compile" and sorted(out["unhashable"]) == ["mylib", "vcspkg"]
    assert parse_lock((proj / "requirements.lock").read_text()) == {"gamma": "2.0"}
    record_text = (proj / "requirements.lock.json").read_text()
    record = json.loads(record_text)
    vcs = next(u for u in record["unhashable"] if u["name"] == "vcspkg")
    assert vcs["direct_url"]["vcs_info"]["commit_id"] == "a" * 40
    assert vcs["direct_url"]["url"] == "https://git.example.invalid/o/vcspkg.git"
    editable = next(u for u in record["unhashable"] if u["name"] == "mylib")
    assert editable["direct_url"]["dir_info"]["editable"] is True
    assert "tok-31337" not in record_text + res.stdout + res.stderr
    pkgs = {p["name"]: p for p in probe_interpreter(str(py))["packages"]}
    assert pkgs["mylib"]["editable"] is True
    assert "tok-31337" not in json.dumps(pkgs)


def test_setup_cfg_and_explicit_inputs(wheelhouse, project, cli):
    wh, _ = wheelhouse
    proj = project(
        {
            "setup.cfg": "[metadata]\nname = fixture\nversion = 0.1\n\n"
            "[options]\ninstall_requires =\n    gamma\n",
            "setup.py": "from setuptools import setup\nsetup()\n",
            "extra/ci.in": "alpha\n",
        }
    )
    res = cli("lock", "--project", proj, *_offline(wh), "--no-build-isolation", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["source"] == "setup.cfg"
    assert parse_lock((proj / "requirements.lock").read_text()) == {"gamma": "2.0"}
    res = cli("lock", "--project", proj, *_offline(wh), "--input", proj / "extra/ci.in", "--json")
    assert json.loads(res.stdout)["source"].startswith("--input ")
    assert parse_lock((proj / "requirements.lock").read_text()) == {"alpha": "1.0", "beta": "1.1"}
    res = cli("lock", "--project", proj, "--input", proj / "missing.in")
    assert res.exit_code == 2 and "lock input not found" in res.stderr


def test_an_output_that_is_an_input_is_refused_even_with_force(wheelhouse, project):
    """`-o requirements.in` would replace the file the lock is made from with the lock."""
    wh, _ = wheelhouse
    proj = project({"requirements.in": "alpha\n"})
    (proj / "same.in").symlink_to("requirements.in")
    for out in ("requirements.in", "./requirements.in", "same.in", str(proj / "requirements.in")):
        res = run_repro(
            "lock", "--input", "requirements.in", "-o", out, "--force", *_offline(wh), cwd=proj
        )
        assert res.returncode == 2, res.stderr
        assert res.stderr.startswith("repro: error: ") and res.stderr.count("\n") == 1
        assert "is its input" in res.stderr and "--output-file" in res.stderr
        assert (proj / "requirements.in").read_text() == "alpha\n"
    assert not (proj / "requirements.lock").exists()


def test_pylock_is_written_and_valid(wheelhouse, project, cli):
    from packaging.pylock import Pylock

    from repro.config import read_toml

    wh, wheels = wheelhouse
    proj = project({"requirements.in": "alpha\n"})
    res = cli("lock", "--project", proj, *_offline(wh), "--pylock", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["warnings"] == []
    lock = Pylock.from_dict(read_toml(proj / "pylock.toml"))
    assert {p.name: str(p.version) for p in lock.packages} == {"alpha": "1.0", "beta": "1.1"}
    hashes = {p.name: p.wheels[0].hashes["sha256"] for p in lock.packages if p.wheels}
    assert hashes["alpha"] == sha256(wheels["alpha-1.0"])


def test_pip_compile_that_runs_too_long_falls_back_like_any_failure(wheelhouse, project):
    from repro.errors import LockError
    from repro.lock import LockOptions, lock

    wh, _ = wheelhouse
    proj = project({"requirements.in": "alpha\n"})
    opts = LockOptions(project=proj, no_index=True, find_links=(str(wh),), compile_timeout=0.01)
    res = lock(opts)
    assert res.kind == "snapshot" and res.reason == "pip-compile did not finish within 0.01s"
    with pytest.raises(LockError, match="cannot make a hashed lock: pip-compile did not finish"):
        lock(
            LockOptions(
                project=proj,
                no_index=True,
                find_links=(str(wh),),
                compile_timeout=0.01,
                require_hashes=True,
            )
        )
