"""pip-compile, run so that its output depends on the inputs only.

pip-tools always runs as a subprocess (`python -m piptools compile`); its
internals are not a stable API. Inputs are passed relative to the project (so
`# via` comments name `requirements.in`, not `/home/me/clone/requirements.in`),
inputs repro writes itself (dependency groups, the installed environment) are
relabelled after the run, and the header names the whole `repro lock` command
that makes the same file again, shell-quoted.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from repro.config import read_toml
from repro.lock.inputs import Selection, group_requirements
from repro.redact import strip_url_credentials

if TYPE_CHECKING:
    from repro.lock.stage import LockOptions


def portable(path: str | Path, project: Path) -> str:
    """A path as the lock may show it: relative to the project when inside it."""
    p = Path(path)
    absolute = p if p.is_absolute() else Path.cwd() / p
    try:
        return absolute.resolve().relative_to(project.resolve()).as_posix()
    except ValueError:
        return str(path)


def _is_url(link: str) -> bool:
    return "://" in link or link.startswith("file:")


def local_link(link: str) -> str:
    """--find-links as pip (running in the project folder) must see it: absolute."""
    return link if _is_url(link) else str(Path(link).resolve())


def portable_python(python: str, project: Path) -> str:
    """--python without this machine's layout where that names the same interpreter."""
    if os.sep not in python:
        return python  # a command name, looked up on PATH already
    inside = portable(python, project)
    if not Path(inside).is_absolute():
        return inside
    found = shutil.which(Path(python).name)
    if found and os.path.realpath(found) == os.path.realpath(python):
        return Path(python).name
    return python


def regenerate_command(opts: LockOptions, sel: Selection) -> list[str]:
    """`repro lock ...` with every option that shapes the lock, as the project sees it.

    The selected inputs are spelled out even when the default rule chose them, so
    the command makes the same lock whatever a later repro's defaults are.
    """
    proj = opts.project
    cmd = ["repro", "lock"]
    # Project metadata alone is what --extra and --group select; any other file the
    # rule chose (requirements.in, requirements/tests.in) is named.
    metadata = {proj / "pyproject.toml", proj / "setup.cfg"}
    if opts.inputs or not set(sel.files) <= metadata:
        cmd += [a for p in sel.files for a in ("--input", portable(p, proj))]
    cmd += [a for e in sel.extras for a in ("--extra", e)]
    cmd += ["--all-extras"] if sel.all_extras else []
    cmd += [a for g in sel.groups for a in ("--group", g)]
    if sel.installed_env and opts.python != sys.executable:
        cmd += ["--python", portable_python(opts.python, proj)]
    if opts.output is not None:
        cmd += ["--output-file", portable(opts.output, proj)]
    # Index URLs stay out, as everywhere in the lock: a mirror's address is where
    # packages came from on one network, not what is locked, and may be private.
    cmd += ["--no-index"] if opts.no_index else []
    cmd += [
        a
        for link in opts.find_links
        for a in (
            "--find-links",
            strip_url_credentials(link) if _is_url(link) else portable(link, proj),
        )
    ]
    cmd += [] if opts.build_isolation else ["--no-build-isolation"]
    return cmd


def _extras_args(sel: Selection) -> list[str]:
    args = [arg for e in sel.extras for arg in ("--extra", e)]
    return [*args, "--all-extras"] if sel.all_extras else args


def _relabel(text: bytes, labels: Mapping[Path, str]) -> bytes:
    """`-r /tmp/.../group-tests.in` in `# via` comments -> what that file stood for."""
    for path, label in labels.items():
        text = text.replace(f"-r {path}".encode(), label.encode())
    return text


def generated_inputs(
    opts: LockOptions, sel: Selection, snapshot: Sequence[str], tmp: Path
) -> dict[Path, str]:
    """Write the inputs pip-compile cannot read from the project; their labels."""
    labels: dict[Path, str] = {}
    if sel.installed_env:
        path = tmp / "installed.in"
        path.write_text("\n".join(snapshot) + "\n", encoding="utf-8")
        labels[path] = "the installed environment"
    if sel.groups:
        data = read_toml(opts.project / "pyproject.toml")
        for group in sel.groups:
            path = tmp / f"group-{len(labels)}.in"
            path.write_text("\n".join(group_requirements(data, group)) + "\n", encoding="utf-8")
            labels[path] = f"dependency group {group} (pyproject.toml)"
    return labels


def run_pip_compile(
    opts: LockOptions,
    sel: Selection,
    snapshot: Sequence[str],
    env: dict[str, str],
) -> tuple[bytes | None, str | None]:
    """(the lock's bytes, None), or (None, why pip-compile could not make it)."""
    with tempfile.TemporaryDirectory(prefix="repro-lock-") as tmp:
        out = Path(tmp, "requirements.lock")
        labels = generated_inputs(opts, sel, snapshot, Path(tmp))
        argv = [
            sys.executable,
            "-m",
            "piptools",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--allow-unsafe",
            "--strip-extras",
            "--no-emit-index-url",
            "--no-emit-find-links",
            "--no-emit-trusted-host",
            "--no-config",
            "--output-file",
            str(out),
            *_extras_args(sel),
        ]
        for link in opts.find_links:
            argv += ["--find-links", local_link(link)]
        if opts.no_index:
            argv.append("--no-index")
        if opts.upgrade:
            argv.append("--upgrade")
        if not opts.build_isolation:
            argv.append("--no-build-isolation")
        argv += [portable(p, opts.project) for p in sel.files] + [str(p) for p in labels]
        # pip-tools reads the regeneration command for its header from the environment.
        env["CUSTOM_COMPILE_COMMAND"] = shlex.join(regenerate_command(opts, sel))
        # Index URLs travel in the environment, not argv, so they never show in `ps`.
        if opts.index_url:
            env["PIP_INDEX_URL"] = opts.index_url
        if opts.extra_index_urls:
            env["PIP_EXTRA_INDEX_URL"] = " ".join(opts.extra_index_urls)
        env.setdefault("PIP_TIMEOUT", str(max(1, int(opts.index_timeout))))
        env.setdefault("PIP_RETRIES", "1")
        try:
            proc = subprocess.run(
                argv,
                cwd=opts.project,
                env=env,
                capture_output=True,
                timeout=opts.compile_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, f"pip-compile did not finish within {opts.compile_timeout:g}s"
        if proc.returncode != 0 or not out.is_file():
            # pip names the failing input: the temporary ones by what they stand for
            why = _relabel(last_line(proc.stderr).encode(), labels).decode()
            return None, f"pip-compile failed: {why}"
        return _relabel(out.read_bytes(), labels), None


def last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    return strip_url_credentials(lines[-1].strip() if lines else "pip-compile failed")
