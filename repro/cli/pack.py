"""`repro pack`."""

from __future__ import annotations

from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import opt_json
from repro.cli.render import pack_summary


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outputs/bundles"),
    show_default=True,
    help="Folder for the bundle.",
)
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@opt_json
@click.option("-q", "--quiet", is_flag=True, help="No progress bar on a terminal.")
@handle_errors
def pack(run_dir: Path, out_dir: Path, store: bool, as_json: bool, quiet: bool) -> None:
    """Pack a run folder into a deterministic, verifiable bundle zip.

    \b
    Example:
      repro pack outputs/latest
    """
    from repro.bundle import pack as do_pack
    from repro.cli.progress import reporter

    res = do_pack(run_dir, out_dir=out_dir, store=store, progress=reporter(quiet))
    if as_json:
        emit_json(pack_summary(res))
    else:
        if res.reused:
            say(f"repro: {res.path.name} already holds this run ({res.compression}): reused")
        click.echo(f"{res.path}\n{res.digest}")
