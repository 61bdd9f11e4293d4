"""The `repro` command: parses options, calls the library, renders results.

No real work happens here: every command is a call into a stage module that
returns a frozen dataclass, rendered as text or, with --json, as one object.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from repro import __version__
from repro.errors import EXIT_BAD, EXIT_INTERRUPTED, ReproError

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def _say(msg: str) -> None:
    click.echo(msg, err=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def handle_errors(fn: F) -> F:
    """The one place a ReproError becomes a line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ReproError as exc:
            _say(f"repro: error: {exc.diagnostics()}")
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            _say("repro: interrupted")
            sys.exit(EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


# --- options, each defined once ----------------------------------------------


def _opt_json(fn: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of text."
    )(fn)


def _opt_project(fn: F) -> F:
    return click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        show_default=True,
        help="The project whose tests are run.",
    )(fn)


def _opts_run(fn: F) -> F:
    for deco in reversed(
        [
            _opt_project,
            click.option(
                "--outputs",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="Where runs and bundles go [default: PROJECT/outputs].",
            ),
            click.option(
                "--python",
                "python",
                default=sys.executable,
                show_default="this interpreter",
                help="Interpreter that runs the tests (needs pytest; repro need not be installed).",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=None,
                help="Stop the suite after SECONDS: SIGINT, grace, SIGTERM, SIGKILL.",
            ),
            click.option(
                "--grace",
                type=click.FloatRange(min=0),
                default=5.0,
                show_default=True,
                help="Seconds between SIGINT and SIGTERM when stopping.",
            ),
            click.option(
                "--redact",
                multiple=True,
                metavar="REGEX",
                help="Mask text matching REGEX in captured logs (repeatable).",
            ),
            click.option(
                "--env-allow",
                multiple=True,
                metavar="NAME",
                help="Also record the value of environment variable NAME (repeatable).",
            ),
            click.option(
                "--drift-ignore",
                multiple=True,
                metavar="NAME",
                help="Package not to report as drift from the lock (repeatable; pip, "
                "setuptools, wheel and repro itself are always ignored).",
            ),
            _opt_json,
            click.option(
                "-q",
                "--quiet",
                is_flag=True,
                help="Do not echo the test output live (it is still captured).",
            ),
            click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED),
        ]
    ):
        fn = deco(fn)
    return fn


def _opts_lock(fn: F) -> F:
    for deco in reversed(
        [
            click.option(
                "--input",
                "inputs",
                multiple=True,
                type=click.Path(dir_okay=False, path_type=Path),
                help="A requirements .in file (repeatable). Default: requirements.in, "
                "requirements/*.in, pyproject.toml, setup.cfg, else the installed env.",
            ),
            click.option(
                "--extra", "extras", multiple=True, help="Extra of pyproject.toml to lock."
            ),
            click.option("--all-extras", is_flag=True, help="Lock every extra."),
            click.option(
                "--group", "groups", multiple=True, help="Dependency group (PEP 735) to lock."
            ),
            click.option("--index-url", default=None, help="Base URL of the package index."),
            click.option(
                "--extra-index-url",
                "extra_index_urls",
                multiple=True,
                help="Another index to search (repeatable).",
            ),
            click.option(
                "--find-links",
                "find_links",
                multiple=True,
                help="A folder or page of distributions (repeatable).",
            ),
            click.option("--no-index", is_flag=True, help="Use only --find-links, never an index."),
            click.option(
                "--index-timeout",
                type=click.FloatRange(min=0.1),
                default=5.0,
                show_default=True,
                help="Seconds to wait for an index before falling back.",
            ),
            click.option(
                "--require-hashes",
                is_flag=True,
                help="Fail (exit 3) instead of writing an unhashed snapshot lock.",
            ),
            click.option(
                "--upgrade", is_flag=True, help="Resolve again even if the inputs are unchanged."
            ),
            click.option(
                "--pylock",
                is_flag=True,
                help="Also write pylock.toml (PEP 751) with `pip lock` (needs pip >= 25.1).",
            ),
            click.option(
                "--no-build-isolation",
                is_flag=True,
                help="Build project metadata with the build backend installed here.",
            ),
        ]
    ):
        fn = deco(fn)
    return fn


# --- the commands ------------------------------------------------------------


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="repro")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="pyproject.toml",
    show_default=True,
    help="File whose [tool.repro] table sets option defaults.",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path) -> None:
    """Evidence that a test suite ran: where, with what, and with what result.

    \b
      repro bundle                 lock + run the tests + pack a verifiable zip
      repro verify BUNDLE.zip      check a bundle you were handed

    Exit codes: 0 ok, 1 tests failed or bundle invalid, 2 usage error,
    3 environment or I/O error, 130 interrupted.
    """
    from repro import config

    try:
        table = config.load(config_path)
        if table:
            assert isinstance(ctx.command, click.Group)
            ctx.default_map = config.default_map(table, ctx.command.commands, config_path)
    except ReproError as exc:
        _say(f"repro: error: {exc.diagnostics()}")
        sys.exit(exc.exit_code)


