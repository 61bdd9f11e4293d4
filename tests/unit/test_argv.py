"""cli/argv.py: what the group reads from the command line before click parses it."""

from __future__ import annotations

import pytest

from repro.cli.argv import scan


@pytest.mark.parametrize(
    ("args", "moved", "project", "wants_json"),
    [
        (["run", "--config", "c.toml"], ["--config", "c.toml", "run"], None, False),
        (["run", "--config=c.toml", "-q"], ["--config", "c.toml", "run", "-q"], None, False),
        (["--color", "never", "run", "--json"], ["--color", "never", "run", "--json"], None, True),
        (["run", "--project", "p", "--", "--config", "x"], None, "p", False),
        (["run", "--", "--json", "--project", "x"], None, None, False),
        (["--config", "a.toml", "pack", "d", "--project=q"], None, "q", False),
        (
            ["run", "--color", "never", "--", "--color=yes"],
            ["--color", "never", "run", "--", "--color=yes"],
            None,
            False,
        ),
        ([], [], None, False),
    ],
)
def test_scan(args, moved, project, wants_json):
    res = scan(args)
    assert res.args == (moved if moved is not None else args)
    assert res.project == project and res.wants_json is wants_json
