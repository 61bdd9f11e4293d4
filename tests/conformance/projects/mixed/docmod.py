"""A module whose docstrings are tests (run with --doctest-modules)."""


def double(x):
    """
    >>> double(2)
    4
    >>> double(3)
    7
    """
    return 2 * x


def half(x):
    """
    >>> half(4)
    2.0
    """
    return x / 2
