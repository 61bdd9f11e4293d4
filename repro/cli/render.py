"""Text rendering shared by the commands that run the suite."""

from __future__ import annotations

from typing import Any

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


def mention_abandoned(outputs: Any) -> None:
    """Tell the user about runs whose repro process died (the one place that says it)."""
    from repro.salvage import find

    found = [a for a in find(outputs) if a.captured]
    if found:
        ids = ", ".join(a.run_id for a in found[:3]) + (" ..." if len(found) > 3 else "")
        say(
            f"repro: {len(found)} abandoned run(s) in {outputs}/runs ({ids}): "
            f"bundle what they captured with: repro salvage --outputs {outputs}"
        )
