"""Each check `repro verify` makes beyond the container, one defect at a time.

Every case is built by a forger who recomputes all that can be recomputed (tests/hostile.py),
so the defect under test is the only one; removing the check it targets makes its case
fail (docs/testing.md lists the checks and their tests).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from repro.bundle import pack
from repro.verify import verify
from tests import hostile as h
from tests.conftest import PASSING, real_run
from tests.unit.test_verify_hostile import Want, cli, rejects


@pytest.fixture(scope="module")
def valid(valid_bundle: Path) -> bytes:
    return valid_bundle.read_bytes()


@pytest.fixture(scope="module")
def top(valid: bytes) -> str:
    return h.Zip.parse(valid).top


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real bundle of a passing run that includes a lock."""
    root = tmp_path_factory.mktemp("locked")
    run_dir = real_run(root, {**PASSING, "requirements.lock": "pytest\n"}, lock="requirements.lock")
    return pack(run_dir, out_dir=root / "bundles").path.read_bytes()


def copy_bundle(valid_bundle: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or valid_bundle.name)
    shutil.copyfile(valid_bundle, path)
    return path


# --- the digest's anchors: file name and sidecar ---------------------------------------------


def test_sidecar_with_another_digest_is_reported(valid_bundle: Path, tmp_path: Path) -> None:
    path = copy_bundle(valid_bundle, tmp_path)
    other = "sha256:" + "ab" * 32
    path.with_name(path.name + ".sha256").write_text(f"# repro content digest: {other}\n")
    report = rejects(path, "", Want("digest", path.name + ".sha256", "", full=True))
    assert [p.message for p in report.problems] == [
        f"sidecar says {other}, content is {report.digest}"
    ]


def test_sidecar_without_a_digest_is_reported(valid_bundle: Path, tmp_path: Path) -> None:
    path = copy_bundle(valid_bundle, tmp_path)
    path.with_name(path.name + ".sha256").write_text("0" * 64 + "  " + path.name + "\n")
    report = verify(path)
    assert [(p.kind, p.member, p.message) for p in report.problems] == [
        ("digest", path.name + ".sha256", "sidecar holds no repro content digest")
    ]


def test_sidecar_of_binary_junk_is_reported_not_a_crash(valid_bundle: Path, tmp_path: Path) -> None:
    path = copy_bundle(valid_bundle, tmp_path)
    digest = verify(valid_bundle).digest
    side = path.with_name(path.name + ".sha256")
    side.write_bytes(b"\xff\xfe\x00junk\n")
    assert [p.message for p in verify(path).problems] == ["sidecar holds no repro content digest"]
    # Junk beside a good digest line does not hide it.
    side.write_bytes(f"# repro content digest: {digest}\n".encode() + b"\xff\xfe\n")
    assert verify(path).ok


def test_bundle_without_a_sidecar_is_fine(valid_bundle: Path, tmp_path: Path) -> None:
    report = verify(copy_bundle(valid_bundle, tmp_path))
    assert report.ok and report.warnings == ()


def test_file_name_with_another_digest_is_reported(valid_bundle: Path, tmp_path: Path) -> None:
    run_id = verify(valid_bundle).run_id
    path = copy_bundle(valid_bundle, tmp_path, f"repro-{run_id}-{'0' * 12}.zip")
    report = verify(path)
    assert [(p.kind, p.message) for p in report.problems] == [
        ("digest", f"content digest {report.digest} does not match the file name")
    ]


def test_renamed_bundle_is_a_warning_and_expect_still_anchors_it(
    valid_bundle: Path, tmp_path: Path
) -> None:
    path = copy_bundle(valid_bundle, tmp_path, "evidence.zip")
    report = verify(path)
    assert report.ok
    assert report.warnings == (
        "file name does not carry a digest (renamed?): only --expect anchors it",
    )
    assert not verify(path, expect="sha256:" + "0" * 64).ok


