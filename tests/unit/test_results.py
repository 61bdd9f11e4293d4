"""Per-test outcomes, counts and the test in flight, from the plugin's event stream."""

from __future__ import annotations

import dataclasses
import itertools
import json
import pickle
import threading
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from repro import results
from repro.junit import JUnitBuilder, junit_counts
from repro.model import Outcome, Phase, TestResult, build_tests
from repro.results import parse_events
from repro.runner import _prepare, new_run_id


def _ev(**kw: object) -> bytes:
    return json.dumps(kw).encode()


def _test(nodeid: str, *phases: tuple[str, str], xfail: bool = False) -> list[bytes]:
    out = [_ev(ev="start", id=nodeid)]
    for when, outcome in phases:
        fields: dict[str, object] = {
            "ev": "report",
            "id": nodeid,
            "when": when,
            "outcome": outcome,
            "dur": 0.0,
        }
        if xfail:
            fields["xfail"] = True
        out.append(json.dumps(fields).encode())
    return out


def test_phases_fold_into_one_outcome_per_test():
    ok = ("setup", "passed"), ("call", "passed"), ("teardown", "passed")
    lines = [
        _ev(ev="session", pytest="9.0", plugins=["x-1"]),
        _ev(ev="collected", n=7),
        *_test("t::pass", *ok),
        _ev(ev="start", id="t::compact"),
        _ev(ev="passed", id="t::compact", dur=[0.1, 0.2, 0.3]),  # three passing phases
        *_test("t::fail", ("setup", "passed"), ("call", "failed"), ("teardown", "failed")),
        *_test("t::skip", ("setup", "skipped"), ("teardown", "passed")),
        *_test("t::setup_error", ("setup", "failed"), ("teardown", "passed")),
        *_test(
            "t::teardown_error", ("setup", "passed"), ("call", "passed"), ("teardown", "failed")
        ),
        *_test(
            "t::xfail", ("setup", "passed"), ("call", "skipped"), ("teardown", "passed"), xfail=True
        ),
        *_test(
            "t::xpass", ("setup", "passed"), ("call", "passed"), ("teardown", "passed"), xfail=True
        ),
        _ev(ev="finish", exitstatus=1),
    ]
    res = parse_events(lines)
    assert res.session_started and res.session_finished and res.exitstatus == 1
    assert res.outcomes == {
        "t::pass": "passed",
        "t::compact": "passed",
        "t::fail": "failed",
        "t::skip": "skipped",
        "t::setup_error": "error",
        "t::teardown_error": "error",
        "t::xfail": "xfailed",
        "t::xpass": "xpassed",
    }
    # Counts are per report, as pytest's summary line counts them: the teardown
    # error after a passing call is 1 passed and 1 error, after a failing call
    # 1 failed and 1 error (tests/conformance checks this against pytest itself).
    assert res.counts_source == "stream"
    assert res.counts == {
        "passed": 3,
        "failed": 1,
        "skipped": 1,
        "error": 3,
        "xfailed": 1,
        "xpassed": 1,
    }
    assert res.in_flight is None and res.collected == 7 and res.plugins == ("x-1",)


def test_a_run_that_died_names_the_test_in_flight_and_survives_a_cut_line():
    lines = [
        _ev(ev="session", pytest="9.0"),
        *_test("t::a", ("setup", "passed"), ("call", "passed"), ("teardown", "passed")),
        *_test("t::b", ("setup", "passed")),
        b'{"ev":"report","id":"t::b","wh',  # the write cut short
    ]
    res = parse_events(lines)
    assert not res.session_finished
    assert res.in_flight == "t::b" and res.order == ("t::a", "t::b")
    assert res.counts["passed"] == 1 and res.bad_lines == 1


def test_junit_counts_by_content():
    xml = b"""<testsuites><testsuite>
      <testcase name="a"/><testcase name="b"><failure message="x"/></testcase>
      <testcase name="c"><skipped/></testcase><testcase name="d"><error/></testcase>
    </testsuite></testsuites>"""
    c = junit_counts(xml)
    assert (c.tests, c.failures, c.skipped, c.errors) == (4, 1, 1, 1)


def test_run_ids_sort_by_time_and_stay_unique_under_concurrency(tmp_path: Path):
    assert new_run_id(0) < new_run_id(1)
    ids: list[str] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(50):
            run_id, staging = _prepare(tmp_path)
            assert staging.is_dir()
            with lock:
                ids.append(run_id)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 400


