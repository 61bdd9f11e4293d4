"""`repro pack`."""

from __future__ import annotations

from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import opt_json


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
@handle_errors
def pack(run_dir: Path, out_dir: Path, store: bool, as_json: bool) -> None:
    """Pack a run folder into a deterministic, verifiable bundle zip.

    \b
    Example:
      repro pack outputs/latest
    """
    from repro.bundle import pack as do_pack

    res = do_pack(run_dir, out_dir=out_dir, store=store)
    if as_json:
        emit_json(
            {
                "bundle": str(res.path),
                "digest": res.digest,
                "run_id": res.run_id,
                "size": res.size,
                "statement": str(res.statement),
            }
        )
    else:
        click.echo(f"{res.path}\n{res.digest}")
