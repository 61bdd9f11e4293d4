"""Report inputs for the HTML renderer's tests: built directly, so a page of any size or
with any hostile content can be rendered without running a suite of that size."""

from __future__ import annotations

from repro.report.data import Excerpt, Failure, ReportInput, TestRow, Verdict

XSS = "<img src=x onerror=alert(1)>"
# Payloads for every context a string from the bundle can reach: text, attribute, the
# JSON data block (ending it early), an SVG label, a comment, a javascript: link.
PAYLOADS = (
    XSS,
    '"><svg onload=alert(2)>',
    "</script><script>alert(3)</script>",
    "<!--<script>alert(4)//",
    "javascript:alert(5)",
    "{{script}}",
)
OUTCOMES = ("passed", "passed", "passed", "failed", "skipped", "xfailed", "error", "passed")


def sample_input(n: int = 40, *, log: bytes | None = None, hostile: bool = True) -> ReportInput:
    tests = [
        TestRow(
            nodeid=f"tests/test_mod{i % 97}.py::test_case_{i}",
            outcome=OUTCOMES[i % len(OUTCOMES)],
            duration=(i % 500) / 1000,
            file=None,
            line=10 + i % 90,
        )
        for i in range(n)
    ]
    if hostile:
        tests += [
            TestRow(f"tests/test_x.py::test_name[{p}]", "failed", 2.5, f"tests/{p}.py", 3)
            for p in PAYLOADS
        ]
    failures = [
        Failure(
            t.nodeid,
            t.outcome,
            f"assert {t.nodeid} == 1",
            f"def test():\n>   assert x == 1\nE   AssertionError: {t.nodeid}\n{PAYLOADS[2]}",
        )
        for t in tests
        if t.outcome in ("failed", "error")
    ]
    if log is None:
        log = (
            b"\x1b[1m============ test session starts ============\x1b[0m\n"
            + b"tests/test_mod0.py \x1b[32m.\x1b[0m\x1b[31mF\x1b[0m\x1b[33ms\x1b[0m\n" * 5
            + f"print: {XSS} {PAYLOADS[2]}\n".encode()
            + b"\x1b[31m\x1b[1m======= 1 failed, 4 passed in 0.12s =======\x1b[0m\n"
        )
    counts: dict[str, int] = {}
    for t in tests:
        counts[t.outcome] = counts.get(t.outcome, 0) + 1
    return ReportInput(
        title=f"repro-20261202T000000Z-abcdef-0123456789ab.zip {XSS}",
        verdict=Verdict(intact=True, warnings=(f"warning {XSS}",)),
        digest="sha256:" + "0123456789ab" * 5 + "cdef",
        run_id="20261202T000000Z-abcdef",
        status="failed",
        status_reason=f"tests failed {PAYLOADS[1]}",
        counts=counts,
        run_facts=(("command", f"pytest -k '{XSS}'"), ("commit", "0" * 40)),
        env_facts=(("Python", "CPython 3.11.2"), (f"${XSS}", PAYLOADS[1])),
        tests=tests,
        failures=failures,
        packages=(("click", "8.1.7"), (XSS, PAYLOADS[1])),
        lock_kind="pip-compile",
        lock=Excerpt("requirements.lock", f"click==8.1.7\n# {XSS}\n".encode(), b"", 30),
        drift=(f"{XSS}: version (locked 1, installed 2)",),
        logs=(Excerpt("logs/pytest_output.txt", log, b"", len(log)),),
    )
