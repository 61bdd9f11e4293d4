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


def pack_summary(res: Any) -> dict[str, Any]:
    return {
        "bundle": str(res.path),
        "digest": res.digest,
        "run_id": res.run_id,
        "size": res.size,
        "compression": res.compression,
        "reused": res.reused,
    }
