"""`repro merge`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import opt_json
from repro.cli.render import shown, verify_line


@main.command(context_settings=CONTEXT)
@click.argument("shards", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    "out",
    default="outputs/bundles/",
    show_default=True,
    type=click.Path(),  # a str: a trailing / (a folder to be made) survives
    help="The merged bundle's file, replaced if it is there; an existing folder (or a "
    "path ending in /) gets it under its own name, repro-<run_id>-<digest12>.zip.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Merge shards that do not cover the whole collection; the bundle says it is "
    "partial and what is missing.",
)
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@opt_json
@click.option("-q", "--quiet", is_flag=True, help="No progress bar on a terminal.")
@handle_errors
def merge(
    shards: tuple[Path, ...],
    out: str,
    allow_partial: bool,
    store: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Merge the bundles of a suite's shards into one bundle for the whole suite.

    Verifies every shard, then refuses, with the reason, shards that are not of one
    suite run the same way (commit and changes, lock, Python and platform, pytest,
    the collection), a pytest-split group given twice, a test run by two shards, and
    shards that leave tests of the collection unrun (unless --allow-partial). The
    merged bundle verifies like any bundle; `repro show` lists its shards.

    \b
    Example:
      repro merge shard-1.zip shard-2.zip shard-3.zip -o all.zip
    """
    from repro import merge as merging
    from repro import mergewrite
    from repro.cli.contract import abspath
    from repro.cli.progress import reporter

    progress = reporter(quiet)
    plan = merging.plan(shards, allow_partial=allow_partial, progress=progress)
    folder = os.path.isdir(out) or out.endswith((os.sep, "/"))
    res = mergewrite.write(
        plan,
        target=None if folder else Path(out),
        out_dir=Path(out),
        store=store,
        progress=progress,
    )
    packed = res.pack
    bundles = packed.path.parent
    if bundles.name == "bundles" and bundles.parent.name == "outputs":
        from repro import workspace

        workspace.write_index(bundles.parent)
    if as_json:
        emit_json(
            {
                "bundle": abspath(packed.path),
                "digest": packed.digest,
                "run_id": packed.run_id,
                "status": res.status.value,
                "exit_code": res.exit_code,
                "counts": res.counts,
                "partial": plan.partial,
                "missing": {
                    "groups": list(plan.missing_groups),
                    "tests": plan.missing_tests,
                    "ids": list(plan.missing_ids),
                    "exact": plan.exact,
                },
                "shards": [
                    {
                        "bundle": abspath(s.bundle.path),
                        "digest": s.bundle.digest,
                        "run_id": s.stamp.run_id,
                        "group": s.group,
                        "status": s.meta.status.value,
                    }
                    for s in plan.shards
                ],
                **({"statement": abspath(packed.statement)} if packed.statement else {}),
            }
        )
        return
    if plan.partial:
        say(f"repro: warning: partial merge: {plan.missing_text()}", "warning")
    say(f"repro: merged {len(plan.shards)} shards: {res.status.value}")
    click.echo(f"{shown(packed.path)}\n{packed.digest}")
    say(verify_line(packed.path, packed.digest), "note")
