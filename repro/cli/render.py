"""Text rendering shared by the commands that run the suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from repro.cli.app import now, say


def lock_summary(res: Any) -> dict[str, Any]:
    return {
        "lock": str(res.path),
        "kind": res.kind,
        "reason": res.reason,
        "source": res.source,
        "reused": res.reused,
        "packages": res.packages,
        "unhashable": [u["name"] for u in res.unhashable],
        "warnings": list(res.warnings),
    }


def announce(run_id: str, started: float) -> None:
    say(f"repro: {now()} run {run_id} started")


def finished(res: Any) -> None:
    c = res.counts
    summary = ", ".join(f"{n} {k}" for k, n in c.items() if n) or "no tests"
    inflight = f"; in flight: {res.in_flight}" if res.in_flight and res.status != "passed" else ""
    say(
        f"repro: {now()} run {res.run_id} finished: {res.status} ({summary}) "
        f"in {res.ended - res.started:.1f}s{inflight}"
    )
    if res.status not in ("passed", "failed"):
        say(f"repro: {res.status_reason}")
    for w in res.warnings:
        say(f"repro: warning: {w}")


def publish_ci(res: Any, packed: Any, project: Path, *, to_stderr: bool) -> None:
    """Under CI, the step summary and the failure annotations (repro.ci).

    Workflow commands go to stdout as GitHub documents, or to stderr with --json
    (where stdout is the JSON object alone; the runner reads both streams).
    """
    from repro import ci

    if ci.provider(os.environ) is None:
        return
    summary = ci.RunSummary(
        run_id=res.run_id,
        status=res.status,
        status_reason=res.status_reason,
        counts=res.counts,
        in_flight=res.in_flight,
        bundle=str(packed.path),
        digest=packed.digest,
    )
    out = ci.publish(os.environ, summary, run_dir=res.run_dir, project=project.resolve())
    for line in out.annotations:
        click.echo(line, err=to_stderr)
    for w in out.warnings:
        say(f"repro: warning: {w}")
