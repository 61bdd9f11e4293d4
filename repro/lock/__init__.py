"""requirements.lock: pip-tools with hashes, an installed-environment fallback, and drift.

One module per concern: `inputs` (what is locked, and why), `compile` (pip-compile,
run so that its output depends on the inputs only), `guard` (what may be
replaced), `stage` (the lock stage itself), `pylock` (PEP 751) and `drift` (lock
versus test interpreter, with tooling apart). docs/lock.md has the rules.
"""

from __future__ import annotations

from repro.lock.drift import DRIFT_IGNORE, compare, drift, parse_lock
from repro.lock.guard import ForeignLock
from repro.lock.pylock import PYLOCK
from repro.lock.stage import (
    DEFAULT_LOCK,
    LockOptions,
    LockResult,
    find_inputs,
    installed_snapshot,
    lock,
)

__all__ = [
    "DEFAULT_LOCK",
    "DRIFT_IGNORE",
    "PYLOCK",
    "ForeignLock",
    "LockOptions",
    "LockResult",
    "compare",
    "drift",
    "find_inputs",
    "installed_snapshot",
    "lock",
    "parse_lock",
]
