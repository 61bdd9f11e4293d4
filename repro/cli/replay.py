"""`repro replay`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import opt_json

_TABLE_LIMIT = 50  # tests listed one by one; past it, only those that did not reproduce


@main.command(context_settings=CONTEXT)
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="A clone that has the recorded commit (a scratch worktree is made from it).",
)
@click.option(
    "--outputs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the replay's run and bundle go [default: REPO/outputs].",
)
@click.option("--keep", is_flag=True, help="Keep the scratch checkout and virtualenv.")
@click.option(
    "--allow-python-mismatch",
    is_flag=True,
    help="Use this interpreter when the recorded Python minor version is not found.",
)
@click.option(
    "--find-links",
    "find_links",
    multiple=True,
    help="A folder or page of wheels to install from (repeatable); offline with --no-index.",
)
@click.option("--no-index", is_flag=True, help="Use only --find-links, never an index.")
@click.option("--index-url", default=None, help="Base URL of the package index.")
@click.option(
    "--reruns",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Times a test whose outcome changed is run again, to tell flaky from changed.",
)
@opt_json
@handle_errors
def replay(**kw: Any) -> None:
    """Rebuild a bundle's run here and run it again, test by test.

    Verifies BUNDLE, checks out its commit plus its patch of uncommitted
    changes in a scratch worktree of --repo (the tree hash must match), finds
    a Python of the recorded major.minor, installs the lock into a fresh
    virtualenv (hashes required when the lock has them), runs the recorded
    pytest command in the recorded order with the recorded seeds, bundles the
    replay, and compares every test. A test whose outcome changed is run again
    to tell flaky from changed.

    Exits 0 reproduced, 1 diverged, 3 could not replay. What replay cannot
    make equal (OS, CPU, time, network): docs/replay.md.

    \b
    Example:
      repro replay repro-20261202T101500Z-a1b2c3-0123456789ab.zip --repo ../clone
      repro replay BUNDLE.zip --find-links wheels/ --no-index --json
    """
    from repro.replay import ReplayOptions
    from repro.replay import replay as run_replay
    from repro.replay.install import Sources

    repo: Path = kw["repo"]
    opts = ReplayOptions(
        bundle=kw["bundle"],
        repo=repo,
        # Absolute: the replay bundle's path is printed and in --json (docs/json.md).
        outputs=Path(os.path.abspath(kw["outputs"] or repo / "outputs")),
        sources=Sources(
            find_links=tuple(kw["find_links"]),
            no_index=kw["no_index"],
            index_url=kw["index_url"],
        ),
        keep=kw["keep"],
        allow_python_mismatch=kw["allow_python_mismatch"],
        reruns=kw["reruns"],
        say=say,
    )
    result = run_replay(opts)
    if kw["as_json"]:
        emit_json(result.to_json())
    else:
        _render(result)
    sys.exit(result.exit_code)


def _render(result: Any) -> None:
    for step in result.steps:
        say(f"repro: {step}")
    tests = result.tests
    shown = tests if len(tests) <= _TABLE_LIMIT else [t for t in tests if t.kind != "same"]
    if shown:
        click.echo(f"{'recorded':<9} {'replayed':<9} {'':<12} {'before':>8} {'after':>8}  test")
    for t in shown:
        what = "flaky" if t.flaky else t.kind
        click.echo(
            f"{t.recorded or '-':<9} {t.replayed or '-':<9} {what:<12} "
            f"{_secs(t.recorded_seconds):>8} {_secs(t.replayed_seconds):>8}  {t.id!r}"[:400]
        )
    if len(shown) < len(tests):
        click.echo(f"... and {len(tests) - len(shown)} more with the same outcome")
    exact = "" if result.exact or result.verdict == "could not replay" else " (not exact)"
    click.echo(f"{result.verdict}{exact}: {result.reason}")


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"
