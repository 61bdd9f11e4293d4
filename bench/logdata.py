"""Log-like bytes for the loud test: timestamps, levels, module names, words, ids.

Random ids and counters make it a hard case for DEFLATE (about 3:1), harder than most
real test output (a results stream compresses ~14:1)."""

from __future__ import annotations

import random

WORDS = [
    "request",
    "response",
    "user",
    "item",
    "cache",
    "miss",
    "hit",
    "retry",
    "timeout",
    "connected",
    "closed",
    "value",
    "key",
    "order",
    "payment",
    "session",
    "token",
    "worker",
    "queue",
    "job",
    "started",
    "finished",
    "failed",
    "skipped",
    "row",
    "commit",
    "rollback",
    "table",
    "index",
    "query",
    "plan",
    "fetch",
    "parse",
    "render",
    "template",
    "asset",
]
LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARNING", "ERROR")
MODULES = ("app.db", "app.http", "worker.queue", "tests.fixtures", "cache", "auth.session")


def log_block(nbytes: int) -> bytes:
    rnd = random.Random(5)
    out, size, t = [], 0, 0
    while size < nbytes:
        t += rnd.randint(1, 5000)
        line = (
            f"2026-01-01T{t // 3_600_000 % 24:02d}:{t // 60_000 % 60:02d}:{t // 1000 % 60:02d}"
            f".{t % 1000:03d} {rnd.choice(LEVELS):<7} {rnd.choice(MODULES)}: "
            f"{' '.join(rnd.choices(WORDS, k=rnd.randint(3, 12)))} "
            f"id={rnd.getrandbits(32):08x} n={rnd.randint(0, 100_000)}\n"
        ).encode()
        out.append(line)
        size += len(line)
    return b"".join(out)[:nbytes]
