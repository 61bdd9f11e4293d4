"""CI-native output: a run's result where the CI system shows it.

- GitHub Actions (GITHUB_ACTIONS=true): `publish` appends a Markdown summary of the
  run to $GITHUB_STEP_SUMMARY (status, counts, failures, bundle, digest and the
  verify command), kept within GitHub's 1 MiB per step, and returns `::error`
  workflow commands (at most GitHub's 10 per step) for the failures, escaped as
  GitHub's workflow-command rules require.
- GitLab CI (GITLAB_CI=true): nothing to print; GitLab reads the JUnit report the
  job publishes (see .gitlab-ci.yml).
- Both: `ci_record` is env.json's `ci` object, built from an allow-list of
  variables (never a token, nor anything that looks like one).

The failures are read from the run's own results/results.jsonl (repro's plugin wrote
it; it is not an untrusted input). Nothing here prints: the CLI emits the commands.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from repro.redact import strip_url_credentials, value_looks_secret

Provider = Literal["github", "gitlab"]

# Field of env.json's `ci` object -> the variable it comes from, per provider.
# Nothing else is read: tokens (GITHUB_TOKEN, ACTIONS_RUNTIME_TOKEN, CI_JOB_TOKEN,
# CI_REPOSITORY_URL with its embedded token...) are never looked at.
CI_VARIABLES: dict[Provider, dict[str, str]] = {
    "github": {
        "run_id": "GITHUB_RUN_ID",
        "run_attempt": "GITHUB_RUN_ATTEMPT",
        "sha": "GITHUB_SHA",
        "ref": "GITHUB_REF",
        "repository": "GITHUB_REPOSITORY",
        "workflow": "GITHUB_WORKFLOW",
        "job": "GITHUB_JOB",
        "runner_os": "RUNNER_OS",
    },
    "gitlab": {
        "run_id": "CI_PIPELINE_ID",
        "job_id": "CI_JOB_ID",
        "sha": "CI_COMMIT_SHA",
        "ref": "CI_COMMIT_REF_NAME",
        "repository": "CI_PROJECT_PATH",
        "workflow": "CI_PIPELINE_NAME",
        "job": "CI_JOB_NAME",
        "runner_os": "CI_RUNNER_EXECUTABLE_ARCH",
    },
}
MAX_VALUE = 256

SUMMARY_LIMIT = 1 << 20  # GitHub rejects a step summary over 1 MiB
MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations per step
MAX_MESSAGE = 4096  # characters of one annotation's message
MAX_CELL = 300  # characters of one table cell in the summary


def provider(environ: Mapping[str, str]) -> Provider | None:
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if environ.get("GITLAB_CI") == "true":
        return "gitlab"
    return None


def ci_record(environ: Mapping[str, str]) -> dict[str, str | None] | None:
    """env.json's `ci` object: the provider and its allow-listed variables; None outside CI."""
    name = provider(environ)
    if name is None:
        return None
    record: dict[str, str | None] = {"provider": name}
    for field, var in CI_VARIABLES[name].items():
        value = environ.get(var)
        if value is not None and (value_looks_secret(value) or len(value) > MAX_VALUE):
            value = None
        record[field] = strip_url_credentials(value) if value is not None else None
    return record


# --- GitHub workflow commands ------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF encoded (GitHub's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,` (GitHub's escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Failure:
    name: str  # the node id
    file: str  # relative to pytest's rootdir
    line: int | None  # 1-based, the failing line when the traceback names it
    kind: Literal["failure", "error"]
    message: str


def annotation(failure: Failure, *, path: str) -> str:
    props = [f"file={escape_property(path)}"] if path else []
    if path and failure.line is not None:
        props.append(f"line={failure.line}")
    props.append(f"title={escape_property(f'{failure.kind}: {failure.name}')}")
    message = failure.message[:MAX_MESSAGE] or failure.kind
    return f"::error {','.join(props)}::{escape_data(message)}"


# --- failures from the run's results stream ----------------------------------------


