"""`repro verify` against hostile bundles (built by tests/hostile.py).

Each case must be rejected through the real CLI with exit code 1 and one line per problem,
one of them naming the member and the kind of defect; never a traceback, never a write,
and for the bombs in bounded time and memory. A property test then changes single bytes
anywhere in a valid bundle: every change is reported, or leaves the verified content
(the digest) as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro import zipsafe
from repro.cli import main
from repro.verify import VerifyReport, printable, verify
from tests import hostile as h

NFC_NAME = unicodedata.normalize("NFC", "data/café.txt")
NFD_NAME = unicodedata.normalize("NFD", "data/café.txt")
GIB = 1 << 30


@dataclass(frozen=True)
class Want:
    kind: str
    member: str | None  # inside the top folder ("data/x"), a full name ("/x"), or None
    pattern: str  # searched in the message
    full: bool = False  # `member` is a full zip name, not one inside the top folder

    def name(self, top: str) -> str | None:
        if self.member is None or self.full:
            return self.member
        return f"{top}/{self.member}"


@pytest.fixture(scope="module")
def valid(valid_bundle: Path) -> bytes:
    return valid_bundle.read_bytes()


@pytest.fixture(scope="module")
def top(valid: bytes) -> str:
    return h.Zip.parse(valid).top


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def cli(path: Path, *args: str) -> tuple[int, list[str]]:
    res = CliRunner().invoke(main, ["verify", str(path), *args], catch_exceptions=False)
    assert "Traceback" not in res.output
    return res.exit_code, res.stdout.splitlines()


def rejects(path: Path, top: str, *wants: Want, only: bool = False) -> VerifyReport:
    """`path` fails verify() and the CLI, one line per problem, each `want` among them; with
    `only`, nothing but the wants (the builder left no other defect)."""
    report = verify(path)
    assert not report.ok
    problems = [(p.kind, p.member, p.message) for p in report.problems]
    for w in wants:
        hit = [p for p in problems if p[:2] == (w.kind, w.name(top)) and re.search(w.pattern, p[2])]
        assert hit, f"no {w} among {problems}"
    if only:
        for kind, member, msg in problems:
            assert any(
                (kind, member) == (w.kind, w.name(top)) and re.search(w.pattern, msg) for w in wants
            ), f"unexpected problem [{kind}] {member}: {msg}"

    code, lines = cli(path)
    assert code == 1
    assert lines[0].startswith("FAIL (not intact)  tests: ")
    assert lines[0].endswith(f"  {printable(str(path))}")
    shown = [line for line in lines[1:] if line.startswith("  - [")]
    assert len(shown) == len(report.problems)  # one line each: nothing split or forged
    assert all(line.startswith(("  - [", "  warning: ")) for line in lines[1:])
    for w in wants:
        member = w.name(top)
        head = f"  - [{w.kind}] " + (f"{printable(member)}: " if member else "")
        found = [line[len(head) :] for line in shown if line.startswith(head)]
        assert any(re.search(w.pattern, msg) for msg in found), (head, shown)
    return report


def _counts(report: VerifyReport) -> str:
    """The counts of the valid bundle's failing suite, as the verdict line lists them."""
    assert report.counts is not None
    return ", ".join(f"{n} {o.value}" for o, n in report.counts.items() if n)


def save(out: Path, case: str, data: bytes) -> Path:
    return h.save(data, out / case)


# --- the corpus is sound --------------------------------------------------------------------


def test_builders_reproduce_a_valid_bundle_exactly(valid: bytes, valid_bundle: Path) -> None:
    assert h.Zip.parse(valid).pack() == valid
    assert h.rebag(valid, {}) == valid
    assert h.bundle_name(valid) == valid_bundle.name
    assert verify(valid_bundle).ok


def test_a_forger_who_recomputes_everything_gets_a_valid_bundle(valid: bytes, out: Path) -> None:
    """rebag recomputes all that verify checks: any defect the other cases leave is the
    intended one, not a stale hash."""
    m = h.members(valid)
    top = h.top_of(m)
    log = m[f"{top}/data/logs/stdout.log"] + b"one more line\n"
    path = save(out, "forged", h.rebag(valid, {"data/logs/stdout.log": log}))
    report = verify(path)
    assert report.ok, report.problems
    assert report.digest == h.digest_of(path) != h.digest_of(valid)
    code, lines = cli(path, "--expect", str(report.digest))
    assert code == 0 and len(lines) == 1
    assert lines[0] == f"OK (intact)  tests: failed, {_counts(report)}  {report.digest}  {path}"


def test_the_bomb_is_real(valid: bytes) -> None:
    """The deflate bomb inflates to a full GiB of zeros with the CRC it declares (checked in
    4 MiB steps, so this test stays small too)."""
    bomb = h.Zip.parse(h.deflate_bomb(valid)).get("data/logs/stdout.log")
    assert len(bomb.raw) < 1.1 * (1 << 20) and bomb.usize == GIB
    inflater, crc, size, buf = zlib.decompressobj(-15), 0, 0, bomb.raw
    zeros = bytes(4 << 20)
    while buf:
        chunk = inflater.decompress(buf, len(zeros))
        assert chunk == zeros[: len(chunk)]
        crc, size, buf = zlib.crc32(chunk, crc), size + len(chunk), inflater.unconsumed_tail
    assert inflater.eof and (size, crc) == (GIB, bomb.crc)


# --- 1. tampering --------------------------------------------------------------------------------

TAMPER: dict[str, tuple[Callable[[bytes], bytes], list[Want]]] = {
    "byte-in-log": (
        h.flip_byte,
        [Want("fixity", "data/logs/stdout.log", r"sha256 is [0-9a-f]+\.\.\., manifest says")],
    ),
    "byte-in-record": (
        lambda s: h.flip_byte(s, "data/run_metadata.json", at=200),
        [Want("fixity", "data/run_metadata.json", r"sha256 is .* manifest says")],
    ),
    "byte-in-tag-file": (
        lambda s: h.flip_byte(s, "bag-info.txt", at=5),
        [Want("fixity", "bag-info.txt", r"sha256 is .* manifest says")],
    ),
    "member-removed": (
        h.remove_member,
        [Want("missing", "data/logs/stderr.log", "listed in the manifest but not in the bundle")],
    ),
    "record-removed": (
        lambda s: h.remove_member(s, "data/env.json"),
        [
            Want("missing", "data/env.json", "listed in the manifest but not in the bundle"),
            Want("missing", "data/env.json", "required record is missing"),
        ],
    ),
    "tag-file-removed": (
        lambda s: h.remove_member(s, "bag-info.txt"),
        [Want("missing", "bag-info.txt", "required tag file is missing")],
    ),
    "member-added": (
        h.add_member,
        [Want("unexpected", "data/logs/extra.log", "not listed in any manifest")],
    ),
    "member-renamed": (
        h.rename_member,
        [
            Want("missing", "data/logs/stdout.log", "listed in the manifest but not in the bundle"),
            Want("unexpected", "data/logs/stdout.txt", "not listed in any manifest"),
        ],
    ),
}


