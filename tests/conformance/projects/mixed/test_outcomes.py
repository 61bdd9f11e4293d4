"""Every plain outcome pytest knows, and the ways a phase can fail."""

import pytest


def test_pass():
    pass


def test_fail():
    assert 1 + 1 == 3, "arithmetic is broken"


@pytest.mark.skip(reason="marked skip")
def test_skip_mark():
    pass


def test_skip_inside():
    pytest.skip("skipped from inside")


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    raise ValueError("still broken")


@pytest.mark.xfail(reason="fixed already?")
def test_xpass():
    pass


@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass


def test_xfail_inside():
    pytest.xfail("gave up inside")


@pytest.fixture
def broken_setup():
    raise RuntimeError("setup exploded")


def test_setup_error(broken_setup):
    pass


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown exploded")


def test_teardown_error(broken_teardown):
    pass


def test_fail_then_teardown_error(broken_teardown):
    assert False, "call failed first"


@pytest.mark.parametrize(
    "value",
    ["a/b", "c::d", "[x]", "new\nline", "caf\u00e9", "\u65e5\u672c"],
)
def test_odd_ids(value):
    assert value != "[x]"
