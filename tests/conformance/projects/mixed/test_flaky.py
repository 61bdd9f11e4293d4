import pytest

ATTEMPTS = {"n": 0}


@pytest.mark.flaky(reruns=2)
def test_passes_on_second_try():
    ATTEMPTS["n"] += 1
    assert ATTEMPTS["n"] >= 2, "first attempt fails"