@pytest.mark.parametrize("case", TAMPER)
def test_tampering_is_reported_by_member(case: str, valid: bytes, top: str, out: Path) -> None:
    build, wants = TAMPER[case]
    rejects(save(out, case, build(valid)), top, *wants, only=True)


def test_tampering_keeps_crcs_valid(valid: bytes, out: Path) -> None:
    """The flipped byte passes every zip-level check: only the manifest's sha256 sees it."""
    path = save(out, "crc", h.flip_byte(valid))
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None


# --- 2. --expect --------------------------------------------------------------------------------


def test_expect_wrong_digest_fails(valid_bundle: Path) -> None:
    wrong = "sha256:" + "0" * 64
    code, lines = cli(valid_bundle, "--expect", wrong)
    assert code == 1
    assert lines[0].startswith("FAIL (not intact)  tests: failed, ")
    assert lines[0].endswith(f"  {valid_bundle}")
    assert any(line.startswith("  - [digest] ") and wrong in line for line in lines)


def test_expect_digest_from_sidecar_passes(valid_bundle: Path) -> None:
    sidecar = valid_bundle.with_name(valid_bundle.name + ".sha256").read_text()
    digest = re.search(r"^# repro content digest: (sha256:[0-9a-f]{64})$", sidecar, re.M)
    assert digest is not None
    code, lines = cli(valid_bundle, "--expect", digest.group(1))
    assert code == 0 and len(lines) == 1
    assert lines[0].startswith("OK (intact)  tests: failed, ")
    assert lines[0].endswith(f"  {digest.group(1)}  {valid_bundle}")


def test_expect_digest_from_report_passes(valid_bundle: Path) -> None:
    res = CliRunner().invoke(main, ["verify", str(valid_bundle), "--json"], catch_exceptions=False)
    digest = json.loads(res.stdout)["bundles"][0]["digest"]
    assert res.exit_code == 0 and digest == verify(valid_bundle).digest
    assert cli(valid_bundle, "--expect", digest)[0] == 0
    # Anything but the whole digest is a usage error, not a verdict (issue 15; more cases
    # in tests/cli/test_attest_cli.py).
    assert cli(valid_bundle, "--expect", digest[7:])[0] == 2
    assert cli(valid_bundle, "--expect", digest[:19])[0] == 2


# --- 3. names ------------------------------------------------------------------------------------

NAMES: dict[str, tuple[Callable[[bytes], bytes], list[Want]]] = {
    "dotdot": (
        lambda s: h.with_entry(s, "../x"),
        [Want("name", "../x", r"'\.\.'", full=True)],
    ),
    "absolute": (
        lambda s: h.with_entry(s, "/x"),
        [Want("name", "/x", "absolute path", full=True)],
    ),
    "drive-letter": (
        lambda s: h.with_entry(s, "C:/x"),
        [Want("name", "C:/x", "drive letter", full=True)],
    ),
    "backslash": (
        lambda s: h.with_entry(s, "a\\..\\x"),
        [Want("name", "a\\..\\x", "backslash", full=True)],
    ),
    "dotdot-inside-top": (
        lambda s: h.with_entry(s, f"{h.Zip.parse(s).top}/data/../../x"),
        [Want("name", "data/../../x", r"'\.\.'")],
    ),
    "symlink": (
        h.symlink_entry,
        [Want("entry", "data/logs/stdout.log", r"symlink entry \(mode 0o120777, host 3\)")],
    ),
    "symlink-made-on-os-x": (
        lambda s: h.symlink_entry(s, made_by=19),
        [Want("entry", "data/logs/stdout.log", r"symlink entry \(mode 0o120777, host 19\)")],
    ),
    "same-name-twice": (
        h.duplicate_entry,
        [Want("name", "data/logs/stdout.log", "^duplicate name$")],
    ),
    "nfc-then-nfd": (
        lambda s: h.with_names(s, NFC_NAME, NFD_NAME),
        [
            Want("name", NFD_NAME, r"same name as '.*caf\\xe9\.txt' once Unicode-normalized"),
            Want("name", NFD_NAME, "not NFC-normalized"),
        ],
    ),
    "nfd-then-nfc": (
        lambda s: h.with_names(s, NFD_NAME, NFC_NAME),
        [
            Want("name", NFD_NAME, "not NFC-normalized"),
            Want("name", NFC_NAME, r"same name as '.*cafe\\u0301\.txt' once Unicode-normalized"),
        ],
    ),
    "case-fold": (
        lambda s: h.with_names(s, "data/logs/STDOUT.log"),
        [Want("name", "data/logs/STDOUT.log", "same name as .*stdout.log.* case-insensitive")],
    ),
    "nul": (
        lambda s: h.raw_name(
            s, "data/logs/stdout.log", f"{h.Zip.parse(s).top}/data/logs/std\x00ut.log".encode()
        ),
        [Want("name", "data/logs/std\x00ut.log", "control character")],
    ),
    "newline": (
        lambda s: h.with_names(s, "data/logs/x\n  - [ok] all good"),
        [Want("name", "data/logs/x\n  - [ok] all good", "control character")],
    ),
    "terminal-escape": (
        lambda s: h.with_names(s, "data/logs/\x1b[2Kx"),
        [Want("name", "data/logs/\x1b[2Kx", "control character")],
    ),
    "bidi-override": (
        lambda s: h.with_names(s, "data/logs/\u202egol.exe"),
        [Want("name", "data/logs/\u202egol.exe", "invisible or control character")],
    ),
}


@pytest.mark.parametrize("case", NAMES)
def test_hostile_names_are_reported(case: str, valid: bytes, top: str, out: Path) -> None:
    build, wants = NAMES[case]
    rejects(save(out, case, build(valid)), top, *wants, only=True)


# --- 4. container --------------------------------------------------------------------------------

