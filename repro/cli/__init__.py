"""The `repro` command line: a thin click layer over the library.

`app` holds the group and the one error path, `options` the options shared by
several commands (each defined once), `render` the shared text output; every
command lives in a module of its own, imported here so that it registers itself
on the group. Stage modules are imported inside the commands, so `repro --help`
stays fast.
"""

from __future__ import annotations

from repro.cli import (  # noqa: F401  (registers the commands)
    bundle,
    clean,
    diff,
    keygen,
    lock,
    log,
    merge,
    pack,
    replay,
    report,
    run,
    salvage,
    show,
    sign,
    verify,
)
from repro.cli.app import main

__all__ = ["main"]
