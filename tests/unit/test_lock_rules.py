"""The lock's rules (docs/lock.md): what is locked by default, bytes that depend on the
inputs only, a header that regenerates the lock, nothing good replaced, and drift
that leaves the project and repro's own tooling apart. Real pip-compile, local wheels."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from repro.lock.drift import parse_lock, tooling
from repro.lock.inputs import select
from tests.conftest import write_project
from tests.wheelhouse import standard_wheelhouse


@pytest.fixture(autouse=True)
def _no_machine_pip_config(monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheelhouse")
    standard_wheelhouse(folder)
    return folder


def _offline(wh: Path | str) -> list[str]:
    return ["--no-index", "--find-links", str(wh)]


PYPROJECT = """
    [build-system]
    requires = ["hatchling"]
    build-backend = "hatchling.build"

    [project]
    name = "fixture"
    version = "0.1"
    dependencies = ["alpha"]

    [project.optional-dependencies]
    docs = ["gamma"]

    [dependency-groups]
    lint = ["gamma"]
    tests = ["beta==1.0"]

    [tool.hatch.build.targets.wheel]
    bypass-selection = true
"""


# --- D: default inputs ------------------------------------------------------


def test_default_selection_rule(tmp_path):
    def sel(files: dict[str, str]):
        return select(write_project(tmp_path / str(len(list(tmp_path.iterdir()))), files))

    meta = '[project]\nname = "p"\nversion = "1"\n'
    # extra and group of the first test-like name; "testing" loses to "tests"
    s = sel(
        {
            "pyproject.toml": meta + '[project.optional-dependencies]\nTests = ["x"]\n'
            'testing = ["y"]\n[dependency-groups]\ntests = ["z"]\ndocs = ["d"]\n'
        }
    )
    assert (s.files[0].name, s.extras, s.groups) == ("pyproject.toml", ("Tests",), ("tests",))
    # `dev` only when no test, tests or testing
    s = sel({"pyproject.toml": meta + '[dependency-groups]\ndev = ["x"]\ndocs = ["d"]\n'})
    assert (s.extras, s.groups) == ((), ("dev",))
    # no test-like name anywhere: runtime dependencies only
    s = sel({"pyproject.toml": meta + '[dependency-groups]\ndocs = ["d"]\n'})
    assert (s.extras, s.groups, [p.name for p in s.files]) == ((), (), ["pyproject.toml"])
    assert "runtime dependencies" in s.why
    # requirements.in wins: it is the project's own pip-tools input
    s = sel({"requirements.in": "x\n", "pyproject.toml": meta + "[dependency-groups]\ntest=[]\n"})
    assert [p.name for p in s.files] == ["requirements.in"] and not s.groups
    # requirements/<test>.in, with the runtime dependencies of setup.cfg
    s = sel(
        {
            "setup.cfg": "[metadata]\nname = p\n",
            "requirements/docs.in": "d\n",
            "requirements/testing.in": "t\n",
        }
    )
    assert [p.name for p in s.files] == ["setup.cfg", "testing.in"]
    # setup.cfg's test extra
    s = sel({"setup.cfg": "[metadata]\nname = p\n[options.extras_require]\ntest = x\n"})
    assert s.extras == ("test",)
    # dependency groups need no [project] table (PEP 735)
    s = sel({"pyproject.toml": '[dependency-groups]\ndocs = ["d"]\ntesting = ["x"]\n'})
    assert (s.files, s.groups, s.installed_env) == ((), ("testing",), False)
    # nothing declared: the installed environment
    assert sel({}).installed_env
    assert sel({"pyproject.toml": "[tool.other]\n"}).installed_env


def test_default_is_runtime_plus_test_group_recorded_with_why(wheelhouse, tmp_path, cli):
    proj = write_project(tmp_path / "p", {"pyproject.toml": PYPROJECT})
    res = cli("lock", "--project", proj, *_offline(wheelhouse), "--no-build-isolation", "--json")
    assert res.exit_code == 0, res.output
    text = (proj / "requirements.lock").read_text(encoding="utf-8")
    assert parse_lock(text) == {"alpha": "1.0", "beta": "1.0"}  # no gamma: docs, lint
    record = json.loads((proj / "requirements.lock.json").read_text(encoding="utf-8"))
    assert record["inputs"] == ["pyproject.toml"] and record["groups"] == ["tests"]
    assert record["extras"] == [] and "group 'tests'" in record["selected_by"]
    assert "#   dependency group tests (pyproject.toml)\n" in text
    # an extra that does not exist is a usage error, never a fallback over this lock
    res = cli("lock", "--project", proj, *_offline(wheelhouse), "--extra", "nosuch")
    assert res.exit_code == 2
    assert "pyproject.toml has no extra 'nosuch'" in res.stderr and "docs" in res.stderr
    assert (proj / "requirements.lock").read_text(encoding="utf-8") == text


def test_a_project_with_dependency_groups_only(wheelhouse, tmp_path, cli):
    proj = write_project(
        tmp_path / "p", {"pyproject.toml": '[dependency-groups]\ntest = ["alpha", "beta==1.0"]\n'}
    )
    res = cli("lock", "--project", proj, *_offline(wheelhouse), "--json")
    assert res.exit_code == 0, res.output
    text = (proj / "requirements.lock").read_text(encoding="utf-8")
    assert parse_lock(text) == {"alpha": "1.0", "beta": "1.0"}
    assert "#    repro lock --group test --no-index" in text


# --- B and C: the bytes depend on the inputs only; the header regenerates them ----


def _clone(root: Path, wheelhouse: Path) -> Path:
    proj = write_project(root, {"pyproject.toml": PYPROJECT, "requirements/ci.in": "gamma\n"})
    shutil.copytree(wheelhouse, proj / "wheel house")  # a space: the header must quote it
    return proj


def test_two_clones_lock_to_identical_bytes_that_name_no_local_path(wheelhouse, tmp_path, cli):
    a = _clone(tmp_path / "a" / "proj", wheelhouse)
    b = _clone(tmp_path / "b" / "deeper" / "clone", wheelhouse)
    texts: dict[str, list[bytes]] = {"default": [], "input": []}
    for proj in (a, b):
        offline = ["--no-index", "--find-links", str(proj / "wheel house"), "--no-build-isolation"]
        res = cli("lock", "--project", proj, *offline)
        assert res.exit_code == 0, res.output
        texts["default"].append((proj / "requirements.lock").read_bytes())
        # absolute --input and --output-file are written relative to the project
        res = cli(
            "lock",
            "--project",
            proj,
            *offline,
            "--input",
            proj / "requirements/ci.in",
            "-o",
            proj / "locks/ci.txt",
        )
        assert res.exit_code == 0, res.output
        texts["input"].append((proj / "locks/ci.txt").read_bytes())
    for first, second in texts.values():
        assert first == second
        for needle in (str(tmp_path), "/tmp", "repro-lock-", "\\"):
            assert needle.encode() not in first.replace(b" \\\n", b"\n")
    assert b"# via -r requirements/ci.in" in texts["input"][0]
    header = texts["input"][0].decode().splitlines()[4].removeprefix("#    ")
    assert header == (
        "repro lock --input requirements/ci.in --output-file locks/ci.txt "
        "--no-index --find-links 'wheel house' --no-build-isolation"
    )


def test_the_header_command_makes_the_same_lock_again(wheelhouse, tmp_path, cli, monkeypatch):
    proj = _clone(tmp_path / "p", wheelhouse)
    offline = ["--no-index", "--find-links", proj / "wheel house", "--no-build-isolation"]
    assert cli("lock", "--project", proj, "--group", "lint", *offline).exit_code == 0
    before = (proj / "requirements.lock").read_bytes()
    header = before.decode().splitlines()[4].removeprefix("#    ")
    argv = shlex.split(header)
    assert argv[:2] == ["repro", "lock"] and argv[2:4] == ["--group", "lint"]
    (proj / "requirements.lock").unlink()
    monkeypatch.chdir(proj)  # the command is run from the project folder
    res = cli(*argv[1:])
    assert res.exit_code == 0, res.output
    assert (proj / "requirements.lock").read_bytes() == before


# --- E: never replace something good with something worse ---------------------


def test_failed_resolve_keeps_the_hashed_lock_unless_forced(wheelhouse, tmp_path, cli):
    proj = write_project(tmp_path / "p", {"requirements.in": "alpha\n"})
    assert cli("lock", "--project", proj, *_offline(wheelhouse)).exit_code == 0
    hashed = (proj / "requirements.lock").read_bytes()
    (proj / "requirements.in").write_text("alpha\nnot-in-the-wheelhouse\n", encoding="utf-8")
    res = cli("lock", "--project", proj, *_offline(wheelhouse))
    assert res.exit_code == 3
    assert res.stderr.startswith("repro: error: cannot make a hashed lock: pip-compile failed")
    assert f"kept the hashed lock {proj / 'requirements.lock'}" in res.stderr
    assert (proj / "requirements.lock").read_bytes() == hashed
    res = cli("lock", "--project", proj, *_offline(wheelhouse), "--force", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["kind"] == "snapshot"


def test_a_lock_repro_did_not_write_is_kept_unless_forced(wheelhouse, project, cli):
    proj = project({"requirements.in": "alpha\n", **_ONE_TEST})
    theirs = b"# made by hand\nalpha==1.0\n"
    (proj / "requirements.lock").write_bytes(theirs)
    res = cli("lock", "--project", proj, *_offline(wheelhouse))
    assert res.exit_code == 2 and "was not written by repro; not replacing it" in res.stderr
    assert (proj / "requirements.lock").read_bytes() == theirs
    # `repro bundle` takes the project's own lock as it is
    res = cli("bundle", "--project", proj, *_offline(wheelhouse), "-q", "--json")
    assert res.exit_code == 0, res.stderr
    assert "was not written by repro: bundled as it is" in res.stderr
    run = next((proj / "outputs/runs").iterdir())
    assert (run / "requirements.lock").read_bytes() == theirs
    assert (proj / "requirements.lock").read_bytes() == theirs
    res = cli("lock", "--project", proj, *_offline(wheelhouse), "--force")
    assert res.exit_code == 0 and "--hash=sha256:" in (proj / "requirements.lock").read_text(
        encoding="utf-8"
    )
    # an edit by hand under repro's header is still repro's lock, as with pip-compile
    with open(proj / "requirements.lock", "a", encoding="utf-8") as fh:
        fh.write("gamma==2.0\n")
    assert cli("lock", "--project", proj, *_offline(wheelhouse), "--upgrade").exit_code == 0
    assert b"gamma" not in (proj / "requirements.lock").read_bytes()


def test_output_file(wheelhouse, project, cli):
    proj = project({"requirements.in": "gamma\n"})
    res = cli("lock", "--project", proj, *_offline(wheelhouse), "--output-file", proj / "x.txt")
    assert res.exit_code == 0, res.output
    assert parse_lock((proj / "x.txt").read_text(encoding="utf-8")) == {"gamma": "2.0"}
    assert json.loads((proj / "x.txt.json").read_text(encoding="utf-8"))["sha256"]
    assert not (proj / "requirements.lock").exists()
    (proj / "a-folder").mkdir()
    res = cli("lock", "--project", proj, "-o", proj / "a-folder")
    assert res.exit_code == 2, res.output


# --- A: drift leaves the project and repro's tooling apart ---------------------

_ONE_TEST = {"tests/test_one.py": "def test_one():\n    pass\n"}


def test_tooling_is_what_only_repro_needs_or_the_project_itself():
    locked = {"alpha": "1.0", "click": "8.0"}
    installed = [
        {"name": "Alpha", "version": "1.0"},
        {"name": "click", "version": "8.1"},  # locked: a version drift even if repro needs it
        {"name": "jsonschema", "version": "4"},
        {"name": "my_project", "version": "0.1"},
        {"name": "repro-bundle", "version": "0.1.0"},
        {"name": "stray", "version": "1"},
    ]
    repro = {"repro-bundle", "click", "jsonschema"}
    assert tooling(locked, installed, {"my-project"}, repro) == [
        {"name": "jsonschema", "role": "repro", "installed": "4", "locked": None},
        {"name": "my-project", "role": "project", "installed": "0.1", "locked": None},
        {"name": "repro-bundle", "role": "repro", "installed": "0.1.0", "locked": None},
    ]


def test_the_project_is_named_by_its_metadata_or_by_an_install_from_its_folder(tmp_path):
    from repro.lock.drift import project_names

    proj = write_project(tmp_path / "p", {"setup.cfg": "[metadata]\nname = Old_Style\n"})
    local = {"url": proj.resolve().as_uri(), "dir_info": {"editable": True}}
    elsewhere = {"url": (tmp_path / "other").as_uri(), "dir_info": {}}
    installed = [
        {"name": "Renamed.Dist", "version": "1", "direct_url": local},
        {"name": "unrelated", "version": "1", "direct_url": elsewhere},
    ]
    assert project_names(proj, installed) == {"old-style", "renamed-dist"}
    (proj / "pyproject.toml").write_text(
        "[project\n", encoding="utf-8"
    )  # unreadable: the tests ran already
    assert project_names(proj, installed) == {"old-style", "renamed-dist"}


def _dist_info(site: Path, name: str, version: str, requires=(), direct_url=None) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (info / "METADATA").write_text(
        meta + "".join(f"Requires-Dist: {r}\n" for r in requires), encoding="utf-8"
    )
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")


def _link_pytest(site: Path) -> None:
    """pytest and what it needs, from this environment, linked in (no index, no copy)."""
    from packaging.requirements import Requirement

    todo, seen = ["pytest"], set()
    while todo:
        dist = metadata.distribution(todo.pop())
        if dist.metadata["Name"] in seen:
            continue
        seen.add(dist.metadata["Name"])
        for top in {Path(str(f)).parts[0] for f in dist.files or ()} - {"..", "__pycache__"}:
            target = Path(str(dist.locate_file(top)))
            if target.exists() and not (site / top).exists():
                (site / top).symlink_to(target)
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)


def test_no_drift_when_only_the_project_and_repro_differ(wheelhouse, project, cli, tmp_path):
    """The attrs case: the project installed editable, repro installed beside it, the
    test dependencies exactly as locked -> no drift, no warning, tooling recorded."""
    proj = project({"requirements.in": "alpha\n", **_ONE_TEST})
    assert cli("lock", "--project", proj, *_offline(wheelhouse)).exit_code == 0  # alpha, beta 1.1
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = next((env / "lib").glob("python*/site-packages"))
    pip = [sys.executable, "-m", "pip", "--python", str(env / "bin/python"), "install", "-q"]
    subprocess.run(
        [*pip, "--no-deps", *_offline(wheelhouse), "alpha==1.0", "beta==1.1"], check=True
    )
    _link_pytest(site)
    _dist_info(site, "fixture_project", "0.1", (), {"url": proj.resolve().as_uri(), "dir_info": {}})
    _dist_info(site, "repro-bundle", "0.1.0", ("pytest>=7.4", "tomli; python_version < '3.0'"))
    py = env / "bin/python"
    res = cli("bundle", "--project", proj, "--python", py, *_offline(wheelhouse), "-q", "--json")
    assert res.exit_code == 0, res.stderr
    assert "differs from" not in res.stderr
    meta = json.loads(
        next((proj / "outputs/runs").iterdir())
        .joinpath("run_metadata.json")
        .read_text(encoding="utf-8")
    )
    assert meta["drift"] == []
    roles = {t["name"]: t["role"] for t in meta["tooling"]}
    assert roles.pop("fixture-project") == "project"
    assert roles.pop("repro-bundle") == "repro" and roles.pop("pytest") == "repro"
    assert {"pluggy", "iniconfig"} <= set(roles) and set(roles.values()) == {"repro"}
    bundle = json.loads(res.stdout)["bundle"]
    ok = cli("verify", bundle, "--strict")
    assert ok.exit_code == 0, ok.output
    # a real difference is still drift
    shutil.rmtree(next(site.glob("beta-1.1.dist-info")))
    _dist_info(site, "beta", "1.0")
    res = cli("run", "--project", proj, "--python", py, "-q")
    assert "differs from requirements.lock in 1 package(s): beta" in res.stderr


def test_paths_in_the_header_are_the_projects_not_this_machines(tmp_path):
    from repro.lock.compile import portable, portable_python

    proj = tmp_path / "proj"
    (proj / ".venv/bin").mkdir(parents=True)
    assert portable(proj / "requirements/tests.in", proj) == "requirements/tests.in"
    assert portable(tmp_path / "elsewhere.in", proj) == str(tmp_path / "elsewhere.in")
    assert portable_python(str(proj / ".venv/bin/python"), proj) == ".venv/bin/python"
    sh = shutil.which("sh")
    assert sh is not None and portable_python(sh, proj) == "sh"  # the same one on PATH
    lonely = tmp_path / "opt/python9"
    assert portable_python(str(lonely), proj) == str(lonely)  # nothing else names it
    assert portable_python("python3.12", proj) == "python3.12"


@pytest.mark.parametrize(
    "name", ["Django", "oslo.concurrency", "A__B--c..D", "zope_interface", "a-_.b", "X"]
)
def test_canonical_names_are_packagings(name):
    from packaging.utils import canonicalize_name

    from repro.lock.drift import _canonical

    assert _canonical(name) == canonicalize_name(name)


def test_the_fingerprints_versions_are_importlib_metadatas():
    """The fingerprint reads pip-tools' version without importing importlib.metadata: for
    every distribution installed here, the same answer (else every lock stops being reused)."""
    from repro.lock.stage import _version

    names = {d.metadata["Name"] for d in metadata.distributions()} | {"pip_tools", "Not-There"}
    for name in names:
        try:
            expected: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected = None
        assert _version(name) == expected, name