LOCAL = "local header disagrees with the central directory"
STAMP = "data/run_stamp.json"
CONTAINER: dict[str, tuple[Callable[[bytes], bytes], list[Want]]] = {
    "local-name": (h.local_disagrees, [Want("container", STAMP, LOCAL)]),
    "local-crc": (partial(h.local_disagrees, crc=0), [Want("container", STAMP, LOCAL)]),
    "local-usize": (partial(h.local_disagrees, usize=1), [Want("container", STAMP, LOCAL)]),
    "local-csize": (partial(h.local_disagrees, csize=1), [Want("container", STAMP, LOCAL)]),
    "local-method": (partial(h.local_disagrees, method=0), [Want("container", STAMP, LOCAL)]),
    "local-flags": (partial(h.local_disagrees, flags=8), [Want("container", STAMP, LOCAL)]),
    "local-time": (partial(h.local_disagrees, time=1), [Want("container", STAMP, LOCAL)]),
    "local-date": (partial(h.local_disagrees, date=2), [Want("container", STAMP, LOCAL)]),
    "overlapping-entries": (
        h.overlapping,
        [Want("container", "data/logs/stdout.lol", "entry overlaps another entry")],
    ),
    "stored-size-lies": (
        lambda s: h.lying_size(s, "bagit.txt", -1),
        [Want("entry", "bagit.txt", "stored entry whose sizes differ")],
    ),
    "bomb-replaces-log": (
        h.deflate_bomb,
        [
            Want(
                "fixity",
                "data/logs/stdout.log",
                rf"declares {GIB} bytes, repro-bundle.json lists \d+ \(not read\)",
            ),
            Want("crosscheck", "data/run_metadata.json", "size or hash of logs/stdout.log"),
        ],
    ),
    "bomb-declared-small": (
        lambda s: h.deflate_bomb(s, lie=True),
        [Want("fixity", "data/logs/stdout.log", "member inflates past its declared size")],
    ),
    "bomb-replaces-tag-file": (
        lambda s: h.deflate_bomb(s, "bag-info.txt"),
        [Want("fixity", "bag-info.txt", rf"member declares {GIB} bytes, more than the \d+")],
    ),
    "encrypted": (h.encrypted, [Want("entry", "data/logs/stdout.log", "^encrypted entry$")]),
    "bytes-prepended": (
        h.prepended,
        [Want("container", None, "central directory ends before the end record .*prepended")],
    ),
    "bytes-prepended-offsets-shifted": (
        lambda s: h.prepended(s, shift=True),
        [Want("container", "bag-info.txt", "entry is preceded by unlisted bytes")],
    ),
    "bytes-appended": (
        h.appended,
        [Want("container", None, r"^13 bytes after the end of the zip")],
    ),
    "archive-comment": (h.commented, [Want("container", None, r"archive comment present")]),
    "truncated-half": (
        h.truncated,
        [Want("container", None, r"^truncated zip \(no end of central directory\)")],
    ),
    "truncated-end-record": (
        lambda s: s[:-5],
        [Want("container", None, r"^truncated zip \(the end record is cut short\)")],
    ),
    "truncated-central-directory": (
        lambda s: s[: s.rindex(b"PK\x01\x02") + 10],
        [Want("container", None, r"^truncated zip")],
    ),
    "empty-file": (h.empty, [Want("container", None, "^empty file$")]),
    "not-a-zip": (h.not_a_zip, [Want("container", None, "^not a zip file")]),
    "end-record-miscounts": (
        lambda s: h.many_entries(s, n=3, count=2 + len(h.Zip.parse(s).entries)),
        [
            Want("container", None, "central directory has trailing bytes"),
            Want("container", None, "unlisted bytes before the central directory"),
        ],
    ),
}

LIES = {
    f"{rel.rsplit('/', 1)[-1]}{delta:+d}{'-crc-of-declared' if crc else ''}": (rel, delta, crc)
    for rel in ("data/logs/stdout.log", "repro-bundle.json")
    for delta in (-1, +100)
    for crc in (True, False)
}


@pytest.mark.parametrize("case", CONTAINER)
def test_container_defects_are_reported(case: str, valid: bytes, top: str, out: Path) -> None:
    build, wants = CONTAINER[case]
    rejects(save(out, case, build(valid)), top, *wants, only=True)


@pytest.mark.parametrize("case", LIES)
def test_lying_sizes_are_reported(case: str, valid: bytes, top: str, out: Path) -> None:
    """Central and local header agree on a size the data does not have. A payload member is
    caught against repro-bundle.json before it is read; a tag file, which has no listed size,
    by the inflater, which stops one byte past the declared size or finds it short."""
    rel, delta, crc = LIES[case]
    path = save(out, case, h.lying_size(valid, rel, delta, crc_of_declared=crc))
    real = h.Zip.parse(valid).get(rel).usize
    if rel.startswith("data/"):
        message = rf"declares {real + delta} bytes, repro-bundle.json lists {real} \(not read\)"
    elif delta < 0:
        message = "member inflates past its declared size"
    else:
        message = rf"member holds {real} bytes, {real + delta} declared"
    rejects(path, top, Want("fixity", rel, message))


@pytest.fixture(scope="module")
def many(valid: bytes, out: Path) -> Path:
    return h.save(h.many_entries(valid), out / "many", sidecar=False)


def test_100k_entries_are_refused(many: Path, top: str) -> None:
    rejects(many, top, Want("container", None, r"^100\d{3} entries \(limit 10000\)$"), only=True)


# --- 5. bag content ------------------------------------------------------------------------------

