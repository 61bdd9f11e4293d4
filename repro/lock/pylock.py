"""pylock.toml (PEP 751) beside requirements.lock, made by `pip lock`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from repro.config import parse_toml
from repro.fsutil import write_bytes
from repro.lock.compile import generated_inputs, last_line, local_link
from repro.lock.inputs import Selection

if TYPE_CHECKING:
    from repro.lock.stage import LockOptions

PYLOCK = "pylock.toml"


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def write_pylock(
    opts: LockOptions, sel: Selection, snapshot: Sequence[str], environ: dict[str, str]
) -> list[str]:
    """pylock.toml from `pip lock`, validated with `packaging.pylock`.

    Returns warnings; an unavailable pip or packaging is said plainly, not fatal.
    """
    from packaging.version import Version

    pip = _version("pip")
    if pip is None or Version(pip) < Version("25.1"):
        return [f"pylock.toml not written: `pip lock` needs pip >= 25.1, this is pip {pip}"]
    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:
        return ["pylock.toml not written: this `packaging` has no pylock support (need >= 25.1)"]
    with tempfile.TemporaryDirectory(prefix="repro-pylock-") as tmp:
        reqs: list[str] = []
        for p in (f.resolve() for f in sel.files):  # pip runs in the project folder
            if p.suffix in (".toml", ".cfg"):  # the project itself, with its extras
                extras = f"[{','.join(sel.extras)}]" if sel.extras else ""
                reqs.append(f"{p.parent}{extras}")
            else:
                reqs += ["-r", str(p)]
        for generated in generated_inputs(opts, sel, snapshot, Path(tmp)):
            reqs += ["-r", str(generated)]
        argv = [sys.executable, "-m", "pip", "lock", "--quiet", "-o", str(Path(tmp, PYLOCK))]
        argv += [f"--find-links={local_link(link)}" for link in opts.find_links]
        argv += ["--no-index"] if opts.no_index else []
        env = dict(environ)
        if opts.index_url:
            env["PIP_INDEX_URL"] = opts.index_url
        proc = subprocess.run(
            [*argv, *reqs],
            cwd=opts.project,
            env=env,
            capture_output=True,
            timeout=opts.compile_timeout,
            check=False,
        )
        if proc.returncode != 0:
            return [f"pylock.toml not written: pip lock failed: {last_line(proc.stderr)}"]
        data = Path(tmp, PYLOCK).read_bytes()
    try:
        Pylock.from_dict(parse_toml(data.decode(), PYLOCK))
    except (PylockValidationError, ValueError) as exc:
        return [f"pylock.toml not written: pip lock produced an invalid file: {exc}"]
    write_bytes(opts.lock_path.with_name(PYLOCK), data)
    return []
