"""`repro diff` on two real runs of one project before and after a change."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from repro.compare import _tests, compare
from repro.model import Counts, Outcome, Results, TestResult
from repro.reader import open_bundle, open_bundles
from tests import hostile as h
from tests.cli.conftest import TwoRuns

APP = "tests/test_app.py"


def test_per_test_changes_durations_commit_and_exit_1(cli, two_runs: TwoRuns) -> None:
    res = cli("diff", "--json", two_runs.before, two_runs.after)
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["same_outcomes"] is False
    kinds = {t["id"].split("::")[1]: (t["kind"], t["before"], t["after"]) for t in doc["tests"]}
    assert kinds == {
        "test_breaks": ("now-failing", "passed", "failed"),
        "test_heals": ("now-passing", "failed", "passed"),
        "test_goes_away": ("missing", "passed", None),
        "test_arrives": ("new", None, "passed"),
    }
    (slower,) = doc["durations"]
    assert slower["id"] == f"{APP}::test_slows"
    assert slower["after"] > 0.5 and slower["after"] > 2 * slower["before"]
    commit = {c["name"]: (c["before"], c["after"]) for c in doc["commit"]}
    assert commit == {"commit": two_runs.commits}
    assert doc["status"] is None  # failed both times
    assert doc["a"]["verdict"]["intact"] and doc["b"]["verdict"]["intact"]


def test_text_lists_each_kind_of_change(cli, two_runs: TwoRuns) -> None:
    res = cli("diff", two_runs.before, two_runs.after_dir)
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert lines[0].startswith("A  OK (intact)  tests: failed")
    assert any(line.startswith("B  OK (intact, not packed)  tests: failed") for line in lines)
    assert "tests    1 now failing, 1 now passing, 1 missing in B, 1 new in B" in lines
    at = lines.index("Tests now failing (1)")
    assert lines[at + 1 : at + 3] == [f"  {APP}::test_breaks", "    passed -> failed"]
    assert "Durations changed more than 2x and 0.5 s (1)" in lines
    assert "packages same" in lines and "env      same" in lines
    assert lines[-1] == "Outcomes differ."
    assert all(len(line) <= 80 for line in lines)


def test_same_run_twice_has_the_same_outcomes(cli, two_runs: TwoRuns) -> None:
    res = cli("diff", two_runs.after, two_runs.after_dir)
    assert res.exit_code == 0, res.stdout
    assert res.stdout.splitlines()[-1] == "Same outcomes."
    assert "tests    every test has the same outcome" in res.stdout


def test_packages_added_removed_and_changed(cli, two_runs: TwoRuns, tmp_path: Path) -> None:
    data = two_runs.after.read_bytes()

    def edit(env: dict) -> None:
        pkgs = [p for p in env["packages"] if p["name"].lower() != "click"]
        for p in pkgs:
            if p["name"].lower() == "pytest":
                p["version"] = "0.0.1"
        env["packages"] = [*pkgs, {"name": "Left_Pad", "version": "1.0"}]
        env["python"]["version"] = "3.99.0"

    path = h.save(h.edit_record(data, "data/env.json", edit), tmp_path)
    res = cli("diff", "--json", two_runs.after, path)
    assert res.exit_code == 0  # the tests' outcomes are the same
    doc = json.loads(res.stdout)
    changes = {p["name"].lower(): (p["before"], p["after"]) for p in doc["packages"]}
    assert changes["left_pad"] == (None, "1.0")
    assert changes["click"][1] is None and changes["click"][0]
    assert changes["pytest"][1] == "0.0.1"
    assert len(changes) == 3
    env = {c["name"]: c["after"] for c in doc["env"]}
    assert env["python"].endswith(" 3.99.0")
    text = cli("diff", two_runs.after, path).stdout.splitlines()
    assert "packages 1 changed, 1 added, 1 removed" in text and "  + Left_Pad 1.0" in text


def test_a_bundle_that_is_not_intact_never_compares_the_same(
    cli, two_runs: TwoRuns, tmp_path: Path
) -> None:
    broken = h.save(h.flip_byte(two_runs.after.read_bytes()), tmp_path)
    res = cli("diff", two_runs.after, broken)
    assert res.exit_code == 1
    assert "B  FAIL (not intact)" in res.stdout
    assert res.stdout.splitlines()[-1] == "Not comparable as evidence: a bundle is not intact."


def test_missing_bundle_is_a_usage_error(cli, two_runs: TwoRuns, tmp_path: Path) -> None:
    res = cli("diff", two_runs.after, tmp_path / "nope.zip")
    assert res.exit_code == 2 and res.stderr.startswith("repro: error: no such bundle")


def test_bundles_opened_in_a_forked_child_are_the_ones_opened_here(
    two_runs: TwoRuns, tmp_path: Path
) -> None:
    """`repro diff` opens B in a child that sends it back pickled; a broken bundle too."""
    broken = h.save(h.flip_byte(two_runs.after.read_bytes()), tmp_path)
    paths = (two_runs.before, two_runs.after_dir, broken)
    forked = open_bundles(*paths)
    here = [open_bundle(p) for p in paths]
    assert forked == here
    assert [b.results.positions() if b.results else None for b in forked] == [
        b.results.positions() if b.results else None for b in here
    ]
    assert not forked[2].ok and forked[1].results is not None


def test_sixty_thousand_tests_compare_in_well_under_a_second(two_runs: TwoRuns) -> None:
    """The per-test comparison itself; reading two such bundles is measured in
    docs/design.md (about 1 s for two 50,000-test bundles)."""
    base = open_bundle(two_runs.after)
    assert base.results is not None
    n = 60_000
    outcomes = [Outcome.PASSED] * n
    a_tests = tuple(TestResult(f"t.py::test_{i}", o, 0.01) for i, o in enumerate(outcomes))
    b_tests = tuple(
        TestResult(t.id, Outcome.FAILED if i % 1000 == 0 else t.outcome, 0.01)
        for i, t in enumerate(a_tests)
    )

    def results(tests: tuple[TestResult, ...]) -> Results:
        return Results(
            tests=tests,
            counts=Counts.of([t.outcome for t in tests if t.outcome]),
            in_flight=None,
            collect_errors=(),
            session_started=True,
            session_finished=True,
            exitstatus=1,
            collected=n,
            pytest_version=None,
            plugins=(),
        )

    from dataclasses import replace

    a, b = replace(base, results=results(a_tests)), replace(base, results=results(b_tests))
    started = time.perf_counter()
    c = compare(a, b)
    elapsed = time.perf_counter() - started
    assert len(c.tests) == n // 1000 and not c.same_outcomes
    assert elapsed < 1.0, elapsed


def _naive(
    a: Results, b: Results
) -> tuple[list[tuple[str, str, str | None, str | None]], list[str]]:
    """What `repro diff` lists, the plain way: one dict per run, the last test of each id."""
    text = {None: "in-flight", **{o: o.value for o in Outcome}}
    before = {t.id: (text[t.outcome], t.duration) for t in a.tests}
    after = {t.id: (text[t.outcome], t.duration) for t in b.tests}
    bad = {"failed", "error", "in-flight"}
    changes, durations = [], []
    for test_id, (oa, da) in before.items():
        if test_id not in after:
            changes.append((test_id, "missing", oa, None))
            continue
        ob, db = after[test_id]
        if oa != ob:
            kind = "changed"
            if ob in bad and oa not in bad:
                kind = "now-failing"
            elif oa in bad and ob not in bad:
                kind = "now-passing"
            changes.append((test_id, kind, oa, ob))
        low, high = min(da, db), max(da, db)
        if high - low > 0.5 and high > 2 * low:
            durations.append((test_id, abs(db - da)))
    changes += [(i, "new", None, ob) for i, (ob, _) in after.items() if i not in before]
    durations.sort(key=lambda d: d[1], reverse=True)
    return changes, [d[0] for d in durations]


_TESTS = st.lists(
    st.tuples(
        st.sampled_from(["t::a", "t::b", "t::c", "t::d"]),
        st.sampled_from([None, *Outcome]),
        st.sampled_from([0.0, 0.01, 0.3, 1.0, 2.5, 9.0]),
    ),
    max_size=8,
)


@given(_TESTS, _TESTS, st.booleans())
def test_each_change_of_outcome_and_duration_is_listed(rows_a, rows_b, same_ids) -> None:
    """The same tests in the same order (compared column by column) or not (by id)."""
    if same_ids:  # B: A's tests, in A's order, with B's outcomes and durations where given
        rows_b = [
            (i, *(rows_b[n][1:] if n < len(rows_b) else rest))
            for n, (i, *rest) in enumerate(rows_a)
        ]

    def results(rows: list[tuple[str, Outcome | None, float]]) -> Results:
        return Results(
            tests=tuple(TestResult(i, o, d) for i, o, d in rows),
            counts=Counts.of([o for _, o, _ in rows if o]),
            in_flight=None,
            collect_errors=(),
            session_started=True,
            session_finished=True,
            exitstatus=1,
            collected=len(rows),
            pytest_version=None,
            plugins=(),
        )

    a, b = results(rows_a), results(rows_b)
    changes, durations = _tests(a, b)
    want_changes, want_durations = _naive(a, b)
    assert [(c.id, c.kind.value, c.before, c.after) for c in changes] == want_changes
    assert [d.id for d in durations] == want_durations
