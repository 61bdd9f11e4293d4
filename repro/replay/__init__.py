"""`repro replay`: rebuild a bundle's run here, run it again, compare test by test.

Steps: verify the bundle (through the reader); check out the recorded commit
and apply the run's patch in a scratch worktree (`checkout`); find a Python of
the recorded major.minor (`interpreter`); install the lock into a fresh virtual
environment, hashes required when the lock has them (`install`); run the
recorded pytest command in the recorded order with the recorded seeds, as a
normal repro run, and pack it; compare the two bundles as `repro diff` does.
A test whose outcome changed is run again up to `reruns` times: if it gets its
recorded outcome back it is flaky, otherwise it changed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from repro.errors import (
    EXIT_BAD,
    EXIT_ENV,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    ReproError,
    UsageError,
)
from repro.replay import checkout, install, interpreter
from repro.replay.checkout import CannotReplay

Verdict = Literal["reproduced", "diverged", "could not replay"]
# The first arguments of every recorded pytest command, repro's own: the rest are the user's.
_OWN_ARGS = 6


@dataclass(frozen=True)
class ReplayOptions:
    bundle: Path
    repo: Path
    outputs: Path
    sources: install.Sources = field(default_factory=install.Sources)
    keep: bool = False
    allow_python_mismatch: bool = False
    reruns: int = 3
    environ: Mapping[str, str] | None = None
    say: Callable[[str], None] = lambda _msg: None


@dataclass(frozen=True)
class TestReplay:
    __test__ = False

    id: str
    recorded: str | None  # None: the run did not have it
    replayed: str | None  # None: the replay did not have it
    kind: str  # same, now-failing, now-passing, changed, missing, new
    flaky: bool = False  # its recorded outcome came back on a re-run
    attempts: tuple[str, ...] = ()  # outcomes of the re-runs
    recorded_seconds: float | None = None
    replayed_seconds: float | None = None


@dataclass(frozen=True)
class ReplayResult:
    verdict: Verdict
    reason: str
    exact: bool
    steps: tuple[str, ...]
    tests: tuple[TestReplay, ...] = ()
    comparison: Any = None  # repro.compare.Comparison of the bundle and the replay's
    replay_bundle: Path | None = None
    scratch: Path | None = None  # kept with --keep

    @property
    def exit_code(self) -> int:
        return {"reproduced": EXIT_OK, "diverged": EXIT_BAD}.get(self.verdict, EXIT_ENV)

    @property
    def diverged(self) -> tuple[TestReplay, ...]:
        return tuple(t for t in self.tests if t.kind not in ("same", "new") and not t.flaky)

    def to_json(self) -> dict[str, Any]:
        from repro.model import to_jsonable

        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "exact": self.exact,
            "steps": list(self.steps),
            "tests": to_jsonable(self.tests),
            "diverged": [t.id for t in self.diverged],
            "flaky": [t.id for t in self.tests if t.flaky],
            "replay_bundle": str(self.replay_bundle) if self.replay_bundle else None,
            "scratch": str(self.scratch) if self.scratch else None,
            "comparison": self.comparison.to_json() if self.comparison is not None else None,
        }


def replay(opts: ReplayOptions) -> ReplayResult:
    from repro.reader import open_bundle

    steps: list[str] = []
    if not opts.bundle.exists():
        # open_bundle's hint offers a run folder too: replay needs the bundle's zip.
        raise UsageError(
            f"no such bundle: {opts.bundle}",
            hint="pass a repro-*.zip, e.g. from outputs/bundles/",
        )
    original = open_bundle(opts.bundle)
    if not original.ok:
        first = original.report.problems[0].message if original.report.problems else "invalid"
        return _cannot(f"the bundle does not verify ({first}); see repro verify", steps)
    steps.append(f"verified {opts.bundle.name}")
    scratch = Path(tempfile.mkdtemp(prefix="repro-replay-"))
    # The worktree as soon as it exists: a replay that stops after the checkout (a
    # package it cannot install, Ctrl-C) must not leave it registered in the user's repo.
    trees: list[checkout.Checkout] = []
    try:
        result = _replay_in(opts, original, scratch, steps, trees)
        return _replace(result, scratch=scratch) if opts.keep else result
    except CannotReplay as exc:
        return _cannot(str(exc), steps)
    finally:
        if not opts.keep:
            for tree in trees:
                checkout.remove(tree.repo, tree.path)
            shutil.rmtree(scratch, ignore_errors=True)


def _cannot(why: str, steps: list[str]) -> ReplayResult:
    return ReplayResult(verdict="could not replay", reason=why, exact=False, steps=tuple(steps))


def _replay_in(
    opts: ReplayOptions,
    original: Any,
    scratch: Path,
    steps: list[str],
    trees: list[checkout.Checkout],
) -> ReplayResult:
    env, meta, results = original.env, original.metadata, original.results
    if env is None or meta is None or results is None:
        raise CannotReplay("the bundle lacks env.json, run_metadata.json or results.jsonl")
    code = env.code
    if code is None:
        raise CannotReplay("the bundle does not carry its code state (made by repro < 0.3)")
    if code.kind != "git":
        raise CannotReplay(code.why_not_exact or "the run was not in a git checkout")
    # The cheap refusals first: a missing Python is known before any checkout.
    mismatch = False
    wanted = interpreter.minor(env.python.version)
    found = interpreter.find(wanted, env.python.executable, opts.environ)
    if found is None:
        if not opts.allow_python_mismatch:
            raise CannotReplay(
                f"Python {wanted} not found (looked at {env.python.executable}, uv python find, "
                f"python{wanted} on PATH); install it or pass --allow-python-mismatch"
            )
        found = interpreter.Found(sys.executable, interpreter.version_of(sys.executable) or "?", "")
        steps.append(f"Python {wanted} not found: using {found.version} (--allow-python-mismatch)")
        mismatch = True
    else:
        steps.append(f"Python {found.version} from {found.how}: {found.path}")

    patch = None
    if code.patch is not None:
        patch, _ = original.read(code.patch.path, code.patch.size + 1)
    tree = checkout.create(
        opts.repo,
        scratch / "src",
        commit=code.commit,
        tree=code.tree,
        patch=patch,
        exact=code.exact,
        why_not_exact=code.why_not_exact,
    )
    trees.append(tree)
    steps.append(f"checked out {tree.note} in {tree.path}")

    exact = tree.exact and not mismatch
    if original.lock_text is None:
        raise CannotReplay("the bundle has no lock: nothing says what to install")
    hashed = "--hash=sha256:" in original.lock_text
    venv = scratch / "venv"
    install.create(found.path, venv)
    installed = install.install_lock(venv, original.lock_text, opts.sources, hashed=hashed)
    exact = exact and hashed
    steps.append(
        f"installed the lock with {installed.tool}"
        + (", hashes required" if hashed else " (no hashes: cannot be exact)")
    )
    steps += list(installed.notes)
    project = tree.path / code.subdir if code.subdir else tree.path
    note = install.install_project(venv, project, opts.sources, installed.tool)
    if note:
        steps.append(note)

    bundle_path = _run(opts, original, project, installed.python, scratch, steps)
    return _judge(opts, original, bundle_path, installed.python, project, exact, steps)


def _pytest_args(original: Any, scratch: Path) -> list[str]:
    meta = original.metadata
    argv = list(meta.argv)
    # The user's arguments follow repro's own (`-p repro_results_plugin --repro-results=...`).
    own = [i for i, a in enumerate(argv) if a.startswith("--repro-results=")]
    args = argv[own[0] + 1 :] if own else argv[_OWN_ARGS:]
    order = scratch / "order.json"
    order.write_text(json.dumps(list(meta.order)))
    args.append(f"--repro-order={order}")
    seed = meta.seeds.get("pytest-randomly")
    if seed is not None:
        # Same seeds for random, numpy, faker...; our order, not a new shuffle.
        args += [f"--randomly-seed={seed}", "--randomly-dont-reorganize"]
    return args


def _environ(opts: ReplayOptions, original: Any) -> dict[str, str]:
    environ = dict(os.environ if opts.environ is None else opts.environ)
    hashseed = original.metadata.seeds.get("PYTHONHASHSEED")
    if hashseed is not None:
        environ["PYTHONHASHSEED"] = hashseed
    else:
        environ.pop("PYTHONHASHSEED", None)
    return environ


def _run(
    opts: ReplayOptions,
    original: Any,
    project: Path,
    python: str,
    scratch: Path,
    steps: list[str],
) -> Path:
    from repro import bundle, runner

    lock = scratch / "requirements.lock"
    lock.write_text(original.lock_text or "")
    run_opts = runner.RunOptions(
        project=project,
        outputs=opts.outputs,
        python=python,
        pytest_args=tuple(_pytest_args(original, scratch)),
        lock_path=lock,
        repro_argv=("repro", "replay", str(opts.bundle)),
        environ=_environ(opts, original),
    )
    res = runner.run(run_opts)
    steps.append(f"ran the tests: {res.status} (run {res.run_id})")
    packed = bundle.pack(res.run_dir, out_dir=opts.outputs / "bundles")
    steps.append(f"packed {packed.path}")
    if res.exit_code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        # Ctrl-C (or SIGTERM) reached repro while the tests ran: the user stops the
        # replay. Comparing would rerun the test in flight and judge it flaky.
        stopped = ReproError(f"replay {res.status}; what ran is in {packed.path}")
        stopped.exit_code = res.exit_code
        raise stopped
    return packed.path


def _judge(
    opts: ReplayOptions,
    original: Any,
    replay_bundle: Path,
    python: str,
    project: Path,
    exact: bool,
    steps: list[str],
) -> ReplayResult:
    from repro.compare import ChangeKind, compare
    from repro.reader import open_bundle

    replayed = open_bundle(replay_bundle)
    comparison = compare(original, replayed)
    before = {t.id: t for t in original.results.tests}
    after = {t.id: t for t in replayed.results.tests} if replayed.results else {}
    changed = {c.id: c for c in comparison.tests}
    suspects = [
        c.id
        for c in comparison.tests
        if c.kind not in (ChangeKind.NEW, ChangeKind.MISSING) and c.before is not None
    ]
    attempts = _rerun(suspects, before, python, project, opts, original) if suspects else {}
    tests = []
    for test_id in dict.fromkeys([*before, *after]):
        b, a = before.get(test_id), after.get(test_id)
        rec = b.outcome.value if b is not None and b.outcome is not None else None
        rep = a.outcome.value if a is not None and a.outcome is not None else None
        change = changed.get(test_id)
        tried = tuple(attempts.get(test_id, ()))
        tests.append(
            TestReplay(
                id=test_id,
                recorded=rec,
                replayed=rep,
                kind=change.kind.value if change is not None else "same",
                flaky=rec is not None and rec in tried,
                attempts=tried,
                recorded_seconds=b.duration if b is not None else None,
                replayed_seconds=a.duration if a is not None else None,
            )
        )
    result = ReplayResult(
        verdict="reproduced",
        reason="",
        exact=exact,
        steps=tuple(steps),
        tests=tuple(tests),
        comparison=comparison,
        replay_bundle=replay_bundle,
    )
    diverged = result.diverged
    if diverged:
        names = ", ".join(t.id for t in diverged[:5]) + (" ..." if len(diverged) > 5 else "")
        reason = f"{len(diverged)} test(s) did not reproduce: {names}"
        return _replace(result, verdict="diverged", reason=reason)
    flaky = sum(t.flaky for t in tests)
    reason = f"every recorded outcome reproduced ({len(before)} tests" + (
        f", {flaky} only on a re-run: flaky)" if flaky else ")"
    )
    return _replace(result, reason=reason)


def _replace(result: ReplayResult, **changes: Any) -> ReplayResult:
    import dataclasses

    return dataclasses.replace(result, **changes)


def _rerun(
    ids: list[str],
    before: Mapping[str, Any],
    python: str,
    project: Path,
    opts: ReplayOptions,
    original: Any,
) -> dict[str, list[str]]:
    """Run each changed test again, up to `opts.reruns` times, until it gets its recorded
    outcome back; the outcomes of every attempt."""
    import subprocess

    from repro import results, runner

    tries: dict[str, list[str]] = {i: [] for i in ids}
    pending = list(ids)
    environ = runner.child_env(_environ(opts, original))
    for attempt in range(opts.reruns):
        if not pending:
            break
        stream = project.parent / f".repro-rerun-{attempt}.jsonl"
        argv = [python, "-m", "pytest", "-p", runner.PLUGIN_NAME, f"--repro-results={stream}"]
        argv += ["-p", "no:randomly", "-p", "no:cacheprovider", "-q", *pending]
        subprocess.run(argv, cwd=project, env=environ, capture_output=True, timeout=3600)
        got = results.parse_events(stream.read_bytes().splitlines()) if stream.exists() else None
        stream.unlink(missing_ok=True)
        still = []
        for test_id in pending:
            outcome = got.outcomes.get(test_id, "missing") if got is not None else "missing"
            tries[test_id].append(outcome)
            recorded = before[test_id].outcome
            if recorded is None or outcome != recorded.value:
                still.append(test_id)
        pending = still
    return tries