def test_follower_reads_a_growing_file_cut_anywhere_like_a_whole_read(tmp_path: Path):
    """Writes that end mid-line (as a reader racing the plugin sees them) are
    joined; a last line cut short is a bad line, as in a read of the finished file."""
    import time

    from repro.results import EventParser, Follower

    ok = ("setup", "passed"), ("call", "passed"), ("teardown", "passed")
    stream = (
        b"".join(
            line + b"\n"
            for line in [
                _ev(ev="session", pytest="9.0"),
                *[ln for i in range(300) for ln in _test(f"t.py::test_{i}", *ok)],
                *_test("t.py::test_last", ("setup", "passed")),
            ]
        )
        + b'{"ev":"report","id":"t.py::test_last","wh'
    )
    path = tmp_path / "results.jsonl"
    seen: list[str] = []
    follower = Follower(path, EventParser(lambda ev: seen.append(ev["ev"])))
    follower.POLL_SECONDS = 0.001
    follower.start()
    time.sleep(0.01)  # the file does not exist yet: the follower waits for it
    with open(path, "wb", buffering=0) as fh:
        for i in range(0, len(stream), 997):  # pieces that end anywhere in a line
            fh.write(stream[i : i + 997])
            time.sleep(0.0005)
    followed = follower.finish()
    whole = parse_events(stream.splitlines())
    assert followed == whole
    assert followed.in_flight == "t.py::test_last" and followed.bad_lines == 1
    assert followed.counts["passed"] == 300 and len(seen) == 1 + 300 * 4 + 2


def test_follower_reports_an_error_of_its_thread_to_the_caller(tmp_path: Path):
    from repro.results import EventParser, Follower

    def listener(ev: dict[str, object]) -> None:
        raise OSError(28, "No space left on device")

    path = tmp_path / "results.jsonl"
    path.write_bytes(_ev(ev="session", pytest="9.0") + b"\n")
    follower = Follower(path, EventParser(listener)).start()
    with pytest.raises(OSError, match="No space left"):
        follower.finish()


def test_any_node_id_comes_back_exactly():
    odd = ["t.py::test[\ud800]", "t.py::test[\n\xff\u20ac]", "t.py::test[]", "t.py::x\x00y"]
    ok = ("setup", "passed"), ("call", "passed"), ("teardown", "passed")
    lines = [_ev(ev="session", pytest="9.0")]
    for nodeid in odd:
        lines += _test(nodeid, *ok)
    lines += _test("t.py::last", ("setup", "passed"))
    res = parse_events(lines)
    assert res.order == (*odd, "t.py::last") and res.in_flight == "t.py::last"
    assert res.outcomes == dict.fromkeys(odd, "passed")


def test_a_test_started_twice_without_finishing_is_not_counted():
    lines = [
        _ev(ev="session", pytest="9.0"),
        _ev(ev="start", id="t::a"),
        *_test("t::a", ("setup", "passed"), ("call", "passed"), ("teardown", "passed")),
    ]
    res = parse_events(lines)
    assert res.order == ("t::a", "t::a") and res.outcomes == {"t::a": "passed"}
    assert res.counts["xpassed"] == 0 and res.in_flight is None


# A results stream exactly as repro's plugin wrote it in format 2 (repro before
# format 3): no categories, `xfail` as true, short messages. Bundles made then
# must still verify, so the reader must still fold them the same way.
FORMAT_2 = (Path(__file__).parent / "data/results-format2.jsonl").read_bytes()


def test_reader_accepts_format_2_streams():
    res = parse_events(FORMAT_2.splitlines())
    assert res.bad_lines == 0 and res.format == 2
    assert res.outcomes == {
        "t.py::test_ok": "passed",
        "t.py::test_fail": "failed",
        "t.py::test_xfail": "xfailed",
    }
    # No summary in format 2: recounted by pytest's default categories.
    assert res.counts_source == "stream"
    assert {k: n for k, n in res.counts.items() if n} == {
        "passed": 1,
        "failed": 1,
        "error": 2,
        "xfailed": 1,
    }


def test_unknown_outcomes_and_phases_are_kept_not_rejected():
    """Plugins add outcomes (`rerun`) and phases (xdist's `???`): a stream that has
    them is pytest's, not a malformed one."""
    lines = [
        _ev(ev="session", format=3, pytest="9.2.0", plugins=[]),
        _ev(ev="start", id="t::flaky"),
        _ev(ev="report", id="t::flaky", when="call", outcome="rerun", dur=0.1, cat="rerun"),
        _ev(ev="report", id="t::flaky", when="teardown", outcome="passed", dur=0.0),
        _ev(ev="start", id="t::flaky"),
        _ev(ev="passed", id="t::flaky", dur=[0.0, 0.0, 0.0]),
        _ev(ev="start", id="t::crash"),
        _ev(
            ev="report", id="t::crash", when="???", outcome="failed", dur=0, cat="failed", wk="gw1"
        ),
        _ev(ev="finish", exitstatus=1, summary={"passed": 1, "failed": 1, "rerun": 1}),
    ]
    res = parse_events(lines)
    assert res.bad_lines == 0
    assert res.order == ("t::flaky", "t::crash")
    assert res.outcomes == {"t::flaky": "passed", "t::crash": "failed"}
    assert res.in_flight is None
    assert res.categories == {"rerun": 1, "passed": 1, "failed": 1}
    assert res.counts_source == "pytest"