def failures(stream: Path, in_flight: str | None = None, why: str = "") -> Iterator[Failure]:
    """Failed and errored reports in the order pytest made them, then the test in flight.

    Read from results.jsonl (docs/results-stream.md) rather than JUnit, which has no
    file or line in pytest's default xunit2 family. Memory holds only the tests that
    have started and not finished.
    """
    from repro.results import category

    open_tests: dict[str, tuple[str, int | None]] = {}  # id -> file, 0-based line
    if not stream.is_file():
        return
    with open(stream, "rb") as fh:
        for raw in fh:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(ev, dict) or not isinstance(ev.get("id"), str):
                continue
            kind, nodeid = ev.get("ev"), ev["id"]
            if kind == "start":
                line = ev.get("line")
                file = ev.get("file") if isinstance(ev.get("file"), str) else None
                where = (file or nodeid.partition("::")[0], line if type(line) is int else None)
                open_tests[nodeid] = where
            elif kind == "collect_error":
                yield _failure(nodeid, (nodeid.partition("::")[0], None), "error", ev)
            elif kind == "report" and category(ev) in ("failed", "error"):
                where = open_tests.get(nodeid) or (nodeid.partition("::")[0], None)
                yield _failure(
                    nodeid, where, "failure" if category(ev) == "failed" else "error", ev
                )
            if kind == "passed" or (kind == "report" and ev.get("when") not in ("setup", "call")):
                open_tests.pop(nodeid, None)
    if in_flight:
        where = open_tests.get(in_flight) or (in_flight.partition("::")[0], None)
        yield _failure(in_flight, where, "error", {"msg": why})


def _failure(
    nodeid: str, where: tuple[str, int | None], kind: Literal["failure", "error"], ev: Any
) -> Failure:
    file, line0 = where
    msg = ev.get("msg") if isinstance(ev.get("msg"), str) else ""
    text = ev.get("text") if isinstance(ev.get("text"), str) else ""
    when = ev.get("when")
    if kind == "error" and isinstance(when, str) and when in ("setup", "teardown"):
        msg = f"error at {when}: {msg}" if msg else f"error at {when}"
    line = _failing_line(file, text)
    if line is None and line0 is not None:
        line = line0 + 1
    return Failure(name=nodeid, file=file, line=line, kind=kind, message=msg.strip() or kind)


def _failing_line(file: str, text: str) -> int | None:
    """The last `file:LINE:` of the traceback: where the test failed, not where it starts."""
    if not file:
        return None
    found = re.findall(rf"^{re.escape(file)}:(\d+):", text, flags=re.MULTILINE)
    return int(found[-1]) if found else None


# --- the step summary -------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """What the summary says about one bundled run."""

    run_id: str
    status: str
    status_reason: str
    counts: Mapping[str, int]
    in_flight: str | None
    bundle: str
    digest: str


