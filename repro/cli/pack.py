"""`repro pack`."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import opt_json, opt_project_of
from repro.cli.render import shown, verify_line


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the bundle [default: bundles/ in the outputs/ holding RUN_DIR, "
    "else PROJECT/outputs/bundles].",
)
@opt_project_of("RUN_DIR")
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@opt_json
@click.option("-q", "--quiet", is_flag=True, help="No progress bar on a terminal.")
@handle_errors
def pack(
    run_dir: Path,
    out_dir: Path | None,
    project: Path | None,
    store: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Pack a run folder into a deterministic, verifiable bundle zip.

    The bundle goes next to the run: into the bundles/ folder of the outputs/
    that holds RUN_DIR, wherever repro is started from.

    \b
    Example:
      repro pack outputs/latest
    """
    from repro import workspace
    from repro.bundle import pack as do_pack
    from repro.cli.contract import abspath
    from repro.cli.progress import reporter
    from repro.platforms import resolve_latest

    run_dir = resolve_latest(run_dir)  # also where `latest` is a pointer file

    # --project on the command line wins; one from [tool.repro] yields to the run's own.
    explicit = click.get_current_context().get_parameter_source("project")
    outputs = project / "outputs" if project and explicit is ParameterSource.COMMANDLINE else None
    outputs = outputs or workspace.project_outputs(run_dir) or (project or Path(".")) / "outputs"
    res = do_pack(
        run_dir, out_dir=out_dir or outputs / "bundles", store=store, progress=reporter(quiet)
    )
    if res.path.parent.resolve() == (outputs / "bundles").resolve():
        workspace.write_index(outputs)
    if as_json:
        emit_json(
            {
                "bundle": abspath(res.path),
                "digest": res.digest,
                "run_id": res.run_id,
                "size": res.size,
                "reused": res.reused,
                "compression": res.compression,
            }
        )
    else:
        if res.reused:
            say(f"repro: {res.path.name} already holds this run ({res.compression}): reused")
        click.echo(f"{shown(res.path)}\n{res.digest}")
        say(verify_line(res.path, res.digest), "note")
