"""pytest-timeout fires on one test (--timeout 1) and the session goes on."""

import time


def test_quick():
    pass


def test_hangs():
    time.sleep(30)


def test_after():
    pass
