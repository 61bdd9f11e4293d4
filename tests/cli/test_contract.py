"""The command-line contract every command falls under, walked over every registered
command so that a new command is checked the moment it is registered:

- every failure is one line `repro: error: <what> (<what to do>)` on stderr, with the
  exit code of the README's table, and under --json also one object on stdout;
- every command with --json has a schema in schemas/cli/ and prints one object
  that validates against it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import jsonschema
import pytest

from repro.attest.keys import keygen
from repro.cli import main
from repro.cli.contract import schema_path
from tests.conftest import PASSING, git_init, write_project
from tests.wheelhouse import standard_wheelhouse

ROOT = Path(__file__).resolve().parents[2]
ERROR_LINE = re.compile(r"repro: error: \S.* \(.+\)")
COMMANDS = sorted(main.commands)
JSON_COMMANDS = [n for n, c in main.commands.items() if any(p.name == "as_json" for p in c.params)]


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("repro: error:")]
    assert len(lines) == 1, stderr
    assert ERROR_LINE.fullmatch(lines[0]), lines[0]
    assert "Traceback" not in stderr and "Usage:" not in stderr, stderr
    return lines[0]


def placeholders(command: str) -> list[str]:
    """A value for each required argument, so that option handling is what gets tested."""
    args = [p for p in main.commands[command].params if isinstance(p, click.Argument)]
    return ["x" for a in args if a.required for _ in range(a.nargs if a.nargs > 0 else 1)]


def valid(obj: object, name: str) -> None:
    jsonschema.Draft202012Validator(json.loads(schema_path(name).read_text())).validate(obj)


def readme_exit_codes() -> dict[int, str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    rows = [r for r in table.splitlines() if re.match(r"\| \d+ \|", r)]
    return {int(r.split("|")[1]): r.split("|")[2].strip() for r in rows}


# ---------------------------------------------------------------- the schemas


@pytest.mark.parametrize("name", [*JSON_COMMANDS, "error"])
def test_every_json_output_has_a_valid_versioned_schema(name):
    path = schema_path(name)
    assert path.is_file(), f"`repro {name} --json` has no schema: add {path}"
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {
        "const": 1,
        "description": schema["properties"]["schema_version"]["description"],
    }
    assert set(schema["required"]) >= {"schema_version"}
    for key, prop in schema["properties"].items():
        assert prop.get("description"), f"{path.name}: {key} is undocumented"


def test_every_command_offers_json():
    assert set(JSON_COMMANDS) == set(COMMANDS)


# --------------------------------------------------------- bad input, every command


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_option_is_one_line_and_exit_2(cli, command):
    res = cli(command, "--no-such-option")
    assert res.exit_code == 2
    line = one_error_line(res.stderr)
    assert "--no-such-option" in line and f"repro {command} --help" in line
    assert res.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_errors_under_json_still_print_one_object(cli, command):
    res = cli(command, "--json", "--no-such-option")
    assert res.exit_code == 2
    one_error_line(res.stderr)
    obj = json.loads(res.stdout)
    valid(obj, "error")
    assert obj["exit_code"] == 2 and "--no-such-option" in obj["error"]


@pytest.mark.parametrize("command", COMMANDS)
def test_config_accepted_after_the_command_and_a_bad_value_names_file_and_key(
    cli, command, tmp_path
):
    cfg = tmp_path / "conf.toml"
    cfg.write_text('[tool.repro]\njson = "perhaps"\n')
    res = cli(command, *placeholders(command), "--config", cfg)
    assert res.exit_code == 2
    line = one_error_line(res.stderr)
    assert f'`json = "perhaps"` in [tool.repro] of {cfg}' in line


@pytest.mark.parametrize(
    "args",
    [
        ["pack"],  # missing argument
        ["pack", "no/such/run"],
        ["verify", "missing.zip"],
        ["verify"],  # no bundle in ./outputs
        ["run", "--timeout", "soon"],
        ["run", "--redact", "(unclosed"],
        ["clean", "--keep", "-1"],
        ["clean", "--project", "nowhere"],
        ["frobnicate"],
        ["--config", "missing.toml", "run"],
        ["--config", "missing.toml"],
        ["run", "--config", "missing.toml"],
        ["verify", "a.zip", "b.zip", "--expect", "sha256:" + "0" * 64],
    ],
)
def test_usage_errors(cli, args):
    res = cli(*args)
    assert res.exit_code == 2, res.output
    one_error_line(res.stderr)


def test_plain_repro_shows_help_and_exits_0(cli):
    res = cli()
    assert res.exit_code == 0
    assert res.stdout == cli("--help").stdout and "Commands:" in res.stdout


def test_bad_config_value_names_the_file_and_the_key(cli, project, monkeypatch):
    proj = project({"pyproject.toml": '[tool.repro]\ntimeout = "abc"\n'})
    monkeypatch.chdir(proj)
    line = one_error_line(cli("run").stderr)
    assert line.startswith('repro: error: `timeout = "abc"` in [tool.repro] of pyproject.toml')
    assert line.endswith("(fix or remove the key)")


def test_project_reads_its_own_pyproject(cli, project):
    proj = project({**PASSING, "pyproject.toml": '[tool.repro]\noutputs = "elsewhere"\n'})
    res = cli("run", "-q", "--json", "--project", proj)
    assert res.exit_code == 0, res.output
    # a relative path in the file is relative to the file, not to the current folder
    assert Path(json.loads(res.stdout)["run_dir"]).parent == proj / "elsewhere" / "runs"


# ---------------------------------------------------- good input, every command


@pytest.fixture(scope="module")
def ready(tmp_path_factory):
    """A git project with requirements.in, a wheelhouse, one run and one bundle."""
    root = tmp_path_factory.mktemp("contract")
    wh = root / "wheels"
    standard_wheelhouse(wh)
    proj = write_project(root / "proj", {**PASSING, "requirements.in": "gamma\n"})
    git_init(proj)
    res = subprocess.run(
        [sys.executable, "-m", "repro", "bundle", "--no-lock", "-q", "--project", proj],
        capture_output=True,
        text=True,
        env={**os.environ, "REPRO_CHECK_JSON": "1"},
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return {"proj": proj, "wh": wh, "bundle": Path(res.stdout.splitlines()[0])}


GOOD = {
    "lock": lambda r: ["lock", "--project", r["proj"], "--no-index", "--find-links", r["wh"]],
    "run": lambda r: ["run", "-q", "--project", r["proj"]],
    "bundle": lambda r: ["bundle", "-q", "--no-lock", "--project", r["proj"]],
    "pack": lambda r: ["pack", r["proj"] / "outputs" / "latest"],
    "verify": lambda r: ["verify", r["bundle"]],
    "clean": lambda r: ["clean", "--project", r["proj"], "--keep", "1", "--dry-run"],
    "show": lambda r: ["show", r["bundle"], "--all"],  # --all: the fullest object
    "diff": lambda r: ["diff", r["bundle"], r["bundle"]],
    "log": lambda r: ["log", "--outputs", r["proj"] / "outputs"],
    "salvage": lambda r: ["salvage", "--outputs", r["proj"] / "outputs"],
    # A replay needs a lock and a venv built from a wheelhouse: tests/e2e/test_replay.py
    # replays for real (its --json checked against the schema there); here, a bundle
    # without a lock gives the "could not replay" object, exit 3.
    "replay": lambda r: ["replay", r["bundle"], "--repo", r["proj"]],
    "keygen": lambda r: ["keygen", "--out", _unused(r, "keygen"), "--no-passphrase"],
    "sign": lambda r: ["sign", r["bundle"], "--key", keygen(_unused(r, "sign")).private],
    "report": lambda r: ["report", r["bundle"], "-o", r["proj"] / "report.html"],
    # One shard: the whole suite (tests/e2e/test_merge.py merges pytest-split shards).
    "merge": lambda r: ["merge", r["bundle"], "-o", r["proj"].parent / "merged.zip"],
}
EXIT = {"replay": 3}


def _unused(r, stem):
    """A key file name not taken yet (keygen never replaces a file)."""
    return r["proj"].parent / f"{stem}-{len(list(r['proj'].parent.glob(stem + '-*')))}.key"


def test_every_command_has_a_good_input_case():
    assert set(GOOD) == set(COMMANDS), "add the new command to GOOD"


@pytest.mark.parametrize("command", COMMANDS)
def test_good_input_prints_one_object_valid_against_its_schema(cli, command, ready, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    res = cli(*GOOD[command](ready), "--json")
    assert res.exit_code == EXIT.get(command, 0), res.output
    obj = json.loads(res.stdout)  # exactly one JSON document on stdout
    valid(obj, command)
    assert "repro: error" not in res.stderr
    paths = [v for k, v in obj.items() if k in ("bundle", "run_dir", "lock", "outputs")]
    assert all(os.path.isabs(p) for p in paths), obj


def test_verify_of_several_bundles_is_one_object_with_a_list(cli, ready, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    res = cli("verify", ready["bundle"], junk, "--json")
    assert res.exit_code == 1
    obj = json.loads(res.stdout)
    valid(obj, "verify")
    assert obj["ok"] is False and [b["ok"] for b in obj["bundles"]] == [True, False]


def test_pack_puts_the_bundle_in_the_runs_project_wherever_it_is_started(cli, ready):
    res = cli("pack", ready["proj"] / "outputs" / "latest")  # the cwd is an empty folder
    assert res.exit_code == 0, res.output
    bundle = Path(res.stdout.splitlines()[0])
    assert bundle.parent.resolve() == (ready["proj"] / "outputs" / "bundles").resolve()
    assert "repro: verify with: repro verify" in res.stderr
    assert not Path("outputs").exists()


# ------------------------------------------------------------ the exit-code table


def _interrupted_run(proj: Path, sig: int) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "run", "--grace", "2", "--", "-s"],
        cwd=proj,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the test is running
        if "sleeping" in line:
            break
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.fixture
def sleeper(project):
    return project(
        {
            "tests/test_sleep.py": """
            import time

            def test_sleeps():
                print("sleeping", flush=True)
                time.sleep(60)
        """
        }
    )


def test_exit_codes_are_the_readme_table(cli, ready, tmp_path, sleeper):
    """Each code in README's table, produced by a real case (the table is parsed, so a
    code added there without a case here fails)."""
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    cases = {
        0: lambda: cli("verify", ready["bundle"]).exit_code,
        1: lambda: cli("verify", junk).exit_code,
        2: lambda: cli("verify", tmp_path / "missing.zip").exit_code,
        3: lambda: cli("run", "--outputs", "/dev/null/outputs").exit_code,
        130: lambda: _interrupted_run(sleeper, signal.SIGINT)[0],
        143: lambda: _terminated(sleeper),
    }
    table = readme_exit_codes()
    assert set(table) == set(cases)
    for code, case in cases.items():
        assert case() == code, (code, table[code])


def _terminated(proj: Path) -> int:
    """SIGTERM from outside: the run stops in order and is not called a user interrupt."""
    started = time.monotonic()
    code, err = _interrupted_run(proj, signal.SIGTERM)
    assert time.monotonic() - started < 30
    assert "interrupted by the user" not in err and "finished: killed" in err
    run_dir = max((proj / "outputs/runs").iterdir())
    meta = json.loads((run_dir / "run_metadata.json").read_text())
    assert meta["status"] == "killed" and "SIGTERM" in meta["status_reason"]
    return code


def test_click_exceptions_all_map_to_one_line():
    """ClickException subclasses a future command might raise are covered by the same path."""
    from repro.cli.app import describe

    for exc in (
        click.ClickException("boom"),
        click.FileError("f.txt", "gone"),
        click.BadOptionUsage("--x", "bad use"),
    ):
        message, code = describe(exc)
        assert code == 2 and ERROR_LINE.fullmatch(f"repro: error: {message}")


def test_group_help_lists_the_same_exit_codes_as_the_readme(cli):
    text = " ".join(cli("--help").stdout.split())
    listed = text.split("Exit codes:", 1)[1].split(".", 1)[0]
    assert {int(n) for n in re.findall(r"\b(\d+) [a-z]", listed)} == set(readme_exit_codes())
