"""`--help` is the manual: readable at 80 columns, an example per command, and the
examples work. The README's command lines are checked against the real options."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from repro.cli import main
from tests.conftest import PASSING, git_init, write_project
from tests.wheelhouse import standard_wheelhouse

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = sorted(main.commands)


def help_text(*args: str) -> str:
    # A wide terminal: help must still wrap at 80 columns.
    res = CliRunner(env={"COLUMNS": "200"}).invoke(main, [*args, "--help"])
    assert res.exit_code == 0
    return res.stdout


def examples(command: str) -> list[str]:
    """The command lines under `Example:` in a command's help (continuations joined)."""
    text = help_text(command).split("Example:", 1)[1]
    block = text.split("\n\n", 1)[0].replace("\\\n", " ")
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("args", [[], *[[c] for c in COMMANDS]])
def test_help_fits_80_columns_even_on_a_wide_terminal(args):
    text = help_text(*args)
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert not too_long, too_long


def test_command_list_never_cuts_a_description():
    text = help_text().split("Commands:", 1)[1]
    assert "..." not in text
    for name in COMMANDS:
        assert re.search(rf"^  {name}\s+\S", text, re.M), name


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_of_itself(command):
    assert any(line.startswith(f"repro {command}") for line in examples(command))


@pytest.fixture(scope="module")
def example_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("examples")
    proj = write_project(root / "proj", {**PASSING, "requirements.in": "gamma\n"})
    standard_wheelhouse(proj / "wheels")
    git_init(proj)
    return proj


def _fill(line: str, proj: Path) -> str:
    """Placeholders of the examples, filled from the project's newest bundle."""
    bundle = max((proj / "outputs/bundles").glob("repro-*.zip"))
    digest = bundle.with_name(bundle.name + ".sha256").read_text().split()[4]
    run_id, digest12 = bundle.name[len("repro-") : -len(".zip")].rsplit("-", 1)
    return (
        line.replace("sha256:<digest>", digest)
        .replace("<run_id>", run_id)
        .replace("<digest12>", digest12)
        .replace("BUNDLE.zip", str(bundle))
    )


# bundle first: the other examples read what it makes.
ORDER = ["bundle", *(c for c in COMMANDS if c != "bundle")]
# A replay needs a bundle with a lock of pytest and a wheelhouse to install it from;
# tests/e2e/test_replay.py runs these same options (--repo, --find-links, --no-index,
# --json) end to end, so they are parsed here but not run.
# A merge needs shard bundles made with pytest-split: tests/e2e/test_merge.py makes them
# with these commands and merges them end to end.
PARSED_ONLY = {"replay", "merge"}
# Keyless signing needs the network and an OIDC identity, and its verification a Sigstore
# signature: lines with these options are parsed; tests/cli/test_sigstore_cli.py runs the
# same options against a local Sigstore.
PARSED_ONLY_OPTION = "--sigstore"


def test_every_example_works(example_project):
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PIP_CONFIG_FILE": "/dev/null",
    }
    ran = []
    for command in ORDER:
        for line in examples(command):
            if list((example_project / "outputs/bundles").glob("*.zip")):
                line = _fill(line, example_project)
            if command in PARSED_ONLY or PARSED_ONLY_OPTION in line:
                words = shlex.split(line)
                assert words[:2] == ["repro", command], line
                main.commands[command].make_context(command, words[2:])  # raises if bad
                ran.append(line)
                continue
            proc = subprocess.run(
                ["bash", "-c", line], cwd=example_project, env=env, capture_output=True, text=True
            )
            assert proc.returncode == 0, (line, proc.stdout, proc.stderr)
            ran.append(line)
    assert len(ran) >= len(COMMANDS)


def _readme_command_lines() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("repro "):
                lines.append(shlex.split(line.split("  #", 1)[0]))
    return lines


def test_readme_command_lines_use_real_commands_and_options():
    lines = _readme_command_lines()
    assert lines
    root = main.make_context("repro", ["--help"], resilient_parsing=True)
    for argv in lines:
        name, *args = argv[1:]
        assert name in main.commands, argv
        try:
            main.commands[name].make_context(name, args, parent=root)
        except click.UsageError as exc:
            pytest.fail(f"README: `{shlex.join(argv)}`: {exc.format_message()}")


def test_readme_table_lists_every_command():
    table = (ROOT / "README.md").read_text().split("## What it does", 1)[1].split("\n\n")[1]
    listed = set(re.findall(r"^\| `repro (\w+)", table, re.M))
    assert listed == set(COMMANDS)


def test_shell_completion_as_documented():
    doc = (ROOT / "docs/cli.md").read_text()
    assert 'eval "$(_REPRO_COMPLETE=bash_source repro)"' in doc
    env = {**os.environ, "_REPRO_COMPLETE": "bash_source"}
    script = subprocess.run(
        [sys.executable, "-m", "repro"], env=env, capture_output=True, text=True, check=True
    )
    assert "complete " in script.stdout and "_REPRO_COMPLETE=bash_complete" in script.stdout
    env = {**os.environ, "_REPRO_COMPLETE": "bash_complete", "COMP_WORDS": "repro ve"}
    words = subprocess.run(
        [sys.executable, "-m", "repro"],
        env={**env, "COMP_CWORD": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert words.stdout.split() == ["plain,verify"]