# --- the fast path for the plugin's two hot line shapes ------------------------------------


def _compact(ev: dict[str, object]) -> bytes:
    return json.dumps(ev, separators=(",", ":")).encode()  # as the plugin writes: ASCII JSON


@given(
    nodeid=st.text(max_size=40),
    line=st.integers(0, 10**9),
    durs=st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False) | st.integers(0, 9),
        min_size=3,
        max_size=3,
    ),
)
def test_hot_lines_read_as_json_loads_reads_them(nodeid, line, durs):
    """Whatever a start or passed line holds, the regex path gives json.loads's dict (same
    keys, order, values and types) or leaves the line to json.loads."""
    for ev in (
        {"ev": "start", "id": nodeid, "line": line},
        {"ev": "passed", "id": nodeid, "dur": durs},
    ):
        raw = _compact(ev)
        m = results._HOT(raw)
        want = json.loads(raw)
        if m is not None:
            got = results._hot(m)
            assert got == want and list(got) == list(want)
            assert [type(v) for v in got.get("dur", [])] == [type(v) for v in want.get("dur", [])]
        elif nodeid.isascii() and nodeid.isprintable() and '"' not in nodeid and "\\" not in nodeid:
            # a plain id falls back only for a number the plugin does not write
            assert ev["ev"] == "passed" and any(type(d) is int or "e" in repr(d) for d in durs)


def test_a_stream_read_by_the_fast_path_equals_one_read_by_json():
    lines = [_ev(ev="session", pytest="9.2.0", format=3)]
    for i in range(50):
        nodeid = f"t.py::test_{i}"
        lines.append(_compact({"ev": "start", "id": nodeid, "line": i}))
        if i % 7:
            lines.append(_compact({"ev": "passed", "id": nodeid, "dur": [0.001, 0.25, 0.0]}))
        else:
            lines += _test(nodeid, ("setup", "passed"), ("call", "failed"), ("teardown", "passed"))[
                1:
            ]
    lines.append(_ev(ev="finish", exitstatus=1))
    fast = results.load(lines)
    spaced = [json.dumps(json.loads(line)).encode() for line in lines]  # never matches the regex
    assert all(results._HOT(line) is None for line in spaced)
    assert fast == results.load(spaced)
    assert fast.counts.failed == 8 and fast.tests[1].duration == 0.251 and fast.tests[1].line == 2


_IDS = ("t.py::a", "t.py::b", "t.py::c[1]")
_DURS = st.lists(st.sampled_from([0.0, -0.0, 0.001, 0.25, 1.5, 3]), min_size=3, max_size=3)
_EVENTS = st.one_of(
    st.builds(
        lambda i, n: {"ev": "start", "id": i, "line": n}, st.sampled_from(_IDS), st.integers(0, 9)
    ),
    st.builds(lambda i: {"ev": "start", "id": i}, st.sampled_from(_IDS)),
    st.builds(lambda i, d: {"ev": "passed", "id": i, "dur": d}, st.sampled_from(_IDS), _DURS),
    st.builds(lambda i: {"ev": "passed", "id": i}, st.sampled_from(_IDS)),
    st.builds(
        lambda i, when, outcome, xfail: {
            "ev": "report",
            "id": i,
            "when": when,
            "outcome": outcome,
            "dur": 0.5,
            **({"xfail": True} if xfail else {}),
        },
        st.sampled_from(_IDS),
        st.sampled_from(["setup", "call", "teardown"]),
        st.sampled_from(["passed", "failed", "skipped", "rerun"]),
        st.booleans(),
    ),
    st.builds(
        lambda kind, i: {"ev": kind, "id": i, "text": "x"},
        st.sampled_from(["collect_error", "collect_skip"]),
        st.sampled_from(["t.py", "u.py"]),
    ),
)


# A start and its test's passed line: the pair the reader takes in one step.
_PAIRS = st.builds(
    lambda i, n, d: [{"ev": "start", "id": i, "line": n}, {"ev": "passed", "id": i, "dur": d}],
    st.sampled_from(_IDS),
    st.integers(0, 9),
    _DURS,
)
_STREAMS = st.lists(_EVENTS.map(lambda ev: [ev]) | _PAIRS, max_size=20).map(
    lambda chunks: [ev for chunk in chunks for ev in chunk]
)
_A = "t.py::a"