def _lock_options(kw: dict[str, Any]) -> Any:
    """LockOptions from the options `_opts_lock`, `--project` and `--python` define."""
    from repro.lock import LockOptions

    return LockOptions(
        project=kw["project"].resolve(),
        inputs=tuple(kw["inputs"]),
        extras=tuple(kw["extras"]),
        all_extras=kw["all_extras"],
        groups=tuple(kw["groups"]),
        index_url=kw["index_url"],
        extra_index_urls=tuple(kw["extra_index_urls"]),
        find_links=tuple(kw["find_links"]),
        no_index=kw["no_index"],
        upgrade=kw["upgrade"],
        require_hashes=kw["require_hashes"],
        index_timeout=kw["index_timeout"],
        python=kw["python"],
        build_isolation=not kw["no_build_isolation"],
        pylock=kw["pylock"],
    )


def _lock_summary(res: Any) -> dict[str, Any]:
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


@main.command(context_settings=CONTEXT)
@_opt_project
@click.option(
    "--python",
    "python",
    default=sys.executable,
    show_default="this interpreter",
    help="Interpreter whose installed packages are snapshotted when there is no input.",
)
@_opts_lock
@_opt_json
@handle_errors
def lock(project: Path, python: str, as_json: bool, **kw: Any) -> None:
    """Write requirements.lock with pip-tools (hashes), or an exact snapshot.

    \b
    Example:
      repro lock                                  # from requirements.in / pyproject.toml
      repro lock --no-index --find-links wheels/  # offline, from a wheelhouse
    """
    from repro import lock as lockmod

    res = lockmod.lock(_lock_options({**kw, "project": project, "python": python}))
    if as_json:
        _emit_json(_lock_summary(res))
        return
    for w in res.warnings:
        _say(f"repro: warning: {w}")
    verb = "reused" if res.reused else "wrote"
    click.echo(f"{verb} {res.path} ({res.kind}, {res.packages} packages, from {res.source})")


def _run_options(kw: dict[str, Any], lock_path: Path | None) -> Any:
    """RunOptions from the options `_opts_run` defines (popped from `kw`)."""
    import re

    from repro.capture import StopPolicy
    from repro.lock import DRIFT_IGNORE
    from repro.redact import DEFAULT_ENV_ALLOW, strip_url_credentials
    from repro.runner import RunOptions

    for pattern in kw["redact"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise click.BadParameter(f"{pattern!r}: {exc}", param_hint="--redact") from exc
    project: Path = kw["project"]
    err = sys.stderr.buffer
    return RunOptions(
        project=project,
        outputs=kw["outputs"] or project / "outputs",
        python=kw["python"],
        pytest_args=tuple(kw["pytest_args"]),
        policy=StopPolicy(timeout=kw["timeout"], grace=kw["grace"]),
        lock_path=lock_path,
        env_allow=(*DEFAULT_ENV_ALLOW, *kw["env_allow"]),
        drift_ignore=(*DRIFT_IGNORE, *kw["drift_ignore"]),
        redact=tuple(kw["redact"]),
        repro_argv=("repro", *map(strip_url_credentials, sys.argv[1:])),
        # With --json, stdout carries the JSON object alone; test output goes to stderr.
        echo_out=None if kw["quiet"] else err if kw["as_json"] else sys.stdout.buffer,
        echo_err=None if kw["quiet"] else err,
    )


def _announce(run_id: str, started: float) -> None:
    _say(f"repro: {_now()} run {run_id} started")


def _finished(res: Any) -> None:
    c = res.counts
    summary = ", ".join(f"{n} {k}" for k, n in c.items() if n) or "no tests"
    inflight = f"; in flight: {res.in_flight}" if res.in_flight and res.status != "passed" else ""
    _say(
        f"repro: {_now()} run {res.run_id} finished: {res.status} ({summary}) "
        f"in {res.ended - res.started:.1f}s{inflight}"
    )
    if res.status not in ("passed", "failed"):
        _say(f"repro: {res.status_reason}")
    for w in res.warnings:
        _say(f"repro: warning: {w}")


@main.command(context_settings=CONTEXT)
@_opts_run
@handle_errors
def run(**kw: Any) -> None:
    """Run the project's pytest suite into outputs/runs/<run_id>/ with every record.

    Arguments after `--` go to pytest. The output streams live while being
    captured; the run's status decides the exit code (0 only if tests passed).

    \b
    Example:
      repro run -- -x tests/unit
    """
    from repro import runner
    from repro.lock import DEFAULT_LOCK

    lock_path = kw["project"] / DEFAULT_LOCK
    opts = _run_options(kw, lock_path if lock_path.is_file() else None)
    res = runner.run(opts, on_start=_announce)
    _finished(res)
    if kw["as_json"]:
        _emit_json(
            {
                "run_id": res.run_id,
                "run_dir": str(res.run_dir),
                "status": res.status,
                "exit_code": res.exit_code,
                "counts": res.counts,
                "in_flight": res.in_flight,
            }
        )
    sys.exit(res.exit_code)


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outputs/bundles"),
    show_default=True,
    help="Folder for the bundle.",
)
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@_opt_json
@handle_errors
def pack(run_dir: Path, out_dir: Path, store: bool, as_json: bool) -> None:
    """Pack a run folder into a deterministic, verifiable bundle zip.

    \b
    Example:
      repro pack outputs/latest
    """
    from repro.bundle import pack as do_pack

    res = do_pack(run_dir, out_dir=out_dir, store=store)
    if as_json:
        _emit_json(
            {"bundle": str(res.path), "digest": res.digest, "run_id": res.run_id, "size": res.size}
        )
    else:
        click.echo(f"{res.path}\n{res.digest}")


