"""A test that kills its xdist worker; xdist replaces the worker and goes on."""

import os


def test_before():
    pass


def test_kills_worker():
    os._exit(3)


def test_after_1():
    pass


def test_after_2():
    assert False, "fails after the crash"