@given(_STREAMS, st.booleans(), st.lists(st.integers(0, 2000), max_size=4), st.booleans())
@example(  # started twice: the first start never finishes
    [
        {"ev": "start", "id": _A},
        {"ev": "start", "id": _A, "line": 1},
        {"ev": "passed", "id": _A, "dur": [0.0, 0.0, 0.0]},
    ],
    False,
    [],
    True,
)
@example(  # the test's case is still open (its call failed): the pair's passed joins it
    [
        {"ev": "start", "id": _A},
        {"ev": "report", "id": _A, "when": "call", "outcome": "failed"},
        {"ev": "start", "id": _A, "line": 1},
        {"ev": "passed", "id": _A, "dur": [0.0, 0.0, 0.0]},
    ],
    True,
    [],
    True,
)
@example(  # 0.0 + -0.0 is 0.0
    [{"ev": "start", "id": _A, "line": 1}, {"ev": "passed", "id": _A, "dur": [-0.0, -0.0, -0.0]}],
    True,
    [],
    True,
)
def test_the_hot_path_reads_any_stream_as_the_dict_path_does(events, session, cuts, newline):
    """The plugin's compact start/passed lines go to the readers' own methods, each run of
    a start and the passed line of its test to each reader at once; spaced lines never
    match the regexes and go through json.loads and each reader's `event`. Same results,
    same JUnit counts, however the stream's bytes come in chunks."""
    head = [{"ev": "session", "pytest": "9.2.0", "format": 3}] if session else []
    evs = [*head, *events]
    compact = [_compact(ev) for ev in evs]
    got, want, chunked = JUnitBuilder(None), JUnitBuilder(None), JUnitBuilder(None)
    fast = results.load(compact, got)
    slow = results.load([json.dumps(ev).encode() for ev in evs], want)
    data = b"\n".join(compact) + (b"\n" if newline and compact else b"")
    at = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    by_chunks = results.load_chunks([data[i:j] for i, j in itertools.pairwise(at)], chunked)
    for builder, res in ((got, fast), (want, slow), (chunked, by_chunks)):
        builder.end(res.in_flight, "")
    assert fast == slow == by_chunks
    assert repr(fast) == repr(slow) == repr(by_chunks)  # repr: -0.0 is not 0.0
    assert (got.counts, got.stats, got.double) == (want.counts, want.stats, want.double)
    assert (chunked.counts, chunked.stats) == (want.counts, want.stats)
    assert got.where == want.where  # where each test still open is defined


def test_a_pair_is_only_ever_read_from_the_start_of_a_line():
    start = {"ev": "start", "id": _A, "line": 1}
    passed = {"ev": "passed", "id": _A, "dur": [0.0, 0.5, 0.0]}
    fast = results.load([b"x" + _compact(start), _compact(passed)])
    slow = results.load([b"x" + json.dumps(start).encode(), json.dumps(passed).encode()])
    assert fast == slow and fast.bad_lines == 1 and fast.tests[0].line is None


def test_results_pickle_by_columns_and_come_back_equal():
    """repro diff sends the second bundle's Results from its worker process."""
    lines = [_ev(ev="session", pytest="9.2.0", format=3)]
    for i in range(20):
        lines += _test(
            f"t.py::test_{i}",
            ("setup", "passed"),
            ("call", "failed" if i == 3 else "passed"),
            ("teardown", "passed"),
        )
    res = results.load(lines)
    back = pickle.loads(pickle.dumps(res))
    assert back == res and back.get("t.py::test_3") == res.get("t.py::test_3")
    assert back.get("t.py::test_3").outcome is Outcome.FAILED


def test_junit_counts_keeps_to_bare_names_and_refuses_external_entities():
    namespaced = b'<a xmlns="urn:x"><testcase><failure/></testcase></a>'
    assert junit_counts(namespaced).tests == 0  # as ElementTree, whose tag is {urn:x}testcase
    nested = b"<s><testcase><x><failure/></x><skipped/></testcase><testcase/></s>"
    c = junit_counts(nested)
    assert (c.tests, c.failures, c.skipped) == (2, 0, 1)  # only direct children count
    external = b'<!DOCTYPE s [<!ENTITY e SYSTEM "file:///etc/passwd">]><s>&e;</s>'
    with pytest.raises(Exception, match="external entity"):
        junit_counts(external)


def test_tests_built_by_columns_are_the_dataclass_s_own():
    rows = [
        ("t.py::a", Outcome.PASSED, 0.25, None, 3, None, "", ""),
        ("t.py::b", None, 0.0, "u.py", None, Phase.CALL, "boom", "Traceback"),
    ]
    built = build_tests(*map(list, zip(*rows, strict=True)))
    made = tuple(TestResult(*row) for row in rows)
    assert built == made and list(map(hash, built)) == list(map(hash, made))
    assert list(map(repr, built)) == list(map(repr, made))
    assert pickle.loads(pickle.dumps(built)) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].outcome = None  # type: ignore[misc]