def md_cell(text: str, limit: int = MAX_CELL) -> str:
    """One line of plain text that cannot break a Markdown table or inject markup."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    escaped = html.escape(flat, quote=False).replace("|", "&#124;")
    return re.sub(r"([\\`*_\[\]#~])", r"\\\1", escaped)


def summary_head(run: RunSummary) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in run.counts.items() if n) or "no tests"
    rows = [
        f"## repro: {md_cell(run.status)} ({md_cell(counts)})",
        "",
        "| | |",
        "|---|---|",
        f"| Run | {md_cell(run.run_id)} |",
        f"| Status | **{md_cell(run.status)}**: {md_cell(run.status_reason)} |",
        f"| Tests | {md_cell(counts)} |",
    ]
    if run.in_flight:
        rows.append(f"| In flight | {md_cell(run.in_flight)} |")
    rows += [
        f"| Bundle | {md_cell(run.bundle)} |",
        f"| Digest | {md_cell(run.digest)} |",
        "",
        "Verify it with:",
        "",
        "```",
        f"repro verify {run.bundle.replace('`', '')} --expect {run.digest}",
        "```",
        "",
    ]
    return "\n".join(rows) + "\n"


def failure_row(failure: Failure, path: str) -> str:
    where = f"{path}:{failure.line}" if failure.line is not None else path
    first = failure.message.splitlines()[0] if failure.message else failure.kind
    return f"| {md_cell(failure.name)} | {md_cell(where)} | {md_cell(first)} |\n"


def build_summary(
    run: RunSummary, rows: Iterator[str], total_failures: int, budget: int
) -> str | None:
    """The Markdown, at most `budget` UTF-8 bytes; None if not even the head fits.

    Failure rows are added while they fit; a last line says how many were left out.
    """
    head = summary_head(run)
    out = [head]
    size = len(head.encode())
    if size > budget:
        return None
    if total_failures:
        table = f"### Failures ({total_failures})\n\n| Test | Where | Message |\n|---|---|---|\n"
        reserve = len(table.encode()) + 120  # room for the "left out" line
        if size + reserve <= budget:
            out.append(table)
            size += len(table.encode())
            shown = 0
            for row in rows:
                n = len(row.encode())
                if size + n + 120 > budget:
                    break
                out.append(row)
                size += n
                shown += 1
            if shown < total_failures:
                out.append(
                    f"\n_{total_failures - shown} more not shown: the step summary is "
                    "limited to 1 MiB; all are in the bundle's results/results.jsonl._\n"
                )
    return "".join(out)


# --- publishing ------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    provider: Provider | None
    annotations: tuple[str, ...]  # workflow commands for the CLI to print
    summary_path: Path | None  # where the summary was appended
    summary_bytes: int
    warnings: tuple[str, ...]


def publish(
    environ: Mapping[str, str], run: RunSummary, *, run_dir: Path, project: Path
) -> Published:
    """Everything the CI system should show for this run (GitHub only, for now)."""
    name = provider(environ)
    if name != "github":
        return Published(name, (), None, 0, ())
    stream = run_dir / "results" / "results.jsonl"
    base = _rootdir(stream) or project
    workspace = environ.get("GITHUB_WORKSPACE")

    def listed() -> Iterator[Failure]:
        return failures(stream, run.in_flight, run.status_reason)

    total, first = 0, list[str]()
    for f in listed():  # one pass to count, a second (below) to list: bounded memory
        total += 1
        if len(first) < MAX_ANNOTATIONS:
            first.append(annotation(f, path=_repo_path(f.file, base, workspace)))
    notes: list[str] = []
    rows = (failure_row(f, _repo_path(f.file, base, workspace)) for f in listed())
    written, path = 0, environ.get("GITHUB_STEP_SUMMARY")
    if path:
        written, warning = _append_summary(Path(path), run, rows, total)
        notes += [warning] if warning else []
    return Published(name, tuple(first), Path(path) if path else None, written, tuple(notes))


def _rootdir(stream: Path) -> Path | None:
    """pytest's rootdir, which the stream's file names are relative to."""
    try:
        with open(stream, "rb") as fh:
            for raw in fh:
                ev = json.loads(raw)
                if isinstance(ev, dict) and ev.get("ev") == "session":
                    config = ev.get("config")
                    root = config.get("rootdir") if isinstance(config, dict) else None
                    return Path(root) if isinstance(root, str) and root else None
    except (OSError, ValueError):
        pass
    return None


def _repo_path(file: str, base: Path, workspace: str | None) -> str:
    """A test file as GitHub wants it in an annotation: relative to the checkout, `/`."""
    if not file:
        return ""
    full = (base / file).resolve()
    if workspace:
        try:
            return full.relative_to(Path(workspace).resolve()).as_posix()
        except ValueError:
            pass
    return Path(file).as_posix()


def _append_summary(
    path: Path, run: RunSummary, rows: Iterator[str], total: int
) -> tuple[int, str | None]:
    """Append to the step summary without taking it over 1 MiB (other steps' lines count)."""
    try:
        used = path.stat().st_size if path.exists() else 0
    except OSError:
        used = 0
    sep = b"\n" if used else b""  # our part starts on a line of its own
    text = build_summary(run, rows, total, SUMMARY_LIMIT - used - len(sep))
    if text is None:
        return 0, f"no step summary written: {path} already holds {used} bytes of 1 MiB"
    data = text.encode()
    try:
        # Appending is GitHub's protocol for this file (several tools share it), so
        # this is not an atomic replace; one write keeps our part contiguous.
        with open(path, "ab") as fh:
            fh.write(sep + data)
    except OSError as exc:
        return 0, f"cannot write the step summary {path}: {exc.strerror or exc}"
    return len(data), None
