"""Masking a secret of the environment that pytest shows cut short ("..."): the forms
pytest itself makes, at every chunk size, and what is left alone."""

from __future__ import annotations

from collections import Counter

import pytest
from _pytest._io.saferepr import saferepr

from repro import mask

SECRET = "Zq8sV2mK9pL4xR7tW1nB6cY3hJ5fD0gA"
ENV = {"MY_API_KEY": SECRET}


def stream(masker: mask.Masker, data: bytes, size: int) -> tuple[bytes, Counter[str]]:
    sm = mask.StreamMasker(masker)
    out = [sm.feed(data[i : i + size]) for i in range(0, len(data), size)]
    out.append(sm.flush())
    return b"".join(out), sm.counts


def fragments(secret: str) -> list[bytes]:
    return [secret[i : i + mask.MIN_LENGTH].encode() for i in range(len(secret) - 7)]


@pytest.mark.parametrize("maxsize", [20, 26, 30, 33])
def test_pytests_saferepr_forms_are_masked(maxsize: int) -> None:
    shown = saferepr(SECRET, maxsize=maxsize)  # as pytest's assertion explanation cuts it
    assert "..." in shown
    line = f"E       assert {shown} == 'nope'\n".encode()
    counts: Counter[str] = Counter()
    out = mask.build(ENV).mask(line, counts)
    assert not [f for f in fragments(SECRET) if f in out], out
    assert out.startswith(b"E       assert '") and out.endswith(b"' == 'nope'\n")
    assert counts == {"env:MY_API_KEY": 1}


def test_the_summarys_cut_and_every_chunk_size() -> None:
    masker = mask.build(ENV)
    data = (
        "x" * 3000
        + f"\nFAILED t.py::test_k - AssertionError: {SECRET[:20]}...\n"
        + f"E  assert {saferepr(SECRET, maxsize=30)} == 'x'\n"
        + "y" * 3000
    ).encode()
    whole, counts = stream(masker, data, len(data))
    assert counts == {"env:MY_API_KEY": 2}
    for size in (1, 3, 7, 64, 4096):
        out, _ = stream(masker, data, size)
        assert out == whole, size
    assert not [f for f in fragments(SECRET) if f in whole]


def test_what_is_not_the_secret_cut_short_is_left_alone() -> None:
    masker = mask.build(ENV)
    for text in (
        f"{SECRET[:7]}...",  # fewer than MIN_LENGTH bytes of it: not masked
        f"{SECRET[:12]}-other-text...",  # the secret's start, then something else
        "loading...  done...",
    ):
        counts: Counter[str] = Counter()
        assert masker.mask(text.encode(), counts) == text.encode(), text
        assert not counts
