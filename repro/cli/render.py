"""Text rendering shared by the commands that run the suite."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from repro.cli.app import now, say

# How many failures and stderr lines `-q` names before saying how many more there are.
QUIET_FAILURES = 20
QUIET_STDERR_LINES = 5
MESSAGE_WIDTH = 160


def lock_summary(res: Any) -> dict[str, Any]:
    from repro.cli.contract import abspath

    return {
        "lock": abspath(res.path),
        "kind": res.kind,
        "reason": res.reason,
        "source": res.source,
        "selected_by": res.record.get("selected_by"),
        "reused": res.reused,
        "packages": res.packages,
        "unhashable": [u["name"] for u in res.unhashable],
        "warnings": list(res.warnings),
    }


def announce(run_id: str, started: float) -> None:
    say(f"repro: {now()} run {run_id} started")


def finished(res: Any, *, quiet: bool = False) -> None:
    c = res.counts
    summary = ", ".join(f"{n} {k}" for k, n in c.items() if n) or "no tests"
    inflight = f"; in flight: {res.in_flight}" if res.in_flight and res.status != "passed" else ""
    say(
        f"repro: {now()} run {res.run_id} finished: {res.status} ({summary}) "
        f"in {res.ended - res.started:.1f}s{inflight}",
        "passed" if res.status == "passed" else "bad",
    )
    if quiet:
        # The output was not shown, so say at least what failed and why pytest stopped.
        for line in failures(res.run_dir / "results/results.jsonl"):
            say(f"repro: {line}", "bad")
        if res.status == "error":
            for line in stderr_tail(res.run_dir / "logs/stderr.log"):
                say(f"repro: pytest: {line}")
    if res.status not in ("passed", "failed"):
        say(f"repro: {res.status_reason}")
    for w in res.warnings:
        say(f"repro: warning: {w}", "warning")


def failures(results_jsonl: Path) -> list[str]:
    """`FAILED <test> - <short message>` for failed and errored tests, as pytest's summary."""
    from repro.cli.style import safe

    out: dict[str, str] = {}
    try:
        fh = open(results_jsonl, "rb")  # noqa: SIM115
    except OSError:
        return []
    with fh:
        for raw in fh:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(ev, dict):
                continue
            # Ids and messages are the tests' text: shown escaped, as `repro show` shows
            # them, never obeyed by the terminal (escapes, bidi overrides).
            if ev.get("ev") == "report" and ev.get("outcome") == "failed":
                word = "FAILED" if ev.get("when") == "call" else "ERROR"
                tid = str(ev.get("id"))
                out.setdefault(tid, f"{word} {safe(tid)} - {safe(_first(ev))}")
            elif ev.get("ev") == "collect_error":
                tid = str(ev.get("id"))
                out.setdefault(tid, f"ERROR collecting {safe(tid)}")
    lines = [line.rstrip(" -") for line in out.values()]
    if len(lines) > QUIET_FAILURES:
        extra = len(lines) - QUIET_FAILURES
        lines = [*lines[:QUIET_FAILURES], f"... and {extra} more (see results/results.jsonl)"]
    return lines


def _first(ev: dict[str, Any]) -> str:
    """The first line of the failure message, as pytest's short summary shows it."""
    lines = str(ev.get("msg") or "").strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= MESSAGE_WIDTH else first[: MESSAGE_WIDTH - 3] + "..."


def stderr_tail(path: Path) -> list[str]:
    """pytest's last words on stderr (a usage error such as `unrecognized arguments`)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, 2) - 4096))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    from repro.cli.style import safe

    return [safe(line) for line in text.splitlines() if line.strip()][-QUIET_STDERR_LINES:]


def run_summary(res: Any) -> dict[str, Any]:
    from repro.cli.contract import abspath

    return {
        "run_id": res.run_id,
        "run_dir": abspath(res.run_dir),
        "status": res.status,
        "exit_code": res.exit_code,
        "counts": res.counts,
        "in_flight": res.in_flight,
    }


def shown(path: Path) -> str:
    """A path for people: relative to the current folder when inside it, else absolute.
    (--json always gives absolute paths: contract.abspath.)"""
    import os

    full = os.path.abspath(path)
    rel = os.path.relpath(full)
    return full if rel == ".." or rel.startswith(".." + os.sep) else rel


def verify_line(bundle: Path, digest: str) -> str:
    return f"repro: verify with: repro verify {shown(bundle)} --expect {digest}"


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
        say(f"repro: warning: {w}", "warning")


def mention_abandoned(outputs: Any) -> None:
    """Tell the user about runs whose repro process died (the one place that says it)."""
    from repro.salvage import find

    found = [a for a in find(outputs) if a.captured]
    if found:
        ids = ", ".join(a.run_id for a in found[:3]) + (" ..." if len(found) > 3 else "")
        say(
            f"repro: {len(found)} abandoned run(s) in {outputs}/runs ({ids}): "
            f"bundle what they captured with: repro salvage --outputs {outputs}",
            "warning",
        )