@main.command(context_settings=CONTEXT)
@_opts_run
@_opts_lock
@click.option("--store", is_flag=True, help="No compression: byte-identical on any zlib.")
@click.option("--no-lock", is_flag=True, help="Skip locking; bundle without a lock.")
@handle_errors
def bundle(store: bool, no_lock: bool, **kw: Any) -> None:
    """Lock, run the tests, and pack the run into a bundle (the main job).

    Exits 0 only if the tests passed; a failing or crashing suite still gets a
    complete, valid bundle. With --json, stdout carries only
    {"bundle", "digest", "status", "exit_code"} and test output goes to stderr.

    \b
    Example:
      repro bundle -- -q
      repro verify outputs/bundles/repro-<run_id>-<digest>.zip --expect sha256:<digest>
    """
    from repro import lock as lockmod
    from repro import runner
    from repro.bundle import pack as do_pack

    lock_path = None
    if not no_lock:
        lres = lockmod.lock(_lock_options(kw))
        for w in lres.warnings:
            _say(f"repro: warning: {w}")
        _say(f"repro: lock {'reused' if lres.reused else 'written'}: {lres.path} ({lres.kind})")
        lock_path = lres.path
    opts = _run_options(kw, lock_path)
    res = runner.run(opts, on_start=_announce)
    _finished(res)
    packed = do_pack(res.run_dir, out_dir=opts.outputs / "bundles", store=store)
    if kw["as_json"]:
        _emit_json(
            {
                "bundle": str(packed.path),
                "digest": packed.digest,
                "status": res.status,
                "exit_code": res.exit_code,
                "run_id": res.run_id,
            }
        )
    else:
        click.echo(f"{packed.path}\n{packed.digest}")
        _say(f"repro: verify with: repro verify {packed.path} --expect {packed.digest}")
    sys.exit(res.exit_code)


@main.command(context_settings=CONTEXT)
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    help="The digest you were given (sha256:<hex>); the bundle must match it.",
)
@click.option("--strict", is_flag=True, help="Treat warnings (such as lock drift) as failures.")
@_opt_json
@handle_errors
def verify(bundles: tuple[Path, ...], expect: str | None, strict: bool, as_json: bool) -> None:
    """Check bundles without extracting them or running anything from them.

    Checks the container, completeness, every byte, the digest, every record's
    schema, and the cross-references between records.

    Prints `OK <path> <digest>` or `FAIL <path>` followed by every problem.

    \b
    Example:
      repro verify outputs/bundles/*.zip --expect sha256:1f2e...
    """
    from repro.verify import verify as do_verify

    if expect is not None and len(bundles) > 1:
        raise click.UsageError("--expect applies to a single bundle")
    reports = [do_verify(b, expect=expect, strict=strict) for b in bundles]
    if as_json:
        _emit_json(
            [
                {
                    "bundle": str(r.path),
                    "ok": r.ok,
                    "digest": r.digest,
                    "run_id": r.run_id,
                    "status": r.status,
                    "warnings": list(r.warnings),
                    "problems": [
                        {"kind": p.kind, "member": p.member, "message": p.message}
                        for p in r.problems
                    ],
                }
                for r in reports
            ]
        )
    else:
        for r in reports:
            if r.ok:
                click.echo(f"OK {r.path} {r.digest}")
            else:
                click.echo(f"FAIL {r.path}")
                for p in r.problems:
                    click.echo(f"  - [{p.kind}] {p}")
            for w in r.warnings:
                click.echo(f"  warning: {w}")
    sys.exit(0 if all(r.ok for r in reports) else EXIT_BAD)
