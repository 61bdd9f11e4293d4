"""`repro run`."""

from __future__ import annotations

import sys
from typing import Any

from repro.cli.app import CONTEXT, emit_json, handle_errors, main
from repro.cli.options import opts_run, run_options
from repro.cli.render import announce, finished, run_summary


@main.command(context_settings=CONTEXT)
@opts_run
@handle_errors
def run(**kw: Any) -> None:
    """Run the project's pytest suite into outputs/runs/<run_id>/ with every record.

    Arguments after `--` go to pytest. The output streams live while being
    captured; the run's status decides the exit code (0 only if tests passed).
    outputs/index.md is rewritten afterwards.

    \b
    Example:
      repro run -- -x -q
    """
    from repro import runner, workspace
    from repro.cli.progress import reporter
    from repro.lock import DEFAULT_LOCK

    lock_path = kw["project"] / DEFAULT_LOCK
    opts = run_options(kw, lock_path if lock_path.is_file() else None)
    workspace.ensure(opts.outputs)
    res = runner.run(opts, on_start=announce, progress=reporter(kw["quiet"]))
    finished(res, quiet=kw["quiet"])
    workspace.write_index(opts.outputs)
    if kw["as_json"]:
        emit_json(run_summary(res))
    sys.exit(res.exit_code)
