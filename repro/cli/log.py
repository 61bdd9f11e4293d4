"""`repro log`: the runs named by outputs/ledger.jsonl, and whether its chain holds."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import opt_json
from repro.errors import EXIT_BAD


@main.command(context_settings=CONTEXT)
@click.option(
    "--outputs",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outputs"),
    show_default=True,
    help="The outputs folder whose ledger.jsonl is read.",
)
@opt_json
@handle_errors
def log(outputs: Path, as_json: bool) -> None:
    """List the runs in the ledger and check its hash chain.

    A run that started and never ended (its repro process died, or it is still
    running) is marked `open`; `repro salvage` makes a bundle of it. Exits 1 if
    a line of the ledger was edited, inserted or removed, or a finished run in
    outputs/runs/ made since the ledger began is missing from it (the ledger cut
    short).

    \b
    Example:
      repro log
      repro log --json      # {"runs": [{"run_id", "open", ...}], "intact", ...}
    """
    from repro import ledger
    from repro.cli.contract import abspath

    rep = ledger.read(outputs)
    if as_json:
        emit_json(
            {
                "ledger": abspath(rep.path),
                "format": rep.format,
                "lines": rep.lines,
                "intact": rep.intact,
                "problems": list(rep.problems),
                "runs": [
                    {
                        "run_id": r.run_id,
                        "started": r.started,
                        "ended": r.ended,
                        "status": r.status,
                        "open": r.open,
                        "salvaged": r.salvaged,
                        "digests": r.digests,
                        "bundles": r.bundles,
                    }
                    for r in rep.runs
                ],
            }
        )
    else:
        if not rep.lines:
            click.echo(f"no ledger at {rep.path} (no run was made there yet)")
        for r in rep.runs:
            state = "open (never ended)" if r.open else (r.status or "?")
            if r.salvaged:
                state += " (salvaged)"
            digest = f" {r.digests[-1]}" if r.digests else ""
            click.echo(f"{r.run_id}  {r.started or '-'}  {state}{digest}")
        if rep.lines:
            verdict = "intact" if rep.intact else "BROKEN"
            click.echo(f"ledger {rep.path}: {rep.lines} lines, chain {verdict}")
        for p in rep.problems:
            click.echo(f"  - {p}")
    sys.exit(0 if rep.intact else EXIT_BAD)