BAG: dict[str, tuple[Callable[[bytes], bytes], list[Want]]] = {
    "manifest-escapes-bag": (
        lambda s: h.manifest_line(s, f"{'0' * 64}  ../../etc/passwd"),
        [Want("bag", "manifest-sha256.txt", r"unsafe path '\.\./\.\./etc/passwd'")],
    ),
    "manifest-lists-tag-file": (
        lambda s: h.manifest_line(s, f"{'0' * 64}  bagit.txt"),
        [Want("bag", "manifest-sha256.txt", r"unsafe path 'bagit.txt' \(outside data/\)")],
    ),
    "manifest-absolute": (
        lambda s: h.manifest_line(s, f"{'0' * 64}  /etc/passwd"),
        [Want("bag", "manifest-sha256.txt", r"unsafe path '/etc/passwd' \(absolute path\)")],
    ),
    "tagmanifest-lists-payload": (
        lambda s: h.manifest_line(s, f"{'0' * 64}  data/env.json", "tagmanifest-sha256.txt"),
        [Want("bag", "tagmanifest-sha256.txt", "unsafe path 'data/env.json' .*tag files only")],
    ),
    "record-invalid-against-schema": (
        h.schema_invalid_metadata,
        [
            Want(
                "schema",
                "data/run_metadata.json",
                "does not match schema run_metadata: tests_total: 'four' is not of type",
            )
        ],
    ),
    "record-invalid-with-weakened-schema-shipped": (
        h.invalid_metadata_with_weakened_schema,
        [
            Want("schema", "data/run_metadata.json", "tests_total: 'four' is not of type"),
            Want("schema", "data/schemas/run_metadata.schema.json", "differs from repro's own"),
        ],
    ),
    "weakened-schema-shipped": (
        h.weakened_schema,
        [Want("schema", "data/schemas/run_metadata.schema.json", "differs from repro's own")],
    ),
    "counts-contradict-results": (
        h.contradicting_counts,
        [
            # junit.xml is checked against the stream, which the edit left alone.
            Want("crosscheck", "data/run_metadata.json", r"counts .* differ from results.jsonl"),
        ],
    ),
    "python-asked-is-not-python-ran": (
        h.python_asked_is_not_python_ran,
        [Want("crosscheck", "data/run_metadata.json", "--python asked for Python 3.99 but")],
    ),
    "python-probed-is-not-python-ran": (
        h.python_probed_is_not_python_ran,
        [Want("crosscheck", "data/run_metadata.json", "probed but pytest ran under 2.7.18")],
    ),
    "junit-outcome-changed": (
        h.junit_outcome_changed,
        [Want("crosscheck", "data/results/junit.xml", r"failure, error or skip elements")],
    ),
    "junit-lacks-the-test-in-flight": (
        h.junit_without_the_test_in_flight,
        [Want("crosscheck", "data/results/junit.xml", "test cases, results.jsonl says")],
    ),
    "passed-with-exit-code-1": (
        h.passed_with_exit_1,
        [Want("crosscheck", "data/run_metadata.json", "status passed is inconsistent with exit")],
    ),
    "record-nested-too-deeply": (
        h.deep_json,
        [Want("schema", "data/env.json", "nested too deeply")],
    ),
    "results-events-malformed": (
        h.bad_results_events,
        [Want("crosscheck", "data/results/results.jsonl", "not a valid results stream")],
    ),
}


@pytest.mark.parametrize("case", BAG)
def test_bag_content_defects_are_reported(case: str, valid: bytes, top: str, out: Path) -> None:
    """Everything a forger can recompute is recomputed, file name included: only the defect
    itself is left, and it is the only thing reported."""
    build, wants = BAG[case]
    path = save(out, case, build(valid))
    assert path.name == h.bundle_name(path) != h.bundle_name(valid)
    report = rejects(path, top, *wants, only=True)
    assert report.digest == h.digest_of(path)


# --- 6. bounded resources, no writes -------------------------------------------------------------

CHILD = """
import resource, sys, time
from pathlib import Path
from repro.verify import verify
t = time.monotonic()
report = verify(Path(sys.argv[1]))
print(report.ok, len(report.problems), time.monotonic() - t,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
# Linux carries a process's RSS high-water mark across fork and exec into ru_maxrss, so a
# child of pytest (grown big building the corpus) would report pytest's peak: a small
# launcher in between gives the child a baseline of its own size.
LAUNCH = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns)
        for folder in folders
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def quiet_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An empty cwd, and HOME and TMPDIR pointing at empty folders, to catch any write."""
    for d in ("cwd", "home", "tmp"):
        (tmp_path / d).mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return tmp_path, env


@pytest.mark.parametrize("case", ["bomb-replaces-log", "bomb-declared-small", "100k-entries"])
def test_bombs_are_refused_in_bounded_time_and_memory(
    case: str,
    valid: bytes,
    many: Path,
    out: Path,
    quiet_env: tuple[Path, dict[str, str]],
) -> None:
    if case == "100k-entries":
        path = many
    else:
        path = save(out, f"bounded-{case}", CONTAINER[case][0](valid))
    root, env = quiet_env
    before = _snapshot(path.parent)
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCH, sys.executable, "-c", CHILD, str(path)],
        cwd=root / "cwd",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    wall = time.monotonic() - t
    assert proc.returncode == 0, proc.stderr
    ok, n, _inner, maxrss_kib = proc.stdout.split()
    assert ok == "False" and int(n) >= 1
    assert wall < 5, f"verify took {wall:.1f}s"
    rss = int(maxrss_kib) * (1 if sys.platform == "darwin" else 1024)
    assert rss < 100 << 20, f"peak RSS {rss >> 20} MiB"
    assert _snapshot(path.parent) == before
    assert _snapshot(*(root / d for d in ("cwd", "home", "tmp"))) == {}