def test_file_name_naming_another_run_is_reported(valid_bundle: Path, tmp_path: Path) -> None:
    real = verify(valid_bundle)
    assert real.digest is not None and real.run_id is not None
    name = f"repro-20000101T000000Z-abcdef-{real.digest[7:19]}.zip"
    report = verify(copy_bundle(valid_bundle, tmp_path, name))
    assert [(p.kind, p.message) for p in report.problems] == [
        ("crosscheck", f"file name names run 20000101T000000Z-abcdef, records say {real.run_id}")
    ]


def test_top_folder_naming_another_run_is_reported(valid: bytes, top: str, tmp_path: Path) -> None:
    other = "repro-20000101T000000Z-abcdef"
    moved = h.rezip(valid, {other + n[len(top) :]: d for n, d in h.members(valid).items()})
    run_id = top[len("repro-") :]
    # Named as repro would name the real run, so only the top folder is wrong.
    path = h.save(moved, tmp_path, f"repro-{run_id}-{h.digest_of(moved)[7:19]}.zip")
    report = verify(path)
    # About the bundle as a whole: no member is named.
    assert [(p.kind, p.member, p.message) for p in report.problems] == [
        ("crosscheck", None, f"top folder {other} does not name run {run_id}")
    ]


# --- hashes quoted inside records ---------------------------------------------------------------


