"""`repro run`."""

from __future__ import annotations

import sys
from typing import Any

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import opts_run, run_options
from repro.cli.render import announce, finished, mention_abandoned


@main.command(context_settings=CONTEXT)
@opts_run
@handle_errors
def run(**kw: Any) -> None:
    """Run the project's pytest suite into outputs/runs/<run_id>/ with every record.

    Arguments after `--` go to pytest. The output streams live while being
    captured; the run's status decides the exit code (0 only if tests passed).

    \b
    Example:
      repro run -- -x tests/unit
    """
    from repro import runner
    from repro.lock import DEFAULT_LOCK

    lock_path = kw["project"] / DEFAULT_LOCK
    opts = run_options(kw, lock_path if lock_path.is_file() else None)
    res = runner.run(opts, on_start=announce)
    finished(res)
    mention_abandoned(opts.outputs)
    if kw["as_json"]:
        emit_json(
            {
                "run_id": res.run_id,
                "run_dir": str(res.run_dir),
                "status": res.status,
                "exit_code": res.exit_code,
                "counts": res.counts,
                "in_flight": res.in_flight,
            }
        )
    sys.exit(res.exit_code)
