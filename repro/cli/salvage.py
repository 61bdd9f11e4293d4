"""`repro salvage`: bundle what a run whose repro process died had captured."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import opt_json


@main.command(context_settings=CONTEXT)
@click.argument("run_dirs", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--outputs",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outputs"),
    show_default=True,
    help="The outputs folder (its runs/.<run_id>.partial folders are salvaged by default).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Salvage even if the run's repro process, or its pytest, seems alive.",
)
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@opt_json
@handle_errors
def salvage(
    run_dirs: tuple[Path, ...], outputs: Path, force: bool, store: bool, as_json: bool
) -> None:
    """Turn abandoned runs (repro was killed) into bundles with status `abandoned`.

    A run's logs and per-test results up to the death, the test in flight, env
    and lock records are kept; run_metadata.json says what is missing. Without
    RUN_DIR (outputs/runs/.<run_id>.partial), every abandoned run under --outputs
    is salvaged.

    \b
    Example:
      repro salvage           # every abandoned run under outputs/
      repro salvage --json    # {"salvaged": [{"run_id", "bundle", ...}]}
    """
    from repro import salvage as salv
    from repro.bundle import pack
    from repro.cli.contract import abspath

    targets = list(run_dirs)
    waiting = 0
    if not run_dirs:
        for found in salv.find(outputs):
            if found.pytest_pid is not None and not force:
                say(f"repro: warning: {salv.still_running(found)}")
                waiting += 1
            else:
                targets.append(found.path)
    done = []
    for target in targets:
        res = salv.salvage(target, outputs=outputs, force=force)
        item: dict[str, object] = {"run_id": res.run_id, "missing": list(res.missing)}
        if res.run_dir is None:
            say(f"repro: {res.run_id}: repro died before the run started; nothing to keep")
        else:
            packed = pack(res.run_dir, out_dir=outputs / "bundles", store=store)
            item |= {"run_dir": abspath(res.run_dir), "bundle": abspath(packed.path)}
            item |= {"digest": packed.digest, "in_flight": res.in_flight}
            if not as_json:
                click.echo(f"{packed.path}\n{packed.digest}")
                flight = f"; in flight: {res.in_flight}" if res.in_flight else ""
                say(f"repro: salvaged {res.run_id} (abandoned{flight})")
        done.append(item)
    if as_json:
        emit_json({"salvaged": done})
    elif not targets and not waiting:
        say(f"repro: no abandoned run in {outputs}/runs")
    sys.exit(0)
