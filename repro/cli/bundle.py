"""`repro bundle`: lock + run + pack, the main job."""

from __future__ import annotations

import sys
from typing import Any

import click

from repro.cli.app import CONTEXT, emit_json, handle_errors, main, say
from repro.cli.options import lock_options, opts_lock, opts_run, run_options
from repro.cli.render import announce, finished, publish_ci, shown, verify_line


@main.command(context_settings=CONTEXT)
@opts_run
@opts_lock
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@click.option("--no-lock", is_flag=True, help="Skip locking; bundle without a lock.")
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write the bundle's HTML report beside it (see `repro report`).",
)
@handle_errors
def bundle(store: bool, no_lock: bool, with_report: bool, **kw: Any) -> None:
    """Lock, run the tests, and pack the run into a bundle (the main job).

    Exits 0 only if the tests passed; a failing or crashing suite still gets a
    complete, valid bundle. With --json, stdout carries one object
    (schemas/cli/bundle.schema.json) and the test output goes to stderr.
    Under GitHub Actions it also appends a summary to $GITHUB_STEP_SUMMARY and
    annotates failed tests (docs/ci.md).

    \b
    Example:
      repro bundle --no-lock -- -q
      repro verify outputs/bundles/repro-<run_id>-<digest12>.zip \\
        --expect sha256:<digest>
    """
    from repro import lock as lockmod
    from repro import runner, workspace
    from repro.bundle import pack as do_pack
    from repro.cli.contract import abspath
    from repro.cli.progress import reporter

    lock_path = None
    if not no_lock:
        lres = lockmod.lock(lock_options(kw), progress=reporter(kw["quiet"]))
        for w in lres.warnings:
            say(f"repro: warning: {w}", "warning")
        say(f"repro: lock {'reused' if lres.reused else 'written'}: {lres.path} ({lres.kind})")
        lock_path = lres.path
    opts = run_options(kw, lock_path)
    workspace.ensure(opts.outputs)
    res = runner.run(opts, on_start=announce, progress=reporter(kw["quiet"]))
    finished(res, quiet=kw["quiet"])
    packed = do_pack(
        res.run_dir, out_dir=opts.outputs / "bundles", store=store, progress=reporter(kw["quiet"])
    )
    publish_ci(res, packed, opts.project, to_stderr=kw["as_json"])
    workspace.write_index(opts.outputs)
    report = None
    if with_report:
        from repro.report import write_report

        report = write_report(packed.path, packed.path.with_suffix(".html"), expect=packed.digest)
    if kw["as_json"]:
        emit_json(
            {
                "report": abspath(report.path) if report else None,
                "bundle": abspath(packed.path),
                "digest": packed.digest,
                "status": res.status,
                "exit_code": res.exit_code,
                "run_id": res.run_id,
            }
        )
    else:
        click.echo(f"{shown(packed.path)}\n{packed.digest}")
        if report is not None:
            say(f"repro: report: {shown(report.path)}", "note")
        say(verify_line(packed.path, packed.digest), "note")
    sys.exit(res.exit_code)
