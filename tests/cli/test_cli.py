"""The click layer: help, version, usage errors, config defaults."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from repro.cli import main
from tests.conftest import FAILING, PASSING

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_with_an_example(cli, command):
    res = cli(command, "--help")
    assert res.exit_code == 0
    assert "Example:" in res.stdout and f"repro {command}" in res.stdout


def test_version(cli):
    from repro import __version__

    res = cli("--version")
    assert res.exit_code == 0 and res.stdout.strip() == f"repro, version {__version__}"


def test_version_does_not_import_heavy_modules():
    code = (
        "import sys; from repro.cli import main\n"
        "try: main(['--version'])\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('jsonschema', 'piptools', 'pytest', 'zipfile', 'repro.verify')"
        " if m in sys.modules]\nprint(heavy, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == "[]"


@pytest.mark.parametrize("files", [PASSING, FAILING], ids=["passed", "failed"])
def test_bundle_imports_neither_jsonschema_nor_cryptography(project, files):
    """Every record is still validated, by repro.schemacheck; jsonschema is only the
    judge of a record that check refuses, and importing it cost `repro bundle` ~0.1 s.
    cryptography is for signing (--sign) only: ~0.06 s."""
    proj = project(files)
    code = (
        "import sys; from repro.cli import main\n"
        "try: main(['bundle', '--no-lock', '--project', sys.argv[1], '-q', '--', '-q'])\n"
        "except SystemExit: pass\n"
        "print([m for m in ('jsonschema', 'cryptography') if m in sys.modules], file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(proj)], capture_output=True, text=True, check=True
    )
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr[-2000:]
    assert list((proj / "outputs" / "bundles").glob("repro-*.zip"))


def test_usage_errors_exit_2_with_one_line(cli, tmp_path):
    res = cli("pack", tmp_path / "nope")
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"repro: error: run folder not found: {tmp_path / 'nope'} (see `repro pack --help`)"
    )
    res = cli("run", "--redact", "(unclosed")
    assert res.exit_code == 2 and "--redact" in res.stderr
    res = cli("verify")
    assert res.exit_code == 2


def test_replay_of_a_missing_bundle_suggests_only_what_replay_takes(cli, tmp_path):
    """replay takes a bundle zip, never a run folder: its hint must not offer one."""
    missing = tmp_path / "nonexistent.zip"
    res = cli("replay", missing, "--repo", tmp_path)
    assert res.exit_code == 2
    assert res.stderr == (
        f"repro: error: no such bundle: {missing} "
        "(pass a repro-*.zip, e.g. from outputs/bundles/)\n"
    )
    res = cli("replay", tmp_path, "--repo", tmp_path)  # a folder, as the old hint offered
    assert res.exit_code == 2 and "is a directory" in res.stderr


def test_verify_reports_each_bundle(cli, valid_bundle, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    res = cli("verify", valid_bundle, junk)
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert re.fullmatch(
        r"OK \(intact\)  tests: failed, 1 passed, 1 failed, 1 skipped, 1 xfailed  "
        rf"sha256:[0-9a-f]{{64}}  {re.escape(str(valid_bundle))}",
        lines[0],
    )
    assert lines[1] == f"FAIL (not intact)  tests: unknown  {junk}"
    assert "not a zip file" in lines[2]
    res = cli("verify", valid_bundle, "--json")
    report = json.loads(res.stdout)
    assert report["ok"] is True and report["bundles"][0]["status"] == "failed"


def test_config_table_sets_defaults_and_command_line_wins(cli, project, monkeypatch):
    proj = project(
        {
            **PASSING,
            "pyproject.toml": """
        [tool.repro]
        outputs = "elsewhere"
        env-allow = ["MY_SETTING"]
    """,
        }
    )
    monkeypatch.chdir(proj)
    monkeypatch.setenv("MY_SETTING", "visible")
    res = cli("run", "--json")
    assert res.exit_code == 0, res.output
    run_dir = Path(json.loads(res.stdout)["run_dir"])
    assert run_dir.parent == proj / "elsewhere/runs"
    env = json.loads((run_dir / "env.json").read_text())
    assert env["environment"]["values"]["MY_SETTING"] == "visible"
    # The record says what was configured and by whom.
    options = json.loads((run_dir / "run_metadata.json").read_text())["options"]
    assert options["outputs"] == {"value": "elsewhere", "source": "[tool.repro] in pyproject.toml"}
    assert options["env_allow"] == {
        "value": ["MY_SETTING"],
        "source": "[tool.repro] in pyproject.toml",
    }
    assert options["grace"]["source"] == "default"
    res = cli("run", "--json", "--outputs", "cli-wins")
    run_dir = Path(json.loads(res.stdout)["run_dir"])
    assert run_dir.parent == proj / "cli-wins/runs"
    options = json.loads((run_dir / "run_metadata.json").read_text())["options"]
    assert options["outputs"] == {"value": "cli-wins", "source": "command line"}


def test_unknown_config_key_is_a_usage_error(cli, project, monkeypatch):
    proj = project({"pyproject.toml": "[tool.repro]\nno-such-key = 1\n"})
    monkeypatch.chdir(proj)
    res = cli("run")
    assert res.exit_code == 2
    assert "unknown key(s) in [tool.repro]: no-such-key" in res.stderr


def test_quiet_captures_without_echo(project):
    from tests.conftest import run_repro

    proj = project(PASSING)
    res = run_repro("run", "-q", "--", "-s", cwd=proj)
    assert res.returncode == 0
    assert "hello from test_one" not in res.stdout + res.stderr
    assert "finished: passed" in res.stderr
    run_dir = max((proj / "outputs/runs").iterdir())
    assert b"hello from test_one" in (run_dir / "logs/stdout.log").read_bytes()