def test_verify_never_writes(
    valid: bytes, valid_bundle: Path, out: Path, quiet_env: tuple[Path, dict[str, str]]
) -> None:
    """Every case above through the real CLI in one process: exit 1, a FAIL per bundle, no
    traceback, and not a byte written in its cwd, HOME, TMPDIR or next to the bundles."""
    root, env = quiet_env
    folder = out / "never-writes"
    paths = [valid_bundle]
    builders = {name: build for name, (build, _) in {**TAMPER, **NAMES, **CONTAINER, **BAG}.items()}
    for case, build in {**h.corpus(), **builders}.items():
        paths.append(h.save(build(valid), folder / case))
    before = _snapshot(folder, valid_bundle.parent)
    proc = subprocess.run(
        [sys.executable, "-m", "repro", "verify", *map(str, paths)],
        cwd=root / "cwd",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("OK (intact)  tests: failed, ")
    assert lines[0].endswith(f"  {valid_bundle}")
    assert [line.rsplit("  ", 1)[1] for line in lines if line.startswith("FAIL ")] == list(
        map(str, paths[1:])
    )
    assert all(line.startswith(("OK (", "FAIL (", "  - [", "  warning: ")) for line in lines)
    assert _snapshot(folder, valid_bundle.parent) == before
    assert _snapshot(*(root / d for d in ("cwd", "home", "tmp"))) == {}


# --- 7. any single byte --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def structure(valid: bytes) -> list[int]:
    """Offsets of every header byte (local headers, central directory, end record): the
    bytes most likely to confuse a reader, drawn as often as the rest."""
    z = h.Zip.parse(valid)
    offsets: list[int] = []
    pos = 0
    for e in z.entries:
        offsets += range(pos, pos + h.LFH.size + len(e.name))
        pos += h.LFH.size + len(e.name) + len(e.raw)
    offsets += range(pos, len(valid))
    return offsets


@pytest.fixture(scope="module")
def original(valid_bundle: Path) -> VerifyReport:
    report = verify(valid_bundle)
    assert report.ok and report.digest
    return report


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_single_byte_change_is_caught_or_harmless(
    data: st.DataObject,
    valid: bytes,
    valid_bundle: Path,
    original: VerifyReport,
    structure: list[int],
) -> None:
    offset = data.draw(
        st.one_of(st.integers(0, len(valid) - 1), st.sampled_from(structure)), label="offset"
    )
    value = data.draw(st.integers(0, 255).filter(lambda v: v != valid[offset]), label="value")
    mutated = bytearray(valid)
    mutated[offset] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / valid_bundle.name
        path.write_bytes(mutated)
        sidecar = valid_bundle.with_name(valid_bundle.name + ".sha256")
        path.with_name(sidecar.name).write_bytes(sidecar.read_bytes())
        report = verify(path)
    for p in report.problems:
        assert str(p).isprintable()
    if report.ok:
        # Accepted: then what was verified is exactly the original content.
        assert report.digest == original.digest
        assert (report.run_id, report.status) == (original.run_id, original.status)


# --- 8. the zip reader alone ---------------------------------------------------------------------
# Shapes a zip can take that a small bundle never does (sizes and offsets in a zip64 extra
# field, as for a member past 4 GiB; extra fields of every length around it), what follows
# an end record, and members read as a bounded stream, on archives and members built record
# by record (kept in this file: the mutation run's test selection is fixed, docs/testing.md).

FULL = 0xFFFFFFFF
DATA = {"top/a.txt": b"alpha\n" * 100, "top/b.txt": b"b"}


def _other(tag: int, body: bytes) -> bytes:
    return struct.pack("<HH", tag, len(body)) + body


def _zip64(*values: int) -> bytes:
    return _other(0x0001, struct.pack(f"<{len(values)}Q", *values))


def _plain() -> h.Zip:
    return h.Zip([h.Entry.make(name, data) for name, data in DATA.items()])


def _offsets() -> list[int]:
    return [e.offset for e in zipsafe.read_archive(io.BytesIO(_plain().pack())).entries]


def _read(data: bytes) -> zipsafe.Archive:
    return zipsafe.read_archive(io.BytesIO(data))


# Extra fields before the zip64 one: none, a short one, two (the walk must step over each),
# one whose length does not fit a signed 16-bit number.
BEFORE = {
    "alone": b"",
    "after-a-timestamp": _other(0x5455, b"\x01\x00\x00\x00\x00"),
    "after-two-fields": _other(0x5455, b"\x01\x00\x00\x00\x00") + _other(0x7875, b"\x01" * 11),
    "after-a-40000-byte-field": _other(0x9999, bytes(40000)),
}


@pytest.mark.parametrize("before", BEFORE.values(), ids=BEFORE)
def test_zip64_central_records_are_read(before: bytes) -> None:
    """Sizes and offset saturated in the central record and given in its zip64 field (as
    for a member past 4 GiB): the member is read exactly, wherever the field sits."""
    z = _plain()
    for e, offset in zip(z.entries, _offsets(), strict=True):
        csize, usize = len(e.raw), e.usize
        e.central = {
            "usize": FULL,
            "csize": FULL,
            "offset": FULL,
            "extra": before + _zip64(usize, csize, offset) + _other(0x5455, b"\x00"),
        }
    data = z.pack()
    arc = _read(data)
    assert arc.problems == [] and not arc.fatal
    assert [(e.name, e.usize, e.csize) for e in arc.entries] == [
        (e.text, e.usize, len(e.raw)) for e in z.entries
    ]
    for e in arc.entries:
        assert zipsafe.read_member(io.BytesIO(data), e, 1 << 20) == DATA[e.name]


# Which central fields are saturated, and the zip64 field that fails to give them all.
MISSING = {
    "usize-no-field": ({"usize": FULL}, _other(0x5455, b"\x00")),
    "usize-empty-field": ({"usize": FULL}, _zip64()),
    "csize-empty-field": ({"csize": FULL}, _zip64()),
    "offset-empty-field": ({"offset": FULL}, _zip64()),
    "offset-after-two-values": ({"usize": FULL, "csize": FULL, "offset": FULL}, _zip64(5, 5)),
    # 7 bytes cannot hold a value; the byte after it belongs to the next field
    "field-of-7-bytes": ({"usize": FULL}, _other(0x0001, bytes(7)) + _other(0x5455, b"\x00")),
}


@pytest.mark.parametrize("case", MISSING)
def test_zip64_values_that_are_not_there_are_refused(case: str) -> None:
    saturated, extra = MISSING[case]
    z = _plain()
    z.entries[0].central = {**saturated, "extra": extra}
    arc = _read(z.pack())
    assert arc.problems == [("container", "top/a.txt", "zip64 sizes missing")]
    assert arc.fatal and arc.entries == []


# --- an archive whose last bytes are not a bare end record --------------------------------------

TAIL = {
    "comment": (
        {"comment": b"hello"},
        "archive comment present (5 bytes)",
    ),
    "appended": ({"suffix": b"x" * 7}, "7 bytes after the end of the zip (appended data)"),
    "comment-and-appended": (
        {"comment": b"hello", "suffix": b"x" * 7},
        "7 bytes after the end of the zip (appended data)",
    ),
    "comment-cut-short": (
        {"eocd": {"clen": 9}, "comment": b"hello"},
        "truncated zip (the archive comment is cut short)",
    ),
}


@pytest.mark.parametrize("case", TAIL)
def test_what_follows_the_end_record_is_named(case: str) -> None:
    fields, message = TAIL[case]
    z = _plain()
    for name, value in fields.items():
        setattr(z, name, value)
    arc = _read(z.pack())
    assert arc.problems == [("container", None, message)] and arc.fatal


def test_an_end_record_is_found_in_the_last_64_kib_only() -> None:
    """The search window is the largest comment a zip can have: an end record further back
    is not found, and the file is not called a zip with appended data."""
    z = _plain()
    z.suffix = bytes(0xFFFF + 1)
    arc = _read(z.pack())
    assert arc.problems == [("container", None, "truncated zip (no end of central directory)")]
    z.suffix = bytes(0xFFFF)
    arc = _read(z.pack())
    assert arc.problems == [
        ("container", None, f"{0xFFFF} bytes after the end of the zip (appended data)")
    ]


def test_an_empty_zip_with_a_comment_is_named_as_such() -> None:
    """The end record is the file's first byte: still found."""
    arc = _read(h.Zip([], comment=b"hello").pack())
    assert arc.problems == [("container", None, "archive comment present (5 bytes)")]


def test_a_name_problem_is_reported_and_the_members_stay_readable() -> None:
    """Only a container that cannot be trusted is fatal; a bad name is one problem."""
    z = _plain()
    z.entries[1] = h.Entry.make("top/b\\c.txt", b"b")
    arc = _read(z.pack())
    assert arc.problems == [("name", "top/b\\c.txt", "backslash in name")]
    assert not arc.fatal and [e.name for e in arc.entries] == ["top/a.txt", "top/b\\c.txt"]


# --- members as a bounded stream -----------------------------------------------------------------

BIG = bytes(10 << 20)  # 10 MiB of zeros: ~10 KB deflated, inflated in several bounded steps


def _member(data: bytes, *, deflated: bool = True, **lie: int) -> tuple[io.BytesIO, zipsafe.Entry]:
    """A lone member's stored bytes and an entry for them (fields in `lie` overridden)."""
    raw = h.deflate(data) if deflated else data
    e = zipsafe.Entry(
        name="m",
        method=8 if deflated else 0,
        flags=0,
        crc=zlib.crc32(data),
        csize=len(raw),
        usize=len(data),
        offset=0,
    )
    return io.BytesIO(raw), dataclasses.replace(e, **lie)


def _stream(fh: io.BytesIO, e: zipsafe.Entry, limit: int | None = None) -> list[bytes]:
    return list(zipsafe.stream_member(fh, e, limit))


@pytest.mark.parametrize("deflated", [True, False], ids=["deflated", "stored"])
def test_a_large_member_streams_in_bounded_steps_with_its_crc_checked(deflated: bool) -> None:
    data = BIG if deflated else BIG[: zipsafe.READ + 1]  # stored: one byte past a read
    fh, e = _member(data, deflated=deflated)
    chunks = _stream(fh, e)
    assert b"".join(chunks) == data and len(chunks) > 1
    assert max(map(len, chunks)) <= 4 * zipsafe.READ  # never more than one step in memory
    seen: list[int] = []
    fh.seek(0)
    assert zipsafe.hash_member(fh, e, advance=seen.append) == hashlib.sha256(data).hexdigest()
    assert sum(seen) == len(data)  # the progress shown is the bytes read


MEMBER_ERRORS = {
    "archive-ends-inside": (lambda: _member(b"x" * 50, deflated=False, csize=100, usize=100)),
    "corrupt-deflate": (lambda: (io.BytesIO(b"\xff" * 20), _member(b"x" * 50)[1])),
    "truncated-deflate": (lambda: _cut(_member(b"abc" * 1000))),
    "data-after-the-stream": (lambda: _padded(_member(b"abc" * 1000))),
    "inflates-past-its-size": (lambda: _member(BIG, usize=(4 << 20) + 5)),
    "holds-fewer-bytes": (lambda: _member(b"x" * 50, usize=51)),
    "crc-mismatch": (lambda: _member(b"x" * 50, crc=1)),
}
MESSAGES = {
    "archive-ends-inside": "^archive ends inside this member$",
    "corrupt-deflate": r"^corrupt deflate data \(.+\)$",
    "truncated-deflate": "^deflate stream is truncated$",
    "data-after-the-stream": "^data after the end of the deflate stream$",
    "inflates-past-its-size": "^member inflates past its declared size$",
    "holds-fewer-bytes": "^member holds 50 bytes, 51 declared$",
    "crc-mismatch": "^CRC mismatch$",
}


def _cut(m: tuple[io.BytesIO, zipsafe.Entry]) -> tuple[io.BytesIO, zipsafe.Entry]:
    fh, e = m
    raw = fh.getvalue()[:-4]
    return io.BytesIO(raw), dataclasses.replace(e, csize=len(raw))


def _padded(m: tuple[io.BytesIO, zipsafe.Entry]) -> tuple[io.BytesIO, zipsafe.Entry]:
    fh, e = m
    raw = fh.getvalue() + b"\x00junk"
    return io.BytesIO(raw), dataclasses.replace(e, csize=len(raw))


@pytest.mark.parametrize("case", MEMBER_ERRORS)
def test_a_member_that_is_not_what_it_declares_is_refused(case: str) -> None:
    fh, e = MEMBER_ERRORS[case]()
    produced = 0
    with pytest.raises(zipsafe.MemberError, match=MESSAGES[case]):
        for chunk in zipsafe.stream_member(fh, e):
            produced += len(chunk)
            assert produced <= e.usize  # never more than declared
    assert produced <= e.usize


def test_read_member_takes_a_member_of_exactly_the_limit_and_refuses_one_more() -> None:
    fh, e = _member(b"x" * 300)
    assert zipsafe.read_member(fh, e, 300) == b"x" * 300
    with pytest.raises(
        zipsafe.MemberError, match=r"^member declares 300 bytes, more than the 299 allowed$"
    ):
        zipsafe.read_member(fh, e, 299)
    # One that inflates past its declared size is stopped there, under the limit.
    fh, e = _member(b"x" * 300, usize=200)
    with pytest.raises(zipsafe.MemberError, match=r"^member inflates past its declared size$"):
        zipsafe.read_member(fh, e, 250)
    fh, e = _member(b"x" * 300)
    with pytest.raises(zipsafe.MemberError, match=r"^member is larger than 250 bytes$"):
        _stream(fh, e, limit=250)


def test_read_member_returns_a_member_read_in_several_steps_whole() -> None:
    fh, e = _member(BIG)
    assert zipsafe.read_member(fh, e, len(BIG)) == BIG


NAME_RULES: dict[str, tuple[str, str | None]] = {
    "empty": ("", "empty name"),
    "unit-separator": ("top/a\x1fb", "control character in name"),
    "delete": ("top/a\x7fb", "control character in name"),
    "c1-control": ("top/a\x80b", "invisible or control character in name"),
    "zero-width-space": ("top/a\u200bb", "invisible or control character in name"),
    "backslash": ("top/a\\b", "backslash in name"),
    "drive-letter": ("C:/top/a", "colon in name (drive letter or stream)"),
    "absolute": ("/top/a", "absolute path"),
    "empty-component": ("top//a", "'.', '..' or empty path component"),
    "dot": ("top/./a", "'.', '..' or empty path component"),
    "dotdot": ("top/../a", "'.', '..' or empty path component"),
    "nfd": ("top/cafe\u0301", "name is not NFC-normalized"),
    "space": ("top/a b", None),  # a space is a printable character like any other
    "dots-inside-a-component": ("top/~!b.c..d", None),
}


@pytest.mark.parametrize("case", NAME_RULES)
def test_names_are_judged_character_by_character(case: str) -> None:
    name, why = NAME_RULES[case]
    assert zipsafe.name_problem(name) == why


@pytest.mark.parametrize("shape", ["overlap", "gap"])
def test_entries_that_do_not_tile_the_file_are_fatal(shape: str) -> None:
    """Two central records for one local header, or bytes before the first one: the
    container cannot be trusted, so no member is read."""
    z = _plain()
    if shape == "overlap":
        z.aliases = [(0, b"top/c.txt")]
        want = ("container", "top/c.txt", "entry overlaps another entry")
    else:
        z.prefix, z.shift_offsets = b"junk", True
        want = ("container", "top/a.txt", "entry is preceded by unlisted bytes")
    arc = _read(z.pack())
    assert want in arc.problems and arc.fatal


def _lying(**fields: int) -> bytes:
    """The plain archive, its first member's local and central headers both saying `fields`."""
    z = _plain()
    z.entries[0].local = dict(fields)
    z.entries[0].central = dict(fields)
    return z.pack()


def _local_only(**fields: int) -> bytes:
    z = _plain()
    z.entries[0].local = dict(fields)
    return z.pack()


Z64 = "malformed zip64 end records"
CD_END = "the end record (prepended, inserted or truncated data)"


def _cd_size() -> int:
    plain = _plain().pack()
    return int(h.EOCD.unpack(plain[-h.EOCD.size :])[5])


BROKEN = {
    "empty-file": (lambda: b"", [("container", None, "empty file")]),
    "21-bytes": (lambda: h.Zip([]).pack()[1:], [("container", None, "not a zip file (too short)")]),
    "local-header-disagrees": (
        lambda: _local_only(crc=0),
        [("container", "top/a.txt", "local header disagrees with the central directory")],
    ),
    "data-runs-into-the-central-directory": (
        lambda: _lying(csize=len(_plain().entries[0].raw) + 1000),
        [("container", "top/a.txt", "entry data runs into the central directory")],
    ),
    "disk-number": (lambda: _end(disk=1), [("container", None, "multi-disk archive")]),
    "central-directory-disk": (
        lambda: _end(cd_disk=1),
        [("container", None, "multi-disk archive")],
    ),
    "entries-on-this-disk": (lambda: _end(n_disk=1), [("container", None, "multi-disk archive")]),
    # A saturated classic field means zip64: its end records must be there.
    "saturated-count": (lambda: _end(n=0xFFFF, n_disk=0xFFFF), [("container", None, Z64)]),
    "saturated-size": (lambda: _end(cd_size=FULL), [("container", None, Z64)]),
    "saturated-offset": (lambda: _end(cd_off=FULL), [("container", None, Z64)]),
    "saturated-in-42-bytes": (
        lambda: h.Zip([], eocd={"n": 0xFFFF, "n_disk": 0xFFFF}).pack(),
        [("container", None, "truncated zip64 records")],
    ),
    "central-directory-ends-before-the-end-record": (
        lambda: _end(cd_size=_cd_size() - 1),
        [("container", None, f"central directory ends before {CD_END}")],
    ),
    "central-directory-ends-past-the-end-record": (
        lambda: _end(cd_size=_cd_size() + 1),
        [("container", None, f"central directory ends past {CD_END}")],
    ),
    # The entry count is refused before anything is read: one past the limit, not at it.
    "entries-past-the-limit": (
        lambda: _end(n=zipsafe.MAX_ENTRIES + 1, n_disk=zipsafe.MAX_ENTRIES + 1),
        [("container", None, f"{zipsafe.MAX_ENTRIES + 1} entries (limit {zipsafe.MAX_ENTRIES})")],
    ),
    "entries-at-the-limit": (
        lambda: _end(n=zipsafe.MAX_ENTRIES, n_disk=zipsafe.MAX_ENTRIES),
        [("container", None, "central directory is truncated")],
    ),
    # A locator is followed wherever it is found, even at the first byte.
    "locator-at-byte-0": (lambda: _at_byte_0({}), [("container", None, Z64)]),
    "saturated-with-locator-at-byte-0": (
        lambda: _at_byte_0({"n": 0xFFFF, "n_disk": 0xFFFF}),
        [("container", None, Z64)],
    ),
}


def _end(**fields: int) -> bytes:
    z = _plain()
    z.eocd = dict(fields)
    return z.pack()


def _at_byte_0(fields: dict[str, int]) -> bytes:
    """A zip64 locator (pointing nowhere sensible) and an end record: 42 bytes."""
    z = h.Zip([], eocd=fields)
    return h.LOC64.pack(b"PK\x06\x07", 0, 0, 1) + z.pack()


@pytest.mark.parametrize("case", BROKEN)
def test_a_container_that_cannot_be_trusted_is_one_fatal_problem(case: str) -> None:
    build, problems = BROKEN[case]
    arc = _read(build())
    assert arc.problems == problems and arc.fatal


def test_an_empty_zip_is_a_valid_container() -> None:
    """22 bytes, the end record alone: nothing wrong with the container (verify then finds
    the bag missing)."""
    arc = _read(h.Zip([]).pack())
    assert arc.problems == [] and not arc.fatal and arc.entries == []


def _zip64_end(classic: dict[str, int] | None = None, **record: object) -> bytes:
    """The plain archive with zip64 end records (as for a central directory past 4 GiB or
    more than 65,535 entries): `record` overrides fields of the zip64 end record, `classic`
    fields of the classic one."""
    plain = _plain().pack()
    body, end = (
        plain[: -h.EOCD.size],
        dict(zip(h.EOCD_FIELDS, h.EOCD.unpack(plain[-22:]), strict=True)),
    )
    rec: dict[str, object] = {
        "sig": b"PK\x06\x06",
        "size": h.EOCD64.size - 12,
        "made": 45,
        "need": 45,
        "disk": 0,
        "cd_disk": 0,
        "n_disk": end["n"],
        "n": end["n"],
        "cd_size": end["cd_size"],
        "cd_off": end["cd_off"],
        **record,
    }
    tail = h.EOCD64.pack(*rec.values()) + h.LOC64.pack(b"PK\x06\x07", 0, len(body), 1)
    end.update(classic or {})
    return body + tail + h.EOCD.pack(*(end[f] for f in h.EOCD_FIELDS))


SATURATED = {"n": 0xFFFF, "n_disk": 0xFFFF, "cd_size": FULL, "cd_off": FULL}
ZIP64_END = {
    "classic-fields-equal": ({}, {}, []),
    "classic-fields-saturated": (SATURATED, {}, []),
    "counts-disagree": (
        {"n": 3, "n_disk": 3},
        {},
        [("container", None, "zip64 and classic end records disagree")],
    ),
    "signature": ({}, {"sig": b"PK\x06\x07"}, [("container", None, "malformed zip64 end record")]),
    "record-size": ({}, {"size": 45}, [("container", None, "malformed zip64 end record")]),
}


@pytest.mark.parametrize("case", ZIP64_END)
def test_zip64_end_records_are_checked_against_the_classic_one(case: str) -> None:
    classic, record, problems = ZIP64_END[case]
    arc = _read(_zip64_end(classic, **record))
    assert arc.problems == problems and arc.fatal is bool(problems)
    if not problems:
        assert [e.name for e in arc.entries] == list(DATA)


def _central(i: int, **fields: object) -> bytes:
    z = _plain()
    z.entries[i].central = dict(fields)
    return z.pack()


def _unflagged_utf8() -> bytes:
    z = _plain()
    z.entries[1] = dataclasses.replace(h.Entry.make("top/café.txt", b"b"), flags=0)
    return z.pack()


def _with(extra: h.Entry) -> bytes:
    z = _plain()
    z.entries.append(extra)
    return z.pack()


def _empty_name_last() -> bytes:
    z = _plain()
    z.entries[1] = h.Entry.make("", b"b")
    return z.pack()


CENTRAL = {
    "corrupt-record": (
        lambda: _central(1, sig=b"PK\x01\x03"),
        [("container", None, "corrupt central directory")],
        True,
    ),
    # A comment after a record's name and extra field: the next record starts after it.
    "record-comment": (lambda: _central(0, extra=b"abc", xlen=0, clen=3), [], False),
    "utf-8-name-without-the-flag": (
        _unflagged_utf8,
        [
            (
                "name",
                "top/caf\\xc3\\xa9.txt",
                "name is not valid UTF-8 (or ASCII without the UTF-8 flag)",
            )
        ],
        False,
    ),
    "directory-entry": (
        lambda: _with(h.Entry.make("top/d/", b"")),
        [
            ("entry", "top/d/", "directory entry"),
            ("name", "top/d/", "'.', '..' or empty path component"),
        ],
        False,
    ),
    "entry-on-another-disk": (
        lambda: _central(0, disk=1),
        [("container", "top/a.txt", "entry on another disk")],
        True,
    ),
    "fewer-entries-than-records": (
        lambda: _end(n=1, n_disk=1),
        [
            ("container", None, "central directory has trailing bytes"),
            ("container", None, "unlisted bytes before the central directory"),
        ],
        True,
    ),
    # Bytes that are no UTF-8 are named escaped (the local header, which has them raw,
    # cannot match the replaced name), never a crash.
    "name-not-utf-8": (
        lambda: _with(h.Entry.make(b"top/\xff.txt", b"x")),
        [
            ("name", "top/\\xff.txt", "name is not valid UTF-8 (or ASCII without the UTF-8 flag)"),
            ("container", "top/\ufffd.txt", "local header disagrees with the central directory"),
        ],
        True,
    ),
    # The last record ends exactly at the end of the central directory.
    "shortest-last-record": (_empty_name_last, [("name", "", "empty name")], False),
}


@pytest.mark.parametrize("case", CENTRAL)
def test_central_records_are_read_one_after_another(case: str) -> None:
    build, problems, fatal = CENTRAL[case]
    arc = _read(build())
    assert arc.problems == problems and arc.fatal is fatal


def _entry(i: int, **fields: object) -> bytes:
    """The plain archive with member `i` changed in both headers (so they agree)."""
    z = _plain()
    z.entries[i] = dataclasses.replace(z.entries[i], **fields)  # type: ignore[arg-type]
    return z.pack()


def _ratio(usize: int, raw: bytes) -> bytes:
    z = _plain()
    z.entries.append(h.Entry(b"top/z", raw, method=8, crc=0, usize=usize))
    return z.pack()


A_RAW = len(_plain().entries[0].raw)  # "top/a.txt", deflated
ENTRY_RULES = {
    "unsupported-flags": (lambda: _entry(0, flags=0x0008), "top/a.txt", "unsupported flags 0x0008"),
    "strong-encryption": (lambda: _entry(0, flags=0x0040), "top/a.txt", "encrypted entry"),
    "unsupported-method": (
        lambda: _entry(0, method=12),
        "top/a.txt",
        "unsupported compression method 12",
    ),
    "stored-sizes-differ": (
        lambda: _entry(1, usize=2),
        "top/b.txt",
        "stored entry whose sizes differ",
    ),
    "ratio-past-deflate's-limit": (
        lambda: _entry(0, usize=A_RAW * zipsafe.MAX_RATIO + 1),
        "top/a.txt",
        f"declared size {A_RAW * zipsafe.MAX_RATIO + 1} is impossible for {A_RAW} compressed bytes",
    ),
    "ratio-at-the-limit": (lambda: _entry(0, usize=A_RAW * zipsafe.MAX_RATIO), None, None),
    "directory-type": (
        lambda: _entry(0, eattr=(0o040755 << 16)),
        "top/a.txt",
        "non-regular file entry (mode 0o40755, host 3)",
    ),
    "no-file-type-at-all": (lambda: _entry(0, eattr=0), None, None),  # as DOS hosts write
    "one-compressed-byte": (
        lambda: _ratio(zipsafe.MAX_RATIO + 1, b"\x03"),
        "top/z",
        f"declared size {zipsafe.MAX_RATIO + 1} is impossible for 1 compressed bytes",
    ),
}


@pytest.mark.parametrize("case", ENTRY_RULES)
def test_entries_repro_would_not_write_are_one_problem_each(case: str) -> None:
    """Not fatal: the container is sound, the member is not one repro would write."""
    build, member, message = ENTRY_RULES[case]
    arc = _read(build())
    assert arc.problems == ([("entry", member, message)] if message else []) and not arc.fatal
