"""The verdict keeps integrity and outcome apart, in text and --json; --require-passed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from repro.bundle import pack
from tests import hostile as h
from tests.conftest import PASSING, real_run


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_run(tmp_path_factory.mktemp("passing"), PASSING)


@pytest.fixture(scope="module")
def passing_bundle(passing_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pack(passing_run, out_dir=tmp_path_factory.mktemp("bundles")).path


def verify_json(cli: Any, *args: Any) -> tuple[int, list[dict[str, Any]]]:
    res = cli("verify", "--json", *args)
    return res.exit_code, json.loads(res.stdout)["bundles"]


def test_intact_failing_bundle_is_ok_but_says_failed(cli, valid_bundle: Path) -> None:
    res = cli("verify", valid_bundle)
    assert res.exit_code == 0
    line = res.stdout.splitlines()[0]
    assert line.startswith("OK (intact)  tests: failed, 1 passed, 1 failed, 1 skipped, 1 xfailed  ")
    code, (doc,) = verify_json(cli, valid_bundle)
    assert code == 0
    assert (doc["intact"], doc["integrity"], doc["status"], doc["passed"]) == (
        True,
        "intact",
        "failed",
        False,
    )
    assert doc["counts"] == {
        "passed": 1,
        "failed": 1,
        "skipped": 1,
        "error": 0,
        "xfailed": 1,
        "xpassed": 0,
    }
    assert doc["verdict"] == line.rsplit("  ", 1)[0]


def test_require_passed_fails_a_failed_run_and_passes_a_passed_one(
    cli, valid_bundle: Path, passing_bundle: Path
) -> None:
    res = cli("verify", "--require-passed", valid_bundle)
    assert res.exit_code == 1 and res.stdout.startswith("OK (intact)  tests: failed")
    res = cli("verify", "--require-passed", passing_bundle)
    assert res.exit_code == 0
    assert res.stdout.startswith("OK (intact)  tests: passed, 2 passed  sha256:")
    assert cli("verify", "--require-passed", passing_bundle, valid_bundle).exit_code == 1
    code, docs = verify_json(cli, "--require-passed", passing_bundle, valid_bundle)
    assert code == 1 and [d["passed"] for d in docs] == [True, False]


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "crashed", "exit_code": 1},
        {"status": "error", "exit_code": 4},
        {"status": "interrupted", "exit_code": 2},
        {"status": "no-tests", "exit_code": 5},
    ],
    ids=lambda f: f["status"],
)
def test_require_passed_fails_every_other_status(
    cli, passing_bundle: Path, tmp_path: Path, fields: dict[str, Any]
) -> None:
    """Bundles made by a forger who recomputes everything: intact, with another status."""
    forged = passing_bundle.read_bytes()
    for rel in ("data/run_metadata.json", "data/run_stamp.json"):
        forged = h.edit_record(forged, rel, lambda d: d.update(fields))
    path = h.save(forged, tmp_path)
    assert cli("verify", path).exit_code == 0
    res = cli("verify", "--require-passed", path)
    assert res.exit_code == 1
    assert res.stdout.startswith(f"OK (intact)  tests: {fields['status']}, 2 passed  ")


def test_broken_bundle_claiming_a_pass_is_unverified(cli, passing_bundle: Path, tmp_path) -> None:
    path = h.save(h.flip_byte(passing_bundle.read_bytes()), tmp_path)
    res = cli("verify", path)
    assert res.exit_code == 1
    assert res.stdout.startswith("FAIL (not intact)  tests: passed, 2 passed (unverified)  ")
    code, (doc,) = verify_json(cli, path)
    assert code == 1
    assert (doc["intact"], doc["status"], doc["passed"]) == (False, "passed", False)


def test_run_folder_is_verified_without_a_digest(cli, passing_run: Path, tmp_path: Path) -> None:
    res = cli("verify", "--require-passed", passing_run)
    assert res.exit_code == 0
    assert res.stdout == f"OK (intact, not packed)  tests: passed, 2 passed  {passing_run}\n"
    assert cli("verify", passing_run, "--expect", "sha256:" + "0" * 64).exit_code == 1

    edited = tmp_path / "edited"
    shutil.copytree(passing_run, edited)
    log = edited / "logs/stdout.log"
    log.write_bytes(log.read_bytes() + b"added after the run\n")
    res = cli("verify", edited)
    assert res.exit_code == 1
    assert "  - [crosscheck] run_metadata.json: size or hash of logs/stdout.log" in res.stdout


def test_a_folder_that_is_not_a_run_is_refused_without_reading_it(cli, tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 1024)
    res = cli("verify", tmp_path)
    assert res.exit_code == 2  # a usage error, before anything is read (as a FIFO is)
    assert res.stderr.strip() == (
        f"repro: error: not a bundle or a run folder: {tmp_path} "
        "(pass the bundle's .zip file, or a folder under outputs/runs/)"
    )
    # The library reports it as a problem of the folder, still without reading it.
    from repro.verify import verify

    report = verify(tmp_path)
    assert [(p.kind, p.message) for p in report.problems] == [
        ("missing", "not a run folder: it has no run_stamp.json")
    ]
