"""`repro clean`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import opt_json
from repro.errors import UsageError

if TYPE_CHECKING:
    from repro.clean import Item


@main.command(context_settings=CONTEXT)
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    metavar="N",
    help="Keep the N newest runs whatever their age.",
)
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    default=None,
    metavar="DAYS",
    help="Remove only runs last changed more than DAYS ago.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option(
    "--force", is_flag=True, help="Also remove the only copy of a failed or abandoned run."
)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project whose outputs/ is cleaned.",
)
@click.option(
    "--outputs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The outputs folder [default: PROJECT/outputs].",
)
@opt_json
@handle_errors
def clean(
    keep: int,
    older_than: float | None,
    dry_run: bool,
    force: bool,
    project: Path,
    outputs: Path | None,
    as_json: bool,
) -> None:
    """Remove old runs and bundles from outputs/, keeping failures' only copy.

    A run that passed loses its folder and its bundle. A failed or abandoned
    run keeps one copy: its folder goes only when its bundle stays, and the
    last copy goes only with --force. outputs/index.md is rewritten.

    \b
    Example:
      repro clean --keep 3 --dry-run
      repro clean --older-than 30
    """
    from repro import workspace
    from repro.clean import clean as do_clean
    from repro.cli.contract import abspath

    folder = outputs or project / "outputs"
    if not folder.is_dir():
        raise UsageError(f"no outputs folder at {folder}", hint="pass --project or --outputs")
    res = do_clean(folder, keep=keep, older_than_days=older_than, dry_run=dry_run, force=force)
    if not dry_run:
        workspace.write_index(folder)
    if as_json:
        emit_json(
            {
                "outputs": abspath(folder),
                "dry_run": dry_run,
                "removed": [_item(i) for i in res.removed],
                "kept": [_item(i) for i in res.kept],
                "freed_bytes": res.freed,
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    for i in res.removed:
        click.echo(f"{verb} {i.path} ({i.kind}, {i.status})")
    for i in res.kept:
        say(f"repro: kept {i.path}: {i.reason}", "warning")
    say(f"repro: {verb} {len(res.removed)} item(s), {res.freed / 1e6:.1f} MB")


def _item(i: Item) -> dict[str, Any]:
    from repro.cli.contract import abspath

    return {
        "path": abspath(i.path),
        "run_id": i.run_id,
        "kind": i.kind,
        "status": i.status,
        "size": i.size,
        "reason": i.reason,
    }
