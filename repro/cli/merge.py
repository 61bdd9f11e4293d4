"""`repro merge`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import opt_json, refuse_non_bundles
from repro.cli.render import shown, verify_line
from repro.errors import UsageError


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

    Exits 0 when the merged bundle is written, whatever its tests' status (gate on
    that with `repro verify --require-passed`), 1 when the shards are refused, 2 on a
    usage error (a path that is no bundle, an -o that is one of the shards), 3 when
    the output cannot be written.

    \b
    Example:
      repro merge shard-1.zip shard-2.zip shard-3.zip -o all.zip
    """
    from repro import merge as merging
    from repro import mergewrite
    from repro.cli.contract import abspath
    from repro.cli.progress import reporter

    for shard in shards:  # reader's own message would offer a run folder, which is refused
        if not shard.exists():
            raise UsageError(f"no such shard: {shard}", hint="pass each shard's bundle .zip")
    refuse_non_bundles(*shards)
    folder = os.path.isdir(out) or out.endswith((os.sep, "/"))
    if not folder:
        _not_a_shard(Path(out), shards)
    progress = reporter(quiet)
    plan = merging.plan(shards, allow_partial=allow_partial, progress=progress)
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
                "pytest_exit_code": res.exit_code,
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


def _not_a_shard(target: Path, shards: tuple[Path, ...]) -> None:
    """Refuse an -o that is one of the shards: "replaced if it is there" would destroy
    the evidence being merged (and leave a bundle whose name names another run)."""
    for shard in shards:
        try:
            same = os.path.samefile(shard, target)
        except OSError:  # either is not there: nothing to destroy
            continue
        if same:
            raise UsageError(
                f"-o {target} is the shard {shard}: merging would replace it",
                hint="write the merged bundle elsewhere, e.g. -o merged/",
            )
