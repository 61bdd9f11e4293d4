"""pytest 9's built-in `subtests` fixture: one subtest fails, two pass."""


def test_with_subtests(subtests):
    for i in range(3):
        with subtests.test(msg="check", i=i):
            assert i != 1, f"subtest {i} fails"


def test_all_subtests_pass(subtests):
    for name in ("a", "b"):
        with subtests.test(name=name):
            assert name
