"""Packing: deterministic bytes, a BagIt bag standard tools accept, atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from repro.bundle import pack
from repro.errors import EnvironmentProblem, UsageError
from tests.conftest import PASSING, real_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_run(tmp_path_factory.mktemp("pack"), PASSING)


def test_pack_twice_gives_identical_bytes_and_digest(run_dir, tmp_path):
    a = pack(run_dir, out_dir=tmp_path / "a")
    b = pack(run_dir, out_dir=tmp_path / "b")
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.digest == b.digest and a.path.name == b.path.name
    assert a.sidecar.read_text() == b.sidecar.read_text()


def test_digest_does_not_depend_on_compression(run_dir, tmp_path):
    deflated = pack(run_dir, out_dir=tmp_path / "d")
    stored = pack(run_dir, out_dir=tmp_path / "s", store=True)
    assert deflated.digest == stored.digest
    assert deflated.path.read_bytes() != stored.path.read_bytes()
    with zipfile.ZipFile(stored.path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_zip_entries_are_normalised(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # clamped to 1980
    res = pack(run_dir, out_dir=tmp_path)
    with zipfile.ZipFile(res.path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names, key=str.encode)
    top = f"repro-{res.run_id}"
    assert {n.split("/")[0] for n in names} == {top}
    assert f"{top}/data/run_stamp.json" in names and f"{top}/bagit.txt" in names
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.create_system == 3 and info.external_attr >> 16 == 0o100644
        assert info.extra == b""


def test_sidecar_carries_digest_and_a_sha256sum_line(run_dir, tmp_path):
    res = pack(run_dir, out_dir=tmp_path)
    comment, compression, line = res.sidecar.read_text().splitlines()
    assert comment == f"# repro content digest: {res.digest}"
    assert compression == f"# compression: {res.compression}"
    assert line == f"{hashlib.sha256(res.path.read_bytes()).hexdigest()}  {res.path.name}"


def test_extracted_bundle_passes_bagit_validation(run_dir, tmp_path):
    bagit = pytest.importorskip("bagit")
    res = pack(run_dir, out_dir=tmp_path)
    with zipfile.ZipFile(res.path) as zf:
        zf.extractall(tmp_path / "x")  # trusted: we just made it
    bag = bagit.Bag(str(tmp_path / "x" / f"repro-{res.run_id}"))
    bag.validate()
    assert bag.info["External-Identifier"] == res.run_id


def test_repacking_into_the_same_place_is_idempotent(run_dir, tmp_path):
    first = pack(run_dir, out_dir=tmp_path)
    again = pack(run_dir, out_dir=tmp_path)
    assert again.reused and again.path == first.path


def test_existing_bundle_with_other_content_is_not_overwritten(run_dir, tmp_path):
    first = pack(run_dir, out_dir=tmp_path / "out")
    first.path.write_bytes(b"something else")
    with pytest.raises(EnvironmentProblem, match="already exists") as exc:
        pack(run_dir, out_dir=tmp_path / "out")
    assert exc.value.hint == "remove it, or pack into another --out folder"
    assert first.path.read_bytes() == b"something else"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [first.path.name, first.sidecar.name, first.statement.name]  # no stray temp files
    )


def test_unfinished_run_folder_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(UsageError, match="not a finished run folder"):
        pack(tmp_path / "run", out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_symlink_in_run_folder_is_refused(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    os.symlink("/etc/passwd", copy / "logs" / "evil.log")
    with pytest.raises(UsageError, match="not a regular file"):
        pack(copy, out_dir=tmp_path / "out")


def test_bundle_and_sidecar_get_the_usual_file_mode(run_dir, tmp_path):
    old = os.umask(0o022)
    try:
        res = pack(run_dir, out_dir=tmp_path / "out")
    finally:
        os.umask(old)
    assert res.path.stat().st_mode & 0o777 == 0o644
    assert res.sidecar.stat().st_mode & 0o777 == 0o644


def test_zip64_end_records_are_followed(run_dir, tmp_path, monkeypatch):
    # Like Python's zipfile, repro's writer switches to zip64 end records once the central
    # directory starts past ZIP64_LIMIT (2 GiB) without saturating the classic fields, and
    # gives members that may pass it zip64 local headers; shrinking the limit gives a small
    # bundle of the same shape as a 2-4 GiB one.
    from repro import zipwrite
    from repro.verify import verify

    monkeypatch.setattr(zipwrite, "ZIP64_LIMIT", 1 << 10)
    res = pack(run_dir, out_dir=tmp_path / "z64")
    data = res.path.read_bytes()
    assert data[-22 - 20 : -22][:4] == b"PK\x06\x07"  # the zip64 locator is there
    report = verify(res.path, expect=res.digest)
    assert report.ok, report.problems


def test_repacking_reuses_the_zip_without_writing_it(run_dir, tmp_path):
    first = pack(run_dir, out_dir=tmp_path)
    before = first.path.stat()
    again = pack(run_dir, out_dir=tmp_path)
    after = again.path.stat()
    assert again.reused and again.compression == first.compression
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_zip_its_sidecar_does_not_vouch_for_is_written_again(run_dir, tmp_path):
    first = pack(run_dir, out_dir=tmp_path)
    inode = first.path.stat().st_ino
    text = first.sidecar.read_text().splitlines()
    first.sidecar.write_text("\n".join([*text[:2], "0" * 64 + "  " + first.path.name]) + "\n")
    again = pack(run_dir, out_dir=tmp_path)
    # Packed anew into a staging file, found identical, and the sidecar repaired.
    assert again.reused and first.path.stat().st_ino == inode
    assert again.sidecar.read_text() == "\n".join(text) + "\n"


def test_a_reused_bundle_gets_its_statement_back(run_dir, tmp_path):
    first = pack(run_dir, out_dir=tmp_path)
    data = first.statement.read_bytes()
    first.statement.unlink()
    again = pack(run_dir, out_dir=tmp_path)
    assert again.reused and again.statement == first.statement
    assert again.statement.read_bytes() == data
    subjects = json.loads(data)["subject"]
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() in {
        s["digest"]["sha256"] for s in subjects
    }


def test_a_stored_bundle_is_not_reused_for_a_deflated_pack(run_dir, tmp_path):
    pack(run_dir, out_dir=tmp_path, store=True)
    with pytest.raises(EnvironmentProblem, match="already exists with other content"):
        pack(run_dir, out_dir=tmp_path)


# --- An independent reading of a bundle: Python's zipfile, hashlib and the BagIt spec
# (RFC 8493), never repro's own reader, so a packer mutant cannot agree with itself.


def _payload_files(run_dir: Path) -> dict[str, bytes]:
    out = {}
    for root, _, files in os.walk(run_dir):
        for name in files:
            p = Path(root) / name
            out[p.relative_to(run_dir).as_posix()] = p.read_bytes()
    return out


def _check_bag(zip_path: Path, run_dir: Path) -> tuple[str, bytes]:
    """Assert the zip at `zip_path` is a complete, valid bag of `run_dir`; return its top
    folder and the bytes of its tag manifest."""
    run_id = json.loads((run_dir / "run_stamp.json").read_bytes())["run_id"]
    top = f"repro-{run_id}"
    payload = _payload_files(run_dir)
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.testzip() is None
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    tags = {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "repro-bundle.json"}
    expected_names = {f"{top}/{t}" for t in (*tags, "tagmanifest-sha256.txt")}
    expected_names |= {f"{top}/data/{rel}" for rel in payload}
    assert set(members) == expected_names
    for rel, data in payload.items():
        assert members[f"{top}/data/{rel}"] == data
    assert members[f"{top}/bagit.txt"] == (
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    manifest = members[f"{top}/manifest-sha256.txt"].decode().splitlines()
    assert sorted(manifest) == sorted(
        f"{hashlib.sha256(data).hexdigest()}  data/{rel}" for rel, data in payload.items()
    )
    info = dict(
        line.split(": ", 1) for line in members[f"{top}/bag-info.txt"].decode().splitlines()
    )
    total = sum(len(d) for d in payload.values())
    assert info["Payload-Oxum"] == f"{total}.{len(payload)}"
    assert info["External-Identifier"] == run_id
    tagmanifest = members[f"{top}/tagmanifest-sha256.txt"]
    assert sorted(tagmanifest.decode().splitlines()) == sorted(
        f"{hashlib.sha256(members[f'{top}/{t}']).hexdigest()}  {t}" for t in tags
    )
    return top, tagmanifest


def _check_result(res, zip_path: Path, bag: tuple[str, bytes], compression: str) -> None:
    """Assert `res` describes the bag `bag` (`_check_bag`'s answer) written at `zip_path`,
    and that its sidecar says so."""
    top, tagmanifest = bag
    digest = "sha256:" + hashlib.sha256(tagmanifest).hexdigest()
    data = zip_path.read_bytes()
    assert res.path == zip_path and res.digest == digest and res.size == len(data)
    assert f"repro-{res.run_id}" == top
    if compression != "stored":  # the DEFLATE library, its version and level
        assert re.fullmatch(r"(isal|zlib) [0-9][0-9.]* level [0-9]", compression)
    assert res.sidecar == zip_path.with_name(zip_path.name + ".sha256")
    assert res.sidecar.read_text().splitlines() == [
        f"# repro content digest: {digest}",
        f"# compression: {compression}",
        f"{hashlib.sha256(data).hexdigest()}  {zip_path.name}",
    ]
    assert res.statement == zip_path.with_name(zip_path.name + ".intoto.json")
    assert res.statement.is_file()


class _Recorder:
    """A progress reporter that keeps each step as [label, total, bytes advanced]."""

    def __init__(self, on_step=None):
        self.steps: list[list] = []
        self.on_step = on_step  # called with (label, advanced so far) at each call

    @contextlib.contextmanager
    def __call__(self, label, total=None):
        step = [label, total, 0]
        self.steps.append(step)
        if self.on_step:
            self.on_step(label, 0)

        def advance(n):
            step[2] += n
            if self.on_step:
                self.on_step(label, step[2])

        yield advance


PAST = 1_000_000_000  # 2001-09-09: a Bagging-Date that is not today's


def test_a_packed_bundle_is_the_bag_of_its_run_folder(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(PAST))
    out = tmp_path / "out"
    out.mkdir()  # there, but with no bundle of this run: nothing to hash first
    total = sum(len(d) for d in _payload_files(run_dir).values())
    rec = _Recorder()
    res = pack(run_dir, out_dir=out, progress=rec)
    bag = _check_bag(res.path, run_dir)
    top, tagmanifest = bag
    assert res.path == out / f"{top}-{hashlib.sha256(tagmanifest).hexdigest()[:12]}.zip"
    _check_result(res, res.path, bag, res.compression)
    assert not res.reused and res.compression != "stored"
    # Each payload byte read once, in one step that names the compression.
    assert rec.steps == [[f"packing ({res.compression})", total, total]]

    # Stored: the step has no compression to name.
    rec = _Recorder()
    stored = pack(run_dir, out_dir=tmp_path / "stored", store=True, progress=rec)
    assert rec.steps == [["packing", total, total]]
    _check_result(stored, stored.path, _check_bag(stored.path, run_dir), "stored")


def test_a_repack_hashes_the_run_and_keeps_the_bundle_its_sidecar_vouches_for(
    run_dir, tmp_path, monkeypatch
):
    # A test of its own (not a step of the one above): mutmut 3.8 records which functions a
    # test calls only when it first sees the test's name, so a step added to an existing
    # test would not be run against the mutants of the functions it reaches.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(PAST))
    out = tmp_path / "out"
    total = sum(len(d) for d in _payload_files(run_dir).values())
    res = pack(run_dir, out_dir=out)
    bag = _check_bag(res.path, run_dir)
    before = res.path.stat()
    rec = _Recorder()
    again = pack(run_dir, out_dir=out, progress=rec)
    # The payload hashed (once), the bundle there vouched for by its sidecar and kept as it
    # is: not written again, not even to a staging file.
    assert rec.steps == [["hashing the run", total, total]]
    assert again.reused and again.path.stat().st_mtime_ns == before.st_mtime_ns
    _check_result(again, res.path, bag, res.compression)


def test_packing_a_run_under_outputs_runs_adds_a_packed_line_to_its_ledger(run_dir, tmp_path):
    ledger = run_dir.parent.parent / "ledger.jsonl"
    res = pack(run_dir, out_dir=tmp_path / "out")
    last = json.loads(ledger.read_bytes().splitlines()[-1])
    assert (last["event"], last["run_id"], last["digest"], last["bundle"]) == (
        "packed",
        json.loads((run_dir / "run_stamp.json").read_bytes())["run_id"],
        "sha256:" + hashlib.sha256(_check_bag(res.path, run_dir)[1]).hexdigest(),
        res.path.name,
    )
    # A run folder that is not in a `runs` folder has no ledger to write to.
    copy = tmp_path / "elsewhere" / run_dir.name
    shutil.copytree(run_dir, copy)
    pack(copy, out_dir=tmp_path / "out2")
    assert not (tmp_path / "ledger.jsonl").exists()
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == [run_dir.name]


def _last_payload_file(run_dir: Path) -> Path:
    names = sorted(_payload_files(run_dir), key=str.encode)
    return run_dir / names[-1]


def test_a_file_that_shrinks_while_it_is_packed_stops_the_pack(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    last = _last_payload_file(copy)
    assert last.stat().st_size > 1

    def shrink(label, done):
        if done > 0 and last.stat().st_size > 1:  # after the first bytes went in
            last.write_bytes(last.read_bytes()[:1])

    with pytest.raises(EnvironmentProblem) as exc:
        pack(copy, out_dir=tmp_path / "out", progress=_Recorder(shrink))
    assert exc.value.message == f"{copy} changed while it was packed"
    assert exc.value.hint == "pack it again once the run is over"
    assert list((tmp_path / "out").iterdir()) == []  # no bundle, no staging file


def test_a_file_that_changes_between_hashing_and_packing_stops_the_pack(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    out = tmp_path / "out"
    first = pack(copy, out_dir=out)
    kept = sorted(p.name for p in out.iterdir())
    log = copy / "logs" / "stdout.log"
    size = log.stat().st_size
    log.write_bytes(b"a" * size)  # other content: the bundle there is not this one's

    def change(label, done):
        if label.startswith("packing") and done == 0:  # hashed, not written yet
            log.write_bytes(b"b" * size)  # the same size, other bytes

    with pytest.raises(EnvironmentProblem) as exc:
        pack(copy, out_dir=out, progress=_Recorder(change))
    assert exc.value.message == f"{copy} changed while it was packed"
    assert exc.value.hint == "pack it again once the run is over"
    assert sorted(p.name for p in out.iterdir()) == kept  # the staged zip removed
    assert first.path.is_file()


def test_a_missing_or_broken_run_folder_is_refused_with_its_reason(run_dir, tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(UsageError) as exc:
        pack(missing, out_dir=tmp_path / "out")
    assert exc.value.message == f"run folder not found: {missing}"

    with pytest.raises(UsageError) as exc:
        pack(tmp_path, out_dir=tmp_path / "out")
    assert exc.value.message == f"{tmp_path} is not a finished run folder (no run_stamp.json)"
    assert exc.value.hint == "pass a folder under outputs/runs/ made by `repro run`"

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    stamp = copy / "run_stamp.json"
    good = stamp.read_bytes()
    stamp.write_bytes(b"{not json")
    with pytest.raises(UsageError) as exc:
        pack(copy, out_dir=tmp_path / "out")
    assert exc.value.message.startswith(f"{stamp} is not valid JSON: Expecting property name")
    stamp.write_bytes(good)

    # A record that is JSON but not what its schema says: one error, named with its file.
    meta = copy / "run_metadata.json"
    doc = json.loads(meta.read_bytes())
    doc["exit_code"] = "zero"
    meta.write_text(json.dumps(doc))
    with pytest.raises(UsageError) as exc:
        pack(copy, out_dir=tmp_path / "out")
    assert exc.value.message.startswith(f"{meta} does not match its schema: ")
    assert "exit_code" in exc.value.message and "'zero'" in exc.value.message


def test_a_file_name_that_is_not_utf8_is_refused_with_a_hint(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    bad = os.path.join(os.fsencode(copy / "logs"), b"caf\xe9.log")
    with open(bad, "wb") as fh:
        fh.write(b"x")
    out = tmp_path / "out"
    with pytest.raises(UsageError) as exc:
        pack(copy, out_dir=out)
    shown = str(copy / "logs" / "caf") + "\\xe9.log"
    assert exc.value.message == f"{shown} has a name that is not UTF-8; a bundle's names are UTF-8"
    assert exc.value.hint
    assert not out.exists() or not any(out.iterdir())


def test_a_symlinked_folder_in_the_run_folder_is_refused(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    os.symlink(copy / "logs", copy / "more-logs")
    with pytest.raises(UsageError) as exc:
        pack(copy, out_dir=tmp_path / "out")
    assert exc.value.message == f"{copy / 'more-logs'} is a symlink; a run folder holds plain files"


def test_pack_to_without_a_target_names_the_bundle_by_its_digest(run_dir, tmp_path):
    from repro.bundle import pack_to

    out = tmp_path / "out"
    res = pack_to(run_dir, target=None, out_dir=out, store=True)
    bag = _check_bag(res.path, run_dir)
    top, tagmanifest = bag
    assert res.path == out / f"{top}-{hashlib.sha256(tagmanifest).hexdigest()[:12]}.zip"
    _check_result(res, res.path, bag, "stored")
    assert not res.reused and res.compression == "stored"
    with zipfile.ZipFile(res.path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
    # Packed again into the same folder: the same bytes, found there and kept.
    inode = res.path.stat().st_ino
    again = pack_to(run_dir, target=None, out_dir=out, store=True)
    assert again.reused and again.path == res.path and res.path.stat().st_ino == inode
    _check_result(again, res.path, bag, "stored")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [res.path.name, res.sidecar.name, res.statement.name]  # no staging file left
    )


def test_pack_to_a_target_replaces_the_file_there(run_dir, tmp_path, monkeypatch):
    import time

    from repro.bundle import pack_to

    stamp_time = 1_700_000_001  # odd: a zip's times count in 2-second steps
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(stamp_time))
    (tmp_path / "dest").mkdir()
    target = tmp_path / "dest" / "merged.zip"
    target.write_bytes(b"an older file")
    res = pack_to(run_dir, target=target, out_dir=tmp_path / "unused")
    _check_result(res, target, _check_bag(target, run_dir), res.compression)
    assert not res.reused and res.compression != "stored"
    assert not (tmp_path / "unused").exists()
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(
        [target.name, res.sidecar.name, res.statement.name]
    )
    with zipfile.ZipFile(target) as zf:
        infos = zf.infolist()
    assert {i.date_time for i in infos} == {time.gmtime(stamp_time - 1)[:6]}
    assert any(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
    # The same bytes as `repro pack` gives the same run folder (only the name differs).
    assert target.read_bytes() == pack(run_dir, out_dir=tmp_path / "p").path.read_bytes()