def test_run_stamp_hash_of_a_record_must_match_the_manifest(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    env = json.loads(h.members(valid)[f"{top}/data/env.json"])
    env["repro_python"] = "forged"
    forged = h.rebag(valid, {"data/env.json": h.dump_json(env)}, records=False)
    rejects(
        h.save(forged, tmp_path),
        top,
        Want("crosscheck", "data/run_stamp.json", "hash of env.json differs from the manifest"),
        only=True,
    )


def test_run_stamp_hash_of_the_lock_must_match_the_manifest(locked: bytes, tmp_path: Path) -> None:
    top = h.top_of(h.members(locked))
    assert verify(h.save(locked, tmp_path / "ok")).ok
    forged = h.rebag(locked, {"data/requirements.lock": b"pytest\nforged\n"}, records=False)
    rejects(
        h.save(forged, tmp_path / "bad"),
        top,
        Want("crosscheck", "data/run_stamp.json", "^hash of the lock differs from the manifest$"),
        only=True,
    )


def test_bundle_manifest_role_must_match_the_path(valid: bytes, top: str, tmp_path: Path) -> None:
    doc = json.loads(h.members(valid)[f"{top}/repro-bundle.json"])
    for f in doc["files"]:
        if f["path"] == "data/env.json":
            f["role"] = "log"
    forged = h.rebag(valid, tags={"repro-bundle.json": h.dump_json(doc)})
    rejects(
        h.save(forged, tmp_path),
        top,
        Want("crosscheck", "data/env.json", "role log is not record"),
        only=True,
    )


def test_bundle_manifest_hash_must_match_the_bag_manifest(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    doc = json.loads(h.members(valid)[f"{top}/repro-bundle.json"])
    for f in doc["files"]:
        if f["path"] == "data/logs/stdout.log":
            f["sha256"] = "0" * 64
    forged = h.rebag(valid, tags={"repro-bundle.json": h.dump_json(doc)})
    rejects(
        h.save(forged, tmp_path),
        top,
        Want(
            "crosscheck",
            "data/logs/stdout.log",
            "^repro-bundle.json and the manifest disagree on sha256$",
        ),
        only=True,
    )


def test_bundle_manifest_must_list_every_payload_file(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    doc = json.loads(h.members(valid)[f"{top}/repro-bundle.json"])
    doc["files"] = [f for f in doc["files"] if f["path"] != "data/logs/stderr.log"]
    forged = h.rebag(valid, tags={"repro-bundle.json": h.dump_json(doc)})
    rejects(
        h.save(forged, tmp_path),
        top,
        Want("crosscheck", "repro-bundle.json", r"file list differs .*stderr\.log"),
        only=True,
    )


# --- what the records say about the run ---------------------------------------------------------

Edit = Callable[[dict[str, Any]], object]


def _both(**fields: Any) -> dict[str, Edit]:
    return {
        "data/run_metadata.json": lambda d: d.update(fields),
        "data/run_stamp.json": lambda d: d.update(fields),
    }


RECORDS: dict[str, tuple[dict[str, Edit], list[Want]]] = {
    "stamp-status-differs": (
        {"data/run_stamp.json": lambda d: d.update(status="passed", exit_code=0)},
        [
            Want("crosscheck", "data/run_stamp.json", "status 'passed' differs from .*'failed'"),
            Want("crosscheck", "data/run_stamp.json", "exit_code 0 differs from .*'?1'?"),
        ],
    ),
    "metadata-run-id-differs": (
        {"data/run_metadata.json": lambda d: d.update(run_id="20000101T000000Z-abcdef")},
        [Want("crosscheck", "data/run_stamp.json", "^run_id differs from run_metadata.json$")],
    ),
    "failed-with-exit-code-0": (
        _both(exit_code=0),
        [Want("crosscheck", "data/run_metadata.json", "status failed is inconsistent with exit")],
    ),
    "failed-with-a-signal": (
        {"data/run_metadata.json": lambda d: d.update(signal="SIGTERM")},
        [Want("crosscheck", "data/run_metadata.json", "status failed is inconsistent with exit")],
    ),
    "no-tests-with-exit-code-1": (
        _both(status="no-tests"),
        [Want("crosscheck", "data/run_metadata.json", "status no-tests is inconsistent")],
    ),
    "crashed-with-exit-code-0": (
        _both(status="crashed", exit_code=0),
        [Want("crosscheck", "data/run_metadata.json", "status crashed with exit code 0")],
    ),
    "killed-with-exit-code-0": (
        _both(status="killed", exit_code=0),
        [Want("crosscheck", "data/run_metadata.json", "status killed with exit code 0")],
    ),
    "timed-out-without-a-kill": (
        _both(status="timed-out"),
        [
            Want(
                "crosscheck",
                "data/run_metadata.json",
                "^status timed-out but no kill sequence recorded$",
            )
        ],
    ),
    # Only repro salvage makes a run without an exit code, and it calls it abandoned: a
    # missing exit code alone is one problem, an abandoned run that was not salvaged another.
    "no-exit-code-but-not-salvaged": (
        _both(exit_code=None),
        [
            Want(
                "crosscheck",
                "data/run_metadata.json",
                "^status failed is inconsistent with exit code None$",
            )
        ],
    ),
    "abandoned-but-not-salvaged": (
        _both(status="abandoned", exit_code=None),
        [
            Want(
                "crosscheck",
                "data/run_metadata.json",
                "^only a salvaged run is abandoned, and it has no exit code$",
            )
        ],
    ),
    # When pytest never reported its Python, the probed one is held to --python.
    "python-asked-is-not-the-probed-one-and-pytest-said-none": (
        {
            "data/run_metadata.json": lambda d: (
                d.update(python="/opt/python3.99/bin/python3.99"),
                d["python_ran"].update(pytest=None),
            )
        },
        [Want("crosscheck", "data/run_metadata.json", r"^--python asked for Python 3\.99 but 3\.")],
    ),
    # The Python that ran pytest is the one --python is held to, not the one probed.
    "python-asked-was-probed-but-another-ran": (
        {
            "data/run_metadata.json": lambda d: (
                d.update(python="/opt/python3.99/bin/python3.99"),
                d["python_ran"].update(probe="3.99.1"),
            )
        },
        [
            Want("crosscheck", "data/run_metadata.json", r"^Python 3\.99\.1 was probed but "),
            Want(
                "crosscheck", "data/run_metadata.json", r"^--python asked for Python 3\.99 but 3\."
            ),
        ],
    ),
    "tests-total-is-not-the-finished-tests": (
        {"data/run_metadata.json": lambda d: d.update(tests_total=d["tests_total"] + 1)},
        [
            Want(
                "crosscheck", "data/run_metadata.json", r"tests_total 5 differs from the 4 finished"
            )
        ],
    ),
    "counts-source-differs": (
        {"data/run_metadata.json": lambda d: d.update(counts_source="stream")},
        [
            Want(
                "crosscheck", "data/run_metadata.json", "^counts_source differs from results.jsonl$"
            )
        ],
    ),
    "order-differs": (
        {"data/run_metadata.json": lambda d: d.update(order=d["order"][::-1])},
        [Want("crosscheck", "data/run_metadata.json", "^test order differs from results.jsonl$")],
    ),
    "in-flight-differs": (
        {"data/run_metadata.json": lambda d: d.update(in_flight="tests/test_x.py::test_x")},
        # junit.xml is checked against the stream, which the edit left alone.
        [Want("crosscheck", "data/run_metadata.json", r"in-flight test differs .*\(None\)")],
    ),
    "log-size-in-metadata-differs": (
        {"data/run_metadata.json": lambda d: d["files"]["logs/stdout.log"].update(size=1)},
        [Want("crosscheck", "data/run_metadata.json", "size or hash of logs/stdout.log")],
    ),
}


def _forge(src: bytes, top: str, edits: dict[str, Edit], *, sizes: bool) -> bytes:
    """`edits` applied to records, their hashes in run_stamp.json recomputed; with `sizes`,
    also the sizes and hashes run_metadata.json quotes of other files (unless one of them
    is the defect)."""
    m = h.members(src)
    docs: dict[str, bytes | None] = {}
    for rel, edit in edits.items():
        doc = json.loads(m[f"{top}/{rel}"])
        edit(doc)
        docs[rel] = h.dump_json(doc)
    if sizes:
        return h.rebag(src, docs)
    forged = h.members(h.rebag(src, docs, records=False))
    stamp = json.loads(forged[f"{top}/data/run_stamp.json"])
    for rel in stamp["records"]:
        stamp["records"][rel] = h._sha(forged[f"{top}/data/{rel}"])
    return h.rebag(src, {**docs, "data/run_stamp.json": h.dump_json(stamp)}, records=False)


@pytest.mark.parametrize("case", RECORDS)
def test_record_contradictions_are_reported(
    case: str, valid: bytes, top: str, tmp_path: Path
) -> None:
    edits, wants = RECORDS[case]
    forged = _forge(valid, top, edits, sizes=case != "log-size-in-metadata-differs")
    rejects(h.save(forged, tmp_path), top, *wants, only=True)


def test_bundle_manifest_names_at_most_three_files_it_lacks(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    doc = json.loads(h.members(valid)[f"{top}/repro-bundle.json"])
    dropped = sorted(f["path"] for f in doc["files"] if f["path"].startswith("data/"))[:5]
    doc["files"] = [f for f in doc["files"] if f["path"] not in dropped]
    forged = h.rebag(valid, tags={"repro-bundle.json": h.dump_json(doc)})
    report = rejects(h.save(forged, tmp_path), top)
    assert [p.message for p in report.problems if p.member == f"{top}/repro-bundle.json"] == [
        f"file list differs from the manifest: {dropped[:3]}"
    ]


def test_junit_xml_that_does_not_parse_is_reported_not_a_crash(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    forged = h.rebag(valid, {"data/results/junit.xml": b"<testsuites><testsuite"})
    rejects(
        h.save(forged, tmp_path),
        top,
        Want("crosscheck", "data/results/junit.xml", r"^not valid JUnit XML: \w+Error$"),
        only=True,
    )


def test_a_salvaged_run_is_abandoned_without_an_exit_code(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    """What `repro salvage` writes (status abandoned, no exit code, a salvage note) is
    consistent; the same record without the note is not."""
    salvage = {"salvaged": "2026-01-02T03:04:05Z", "missing": []}
    edits = _both(status="abandoned", exit_code=None)
    edits["data/run_metadata.json"] = lambda d: d.update(
        status="abandoned", exit_code=None, salvage=salvage
    )
    report = verify(h.save(_forge(valid, top, edits, sizes=True), tmp_path / "salvaged"))
    assert report.problems == ()


def test_python_asked_for_that_ran_is_no_problem(valid: bytes, tmp_path: Path) -> None:
    meta = json.loads(h.members(valid)[f"{h.top_of(h.members(valid))}/data/run_metadata.json"])
    minor = ".".join(meta["python_ran"]["pytest"].split(".")[:2])
    forged = h.edit_record(
        valid, "data/run_metadata.json", lambda d: d.update(python=f"/usr/bin/python{minor}")
    )
    assert verify(h.save(forged, tmp_path)).problems == ()


def test_drift_is_a_warning_and_a_problem_under_strict(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    forged = h.edit_record(
        valid,
        "data/run_metadata.json",
        lambda d: d.update(drift=[{"name": "beta", "kind": "version"}]),
    )
    path = h.save(forged, tmp_path)
    report = verify(path)
    assert report.ok
    assert report.warnings == ("environment drifted from the lock in 1 package(s): beta (version)",)
    strict = verify(path, strict=True)
    # Named on the record that says so, as any other finding about it.
    assert [(p.kind, p.member, p.message) for p in strict.problems] == [
        (
            "crosscheck",
            f"{top}/data/run_metadata.json",
            "environment drifted from the lock in 1 package(s): beta (version)",
        )
    ]
    assert cli(path, "--strict")[0] == 1


def test_drift_names_the_first_five_packages(valid: bytes, tmp_path: Path) -> None:
    drift = [{"name": f"p{i}", "kind": "version"} for i in range(7)]
    forged = h.edit_record(valid, "data/run_metadata.json", lambda d: d.update(drift=drift))
    names = ", ".join(f"p{i} (version)" for i in range(5))
    assert verify(h.save(forged, tmp_path)).warnings == (
        f"environment drifted from the lock in 7 package(s): {names}",
    )


def test_verify_hashes_the_whole_zip_from_its_own_reads(valid_bundle: Path) -> None:
    """The Statement check takes the zip's SHA-256 from verify instead of a second pass."""
    import hashlib

    assert verify(valid_bundle).zip_sha256 == hashlib.sha256(valid_bundle.read_bytes()).hexdigest()


def test_the_whole_file_hash_holds_whatever_the_order_of_reads(tmp_path: Path) -> None:
    import hashlib
    import random

    from repro.verify import _FileHash

    data = random.Random(3).randbytes(300_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    rnd = random.Random(4)
    with open(path, "rb") as fh:
        whole = _FileHash(fh)
        for _ in range(50):
            pos, n = rnd.randrange(len(data)), rnd.randrange(1, 40_000)
            whole.seek(pos)
            assert whole.read(n) == data[pos : pos + n]
            if rnd.random() < 0.2:
                whole.fill(rnd.randrange(len(data)))
        assert whole.hexdigest() == hashlib.sha256(data).hexdigest()


# --- the manifests' own lines -------------------------------------------------------------------


def _bag_problems(path: Path) -> list[tuple[str, str | None, str]]:
    return [(p.kind, p.member, p.message) for p in verify(path).problems if p.kind == "bag"]


def test_manifest_lines_are_judged_one_by_one_with_their_numbers(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    """A malformed line and a path listed twice are each named by their 1-based line number,
    and a bad line does not stop the lines after it from being read."""
    old = h.members(valid)[f"{top}/manifest-sha256.txt"]
    lines = old.decode().splitlines()
    first_digest, first_rel = lines[0].split("  ", 1)
    new = [*lines, "not a manifest line", f"{first_digest}  {first_rel}"]
    forged = h.rebag(valid, tags={"manifest-sha256.txt": ("\n".join(new) + "\n").encode()})
    member = f"{top}/manifest-sha256.txt"
    assert _bag_problems(h.save(forged, tmp_path)) == [
        ("bag", member, f"line {len(lines) + 1} is not '<sha256>  <path>'"),
        ("bag", member, f"line {len(lines) + 2} lists {first_rel} twice"),
    ]


def test_manifest_that_is_not_utf8_is_one_problem(valid: bytes, top: str, tmp_path: Path) -> None:
    old = h.members(valid)[f"{top}/manifest-sha256.txt"]
    forged = h.rebag(valid, tags={"manifest-sha256.txt": old + b"\xff\xfe  data/x\n"})
    assert _bag_problems(h.save(forged, tmp_path)) == [
        ("bag", f"{top}/manifest-sha256.txt", "manifest is not UTF-8")
    ]


def test_tag_manifest_listing_a_payload_file_says_so(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    forged = h.manifest_line(valid, f"{'0' * 64}  data/env.json", "tagmanifest-sha256.txt")
    n = len(h.members(forged)[f"{top}/tagmanifest-sha256.txt"].splitlines())
    assert _bag_problems(h.save(forged, tmp_path)) == [
        (
            "bag",
            f"{top}/tagmanifest-sha256.txt",
            f"line {n} lists an unsafe path 'data/env.json' (a tag manifest lists tag files only)",
        )
    ]


def test_an_unsafe_manifest_line_does_not_hide_the_lines_after_it(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    lines = h.members(valid)[f"{top}/manifest-sha256.txt"].decode().splitlines()
    new = ["0" * 64 + "  ../escape", *lines]
    forged = h.rebag(valid, tags={"manifest-sha256.txt": ("\n".join(new) + "\n").encode()})
    rejects(
        h.save(forged, tmp_path),
        top,
        Want("bag", "manifest-sha256.txt", r"^line 1 lists an unsafe path '\.\./escape' \("),
        only=True,
    )


# --- a record that is not one repro wrote: one exact line each -----------------------------------

NOT_RECORDS: dict[str, tuple[bytes, str]] = {
    "not-json": (b"{not json", r"^not valid JSON: Expecting property name enclosed in double"),
    "an-array": (b"[]", r"^declares schema None, expected \('env', 1\)$"),
    "nested-too-deeply": (b"[" * 100_000 + b"]" * 100_000, r"^not valid JSON: nested too deeply$"),
    "another-version": (
        b'{"schema": "env", "schema_version": 2}',
        r"^declares schema \('env', 2\), expected \('env', 1\)$",
    ),
}


@pytest.mark.parametrize("case", NOT_RECORDS)
def test_a_record_repro_did_not_write_is_one_schema_problem(
    case: str, valid: bytes, top: str, tmp_path: Path
) -> None:
    data, message = NOT_RECORDS[case]
    forged = h.rebag(valid, {"data/env.json": data})
    rejects(h.save(forged, tmp_path), top, Want("schema", "data/env.json", message), only=True)


def test_a_record_that_lies_about_its_size_is_a_fixity_problem(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    forged = h.lying_size(valid, "repro-bundle.json", 100, crc_of_declared=True)
    real = h.Zip.parse(valid).get("repro-bundle.json").usize
    rejects(
        h.save(forged, tmp_path),
        top,
        Want("fixity", "repro-bundle.json", f"^member holds {real} bytes, {real + 100} declared$"),
        only=True,
    )


# --- the bag's shape: one top folder, every tag file, every listed member ------------------------


def test_members_outside_one_top_folder_are_one_problem(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    """Several top folders: the first five, sorted, are named. A file beside the top folder
    named as the folder itself is outside it too, though it adds no other top name."""
    others = [f"{c}-stray" for c in "abcdef"]
    forged = valid
    for o in others:
        forged = h.with_entry(forged, f"{o}/x.txt")
    assert [(p.kind, p.member, p.message) for p in verify(h.save(forged, tmp_path)).problems] == [
        ("bag", None, f"expected one top-level folder, found {sorted([top, *others])[:5]}")
    ]
    bare = h.with_entry(valid, top)
    assert [
        (p.kind, p.member, p.message) for p in verify(h.save(bare, tmp_path / "bare")).problems
    ] == [("bag", None, f"expected one top-level folder, found {[top]}")]


def test_each_missing_tag_file_is_named(valid: bytes, top: str, tmp_path: Path) -> None:
    forged = h.remove_member(h.remove_member(valid, "bagit.txt"), "bag-info.txt")
    assert [(p.kind, p.member, p.message) for p in verify(h.save(forged, tmp_path)).problems] == [
        ("missing", f"{top}/{tag}", "required tag file is missing")
        for tag in ("bagit.txt", "bag-info.txt")
    ]


def test_missing_and_unlisted_members_read_exactly(valid: bytes, top: str, tmp_path: Path) -> None:
    listed = h.manifest_line(valid, f"{'0' * 64}  extra-tag.txt", "tagmanifest-sha256.txt")
    forged = h.add_member(h.remove_member(listed))
    rejects(
        h.save(forged, tmp_path),
        top,
        Want("missing", "data/logs/stderr.log", "^listed in the manifest but not in the bundle$"),
        Want("unexpected", "data/logs/extra.log", "^in the bundle but not listed in any manifest$"),
        Want("missing", "extra-tag.txt", "^listed in the tag manifest but not in the bundle$"),
        only=True,
    )


def test_a_credential_in_a_log_is_a_warning_and_a_problem_under_strict(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    """A run that did not mask (`--no-mask`) has its logs scanned for token shapes."""
    token = "npm_" + "a1B2" * 9
    meta = json.loads(h.members(valid)[f"{top}/data/run_metadata.json"])
    meta["masking"]["enabled"] = False
    forged = h.rebag(
        valid,
        {
            "data/logs/stdout.log": f"deploying with {token}\n".encode(),
            "data/run_metadata.json": h.dump_json(meta),
        },
    )
    path = h.save(forged, tmp_path)
    report = verify(path)
    assert report.ok
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith(f"{top}/data/logs/stdout.log: ")
    strict = verify(path, strict=True)
    assert [(p.kind, p.member) for p in strict.problems] == [
        ("credential", f"{top}/data/logs/stdout.log")
    ]
    assert f"{top}/data/logs/stdout.log: {strict.problems[0].message}" == report.warnings[0]


# --- fixity and the shipped schemas, each defect one exact line -----------------------------------


def test_a_tampered_member_names_both_digests(valid: bytes, top: str, tmp_path: Path) -> None:
    forged = h.flip_byte(valid)
    rel = "data/logs/stdout.log"
    got = h._sha(h.members(forged)[f"{top}/{rel}"])
    want = h._sha(h.members(valid)[f"{top}/{rel}"])
    problems = verify(h.save(forged, tmp_path)).problems
    assert [(p.kind, p.member, p.message) for p in problems if p.kind == "fixity"] == [
        ("fixity", f"{top}/{rel}", f"sha256 is {got[:16]}..., manifest says {want[:16]}...")
    ]


def _bad_crc(src: bytes, rel: str) -> bytes:
    z = h.Zip.parse(src)
    i = z.index(rel)
    z.entries[i] = replace(z.entries[i], crc=z.entries[i].crc ^ 1)
    return z.pack()


@pytest.mark.parametrize("defect", ["size", "crc"])
def test_a_record_that_fails_fixity_is_reported_once_and_not_read(
    defect: str, valid: bytes, top: str, tmp_path: Path
) -> None:
    rel = "data/env.json"
    real = h.Zip.parse(valid).get(rel).usize
    if defect == "size":
        forged = h.lying_size(valid, rel, -1)
        message = f"declares {real - 1} bytes, repro-bundle.json lists {real} (not read)"
    else:
        forged = _bad_crc(valid, rel)
        message = "CRC mismatch"
    assert [(p.kind, p.member, p.message) for p in verify(h.save(forged, tmp_path)).problems] == [
        ("fixity", f"{top}/{rel}", message)
    ]


def test_every_shipped_schema_is_checked_past_an_absent_or_broken_one(
    valid: bytes, top: str, tmp_path: Path
) -> None:
    """env's copy absent (an earlier repro shipped fewer), lock's and run_stamp's not JSON,
    run_metadata's weakened: each of the three is its own line."""
    weak = json.loads(h.members(valid)[f"{top}/data/schemas/run_metadata.schema.json"])
    weak["additionalProperties"] = True
    weak.pop("required", None)
    forged = h.rebag(
        valid,
        {
            "data/schemas/env.schema.json": None,
            "data/schemas/lock.schema.json": b"{not json",
            "data/schemas/run_metadata.schema.json": h.dump_json(weak),
            "data/schemas/run_stamp.schema.json": b"[",
        },
    )
    problems = [(p.kind, p.member, p.message) for p in verify(h.save(forged, tmp_path)).problems]
    schemas = f"{top}/data/schemas"
    assert [p[:2] for p in problems] == [
        ("schema", f"{schemas}/lock.schema.json"),
        ("schema", f"{schemas}/run_metadata.schema.json"),
        ("schema", f"{schemas}/run_stamp.schema.json"),
    ]
    assert problems[0][2].startswith("not valid JSON: Expecting property name")
    assert problems[1][2] == (
        "differs from repro's own copy of this schema and from every earlier one"
    )
    assert problems[2][2].startswith("not valid JSON: Expecting value")


def test_every_member_that_fails_fixity_is_reported(valid: bytes, top: str, tmp_path: Path) -> None:
    """A failure does not stop the members after it from being checked: two lie about their
    size, two about their CRC."""
    forged = h.lying_size(h.lying_size(valid, "data/env.json", -1), "data/run_stamp.json", -1)
    for rel in ("data/logs/stdout.log", "data/logs/stderr.log"):
        forged = _bad_crc(forged, rel)
    fixity = [p.member for p in verify(h.save(forged, tmp_path)).problems if p.kind == "fixity"]
    assert sorted(fixity) == sorted(
        f"{top}/data/{rel}"
        for rel in ("env.json", "run_stamp.json", "logs/stdout.log", "logs/stderr.log")
    )


# --- a run folder, verified before it is packed -------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder of a passing suite, left as the runner wrote it."""
    return real_run(tmp_path_factory.mktemp("folder"), PASSING)


def _folder_copy(folder: Path, tmp_path: Path) -> Path:
    dest = tmp_path / folder.name
    shutil.copytree(folder, dest, symlinks=True)
    return dest


def _problems(report: Any) -> list[tuple[str, str | None, str]]:
    return [(p.kind, p.member, p.message) for p in report.problems]


def test_a_run_folder_has_no_digest_to_expect(folder: Path) -> None:
    assert verify(folder).ok
    assert _problems(verify(folder, expect="sha256:" + "0" * 64)) == [
        ("digest", None, "a run folder has no digest to compare with --expect (pack it)")
    ]


def test_a_folder_without_a_run_stamp_is_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x\n")
    assert _problems(verify(tmp_path)) == [
        ("missing", "run_stamp.json", "not a run folder: it has no run_stamp.json")
    ]


def test_a_run_folder_holds_plain_files_only(folder: Path, tmp_path: Path) -> None:
    import os

    run = _folder_copy(folder, tmp_path)
    (run / "logs" / "link.log").symlink_to(run / "logs" / "stdout.log")
    os.mkfifo(run / "logs" / "pipe.log")
    assert [p for p in _problems(verify(run)) if p[0] == "container"] == [
        ("container", "logs/link.log", "is a symlink; a run folder holds plain files"),
        ("container", "logs/pipe.log", "is not a regular file"),
    ]


def test_drift_in_a_run_folder_is_a_problem_under_strict(folder: Path, tmp_path: Path) -> None:
    run = _folder_copy(folder, tmp_path)
    meta = json.loads((run / "run_metadata.json").read_text())
    meta["drift"] = [{"name": "beta", "kind": "version"}]
    (run / "run_metadata.json").write_text(json.dumps(meta))
    drift = "environment drifted from the lock in 1 package(s): beta (version)"
    assert drift in verify(run).warnings
    assert ("crosscheck", "run_metadata.json", drift) in _problems(verify(run, strict=True))
