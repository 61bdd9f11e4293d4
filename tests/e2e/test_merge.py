"""`repro merge` end to end: a fixture suite split in 3 shards with pytest-split, each
bundled by the real `repro bundle -- --splits 3 --group K`, merged, and compared with one
unsplit `repro bundle` of the same suite (pytest's own counts, never typed numbers)."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest

from repro.merge import split_of, strip_split
from tests.conftest import git_init, run_repro, write_project

SUITE = {
    "tests/test_math.py": """
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_square(n):
            assert n * n != 25

        def test_skipped():
            pytest.skip("not here")

        @pytest.mark.xfail(reason="known")
        def test_expected_failure():
            assert False
    """,
    "tests/test_text.py": """
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("setup breaks")

        def test_upper():
            assert "a".upper() == "A"

        def test_error(broken):
            pass

        @pytest.mark.parametrize("word", ["x", "y", "z"])
        def test_words(word):
            print("word", word)
    """,
    # Skipped at collection: every shard collects (and counts) it, an unsplit run once.
    "tests/test_later.py": """
        import pytest

        pytest.skip("whole module", allow_module_level=True)
    """,
    "README.md": "fixture\n",
}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def _bundle(proj: Path, *args: str) -> Path:
    res = run_repro("bundle", "--project", proj, "-q", "--json", *args, cwd=proj)
    assert res.returncode in (0, 1), res.stderr
    return Path(json.loads(res.stdout)["bundle"])


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("merge")
    proj = write_project(root / "proj", SUITE)
    git_init(proj)
    split = ["--no-lock", "--", "--splits", "3", "--group"]
    shards = [_bundle(proj, *split, str(k)) for k in (1, 2, 3)]
    lock = root / "other.lock"
    lock.write_text("pytest==1.0\n")
    out: dict[str, Any] = {
        "root": root,
        "proj": proj,
        "shards": shards,
        "unsplit": _bundle(proj, "--no-lock"),
        "again2": _bundle(proj, *split, "2"),
        "locked3": _bundle(proj, "-o", str(lock), "--", "--splits", "3", "--group", "3"),
        # Shards chosen with -k instead of pytest-split: no group recorded.
        "k_math": _bundle(proj, "--no-lock", "--", "-k", "test_math"),
        "k_rest": _bundle(proj, "--no-lock", "--", "-k", "not test_math"),
        "k_overlap": _bundle(proj, "--no-lock", "--", "-k", "square or upper"),
        "k_other_args": _bundle(proj, "--no-lock", "--", "-k", "not test_math", "-x"),
        # -k before the split: every group deselects the same tests, as the unsplit run.
        "k_unsplit": _bundle(proj, "--no-lock", "--", "-k", "not words"),
        "k_split": [
            _bundle(proj, "--no-lock", "--", "-k", "not words", "--splits", "2", "--group", k)
            for k in ("1", "2")
        ],
    }
    (proj / "README.md").write_text("changed\n")
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "commit", "-qam", "next"], cwd=proj, env=env, check=True)
    out["commit3"] = _bundle(proj, *split, "3")
    return out


def _read(bundle: Path, rel: str) -> bytes:
    with zipfile.ZipFile(bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        return zf.read(f"{top}/data/{rel}")


def _meta(bundle: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_read(bundle, "run_metadata.json"))
    return doc


def _cases(bundle: Path) -> list[tuple[Any, ...]]:
    """Every JUnit testcase: its attributes and what it holds, comparable across files."""
    root = ET.fromstring(_read(bundle, "results/junit.xml"))
    return sorted(
        (
            tuple(sorted(case.attrib.items())),
            tuple((c.tag, c.get("message"), c.text) for c in case),
        )
        for case in root.iter("testcase")
    )


def _untimed(cases: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(kv for kv in attrs if kv[0] != "time"), body) for attrs, body in cases)


def test_three_shards_merge_into_what_one_unsplit_run_reports(made, cli, tmp_path):
    out = tmp_path / "all.zip"
    res = cli("merge", *made["shards"], "-o", out, "--json")
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["partial"] is False and obj["missing"]["tests"] == 0
    assert [s["group"] for s in obj["shards"]] == [1, 2, 3]

    ver = cli("verify", out, "--expect", obj["digest"], "--json")
    assert ver.exit_code == 0, ver.stdout
    assert json.loads(ver.stdout)["bundles"][0]["problems"] == []

    merged, unsplit = _meta(out), _meta(made["unsplit"])
    assert unsplit["counts_source"] == "pytest"
    assert merged["counts"] == unsplit["counts"] == obj["counts"]
    assert merged["tests_total"] == unsplit["tests_total"]
    assert merged["status"] == unsplit["status"] == "failed"
    assert sorted(merged["order"]) == sorted(unsplit["order"])
    assert merged["collection"] == unsplit["collection"]
    assert "--splits" not in merged["argv"] and "--group" not in merged["argv"]

    # JUnit: the union of the shards' cases exactly (the module skipped at collection is a
    # case of every shard, and once here); the unsplit run's, but for timings.
    assert _cases(out) == sorted({case for s in made["shards"] for case in _cases(s)})
    assert _untimed(_cases(out)) == _untimed(_cases(made["unsplit"]))

    record = json.loads(_read(out, "merge.json"))
    for entry, shard in zip(record["shards"], made["shards"], strict=True):
        assert entry["bundle"] == shard.name
        verified = json.loads(cli("verify", shard, "--json").stdout)["bundles"][0]
        assert entry["digest"] == verified["digest"] and entry["run_id"] == _meta(shard)["run_id"]
        for rel in ("logs/stdout.log", "logs/pytest_output.txt"):
            assert _read(out, f"shards/{entry['name']}/{rel}") == _read(shard, rel)

    same = cli("diff", out, made["unsplit"])
    assert same.exit_code == 0 and "every test has the same outcome" in same.stdout, same.stdout

    shown = cli("show", out)
    assert shown.exit_code == 0, shown.output
    for k in (1, 2, 3):
        assert f"group {k} of 3:" in shown.stdout
    assert cli("report", out, "-o", tmp_path / "all.html").exit_code == 0
    assert "shards/3/logs/stdout.log" in (tmp_path / "all.html").read_text()


def test_merging_the_same_shards_again_gives_the_same_bytes(made, cli, tmp_path):
    first, again = tmp_path / "a.zip", tmp_path / "b" / "b.zip"
    assert cli("merge", *made["shards"], "-o", first).exit_code == 0
    assert cli("merge", *reversed(made["shards"]), "-o", again, "-q").exit_code == 0
    assert first.read_bytes() == again.read_bytes()
    into = tmp_path / "folder"  # made: the path ends in /
    res = cli("merge", *made["shards"], "-o", f"{into}/", "--json")
    named = Path(json.loads(res.stdout)["bundle"])
    assert named.parent == into and named.name.startswith("repro-")
    assert cli("verify", named).stdout.startswith("OK (intact)")


def _refusal(cli: Any, *args: Any) -> str:
    res = cli("merge", *args)
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("repro: error: "), res.stderr
    return lines[0]


def test_a_missing_shard_is_refused_naming_the_tests_it_ran(made, cli, tmp_path):
    one, two, three = made["shards"]
    line = _refusal(cli, one, two, "-o", tmp_path / "x.zip")
    assert "group 3 of 3 missing" in line
    missing = sorted(_meta(three)["order"])
    assert f"{len(missing)} of {_meta(three)['collection']['n']} tests not run" in line
    assert missing[0] in line
    assert not (tmp_path / "x.zip").exists()


def test_a_duplicated_shard_is_refused(made, cli, tmp_path):
    one, two, three = made["shards"]
    line = _refusal(cli, one, two, two, three, "-o", tmp_path / "x.zip")
    assert "are the same shard" in line
    line = _refusal(cli, one, two, made["again2"], three, "-o", tmp_path / "x.zip")
    assert "group 2 of 3 is given twice" in line
    line = _refusal(cli, one, made["unsplit"], "-o", tmp_path / "x.zip")
    assert "names a pytest-split group" in line
    # Shards without groups: the tests run twice are named.
    line = _refusal(cli, made["k_math"], made["k_overlap"], "-o", tmp_path / "x.zip")
    both = sorted(set(_meta(made["k_math"])["order"]) & set(_meta(made["k_overlap"])["order"]))
    assert f"{len(both)} test(s) ran in more than one shard: {both[0]}" in line


def test_shards_chosen_with_k_merge_too(made, cli, tmp_path):
    out = tmp_path / "k.zip"
    res = cli("merge", made["k_rest"], made["k_math"], "-o", out, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"] == _meta(made["unsplit"])["counts"]
    assert [s["group"] for s in json.loads(res.stdout)["shards"]] == [None, None]
    assert cli("verify", out).exit_code == 0

    # The merge stands for the run without the shards' deselection: its recorded command
    # (what `repro replay` runs) is the unsplit run's, whichever shard came first.
    def users(bundle: Path) -> list[str]:
        argv: list[str] = _meta(bundle)["argv"]
        own = next(i for i, a in enumerate(argv) if a.startswith("--repro-results="))
        return argv[own + 1 :]

    assert users(made["k_math"]) == ["-k", "test_math"]
    assert users(out) == users(made["unsplit"])


def test_shards_run_with_other_arguments_are_refused(made, cli, tmp_path):
    line = _refusal(cli, made["k_math"], made["k_other_args"], "-o", tmp_path / "x.zip")
    assert "the shards differ in pytest arguments" in line and "-x" in line


def test_shards_of_another_commit_or_lock_are_refused(made, cli, tmp_path):
    one, two, _ = made["shards"]
    line = _refusal(cli, one, two, made["commit3"], "-o", tmp_path / "x.zip")
    assert "the shards differ in code" in line and "commit" in line
    line = _refusal(cli, one, two, made["locked3"], "-o", tmp_path / "x.zip")
    assert "the shards differ in lock" in line and "no lock" in line


def test_a_shard_that_does_not_verify_is_refused(made, cli, tmp_path):
    broken = tmp_path / made["shards"][0].name
    data = bytearray(made["shards"][0].read_bytes())
    data[len(data) // 3] ^= 0xFF
    broken.write_bytes(bytes(data))
    line = _refusal(cli, broken, *made["shards"][1:], "-o", tmp_path / "x.zip")
    assert "does not verify" in line


def test_allow_partial_makes_a_bundle_that_says_what_is_missing(made, cli, tmp_path):
    one, two, three = made["shards"]
    out = tmp_path / "part.zip"
    res = cli("merge", one, two, "-o", out, "--allow-partial", "--json")
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    ran_by_three = sorted(_meta(three)["order"])
    assert obj["partial"] is True
    assert obj["missing"] == {
        "groups": [3],
        "tests": len(ran_by_three),
        "ids": ran_by_three,
        "exact": True,
    }
    record = json.loads(_read(out, "merge.json"))
    assert record["partial"] is True and record["missing"]["ids"] == ran_by_three

    ver = cli("verify", out)
    assert ver.exit_code == 0 and "(partial merge)" in ver.stdout
    assert cli("verify", out, "--require-passed").exit_code == 1
    shown = cli("show", out)
    assert "partial: no shard ran group 3" in shown.stdout
    assert f"missing {ran_by_three[0]}" in shown.stdout


def test_a_tampered_merge_record_fails_verification(made, cli, tmp_path):
    """The shards' logs in a merged bundle are the ones merge.json names; re-stamping the
    bundle after swapping one is caught by the cross-check, not by the digest."""
    from tests.hostile import rebag, save

    out = tmp_path / "all.zip"
    assert cli("merge", *made["shards"], "-o", out).exit_code == 0
    bad = save(rebag(out, {"data/shards/1/logs/stdout.log": b"other bytes\n"}), tmp_path / "bad")
    res = cli("verify", bad)
    assert res.exit_code == 1
    assert "differs from the log shard 1 recorded" in res.stdout


def test_pytest_split_arguments_are_read_and_removed():
    assert split_of(["-q", "--splits", "3", "--group", "2"]) == (2, 3)
    assert split_of(["--splits=4", "--group=1"]) == (1, 4)
    assert split_of(["-q"]) == (None, None)
    assert strip_split(["-q", "--splits", "3", "--group=2", "-x"]) == ("-q", "-x")


def test_a_merged_bundle_is_not_merged_again(made, cli, tmp_path):
    out = tmp_path / "all.zip"
    assert cli("merge", *made["shards"], "-o", out).exit_code == 0
    assert "is itself a merge" in _refusal(cli, out, "-o", tmp_path / "again.zip")


def test_merge_needs_a_writable_destination(made, cli, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    res = cli("merge", *made["shards"], "-o", blocked / "all.zip")
    assert res.exit_code == 3, res.output
    assert res.stderr.startswith("repro: error: cannot write into")


def test_a_merged_bundle_is_signed_like_any_bundle(made, cli, tmp_path):
    out = tmp_path / "all.zip"
    assert cli("merge", *made["shards"], "-o", out).exit_code == 0
    assert cli("keygen", "--out", tmp_path / "k.key", "--no-passphrase").exit_code == 0
    assert cli("sign", out, "--key", tmp_path / "k.key").exit_code == 0
    res = cli("verify", out, "--key", tmp_path / "k.key.pub")
    assert res.exit_code == 0, res.stdout
    assert "attested: yes" in res.stdout


def test_tests_every_group_deselected_are_deselected_as_in_the_unsplit_run(made, cli, tmp_path):
    out = tmp_path / "k.zip"
    res = cli("merge", *made["k_split"], "-o", out, "--json")
    assert res.exit_code == 0, res.output
    unsplit = _meta(made["k_unsplit"])
    assert unsplit["counts"]["deselected"] > 0
    assert json.loads(res.stdout)["counts"] == unsplit["counts"]
    assert json.loads(_read(out, "merge.json"))["deselected"] == unsplit["counts"]["deselected"]
    assert cli("verify", out).exit_code == 0
